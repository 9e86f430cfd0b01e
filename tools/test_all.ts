/**
 * `deno task test`: every check the project has, in one run, ending with one line
 * `N passed, N failed` (test counts of as-pect and `deno test`, plus one per other check).
 *
 *     deno task test              # everything
 *     deno task test --quick      # skip the publish dry-run and doc tests
 *
 * @module
 */
import { runWithin } from "./_watchdog.ts";

interface Step {
  name: string;
  cmd: string[];
  /** Reads test counts from the output; steps without one count as a single test. */
  count?: (out: string) => { passed: number; failed: number } | undefined;
}

const deno = Deno.execPath();
const quick = Deno.args.includes("--quick");

// deno-lint-ignore no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

function denoTestCount(out: string) {
  const m = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(strip(out));
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : undefined;
}

function aspectCount(out: string) {
  const m = /\[Tests\]: (\d+) \/ (\d+)/.exec(strip(out));
  return m ? { passed: Number(m[1]), failed: Number(m[2]) - Number(m[1]) } : undefined;
}

const steps: Step[] = [
  { name: "install npm dependencies", cmd: [deno, "install"] },
  { name: "build check (committed core = fresh build)", cmd: [deno, "task", "build:check"] },
  {
    name: "as-pect (core unit tests)",
    cmd: [deno, "run", "-A", "node_modules/@as-pect/cli/lib/test.js"],
    count: aspectCount,
  },
  { name: "deno check", cmd: [deno, "task", "check"] },
  { name: "deno lint", cmd: [deno, "lint"] },
  { name: "deno fmt --check", cmd: [deno, "fmt", "--check"] },
  {
    name: "deno test",
    cmd: [
      deno,
      "test",
      "-A",
      "--no-check",
      "--unstable-worker-options", // spawn with narrower Deno permissions
      ...(quick ? [] : ["--doc"]),
      "--parallel",
    ],
    count: denoTestCount,
  },
  { name: "deno doc --lint", cmd: [deno, "doc", "--lint", "mod.ts"] },
  ...(quick ? [] : [{
    name: "deno publish --dry-run",
    cmd: [deno, "publish", "--dry-run", "--allow-dirty"],
  }]),
];

/** Longest a step may run: a hung test fails its step (with its output so far), not CI. */
const STEP_LIMIT_MS = 12 * 60_000;

let passed = 0;
let failed = 0;
const failures: string[] = [];
for (const step of steps) {
  const started = performance.now();
  console.log(`\n=== ${step.name}: ${step.cmd.slice(1).join(" ")}`);
  const { output, killed: timedOut } = await runWithin(STEP_LIMIT_MS, step.cmd[0], {
    args: step.cmd.slice(1),
    env: { NO_COLOR: "1" },
  });
  const out = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr) +
    (timedOut ? `\n(killed after ${STEP_LIMIT_MS / 60_000} minutes: a test hangs)` : "");
  const counts = step.count?.(out);
  const ok = output.success && (counts === undefined || counts.failed === 0);
  if (!ok || Deno.env.get("VERBOSE")) console.log(out.trimEnd());
  if (counts) {
    passed += counts.passed;
    failed += counts.failed;
    if (!output.success && counts.failed === 0) failed++;
  } else if (step.count && !output.success) {
    failed++;
  } else if (output.success) {
    passed++;
  } else {
    failed++;
  }
  if (!ok) failures.push(step.name);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `=== ${ok ? "ok" : "FAILED"}: ${step.name}` +
      (counts ? ` (${counts.passed} passed, ${counts.failed} failed)` : "") + ` in ${seconds}s`,
  );
}
if (failures.length) console.log(`\nFailed steps: ${failures.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
