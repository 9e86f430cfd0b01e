/// <reference lib="deno.worker" />
// The fuzz driver's watchdog: a worker that looks every 20 ms at the calls each thread has
// announced (see `Slot` in _shared.ts) and at the trial's overall deadline. A call stuck past its
// timeout + the hang margin — an endless loop inside the Wasm core, which nothing can interrupt
// (and Deno 2.9.6's `worker.terminate()` cannot stop a worker running synchronous code,
// denoland/deno#35657) — makes it print the trial's line (category "hang", with the writes made
// so far) and kill the whole process: the supervisor (fuzz_test.ts) resumes with the next trial.
import { writesOf } from "./_corrupt.ts";
import {
  type Overdue,
  overdue,
  W_LAG,
  W_QUIT,
  W_SEED,
  W_TRIAL,
  W_TRIAL_DEADLINE,
} from "./_shared.ts";

/** How often the watchdog looks. */
const TICK_MS = 20;

interface Init {
  watch: Int32Array;
  base: number;
  rerun: string;
}

self.onmessage = (e: MessageEvent<Init>) => {
  const { watch, base, rerun } = e.data;
  let suspect: Overdue | undefined;
  let before = Date.now();
  while (Atomics.wait(watch, W_QUIT, 0, TICK_MS) !== "ok") {
    const wall = Date.now();
    const lag = wall - before - TICK_MS;
    before = wall;
    if (lag > Atomics.load(watch, W_LAG)) Atomics.store(watch, W_LAG, lag);
    const now = wall - base;
    const trialDeadline = Atomics.load(watch, W_TRIAL_DEADLINE);
    const found = overdue(watch, now) ??
      (trialDeadline !== 0 && now > trialDeadline
        ? { thread: "driver", call: "trial", timeout: 0, runningMs: 0, started: 0 }
        : undefined);
    // A call overdue at two looks in a row, the second one on time: a machine so loaded that
    // this thread overslept does not make a slow call a hang.
    const stuck = found !== undefined && lag < 5 * TICK_MS && suspect?.thread === found.thread &&
        suspect.started === found.started
      ? found
      : undefined;
    suspect = found;
    if (stuck === undefined) continue;
    const seed = watch[W_SEED] >>> 0;
    const line = {
      trial: watch[W_TRIAL],
      seed,
      ok: false,
      categories: ["hang"],
      failures: [
        `hang: ${stuck.thread} in ${stuck.call} (timeout ${stuck.timeout} ms) for ` +
        `${stuck.runningMs} ms`,
      ],
      writes: writesOf(watch),
      rerun: rerun.replace("SEED", String(seed)),
    };
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
    Deno.kill(Deno.pid, "SIGKILL");
  }
};
