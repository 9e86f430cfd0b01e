/// <reference lib="deno.worker" />
// The fuzz driver's watchdog: a worker that looks every 20 ms at the calls each thread has
// announced (see `Slot` in _shared.ts) and at the trial's overall deadline. A call stuck past its
// timeout + the hang margin — an endless loop inside the Wasm core, which nothing can interrupt
// (and Deno 2.9.6's `worker.terminate()` cannot stop a worker running synchronous code,
// denoland/deno#35657) — makes it print the trial's line (category "hang", with the writes made
// so far) and kill the whole process: the supervisor (fuzz_test.ts) resumes with the next trial.
import { writesOf } from "./_corrupt.ts";
import { overdue, W_QUIT, W_SEED, W_TRIAL, W_TRIAL_DEADLINE } from "./_shared.ts";

interface Init {
  watch: Int32Array;
  base: number;
  rerun: string;
}

self.onmessage = (e: MessageEvent<Init>) => {
  const { watch, base, rerun } = e.data;
  while (Atomics.wait(watch, W_QUIT, 0, 20) !== "ok") {
    const now = Date.now() - base;
    const trialDeadline = Atomics.load(watch, W_TRIAL_DEADLINE);
    const stuck = overdue(watch, now) ??
      (trialDeadline !== 0 && now > trialDeadline
        ? { thread: "driver", call: "trial", timeout: 0, runningMs: 0 }
        : undefined);
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
