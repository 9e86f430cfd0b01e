/// <reference lib="deno.worker" />
// A peer that dies (is terminated) while holding channel ends; see tests/dead_peer_test.ts.
import { instantiate } from "../../src/_core.ts";
import { CLAIM_AT } from "../../src/_lifeline.ts";
import { Receiver, Sender } from "../../mod.ts";

/**
 * Every end adopted here, so that none is garbage-collected (and closed by the library's
 * fallback) before the worker dies: the tests are about ends a dead worker still holds.
 */
const ends: unknown[] = [];
const keep = <T>(end: T): T => (ends.push(end), end);

self.onmessage = (e: MessageEvent) => {
  const { mode, handle } = e.data;
  if (mode === "send3") {
    const tx = keep(Sender.from<number>(handle));
    for (let i = 0; i < 3; i++) tx.sendSync(i);
    keep(tx.clone()); // one more sender held here, never closed
  } else if (mode === "claim") {
    // Adopt, then claim space as this sender's owner and never commit it: the state a producer
    // killed between reserve and commit leaves behind.
    keep(Sender.from<number>(handle));
    const at = instantiate(handle.memory).reserve(
      handle.offset,
      handle.generation,
      16,
      handle.claim[1],
    );
    // (Its claim keeps the channel's memory from going back to the arena: a dead thread's
    // claim leaks, never reused under it.)
    if (at < 16) throw new Error(`reserve failed: ${at}`);
    // Where the claim is, as the library's senders record it for a terminator to find.
    Atomics.store(handle.lifeline, CLAIM_AT, at);
  } else if (mode === "selfclose") {
    // Ends itself without closing its sender (`using` would not run either).
    const tx = keep(Sender.from<number>(handle));
    tx.sendSync(1);
    keep(tx.clone());
    self.postMessage("ready");
    self.close();
    return;
  } else if (mode === "flood") {
    // Sends without pause, never returning to the event loop: terminate() alone would not
    // stop it on Deno 2.9.6. Its next send after the terminate must throw instead.
    const tx = Sender.from<Uint8Array>(handle);
    self.postMessage("ready");
    for (let i = 0;; i++) tx.sendSync(new Uint8Array(4096).fill(i & 0xff));
  } else if (mode === "sendclose") {
    const tx = Sender.from<number>(handle);
    tx.sendSync(5);
    tx.close();
  } else if (mode === "throw") {
    // Dies of an uncaught error while holding a sender (and a clone).
    const tx = keep(Sender.from<number>(handle));
    tx.sendSync(1);
    keep(tx.clone());
    self.postMessage("ready");
    setTimeout(() => {
      throw new Error("the worker fails");
    }, 10);
    return;
  } else if (mode === "forward") {
    self.postMessage(handle); // passes the handle on without adopting it
    return;
  } else if (mode === "tryloop") {
    // Polls without pause, never returning to the event loop: counts its turns in `turns`.
    const rx = Receiver.from<number>(handle);
    const turns = new Int32Array(e.data.turns);
    self.postMessage("ready");
    for (;;) {
      rx.tryRecv();
      void rx.len;
      Atomics.add(turns, 0, 1);
    }
  } else if (mode === "trysendloop") {
    // Polls a full channel without pause, never returning to the event loop: counts its turns.
    const tx = Sender.from<number>(handle);
    const turns = new Int32Array(e.data.turns);
    self.postMessage("ready");
    for (;;) {
      tx.trySend(1);
      Atomics.add(turns, 0, 1);
    }
  } else if (mode === "receive") {
    keep(Receiver.from<number>(handle)); // held, never used
  } else if (mode === "deep") {
    // The handle is somewhere down `e.data.deep`, at the keys in `e.data.path` (Maps: get).
    let at = e.data.deep;
    for (const key of e.data.path) at = at instanceof Map ? at.get(key) : at[key];
    keep(at.kind === "sender" ? Sender.from<number>(at) : Receiver.from<number>(at));
  }
  self.postMessage("ready"); // then idle in the event loop until terminated
};
