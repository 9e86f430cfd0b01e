// The fuzz driver: runs trials of shared-memory corruption one after another, in this process,
// and prints one JSON line per trial, then a summary line. Run by tests/fuzz/fuzz_test.ts, which
// restarts it after a hang; run it by hand to reproduce a trial:
//
//   deno run -A tests/fuzz/driver.ts --seed 123 --trials 1     # the trial of seed 123
//   deno run -A tests/fuzz/driver.ts --seed 123 --trials 500   # seeds 123 … 622
//
// Options: --hang-ms M (how long past its timeout a call may run before it counts as hung and
// the process is killed; default 1000), --mode none|inline|concurrent (overrides the plan's: with
// `none`, no writes at all, to check the harness itself).
//
// A trial (see _plan.ts): a channel (unbounded, bounded or rendezvous; maxBytes small or
// default; in a memory of its own, `isolated`, as before channels shared arenas: one trial's
// writes stay in its memory), 1–3 producer workers sending self-checking messages (_messages.ts), the consumer in
// this thread mixing recvSync, tryRecv and recv with timeouts, and 0–4 writes into the control
// block, ring descriptors and record headers (_corrupt.ts), made by this thread between two of its
// calls (inline) or by a corrupter worker at racing moments (concurrent). The watchdog worker
// kills the process if a call hangs (see watchdog.ts).
//
// Outcome rules (issue 11): every call returns within its timeout + LATE_MS, with correct data, a
// ChannelCorruptedError, or a TimeoutError (the consumer stalling, or seeing disconnection early,
// is accepted only if a write hit a count or wait field); no raw trap or other error; every
// message delivered is exactly one a producer sent — unless the bytes delivered contain a word
// the corrupter wrote (with the concurrent corrupter, a header it found at HEAD may be consumed
// and its space reused for a payload before the write lands: user data, "payload-overlap"); per
// producer, no message twice or out of order, and none lost (missing ones are accepted only
// after a ChannelCorruptedError, and only at the end of a producer's stream; or one per
// payload-overlap delivery whose own header was overwritten, as it names no message). After a
// ChannelCorruptedError, later calls on both ends in every thread throw it too, and close() does
// not throw. A call late by more than LATE_MS fails the trial, unless the watchdog itself overslept
// about as much in that trial ("late-under-load": the machine was overloaded, as under
// `deno test --parallel` on 2 cores); a call overdue by --hang-ms is a hang.
import { channel, ChannelCorruptedError, type Receiver, Sender, syncChannel } from "../../mod.ts";
import { CORE } from "../../src/_core_generated.ts";
import { clearLog, corruptOnce, type Write, writesOf } from "./_corrupt.ts";
import { fuzzCodec, prng, verify, whereOf } from "./_messages.ts";
import { describePlan, type Plan, plan as planOf } from "./_plan.ts";
import {
  C_ADOPTED,
  C_CORRUPT_SEEN,
  C_DONE,
  C_RECEIVED,
  C_STOP,
  classify,
  CTL_WORDS,
  describe,
  type Late,
  LATE_MS,
  MAX_PRODUCERS,
  pause,
  Slot,
  type Thrown,
  W_LAG,
  W_QUIT,
  W_SEED,
  W_TRIAL,
  W_TRIAL_DEADLINE,
  WATCH_WORDS,
} from "./_shared.ts";
import type { ProducerReport } from "./producer.ts";
import { nextReply } from "../_helpers/workers.ts";

/** The consumer gives up after this long without a message. */
const STALL_MS = 400;
/** Longest a trial's consumer loop runs. */
const TRIAL_BUDGET_MS = 8000;
/** The watchdog's limit for a whole trial, reports included. */
const TRIAL_LIMIT_MS = 30_000;

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isFinite(value)) throw new TypeError(`${name} needs a number`);
  return value;
}

const TRIALS = option("--trials", 1);
const SEED = option("--seed", 1) >>> 0;
const HANG_MS = option("--hang-ms", 1000);
const MODE = Deno.args.includes("--mode") ? Deno.args[Deno.args.indexOf("--mode") + 1] : undefined;
if (MODE !== undefined && !["none", "inline", "concurrent"].includes(MODE)) {
  throw new TypeError("--mode must be none, inline or concurrent");
}
const RERUN = "deno run -A tests/fuzz/driver.ts --seed SEED --trials 1";

/** One trial's line. */
export interface TrialLine {
  trial: number;
  seed: number;
  ok: boolean;
  /** The outcome first (clean, survived, detected, timeout, or a failure), then other tags. */
  categories: string[];
  failures: string[];
  /** What passed but is worth knowing (e.g. a payload the corrupter wrote into). */
  notes: string[];
  mode?: string;
  channel?: string;
  producers?: number;
  messages?: { planned: number; sent: number; received: number };
  end?: string;
  writes?: Write[];
  /** Read after the trial (from memory that may be corrupted): growth, wraps, ring reuse. */
  coverage?: { storage: number; consumerRing: number; headWraps: number; freeRings: boolean };
  /** Milliseconds the trial took. */
  ms?: number;
  /** The watchdog's longest oversleep during the trial, in ms (see W_LAG). */
  lagMs?: number;
  rerun: string;
}

// ── Workers, reused across trials.
const base = Date.now();
const watch = new Int32Array(new SharedArrayBuffer(WATCH_WORDS * 4));
const spawn = (file: string) => new Worker(new URL(file, import.meta.url), { type: "module" });
const watchdog = spawn("./watchdog.ts");
watchdog.postMessage({ watch, base, rerun: RERUN });
const corrupter = spawn("./corrupter.ts");
const producers = Array.from({ length: MAX_PRODUCERS }, (_, p) => {
  const worker = spawn("./producer.ts");
  worker.postMessage({ type: "init", watch, base, hangMs: HANG_MS, thread: 1 + p });
  return worker;
});
const consumerSlot = new Slot(watch, 0, base, HANG_MS);

/** Posts `message` to `worker` and resolves with its next reply. */
function request<R>(worker: Worker, message: unknown): Promise<R> {
  const reply = nextReply<R>(worker);
  worker.postMessage(message);
  return reply;
}

interface Consumed {
  end: "disconnected" | "corrupted" | "stalled" | Thrown;
  received: number;
  /** Per producer: the sequence numbers received, in order. */
  got: number[][];
  /** Damaged deliveries; `named`: the header still names the message (it counts as delivered). */
  wrong: { reason: string; start?: number; end?: number; named?: boolean }[];
  duplicates: string[];
  unexpected: string[];
  notSticky: string[];
  closeThrew: string[];
  earlyDisconnect: boolean;
}

async function consume(
  plan: Plan,
  rx: Receiver<Uint8Array>,
  probe: Sender<Uint8Array>,
  memory: WebAssembly.Memory,
  ch: number,
  ctl: Int32Array,
  t0: number,
  channelId: number,
): Promise<Consumed> {
  const producers = plan.counts.length;
  const r = prng((plan.seed ^ 0xc0ffee) >>> 0);
  const wr = prng((plan.seed ^ 0x5bd1e995) >>> 0);
  const out: Consumed = {
    end: "stalled",
    received: 0,
    got: plan.counts.map(() => []),
    wrong: [],
    duplicates: [],
    unexpected: [],
    notSticky: [],
    closeThrew: [],
    earlyDisconnect: false,
  };
  const seen = plan.counts.map(() => new Set<number>());
  let probeOpen = true;
  const closeProbe = () => {
    if (!probeOpen) return;
    probeOpen = false;
    consumerSlot.begin("close", 0);
    try {
      probe.close();
    } catch (error) {
      out.closeThrew.push(`sender: ${describe(error)}`);
    } finally {
      consumerSlot.end();
    }
  };
  const writes = plan.mode === "inline" ? plan.writes.map((w) => ({ ...w, tries: 0 })) : [];
  let nextWrite = 0;
  const started = performance.now();
  let progress = started;
  for (let calls = 0; calls < 1_000_000; calls++) {
    // Inline writes: between two calls of this thread, once every producer has adopted.
    while (
      nextWrite < writes.length && out.received >= writes[nextWrite].after &&
      Atomics.load(ctl, C_ADOPTED) >= producers
    ) {
      const write = writes[nextWrite];
      if (corruptOnce(memory, ch, wr, write.target, watch, t0) || ++write.tries >= 50) {
        nextWrite++;
      } else {
        write.after++; // no record in the ring yet: try again after the next message
        break;
      }
    }
    if (Atomics.load(ctl, C_DONE) >= producers) closeProbe();
    const now = performance.now();
    if (now - progress > STALL_MS || now - started > TRIAL_BUDGET_MS) break;
    if (r() < plan.pauseChance) pause(2 + r() * 13);
    const mustThrow = Atomics.load(ctl, C_CORRUPT_SEEN) !== 0;
    const how = r();
    let value: Uint8Array | undefined;
    let outcome: "ok" | "empty" | Thrown = "ok";
    let call = "";
    try {
      if (how < 0.45) {
        const timeout = [0, 1, 10, 50][Math.floor(r() * 4)];
        call = "recvSync";
        consumerSlot.begin("recvSync", timeout);
        value = rx.recvSync({ timeout });
      } else if (how < 0.75) {
        call = "tryRecv";
        consumerSlot.begin("tryRecv", 20); // it waits up to 20 ms for an unfinished claim
        const result = rx.tryRecv();
        if (result.state === "ok") value = result.value;
        else outcome = result.state === "empty" ? "empty" : "disconnected";
      } else {
        const timeout = [1, 10, 50][Math.floor(r() * 3)];
        call = "recv";
        consumerSlot.begin("recv", timeout);
        value = await rx.recv({ signal: AbortSignal.timeout(timeout) });
      }
    } catch (error) {
      outcome = classify(error);
      if (outcome === "trap" || outcome === "range" || outcome === "other") {
        if (out.unexpected.length < 4) out.unexpected.push(`${call}: ${describe(error)}`);
      }
      if (error instanceof ChannelCorruptedError && error.channelId !== channelId) {
        out.notSticky.push(`error names channel ${error.channelId}, not ${channelId}`);
      }
    } finally {
      consumerSlot.end();
    }
    if (mustThrow && outcome !== "corrupted") {
      out.notSticky.push(`${call} after another thread's ChannelCorruptedError: ${outcome}`);
      out.end = "corrupted";
      break;
    }
    if (value !== undefined) {
      out.received++;
      Atomics.store(ctl, C_RECEIVED, out.received);
      progress = performance.now();
      const verdict = verify(value, plan.seed, plan.counts, plan.profile);
      if (!verdict.ok) {
        const where = whereOf(value);
        out.wrong.push({
          reason: verdict.reason,
          start: where?.start,
          end: where?.end,
          named: verdict.p !== undefined,
        });
      }
      // A damaged message whose header names (p, seq) still counts as that message's delivery.
      const { p, seq } = verdict;
      if (p === undefined || seq === undefined) continue;
      if (seen[p].has(seq)) {
        out.duplicates.push(`(${p}, ${seq}) delivered twice`);
      } else if (seq < (out.got[p].at(-1) ?? -1)) {
        out.duplicates.push(`(${p}, ${seq}) after (${p}, ${out.got[p].at(-1)})`);
      }
      seen[p].add(seq);
      out.got[p].push(seq);
      continue;
    }
    if (outcome === "ok") {
      out.wrong.push({ reason: "a receive returned no message" });
      continue;
    }
    if (outcome === "empty" || outcome === "timeout") continue;
    if (outcome === "disconnected") {
      out.end = "disconnected";
      out.earlyDisconnect = Atomics.load(ctl, C_DONE) < producers;
      break;
    }
    out.end = outcome;
    if (outcome === "corrupted") {
      Atomics.store(ctl, C_CORRUPT_SEEN, 1);
      checkSticky(rx, probeOpen ? probe : undefined, out);
    }
    break;
  }
  closeProbe();
  return out;
}

/** After a ChannelCorruptedError: tryRecv, len, and the sender's trySend and len throw it. */
function checkSticky(rx: Receiver<Uint8Array>, tx: Sender<Uint8Array> | undefined, out: Consumed) {
  const probes: [string, () => unknown][] = [
    ["rx.tryRecv", () => rx.tryRecv().state],
    ["rx.len", () => rx.len],
  ];
  if (tx) {
    probes.push(["tx.trySend", () => tx.trySend(new Uint8Array(16))], ["tx.len", () => tx.len]);
  }
  for (const [name, probe] of probes) {
    consumerSlot.begin(
      name.endsWith("len") ? "len" : name === "rx.tryRecv" ? "tryRecv" : "trySend",
      20,
    );
    try {
      out.notSticky.push(`${name} returned ${String(probe())}`);
    } catch (error) {
      if (classify(error) !== "corrupted") out.notSticky.push(`${name}: ${describe(error)}`);
    } finally {
      consumerSlot.end();
    }
  }
}

function closeReceiver(rx: Receiver<Uint8Array>, out: Consumed): void {
  consumerSlot.begin("close", 0);
  try {
    rx.close();
  } catch (error) {
    out.closeThrew.push(`receiver: ${describe(error)}`);
  } finally {
    consumerSlot.end();
  }
}

function coverage(memory: WebAssembly.Memory, ch: number) {
  const i32 = new Int32Array(memory.buffer);
  const ring = i32[(ch + CORE.CONS_RING) >> 2];
  let headWraps = 0;
  if (ring >= CORE.FIRST_OFFSET && ring % 8 === 0 && ring + CORE.RING_DATA <= i32.length * 4) {
    const capacity = i32[(ring + CORE.RING_CAPACITY) >> 2];
    const head = i32[(ring + CORE.RING_HEAD) >> 2];
    if (capacity > 0) headWraps = Math.floor(head / capacity);
  }
  return {
    storage: i32[(ch + CORE.STORAGE) >> 2],
    consumerRing: ring,
    headWraps,
    freeRings: i32[(ch + CORE.FREE_RINGS) >> 2] !== 0,
  };
}

async function trial(index: number, seed: number): Promise<TrialLine> {
  const plan = planOf(seed);
  if (MODE !== undefined) {
    plan.mode = MODE as Plan["mode"];
    if (MODE === "none") plan.writes = [];
  }
  const producerCount = plan.counts.length;
  Atomics.store(watch, W_TRIAL, index);
  Atomics.store(watch, W_SEED, seed | 0);
  clearLog(watch);
  Atomics.store(watch, W_LAG, 0);
  Atomics.store(watch, W_TRIAL_DEADLINE, Date.now() - base + TRIAL_LIMIT_MS);
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  const t0 = performance.timeOrigin + performance.now();
  const started = performance.now();
  const line: TrialLine = {
    trial: index,
    seed,
    ok: true,
    categories: [],
    failures: [],
    notes: [],
    mode: plan.mode,
    channel: describePlan(plan),
    producers: producerCount,
    rerun: RERUN.replace("SEED", String(seed)),
  };

  const options = { codec: fuzzCodec, maxBytes: plan.maxBytes, isolated: true };
  const [tx, rx] = plan.bound < 0 ? channel(options) : syncChannel(plan.bound, options);
  // Any handle carries the whole memory; adopt this one and close it at once.
  const memoryHandle = tx.clone().transfer();
  Sender.from(memoryHandle, { codec: fuzzCodec }).close();
  const memory = memoryHandle.memory;
  const ch = memoryHandle.offset;
  // The channel's rings before any write, for telling where a wrong delivery's bytes lay.
  const layout = { ch, rings: [] as number[] };

  const reports = producers.slice(0, producerCount).map((worker, p) =>
    request<ProducerReport>(worker, {
      type: "trial",
      trial: index,
      plan,
      p,
      handle: tx.clone().transfer(),
      ctl,
    })
  );
  const corrupterDone = plan.mode === "concurrent"
    ? request(corrupter, { trial: index, plan, memory, ch, ctl, watch, t0 })
    : Promise.resolve();

  const consumed = await consume(plan, rx, tx, memory, ch, ctl, t0, memoryHandle.id);
  Atomics.store(ctl, C_STOP, 1);
  // After a ChannelCorruptedError the producers check it themselves before the receiver closes.
  if (consumed.end !== "corrupted") closeReceiver(rx, consumed);
  const done = await Promise.all(reports);
  if (consumed.end === "corrupted") closeReceiver(rx, consumed);
  await corrupterDone;
  Atomics.store(watch, W_TRIAL_DEADLINE, 0);

  const writes = writesOf(watch);
  line.lagMs = Atomics.load(watch, W_LAG);
  layout.rings = ringsOf(memory, ch);
  judge(line, consumed, done, writes, layout);
  line.messages = {
    planned: plan.counts.reduce((a, b) => a + b),
    sent: done.reduce((a, d) => a + d.sent, 0),
    received: consumed.received,
  };
  line.end = consumed.end;
  line.coverage = coverage(memory, ch);
  if (writes.length > 0) line.writes = writes;
  line.ms = Math.round(performance.now() - started);
  return line;
}

/** Applies the outcome rules: fills `line.ok`, `categories` and `failures`. */
function judge(
  line: TrialLine,
  consumed: Consumed,
  reports: ProducerReport[],
  writes: Write[],
  layout: Layout,
): void {
  const failures = line.failures;
  const tags = new Set<string>();
  const fail = (category: string, detail: string) => {
    tags.add(category);
    if (failures.length < 12) failures.push(`${category}: ${detail}`);
  };
  const classes = new Set(writes.map((w) => w.class));
  const countOrWait = classes.has("count") || classes.has("wait");
  const corrupted = consumed.end === "corrupted" ||
    reports.some((r) => r.end === "corrupted");

  // A delivery damaged by a write into its bytes whose header no longer names the message: it
  // was delivered all the same, so it explains one message missing from its producer's stream.
  let damagedUnnamed = 0;
  for (const wrong of consumed.wrong) {
    const inside = wrong.start !== undefined && wrong.end !== undefined &&
      writes.some((w) => w.addr + 4 > wrong.start! && w.addr < wrong.end!);
    if (inside) {
      if (!wrong.named) damagedUnnamed++;
      tags.add("payload-overlap");
      line.notes.push(`payload-overlap: ${wrong.reason} (read at [${wrong.start}, ${wrong.end}))`);
    } else {
      fail(
        "wrong-data",
        `${wrong.reason} (read at [${wrong.start}, ${wrong.end})${where(wrong, layout)})`,
      );
    }
  }
  for (const d of consumed.duplicates) fail("duplicate-or-reordered", d);
  for (const u of consumed.unexpected) fail(u.includes("RuntimeError") ? "trap" : "error", u);
  const lateCall = (who: string, late: Late) => {
    const what = `${who} ${late.call} took ${late.ms} ms (timeout ${late.timeout})`;
    if (late.ms - late.timeout <= LATE_MS + (line.lagMs ?? 0)) {
      tags.add("late-under-load");
      line.notes.push(`late-under-load: ${what}; the watchdog overslept by ${line.lagMs} ms`);
    } else fail("late", what);
  };
  for (const report of reports) {
    for (const u of report.unexpected) {
      fail(u.kind === "trap" ? "trap" : "error", `producer ${report.p}: ${u.error}`);
    }
    for (const late of report.late) lateCall(`producer ${report.p}`, late);
    for (const n of report.notSticky) fail("not-sticky", `producer ${report.p}: ${n}`);
    if (report.closeThrew) fail("close-threw", `producer ${report.p}: ${report.closeThrew}`);
  }
  for (const late of consumerSlot.late.splice(0)) lateCall("consumer", late);
  for (const n of consumed.notSticky) fail("not-sticky", `consumer: ${n}`);
  for (const c of consumed.closeThrew) fail("close-threw", c);

  // Losses: a message whose send succeeded and that never arrived.
  let lostAtEnd = 0;
  for (const report of reports) {
    const got = consumed.got[report.p];
    const have = new Set(got);
    const last = got.at(-1) ?? -1;
    for (let seq = 0; seq < report.sent; seq++) {
      if (have.has(seq)) continue;
      if (seq < last) {
        if (damagedUnnamed > 0) {
          damagedUnnamed--;
          line.notes.push(
            `payload-overlap: (${report.p}, ${seq}) delivered with its header overwritten`,
          );
          continue;
        }
        // A hole in the stream: lost before anything was reported.
        fail("lost", `(${report.p}, ${seq}) missing, (${report.p}, ${last}) received`);
      } else lostAtEnd++;
    }
  }

  let outcome: string;
  if (consumed.end === "corrupted" || corrupted) {
    outcome = "detected";
  } else if (consumed.end === "disconnected" && !consumed.earlyDisconnect) {
    outcome = writes.length === 0 ? "clean" : "survived";
    if (lostAtEnd > 0) fail("lost", `${lostAtEnd} messages sent and never received`);
  } else if (consumed.end === "disconnected" || consumed.end === "stalled") {
    const what = consumed.end === "stalled"
      ? `the consumer stalled (no message for ${STALL_MS} ms, or ${TRIAL_BUDGET_MS} ms in all)`
      : "disconnection reported while producers were still sending";
    if (countOrWait) outcome = "timeout";
    else {
      outcome = consumed.end === "stalled" ? "stalled" : "early-disconnect";
      fail(outcome, `${what}; no count or wait field was written`);
    }
    if (lostAtEnd > 0 && !countOrWait) {
      fail("lost", `${lostAtEnd} messages sent and never received`);
    }
  } else {
    outcome = consumed.end; // an unexpected error ended the consumer; recorded above
  }
  line.ok = failures.length === 0;
  // The worst failure names the trial; the outcome and other tags follow.
  const worst = SEVERITY.find((category) => tags.has(category));
  const first = worst ?? outcome;
  line.categories = [first, ...new Set([outcome, ...tags].filter((t) => t !== first))];
}

/** Where the channel lay in its memory: its control block and its rings (read after the trial). */
interface Layout {
  ch: number;
  rings: number[];
}

/** The rings on channel `ch`'s RINGS list (at most 1,000; from memory that may be corrupted). */
function ringsOf(memory: WebAssembly.Memory, ch: number): number[] {
  const i32 = new Int32Array(memory.buffer);
  const rings: number[] = [];
  for (let ring = i32[(ch + CORE.RINGS) >> 2]; ring > 0 && rings.length < 1000;) {
    if (ring % 64 !== 0 || ring + CORE.RING_DATA > i32.length * 4) break;
    rings.push(ring);
    ring = i32[(ring + CORE.RING_ALL) >> 2];
  }
  return rings;
}

/**
 * Whether a wrong message's bytes lay inside ring data only (the weaker rule: bytes from
 * the channel's own rings) or also covered the arena's header, the control block or a ring
 * descriptor.
 */
function where(wrong: { start?: number; end?: number }, layout: Layout): string {
  if (wrong.start === undefined || wrong.end === undefined) return "";
  const from = wrong.start - CORE.HEADER;
  const overlaps = (at: number, bytes: number) => at < wrong.end! && at + bytes > from;
  if (overlaps(0, CORE.ARENA_HEADER_SIZE)) return ", over the arena's header";
  if (overlaps(layout.ch - CORE.BLOCK_HEADER, CORE.BLOCK_HEADER + CORE.CONTROL_SIZE)) {
    return ", over the control block";
  }
  for (const ring of layout.rings) {
    if (overlaps(ring - CORE.BLOCK_HEADER, CORE.BLOCK_HEADER + CORE.RING_DATA)) {
      return ", over a ring descriptor";
    }
  }
  return ", inside ring data";
}

/** Failure categories, worst first. */
export const SEVERITY = [
  "hang",
  "crash",
  "trap",
  "error",
  "wrong-data",
  "duplicate-or-reordered",
  "lost",
  "not-sticky",
  "close-threw",
  "stalled",
  "early-disconnect",
  "late",
];

// ── Main.
const outcomes = new Map<string, number>();
const tags = new Map<string, number>();
let failed = 0;
for (let i = 0; i < TRIALS; i++) {
  const seed = (SEED + i) >>> 0;
  const line = await trial(i, seed);
  if (!line.ok) failed++;
  outcomes.set(line.categories[0], (outcomes.get(line.categories[0]) ?? 0) + 1);
  for (const tag of line.categories) tags.set(tag, (tags.get(tag) ?? 0) + 1);
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({
  summary: {
    trials: TRIALS,
    failed,
    outcomes: Object.fromEntries(outcomes),
    tags: Object.fromEntries(tags),
  },
}));
Atomics.store(watch, W_QUIT, 1);
Atomics.notify(watch, W_QUIT);
Deno.exit(0);
