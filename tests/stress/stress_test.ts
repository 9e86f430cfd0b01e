// Stress: 8 producer workers, mixed sync and async senders, random message types and sizes
// (0 B to 256 KiB), one receiver switching between recvSync, recv and tryRecv; unbounded,
// bounded (1, 7, 1024) and rendezvous channels. Every message must arrive exactly once, in
// per-producer order, equal to what was sent. Producers close after different counts.
//
//   STRESS_FACTOR=10 deno test -A tests/stress/   # more messages (default 1: ~1k per producer)
//   STRESS_SOAK_MINUTES=10 deno test -A --filter soak tests/stress/   # the soak
import assert from "node:assert/strict";
import { channel, type Receiver, RecvError, syncChannel } from "../../mod.ts";
import { graphDiff } from "../_helpers/equal.ts";
import { countOf, idOf, message, prng } from "./_messages.ts";
import { nextReply } from "../_helpers/workers.ts";

const FACTOR = Number(Deno.env.get("STRESS_FACTOR") ?? 1);
const PRODUCERS = 8;
const BASE = Math.round(1000 * FACTOR);
const SOAK_MINUTES = Number(Deno.env.get("STRESS_SOAK_MINUTES") ?? 0);

interface Report {
  p: number;
  sent: number;
  failed: number;
}

function spawnProducers(
  tx: ReturnType<typeof channel<unknown>>[0],
  counts: number[],
): { workers: Worker[]; reports: Promise<Report[]> } {
  const workers: Worker[] = [];
  const reports: Promise<Report>[] = [];
  for (let p = 0; p < counts.length; p++) {
    const worker = new Worker(new URL("./producer.ts", import.meta.url), { type: "module" });
    workers.push(worker);
    reports.push(nextReply(worker, `producer ${p}`));
    const handle = (p === counts.length - 1 ? tx : tx.clone()).transfer();
    worker.postMessage({ handle, p, count: counts[p], async: p % 2 === 1 });
  }
  return { workers, reports: Promise.all(reports) };
}

/** Receives one message, choosing recvSync, recv or tryRecv at random; undefined at the end. */
async function receiveOne(rx: Receiver<unknown>, r: () => number): Promise<unknown | undefined> {
  const how = r();
  try {
    if (how < 0.4) return rx.recvSync({ timeout: 30_000 });
    if (how < 0.8) return await rx.recv({ signal: AbortSignal.timeout(30_000) });
    const result = rx.tryRecv();
    if (result.state === "ok") return result.value;
    if (result.state === "disconnected") return undefined;
    return rx.recvSync({ timeout: 30_000 });
  } catch (error) {
    if (error instanceof RecvError) return undefined;
    throw error;
  }
}

async function run(bound: number | undefined, seed: number) {
  const [tx, rx] = bound === undefined ? channel<unknown>() : syncChannel<unknown>(bound);
  const counts = Array.from({ length: PRODUCERS }, (_, p) => countOf(p, BASE, seed));
  const { workers, reports } = spawnProducers(tx, counts);
  const next = new Array<number>(PRODUCERS).fill(0);
  const r = prng(seed);
  let total = 0;
  try {
    for (;;) {
      const value = await receiveOne(rx, r);
      if (value === undefined) break;
      const { p, seq } = idOf(value);
      assert.equal(seq, next[p], `producer ${p}: got seq ${seq}, expected ${next[p]}`);
      const diff = graphDiff(message(p, seq), value);
      if (diff !== null) assert.fail(`message (${p}, ${seq}) differs: ${diff}`);
      next[p]++;
      total++;
    }
    const done = await reports;
    assert.deepEqual(next, counts, "every message of every producer, exactly once");
    assert.deepEqual(done.map((d) => d.sent), counts);
    assert.equal(total, counts.reduce((a, b) => a + b));
    assert.equal(rx.len, 0);
  } finally {
    for (const worker of workers) worker.terminate();
    rx.close();
  }
  return total;
}

for (const bound of [undefined, 1024, 7, 1, 0]) {
  const name = bound === undefined ? "unbounded" : bound === 0 ? "rendezvous" : `bound ${bound}`;
  Deno.test(`stress: ${PRODUCERS} producers into one receiver, ${name}`, async () => {
    const total = await run(bound, 0x5eed + (bound ?? 99));
    console.log(`stress ${name}: ${total} messages verified`);
  });
}

Deno.test("stress: the receiver closes at a random moment; no sender hangs", async () => {
  for (const bound of [undefined, 7]) {
    const seed = 0xc105e + (bound ?? 0);
    const [tx, rx] = bound === undefined ? channel<unknown>() : syncChannel<unknown>(bound);
    const counts = Array.from({ length: PRODUCERS }, (_, p) => countOf(p, BASE, seed));
    const { workers, reports } = spawnProducers(tx, counts);
    const stopAfter = Math.floor(prng(seed)() * BASE * 2);
    const got = new Array<number>(PRODUCERS).fill(0);
    try {
      for (let i = 0; i < stopAfter; i++) {
        const { p, seq } = idOf(rx.recvSync({ timeout: 30_000 }));
        assert.equal(seq, got[p]++, "per-producer order");
      }
      rx.close();
      const done = await reports; // every producer finishes: failed sends threw SendError
      for (const { p, sent, failed } of done) {
        assert.equal(sent + failed, counts[p]);
        assert.ok(sent >= got[p], `producer ${p} sent ${sent}, ${got[p]} received`);
      }
    } finally {
      for (const worker of workers) worker.terminate();
    }
  }
});

Deno.test({
  name: `soak: ${SOAK_MINUTES} minutes of unbounded stress with flat memory`,
  ignore: SOAK_MINUTES <= 0,
  async fn() {
    const end = performance.now() + SOAK_MINUTES * 60_000;
    const rss: number[] = [];
    let messages = 0;
    for (let round = 0; performance.now() < end; round++) {
      messages += await run(round % 2 === 0 ? undefined : 7, round);
      rss.push(Deno.memoryUsage().rss);
      console.log(
        `round ${round}: ${messages} messages, rss ${(rss.at(-1)! / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    const quarter = Math.max(1, Math.floor(rss.length / 4));
    const early = Math.max(...rss.slice(0, quarter));
    const late = Math.max(...rss.slice(-quarter));
    console.log(`soak: ${messages} messages; rss early ${early >> 20} MiB, late ${late >> 20} MiB`);
    assert.ok(late <= early * 1.25 + 32 * 2 ** 20, `memory grew: ${early} -> ${late}`);
  },
});
