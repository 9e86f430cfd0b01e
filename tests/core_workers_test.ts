// The raw core across real threads: 4 producer workers × 100k records of random length (0 B to
// 50 KiB, some larger than the first ring) into one consumer on the main thread. Every record
// must arrive exactly once, in per-producer order, byte for byte.
import assert from "node:assert/strict";
import { CORE, isOffset } from "../src/_core.ts";
import { rawChannel } from "../src/_arena.ts";
import { checkPayload, recordId, recordLength } from "./_core_pattern.ts";
import { nextReply } from "./_helpers/workers.ts";

const PRODUCERS = 4;
const PER_PRODUCER = Number(Deno.env.get("CORE_STRESS_COUNT") ?? 100_000);

async function run(bound: number, initialCapacity: number) {
  const { memory, core, ch, gen } = rawChannel(bound, 256 * 1024 * 1024, initialCapacity);
  for (let i = 1; i < PRODUCERS; i++) core.addSender(ch, gen);
  const workers: Worker[] = [];
  const done: Promise<{ id: number; spins: number }>[] = [];
  for (let id = 0; id < PRODUCERS; id++) {
    const worker = new Worker(new URL("./workers/core_producer.ts", import.meta.url), {
      type: "module",
    });
    workers.push(worker);
    done.push(nextReply(worker, `producer ${id}`));
    worker.postMessage({ memory, ch, gen, id, count: PER_PRODUCER });
  }
  const i32 = new Int32Array(memory.buffer);
  let u8 = new Uint8Array(memory.buffer);
  const next = new Array<number>(PRODUCERS).fill(0);
  let received = 0;
  let waits = 0;
  for (;;) {
    const at = core.peek(ch, gen, CORE.FIRST_TOKEN);
    if (isOffset(at)) {
      const length = core.peekLength();
      if (at + length > u8.length) u8 = new Uint8Array(memory.buffer);
      const id = length === 0 ? 0 : recordId(u8, at);
      assert.ok(id < PRODUCERS, `producer id ${id}`);
      const seq = next[id]++;
      assert.equal(length, recordLength(id, seq), `length of (${id}, ${seq})`);
      const diff = checkPayload(u8, at, length, id, seq);
      if (diff) assert.fail(diff);
      core.release(ch, gen, CORE.FIRST_TOKEN);
      received++;
      continue;
    }
    if (at === CORE.DISCONNECTED) break;
    if (at === CORE.BUSY) continue;
    if (at === CORE.CORRUPTED) {
      assert.fail(`the channel was failed by check ${core.corrupted(ch, gen)}`);
    }
    assert.equal(at, CORE.EMPTY);
    const seq = core.waitDataBegin(ch, gen);
    const again = core.peek(ch, gen, CORE.FIRST_TOKEN);
    if (isOffset(again)) core.unpeek(ch, CORE.FIRST_TOKEN);
    if (again === CORE.EMPTY) {
      waits++;
      // A bounded wait: a lost wake-up would show up as a test timeout, not a silent pass.
      assert.notEqual(Atomics.wait(i32, (ch + CORE.DATA_SEQ) / 4, seq, 10_000), "timed-out");
    }
    core.waitDataEnd(ch, gen);
  }
  await Promise.all(done);
  for (const worker of workers) worker.terminate();
  assert.equal(received, PRODUCERS * PER_PRODUCER);
  assert.deepEqual(next, new Array(PRODUCERS).fill(PER_PRODUCER));
  assert.equal(core.length(ch, gen), 0);
  return { waits, storage: core.storageBytes(ch, gen) };
}

Deno.test("4 producers × 100k records into one consumer, unbounded", async () => {
  await run(CORE.UNBOUNDED, CORE.MAX_INITIAL_CAPACITY);
});

Deno.test("4 producers into one consumer, tiny first ring, bounded to 16 messages", async () => {
  await run(16, 64);
});
