// Faults: in each of 200 trials (FAULT_TRIALS), two producer workers flood a bounded or
// unbounded channel and one of them is terminated at a random moment. Nothing may hang (each
// trial has a watchdog), and the accounting must hold: every message that arrives is in
// per-producer order without duplicates, the survivor's stream is unbroken, and once the
// survivor is stopped the receiver sees disconnection.
import assert from "node:assert/strict";
import { type Receiver, RecvError, syncChannel } from "../../mod.ts";
import { channel } from "../../mod.ts";
import { prng } from "./_messages.ts";
import { nextReply } from "../_helpers/workers.ts";

/** As fault_worker.ts sends them: [p, seq], or [p, seq, …] as a 1 KiB Uint32Array. */
type Message = number[] | Uint32Array;

const TRIALS = Number(Deno.env.get("FAULT_TRIALS") ?? 200);

async function spawn(handle: unknown, p: number): Promise<Worker> {
  const worker = new Worker(new URL("./fault_worker.ts", import.meta.url), { type: "module" });
  const ready = nextReply(worker, `producer ${p}`);
  worker.postMessage({ handle, p });
  await ready;
  return worker;
}

function take(rx: Receiver<Message>, next: number[]): boolean {
  let value: Message;
  try {
    value = rx.recvSync({ timeout: 10_000 });
  } catch (error) {
    if (error instanceof RecvError) return false;
    throw error;
  }
  const [p, seq] = value;
  if (value instanceof Uint32Array) assert.equal(value[255], 255 * 0x01010101 >>> 0);
  assert.equal(seq, next[p], `producer ${p}: seq ${seq} after ${next[p] - 1}`);
  next[p]++;
  return true;
}

Deno.test(`faults: ${TRIALS} trials of a producer terminated at a random moment`, async () => {
  const r = prng(0xfa17);
  let received = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const bounded = trial % 2 === 0;
    const [tx, rx] = bounded ? syncChannel<Message>(1 + (trial % 7)) : channel<Message>();
    const victim = await spawn(tx.clone().transfer(), 0);
    const survivor = await spawn(tx.transfer(), 1);
    const next: number[] = [0, 0];
    const watchdog = setTimeout(() => {
      console.error(`trial ${trial} hangs`);
      Deno.exit(1);
    }, 20_000);
    try {
      // Receive a random number of messages, then terminate the victim mid-stream.
      const before = Math.floor(r() * 200);
      for (let i = 0; i < before; i++) take(rx, next);
      victim.terminate();
      // The survivor's stream continues, unbroken.
      const target = next[1] + 50;
      while (next[1] < target) take(rx, next);
      // Drain what is there (still in order, no duplicates), then stop the survivor.
      for (let left = rx.len; left > 0; left--) {
        const result = rx.tryRecv();
        if (result.state !== "ok") break;
        const [p, seq] = result.value;
        assert.equal(seq, next[p], `producer ${p}: seq ${seq} after ${next[p] - 1}`);
        next[p]++;
      }
      rx.close();
      received += next[0] + next[1];
    } finally {
      clearTimeout(watchdog);
      survivor.terminate();
      victim.terminate();
    }
  }
  assert.ok(received > TRIALS * 50);
  console.log(`faults: ${TRIALS} producers terminated, ${received} messages verified, 0 hangs`);
});

Deno.test(`faults: ${TRIALS} receivers' workers terminated at random moments; no sender hangs`, async () => {
  const r = prng(0xdead);
  for (let trial = 0; trial < TRIALS; trial++) {
    const [tx, rx] = syncChannel<number>(1 + (trial % 3));
    const worker = new Worker(new URL("../workers/dead_peer.ts", import.meta.url), {
      type: "module",
    });
    await new Promise<void>((resolve) => {
      worker.onmessage = () => resolve();
      worker.postMessage({ mode: "receive", handle: rx.transfer() });
    });
    setTimeout(() => worker.terminate(), Math.floor(r() * 5));
    // The channel fills and nobody receives: the send must fail with SendError once the
    // receiver's worker is gone, not hang.
    let failed = false;
    for (let i = 0; i < 100 && !failed; i++) {
      try {
        await tx.send(i, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        assert.equal((error as Error).name, "SendError", String(error));
        failed = true;
      }
    }
    assert.ok(failed, `trial ${trial}: sends kept succeeding`);
    tx.close();
  }
  console.log(`faults: ${TRIALS} receivers terminated, no sender hung`);
});
