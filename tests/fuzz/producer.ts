/// <reference lib="deno.worker" />
// A fuzz producer (one per worker, reused across trials): adopts its sender, sends its messages
// in order with sendSync, trySend or send (retrying one message after a timeout, a full channel
// or a refusal), and closes. It stops when the consumer is done, when the receiver is gone, when
// nothing has gone through for STALL_MS, or at a ChannelCorruptedError — after which, and after
// any other thread has seen one, every call must throw that error too, and close() must not.
import { Sender, type SenderHandle } from "../../mod.ts";
import { fuzzCodec, message } from "./_messages.ts";
import type { Plan } from "./_plan.ts";
import {
  C_ADOPTED,
  C_CORRUPT_SEEN,
  C_DONE,
  C_STOP,
  classify,
  describe,
  type Late,
  pause,
  Slot,
  type Thrown,
} from "./_shared.ts";
import { prng } from "./_messages.ts";

/** A producer gives up after this long without a message through. */
const STALL_MS = 400;

export interface ProducerReport {
  type: "report";
  trial: number;
  p: number;
  /** Messages whose send succeeded: seq 0 … sent - 1. */
  sent: number;
  /** How the sending ended. */
  end: "all sent" | "stopped" | "stalled" | Thrown;
  /** Count of each outcome of the calls. */
  outcomes: Record<string, number>;
  /** Errors that are not the library's documented ones (first few). */
  unexpected: { kind: Thrown; error: string }[];
  late: Late[];
  /** Calls that did not throw ChannelCorruptedError after one had been seen. */
  notSticky: string[];
  closeThrew?: string;
}

interface Init {
  type: "init";
  watch: Int32Array;
  base: number;
  hangMs: number;
  thread: number;
}

interface Job {
  type: "trial";
  trial: number;
  plan: Plan;
  p: number;
  handle: SenderHandle<Uint8Array>;
  ctl: Int32Array;
}

let slot: Slot;

self.onmessage = async (e: MessageEvent<Init | Job>) => {
  if (e.data.type === "init") {
    slot = new Slot(e.data.watch, e.data.thread, e.data.base, e.data.hangMs);
    return;
  }
  const job = e.data;
  slot.late.length = 0;
  const report: ProducerReport = {
    type: "report",
    trial: job.trial,
    p: job.p,
    sent: 0,
    end: "all sent",
    outcomes: {},
    unexpected: [],
    late: slot.late,
    notSticky: [],
  };
  try {
    await run(job, report);
  } catch (error) {
    // A bug of this harness, or an error escaping the library: reported, never swallowed.
    Atomics.add(job.ctl, C_DONE, 1);
    report.end = "other";
    report.unexpected.push({ kind: "other", error: `producer crashed: ${describe(error)}` });
  }
  self.postMessage(report);
};

async function run({ plan, p, handle, ctl }: Job, report: ProducerReport): Promise<void> {
  const count = (what: string) => report.outcomes[what] = (report.outcomes[what] ?? 0) + 1;
  const fail = (kind: Thrown, error: unknown) => {
    if (report.unexpected.length < 4) report.unexpected.push({ kind, error: describe(error) });
  };

  let tx: Sender<Uint8Array>;
  slot.begin("Sender.from", 0);
  try {
    tx = Sender.from(handle, { codec: fuzzCodec });
  } catch (error) {
    slot.end();
    fail(classify(error), error);
    report.end = classify(error);
    Atomics.add(ctl, C_ADOPTED, 1);
    Atomics.add(ctl, C_DONE, 1);
    return;
  }
  slot.end();
  Atomics.add(ctl, C_ADOPTED, 1);

  const r = prng((plan.seed ^ Math.imul(p + 7, 0x2545f491)) >>> 0);
  let progress = performance.now();
  let corrupted = false;
  sending: for (let seq = 0; seq < plan.counts[p]; seq++) {
    const value = message(plan.seed, p, seq, plan.profile);
    for (;;) {
      if (Atomics.load(ctl, C_CORRUPT_SEEN) !== 0) {
        corrupted = true;
        break sending;
      }
      if (Atomics.load(ctl, C_STOP) !== 0) {
        report.end = "stopped";
        break sending;
      }
      if (performance.now() - progress > STALL_MS) {
        report.end = "stalled";
        break sending;
      }
      const how = r();
      let outcome: "ok" | "full" | Thrown;
      try {
        if (how < 0.5) {
          const timeout = [1, 10, 50][Math.floor(r() * 3)];
          slot.begin("sendSync", timeout);
          tx.sendSync(value, { timeout });
          outcome = "ok";
        } else if (how < 0.75) {
          slot.begin("trySend", 0);
          outcome = tx.trySend(value) ? "ok" : "full";
        } else {
          const timeout = [10, 50][Math.floor(r() * 2)];
          slot.begin("send", timeout);
          await tx.send(value, { signal: AbortSignal.timeout(timeout) });
          outcome = "ok";
        }
      } catch (error) {
        outcome = classify(error);
        if (outcome === "trap" || outcome === "range" || outcome === "other") fail(outcome, error);
      } finally {
        slot.end();
      }
      count(outcome);
      if (outcome === "ok") {
        report.sent = seq + 1;
        progress = performance.now();
        continue sending;
      }
      if (outcome === "corrupted") {
        Atomics.store(ctl, C_CORRUPT_SEEN, 1);
        corrupted = true;
        break sending;
      }
      if (outcome === "full" || outcome === "timeout") continue;
      if (outcome === "refused") {
        pause(1); // at maxBytes: the consumer must take messages first
        continue;
      }
      report.end = outcome; // disconnected, or an unexpected error
      break sending;
    }
  }
  if (corrupted) {
    report.end = "corrupted";
    checkSticky(tx, report);
  }
  slot.begin("close", 0);
  try {
    tx.close();
  } catch (error) {
    report.closeThrew = describe(error);
  } finally {
    slot.end();
  }
  Atomics.add(ctl, C_DONE, 1);
}

/** After a ChannelCorruptedError: trySend and len must throw it too. */
function checkSticky(tx: Sender<Uint8Array>, report: ProducerReport): void {
  const probes: [string, () => unknown][] = [
    ["trySend", () => tx.trySend(new Uint8Array(16))],
    ["len", () => tx.len],
  ];
  for (const [name, probe] of probes) {
    slot.begin(name === "len" ? "len" : "trySend", 0);
    try {
      const result = probe();
      report.notSticky.push(`${name} returned ${String(result)}`);
    } catch (error) {
      if (classify(error) !== "corrupted") report.notSticky.push(`${name}: ${describe(error)}`);
    } finally {
      slot.end();
    }
  }
}
