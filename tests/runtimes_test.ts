// The library on other runtimes than Deno: the single-file build (`deno task bundle`, one ESM
// file) is used by tests/runtimes/smoke.mjs (channels, codecs, a worker_threads worker) and
// tests/runtimes/spawn.mjs (spawn, join and dead workers) on Node (required), on Bun (when a `bun`
// binary is found on PATH or in /tmp/node_modules/.bin) and on Deno itself, each in a subprocess. A watchdog kills
// a run that hangs; nothing is timed.
import assert from "node:assert/strict";
import { runWithin } from "../tools/_watchdog.ts";
import { findExecutable } from "./_helpers/executables.ts";

const ROOT = new URL("../", import.meta.url);
/** The scripts, relative to ROOT (the subprocesses' working directory). */
const SCRIPTS = { smoke: "tests/runtimes/smoke.mjs", spawn: "tests/runtimes/spawn.mjs" };

/** Longest a bundling or a smoke run may take before it is killed (they take about a second). */
const WATCHDOG_MS = 60_000;

const NODE = findExecutable(["node"]);
const BUN = findExecutable(["bun"], ["/tmp/node_modules/.bin"]);

let bundled: Promise<string> | undefined;
/** Bundles the library once into a temporary directory, as `deno task bundle` does. @returns the bundle's path. */
function bundle(): Promise<string> {
  return bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpsc_runtimes_" });
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const out = `${dir}/mpsc.mjs`;
    const { output, killed } = await runWithin(WATCHDOG_MS, Deno.execPath(), {
      args: ["bundle", "src/_bundle.ts", "-o", out],
      cwd: ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    });
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(!killed, `deno bundle did not finish within ${WATCHDOG_MS} ms`);
    assert.equal(output.code, 0, `deno bundle src/_bundle.ts failed:\n${stderr}`);
    return out;
  })();
}

/** Runs a script on the bundle with `command` and checks that every step passed. */
async function smoke(
  script: keyof typeof SCRIPTS,
  runtime: string,
  command: string,
  ...args: string[]
): Promise<void> {
  const path = await bundle();
  const { output, killed } = await runWithin(WATCHDOG_MS, command, {
    args: [...args, SCRIPTS[script], path],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  const report = `${runtime} (${command}):\n${stdout}\n${stderr}`;
  assert.ok(!killed, `${script}.mjs did not finish within ${WATCHDOG_MS} ms on ${report}`);
  assert.equal(output.code, 0, `${script}.mjs failed on ${report}`);
  assert.match(stdout, new RegExp(`^all passed on ${runtime} `, "m"), report);
}

for (const script of ["smoke", "spawn"] as const) {
  const what = script === "smoke" ? "the bundled library loads and works" : "spawn works";
  Deno.test(`${what} on Node`, async () => {
    assert.ok(NODE, "no `node` on PATH: Node is the runtime this test is for");
    await smoke(script, "Node", NODE);
  });

  Deno.test({
    name: BUN
      ? `${what} on Bun`
      : `${what} on Bun (skipped: no \`bun\` on PATH or in /tmp/node_modules/.bin)`,
    // CI installs Bun (.ci/run): there a missing Bun fails instead.
    ignore: BUN === undefined && Deno.env.get("CI") === undefined,
    fn: () => smoke(script, "Bun", BUN!),
  });

  Deno.test(`${what} on Deno, bundled`, async () => {
    await smoke(script, "Deno", Deno.execPath(), "run", "-A");
  });
}
