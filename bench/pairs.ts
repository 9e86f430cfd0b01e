/**
 * Ratios between two rows of the matrix that issue 15 sets targets on, measured as alternated
 * pairs in one process — the same workers, the same warm JIT, the order swapped every pair — so
 * that the machine's drift (±50 % between runs on a shared 2-core VM) cancels out. Prints, per
 * comparison, the median ratio of `--pairs` pairs (default 7) and its interquartile range.
 *
 *     deno run -A bench/pairs.ts [--pairs 7] [--quick] [--only W1,W4]
 *
 * - bounded ÷ unbounded: W1, `syncChannel(1024)` against `channel()`, both `recvSync` (≥ 0.9)
 * - async ÷ sync: `await recv()` against `recvSync`, W1 and W3 (≥ 0.8)
 * - W4 async ÷ sync: the round trip with `recv()` against `recvSync` (≤ 3: lower is better)
 *
 * `--quick` (the smoke test's) runs a few milliseconds a pass: its ratios are noise.
 *
 * @module
 */
import { figure, type Pass, preparePingPong, prepareStream } from "./run.ts";
import { BOUND, label, type Variant, type Workload, WORKLOADS } from "./workloads.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const pairsAt = args.indexOf("--pairs");
const PAIRS = pairsAt >= 0 ? Number(args[pairsAt + 1]) : quick ? 3 : 7;
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(",")) : null;

interface Comparison {
  name: string;
  workload: Workload["id"];
  /** The row compared (numerator, in "better" terms) and its reference. */
  a: Variant;
  b: Variant;
  goal: string;
  met: (ratio: number) => boolean;
}

const sync = (bound: Variant["bound"]): Variant => ({ impl: "mpsc", bound, recv: "sync" });
const async_ = (bound: Variant["bound"]): Variant => ({ impl: "mpsc", bound, recv: "async" });

const COMPARISONS: Comparison[] = [
  {
    name: "W1 bounded ÷ unbounded (recvSync)",
    workload: "W1",
    a: sync(BOUND),
    b: sync("unbounded"),
    goal: "≥ 0.9",
    met: (r) => r >= 0.9,
  },
  {
    name: "W1 await recv() ÷ recvSync",
    workload: "W1",
    a: async_("unbounded"),
    b: sync("unbounded"),
    goal: "≥ 0.8",
    met: (r) => r >= 0.8,
  },
  {
    name: "W3 await recv() ÷ recvSync",
    workload: "W3",
    a: async_("unbounded"),
    b: sync("unbounded"),
    goal: "≥ 0.8",
    met: (r) => r >= 0.8,
  },
  {
    name: "W4 round trip, recv() ÷ recvSync",
    workload: "W4",
    a: async_("unbounded"),
    b: sync("unbounded"),
    goal: "≤ 3",
    met: (r) => r <= 3,
  },
];

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.ceil(at)] - s[lo]) * (at - lo);
}

async function prepare(w: Workload, v: Variant): Promise<Pass> {
  return w.kind === "pingpong" ? await preparePingPong(w, v) : await prepareStream(w, v);
}

const lines: string[] = [];
for (const c of COMPARISONS) {
  if (only !== null && !only.has(c.workload)) continue;
  const w = WORKLOADS.find((x) => x.id === c.workload)!;
  const count = quick ? w.quickCount : w.count;
  const a = await prepare(w, c.a);
  const b = await prepare(w, c.b);
  try {
    // Every pass is checked as bench/run.ts checks it: the sum of the ids that arrived.
    const checked = async (p: Pass, n: number) => {
      const { seconds, checksum } = await p.pass(n);
      const expected = w.producers * n * (n - 1) / 2;
      if (checksum !== expected) {
        throw new Error(`wrong checksum ${checksum}, expected ${expected}`);
      }
      return seconds;
    };
    const warm = Math.max(2, Math.floor(count / 10));
    await checked(a, warm);
    await checked(b, warm);
    const ratios: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      // Swapped every pair: neither side always runs second.
      const first = i % 2 === 0 ? a : b;
      const second = first === a ? b : a;
      const s1 = await checked(first, count);
      const s2 = await checked(second, count);
      const [sa, sb] = first === a ? [s1, s2] : [s2, s1];
      const fa = figure(w, count, sa);
      const fb = figure(w, count, sb);
      ratios.push(fa / fb); // msgs/s ÷ msgs/s, or µs ÷ µs for W4
    }
    const m = quantile(ratios, 0.5);
    const line = `${c.met(m) ? "MET " : "MISS"} ${c.name}: median ${m.toFixed(2)} (IQR ${
      quantile(ratios, 0.25).toFixed(2)
    }–${quantile(ratios, 0.75).toFixed(2)}; goal ${c.goal}) over ${PAIRS} pairs of ${count}: ${
      label(c.a)
    } vs ${label(c.b)} [${ratios.map((r) => r.toFixed(2)).join(" ")}]`;
    console.log(line);
    lines.push(line);
  } finally {
    a.close();
    b.close();
  }
}
Deno.exit(0); // workers left parked must not keep the process alive
