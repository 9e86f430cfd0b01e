// The library on other runtimes than Deno: `deno bundle mod.ts` makes one ESM file, and
// tests/runtimes/smoke.mjs uses it on Node (required), on Bun (when a `bun` binary is found on
// PATH or in /tmp/node_modules/.bin) and on Deno itself, each in a subprocess. A watchdog kills
// a run that hangs; nothing is timed.
import assert from "node:assert/strict";
import { runWithin } from "../tools/_watchdog.ts";

const ROOT = new URL("../", import.meta.url);
/** smoke.mjs, relative to ROOT (the subprocesses' working directory). */
const SMOKE = "tests/runtimes/smoke.mjs";

/** Longest a bundling or a smoke run may take before it is killed (they take about a second). */
const WATCHDOG_MS = 60_000;

/** The first executable file named `name` in PATH's directories, then in `extra`. */
function findExecutable(name: string, extra: string[] = []): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const dir of [...dirs, ...extra]) {
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

const NODE = findExecutable("node");
const BUN = findExecutable("bun", ["/tmp/node_modules/.bin"]);

let bundled: Promise<string> | undefined;
/** Bundles mod.ts once into a temporary directory. @returns the bundle's path. */
function bundle(): Promise<string> {
  return bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpsc_runtimes_" });
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const out = `${dir}/mpsc.mjs`;
    const { output, killed } = await runWithin(WATCHDOG_MS, Deno.execPath(), {
      args: ["bundle", "mod.ts", "-o", out],
      cwd: ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    });
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(!killed, `deno bundle did not finish within ${WATCHDOG_MS} ms`);
    assert.equal(output.code, 0, `deno bundle mod.ts failed:\n${stderr}`);
    return out;
  })();
}

/** Runs smoke.mjs on the bundle with `command` and checks that every step passed. */
async function smoke(runtime: string, command: string, ...args: string[]): Promise<void> {
  const path = await bundle();
  const { output, killed } = await runWithin(WATCHDOG_MS, command, {
    args: [...args, SMOKE, path],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  const report = `${runtime} (${command}):\n${stdout}\n${stderr}`;
  assert.ok(!killed, `smoke.mjs did not finish within ${WATCHDOG_MS} ms on ${report}`);
  assert.equal(output.code, 0, `smoke.mjs failed on ${report}`);
  assert.match(stdout, new RegExp(`^all passed on ${runtime} `, "m"), report);
}

Deno.test("the bundled library loads and works on Node", async () => {
  assert.ok(NODE, "no `node` on PATH: Node is the runtime this test is for");
  await smoke("Node", NODE);
});

Deno.test({
  name: BUN
    ? "the bundled library loads and works on Bun"
    : "the bundled library loads and works on Bun (skipped: no `bun` on PATH or in " +
      "/tmp/node_modules/.bin)",
  ignore: BUN === undefined,
  fn: () => smoke("Bun", BUN!),
});

Deno.test("the bundled library loads and works on Deno", async () => {
  await smoke("Deno", Deno.execPath(), "run", "-A");
});
