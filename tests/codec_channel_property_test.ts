// Fidelity through real channels: random structured-clonable values (fast-check) go to a
// worker and back, and each must equal what structuredClone makes of it — `-0`, holes, shared
// references and cycles, prototypes and all — and large strings and views, written in place.
import assert from "node:assert/strict";
import fc from "fast-check";
import { channel, RecvError } from "../mod.ts";
import { largeValues, values } from "./_helpers/arbitraries.ts";
import { graphDiff } from "./_helpers/equal.ts";
import { nextReply } from "./_helpers/workers.ts";

const RUNS = Number(Deno.env.get("CHANNEL_FUZZ_RUNS") ?? 10_000);

Deno.test(`${RUNS} random values through a worker and back equal structuredClone's`, async () => {
  const seed = Number(Deno.env.get("CHANNEL_FUZZ_SEED") ?? Date.now() % 2 ** 31);
  // One value in twenty is a large string or view, which the codec writes in place in the ring.
  const mixed = fc.oneof({ arbitrary: values, weight: 19 }, { arbitrary: largeValues, weight: 1 });
  const samples = fc.sample(mixed, { numRuns: RUNS, seed });
  const [toWorker, workerRx] = channel<unknown>();
  const [workerTx, back] = channel<unknown>();
  const worker = new Worker(new URL("./workers/echo.ts", import.meta.url), { type: "module" });
  const done = nextReply(worker, "echo worker");
  worker.postMessage({ rx: workerRx.transfer(), tx: workerTx.transfer() });
  try {
    let received = 0;
    for (let i = 0; i < samples.length; i++) {
      toWorker.sendSync(samples[i]);
      // Keep a few in flight, so that the ring wraps while both threads work.
      if (i - received >= 16) check(samples[received], back.recvSync(), received++, seed);
    }
    toWorker.close();
    while (received < samples.length) check(samples[received], back.recvSync(), received++, seed);
    // The worker closes its sender when it leaves the loop: wait for that, not just "empty".
    assert.throws(() => back.recvSync({ timeout: 10_000 }), RecvError);
    await done;
  } finally {
    worker.terminate();
  }
});

function check(sent: unknown, got: unknown, index: number, seed: number) {
  const diff = graphDiff(structuredClone(sent), got);
  if (diff !== null) assert.fail(`value #${index} (seed ${seed}) differs: ${diff}`);
}
