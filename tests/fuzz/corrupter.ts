/// <reference lib="deno.worker" />
// The concurrent corrupter (one worker, reused across trials): makes a trial's planned writes
// into the channel's memory at moments that race with the producers' and the consumer's calls —
// once the consumer has taken `after` messages, plus `delayMs`. It stops early when the trial
// ends or once any thread has seen a ChannelCorruptedError (a later write could undo the
// channel's sticky flag, which no library can prevent), and then says it is done.
import { corruptOnce } from "./_corrupt.ts";
import { prng } from "./_messages.ts";
import type { Plan } from "./_plan.ts";
import { C_ADOPTED, C_CORRUPT_SEEN, C_RECEIVED, C_STOP, pause } from "./_shared.ts";

interface Job {
  trial: number;
  plan: Plan;
  memory: WebAssembly.Memory;
  /** The channel's control block in `memory`. */
  ch: number;
  ctl: Int32Array;
  watch: Int32Array;
  t0: number;
}

/** Longest wait for a write's moment, or for a record to write in the consumer's ring. */
const PATIENCE_MS = 3000;

self.onmessage = (e: MessageEvent<Job>) => {
  const { trial, plan, memory, ch, ctl, watch, t0 } = e.data;
  const r = prng((plan.seed ^ 0x5bd1e995) >>> 0);
  const over = () => Atomics.load(ctl, C_STOP) !== 0 || Atomics.load(ctl, C_CORRUPT_SEEN) !== 0;
  const started = performance.now();
  while (!over() && Atomics.load(ctl, C_ADOPTED) < plan.counts.length) {
    if (performance.now() - started > PATIENCE_MS) break;
    pause(0.2);
  }
  for (const write of plan.writes) {
    const since = performance.now();
    while (!over() && Atomics.load(ctl, C_RECEIVED) < write.after) {
      if (performance.now() - since > PATIENCE_MS) break;
      pause(0.2);
    }
    if (write.delayMs > 0) {
      const until = performance.now() + write.delayMs;
      while (performance.now() < until); // a spin: a sleep's wake-up would blur the moment
    }
    // A record is wanted and the ring is empty: try again a little later.
    for (let tries = 0; !over() && tries < 200; tries++) {
      if (corruptOnce(memory, ch, r, write.target, watch, t0)) break;
      pause(0.5);
    }
    if (over()) break;
  }
  self.postMessage({ trial });
};
