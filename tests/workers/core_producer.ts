/// <reference lib="deno.worker" />
// A producer over the raw core, for tests/core_workers_test.ts: sends `count` records of
// pseudo-random length (see recordLength in tests/_core_pattern.ts) and drops its sender.
// It retries while the channel is full, like a blocking sender without the waiting.
import { CORE, instantiate, isOffset } from "../../src/_core.ts";
import { fillPayload, recordLength } from "../_core_pattern.ts";

self.onmessage = (event: MessageEvent) => {
  const { memory, ch, gen, id, count } = event.data as {
    memory: WebAssembly.Memory;
    ch: number;
    gen: number;
    id: number;
    count: number;
  };
  const core = instantiate(memory);
  let u8 = new Uint8Array(memory.buffer);
  let spins = 0;
  for (let seq = 0; seq < count; seq++) {
    const length = recordLength(id, seq);
    let at: number;
    while (!isOffset(at = core.reserve(ch, gen, length, id + 1))) {
      // FULL: the bound; NO_MEMORY: maxBytes reached while the consumer catches up; BUSY:
      // another producer is linking a new ring.
      if (at !== CORE.FULL && at !== CORE.NO_MEMORY && at !== CORE.BUSY) {
        const check = at === CORE.CORRUPTED ? ` (check ${core.corrupted(ch, gen)})` : "";
        throw new Error(`reserve failed with status ${at}${check}`);
      }
      spins++;
    }
    if (at + length > u8.length) u8 = new Uint8Array(memory.buffer);
    fillPayload(u8, at, length, id, seq);
    core.commit(ch, gen, at, id + 1, length);
  }
  core.dropSender(ch, gen);
  self.postMessage({ id, spins });
  self.close();
};
