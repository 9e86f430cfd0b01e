/// <reference lib="deno.worker" />
/**
 * For bench/cheap_channels.ts: adopts every receiver handle it is posted (one message), keeps
 * them, and says "ready"; then idles until terminated.
 *
 * @module
 */
import { Receiver, type ReceiverHandle } from "@wasmring/mpsc";

const keep: unknown[] = [];
self.onmessage = (e: MessageEvent<ReceiverHandle<number>[]>) => {
  for (const handle of e.data) keep.push(Receiver.from(handle));
  self.postMessage("ready");
};
