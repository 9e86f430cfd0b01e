// Smoke test of the benchmark runner: `bench/run.ts --quick` runs every workload with reduced
// counts in a subprocess, exits 0 and prints its table; `bench/chart.ts` draws the JSON it
// wrote. Nothing here is timed: the figures are not checked, only that the matrix runs.
//
// The npm peers (ringbuf.js, multithreading) are skipped unless BENCH_SMOKE_PEERS=1, so that
// the test needs no registry. Results go to a temporary file, not bench/results/.
import assert from "node:assert/strict";
import { WORKLOADS } from "../bench/workloads.ts";
import { runWithin } from "../tools/_watchdog.ts";

const root = new URL("..", import.meta.url);

/** Longest a subprocess may run: a hang fails the test instead of the whole CI run. */
const LIMIT_MS = 180_000;

async function deno(args: string[]) {
  const { output: out, killed } = await runWithin(LIMIT_MS, Deno.execPath(), { args, cwd: root });
  assert.ok(!killed, `deno ${args.join(" ")} ran for over ${LIMIT_MS / 1000} s: killed`);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "bench/run.ts --quick runs the matrix and prints a table",
  // Slow only because of worker start-up and W6's idle waits (about 10 s).
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const json = `${dir}/latest.json`;
      const peers = Deno.env.get("BENCH_SMOKE_PEERS") === "1" ? [] : ["--no-peers"];
      const run = await deno([
        "run",
        "-A",
        "bench/run.ts",
        "--quick",
        ...peers,
        "--out",
        json,
      ]);
      assert.equal(run.code, 0, `run.ts failed:\n${run.stdout}\n${run.stderr.slice(-3000)}`);
      assert.match(run.stdout, /^workload\s+implementation\s+result\s+unit\s+vs postMessage/m);
      assert.match(run.stdout, /Deno \d+\.\d+\.\d+/);
      for (const w of WORKLOADS) {
        assert.match(run.stdout, new RegExp(`^${w.id}\\s+\\S`, "m"), `no row for ${w.id}`);
      }
      assert.match(run.stdout, /^W1\s+postMessage\s/m);
      assert.match(run.stdout, /^W1\s+mpsc channel\(\) recvSync\s/m);
      assert.match(run.stdout, /Targets \(issues 6 and 15/);
      // The Rust baseline, where cargo is installed (it is on CI's machines).
      const cargo = await new Deno.Command("cargo", { args: ["--version"], stdout: "null" })
        .output().then((o) => o.success, () => false);
      if (cargo || Deno.env.get("CI")) {
        assert.match(run.stdout, /^W1\s+Rust std::sync::mpsc channel\(\)\s+[\d.]+ [Mk]\s/m);
        assert.match(run.stdout, /vs Rust/);
      }

      const results = JSON.parse(await Deno.readTextFile(json));
      assert.ok(results.rows.length >= WORKLOADS.length);
      assert.ok(results.quick);

      const pairs = await deno(["run", "-A", "bench/pairs.ts", "--quick", "--pairs", "1"]);
      assert.equal(pairs.code, 0, pairs.stderr.slice(-3000));
      assert.equal(pairs.stdout.match(/^(MET |MISS) .*: median [\d.]+ \(IQR/gm)?.length, 4);

      const svg = `${dir}/chart.svg`;
      const chart = await deno(["run", "-A", "bench/chart.ts", json, svg]);
      assert.equal(chart.code, 0, chart.stderr);
      const text = await Deno.readTextFile(svg);
      assert.match(text, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(text, /<\/svg>\n$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
