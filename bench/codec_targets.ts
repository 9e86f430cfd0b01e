/**
 * Checks the codec's speed targets (issues 4 and 11) over several runs of `bench/codec_bench.ts`: one
 * `deno bench` run is not enough on a shared machine, where whole runs are slower or faster by
 * half. Each figure is taken within one run (a ratio to a baseline of the same run, or a time),
 * then the median over the runs is compared with its target.
 *
 * Usage: `deno run -A bench/codec_targets.ts [--runs N]` (default 5 runs, ~15 s each).
 *
 * @module
 */

interface Bench {
  group: string;
  name: string;
  results: { ok?: { avg: number } }[];
}

interface Target {
  label: string;
  /** The figure of one run, from its benches' average times in nanoseconds. */
  figure(avg: (group: string, name: string) => number): number;
  /** How the figure is shown. */
  unit: "×" | "ns";
  /** The figure must be at most this. */
  limit: number;
}

const TARGETS: Target[] = [
  {
    label: "{ id, body } encode+decode vs structuredClone (≤ 1/8)",
    figure: (avg) =>
      avg("small object", "structured codec") / avg("small object", "structuredClone"),
    unit: "×",
    limit: 1 / 8,
  },
  {
    label: "a number (int32) encode+decode (≤ 25 ns)",
    figure: (avg) => avg("number", "structured codec (int)"),
    unit: "ns",
    limit: 25,
  },
  {
    label: "a number (double) encode+decode (≤ 25 ns)",
    figure: (avg) => avg("number", "structured codec (double)"),
    unit: "ns",
    limit: 25,
  },
  {
    label: "64 KiB Uint8Array (bytes codec) vs memcpy×2 (≤ 1.5×)",
    figure: (avg) =>
      avg("64 KiB Uint8Array", "bytes codec") /
      avg("64 KiB Uint8Array", "memcpy×2 (no allocation)"),
    unit: "×",
    limit: 1.5,
  },
  {
    label: "1,000 small objects vs structuredClone (≤ 1/4)",
    figure: (avg) =>
      avg("1,000 small objects", "structured codec") /
      avg("1,000 small objects", "structuredClone"),
    unit: "×",
    limit: 1 / 4,
  },
  {
    label: "a 1 MiB BigInt vs a 512 KiB one, encode+decode (≤ 2.5×: linear; issue 11)",
    figure: (avg) =>
      avg("BigInt", "structured codec, 1 MiB") / avg("BigInt", "structured codec, 512 KiB"),
    unit: "×",
    limit: 2.5,
  },
];

function parseRuns(args: string[]): number {
  const at = args.indexOf("--runs");
  if (at < 0) return 5;
  const runs = Number(args[at + 1]);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`--runs must be a positive integer, not ${args[at + 1]}`);
  }
  return runs;
}

async function oneRun(): Promise<(group: string, name: string) => number> {
  const bench = new URL("./codec_bench.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--no-check", "--json", bench],
  }).output();
  if (code !== 0) throw new Error(`deno bench failed:\n${new TextDecoder().decode(stderr)}`);
  const benches: Bench[] = JSON.parse(new TextDecoder().decode(stdout)).benches;
  return (group, name) => {
    const found = benches.find((b) => b.group === group && b.name === name)?.results[0]?.ok;
    if (!found) throw new Error(`no result for "${name}" in group "${group}"`);
    return found.avg;
  };
}

const show = (x: number, unit: Target["unit"]) =>
  unit === "ns" ? `${x.toFixed(1)} ns` : x < 1 ? `1/${(1 / x).toFixed(2)}` : `${x.toFixed(2)}×`;

if (import.meta.main) {
  const runs = parseRuns(Deno.args);
  const figures: number[][] = TARGETS.map(() => []);
  for (let r = 0; r < runs; r++) {
    const avg = await oneRun();
    TARGETS.forEach((t, i) => figures[i].push(t.figure(avg)));
    console.error(`run ${r + 1}/${runs} done`);
  }
  console.log(`Codec targets (issue 4), median of ${runs} runs of bench/codec_bench.ts:`);
  TARGETS.forEach((t, i) => {
    const sorted = figures[i].toSorted((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const verdict = median <= t.limit ? "MET " : "MISS";
    console.log(
      `  ${verdict} ${t.label}: ${show(median, t.unit)} (runs: ${
        sorted.map((x) => show(x, t.unit)).join(", ")
      })`,
    );
  });
}
