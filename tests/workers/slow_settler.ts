/// <reference lib="deno.worker" />
// Plays a worker in the middle of settling its own ends (see `settle` in src/_lifeline.ts): it
// holds HELD at SETTLING, closes the receiver after `ms`, then marks the lifeline SETTLED.
import { instantiate } from "../../src/_core.ts";
import { HELD, SETTLED } from "../../src/_lifeline.ts";

self.onmessage = (
  e: MessageEvent<
    { memory: WebAssembly.Memory; offset: number; gen: number; lifeline: Int32Array; ms: number }
  >,
) => {
  const { memory, offset, gen, lifeline, ms } = e.data;
  self.postMessage("settling");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  instantiate(memory).closeReceiver(offset, gen);
  Atomics.store(lifeline, HELD, SETTLED);
  Atomics.notify(lifeline, HELD);
};
