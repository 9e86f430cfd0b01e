/**
 * Handles: channel ends in transit between threads.
 *
 * @module
 */
import { SharedChannel } from "./_shared_channel.ts";
import {
  ABANDONED,
  ADOPTED,
  CHANNEL,
  CHANNEL_GEN,
  CLAIM_WORDS,
  createClaim,
  createLifeline,
  LIFELINE_WORDS,
  type Lifelined,
  OWNER,
  PROTOCOL,
} from "./_lifeline.ts";
import { abandon, claim, track } from "./_settlement.ts";
import { VERSION } from "./_version.ts";
import { type Codec, codecNamed, resolveCodec } from "./codec/mod.ts";

/** What a sender or receiver handle holds; plain data that `postMessage` can copy. */
export interface EndHandle {
  /** Always `"@wasmring/mpsc@1"`. */
  readonly protocol: "@wasmring/mpsc@1";
  /** The version of the library that made the handle; another version's handle is refused. */
  readonly version: string;
  /** The channel's shared memory: its arena, which may hold other channels. */
  readonly memory: WebAssembly.Memory;
  /** Where the channel's control block is in `memory`. */
  readonly offset: number;
  /** The control block's generation: an end of a channel gone since is refused. */
  readonly generation: number;
  /** The channel's id, checked against the memory on adoption. */
  readonly id: number;
  /** The name of the channel's codec. */
  readonly codec: string;
  /** Shared by every copy of the handle: adopted once; the owner id of its senders' claims. */
  readonly claim: Int32Array;
  /** One per posting: "the worker it was posted to was terminated"; the ends held there. */
  readonly lifeline: Int32Array;
}

/**
 * A {@linkcode Sender} in transit: the result of `Sender.transfer()`, to be posted to a worker
 * and adopted there with `Sender.from()`.
 *
 * @typeParam T The channel's message type.
 */
export interface SenderHandle<T> extends EndHandle {
  /** Always `"sender"`. */
  readonly kind: "sender";
  /** Never present: carries the message type for TypeScript. */
  readonly __message?: T;
}

/**
 * A {@linkcode Receiver} in transit: the result of `Receiver.transfer()`, to be posted to a
 * worker and adopted there with `Receiver.from()`.
 *
 * @typeParam T The channel's message type.
 */
export interface ReceiverHandle<T> extends EndHandle {
  /** Always `"receiver"`. */
  readonly kind: "receiver";
  /** Never present: carries the message type for TypeScript. */
  readonly __message?: T;
}

/**
 * Which way a moved end goes: `DOWN` into a worker `spawn` starts (its handle's lifeline is one
 * the spawning thread holds, and has reported to its own parent: the worker adopts under it),
 * or `UP` in a worker's result (its lifeline dies with that worker: adopted under a fresh one).
 */
export type Way = typeof DOWN | typeof UP;
export const DOWN = "down";
export const UP = "up";

/**
 * A handle of an end of a oneshot channel (see `oneshot()`): adopted only by
 * `OneshotSender.from()` or `OneshotReceiver.from()`, never as a plain end.
 */
export interface OneshotHandle {
  /** Always `true`. */
  readonly oneshot: true;
}

/** Options of `Sender.from()` and `Receiver.from()`. */
export interface AdoptOptions<T> {
  /**
   * The channel's codec, or its name. Needed only when the channel uses a custom codec that is
   * not registered in this thread (see `registerCodec`); it must have the name recorded in the
   * handle.
   */
  codec?: Codec<T> | string;
}

/** What becomes of a handle made here, for `lost` (it must not hold the handle itself). */
interface Fate {
  /** Whether the handle was ever copied out of this thread (or read: see `makeHandle`). */
  sent: boolean;
  handle: Lifelined;
}

/**
 * Handles that are garbage-collected without ever having been copied out of this thread
 * (posted, by any path) or adopted: their ends are closed, as an end collected unclosed is.
 */
const lost = new FinalizationRegistry<Fate>((fate) => {
  unsent.delete(fate);
  if (!fate.sent) abandon(fate.handle);
});

/**
 * The fates of handles made here and not known to be sent: a thread that ends closes their
 * ends (see `abandonUnsent`), since a thread that has ended collects nothing.
 */
const unsent = new Set<Fate>();
const fates = new WeakMap<object, Fate>();

/**
 * Closes the ends of the handles made in this thread that never left it (as it ends: they are
 * lost with it). `died`: say so to their peers.
 */
export function abandonUnsent(died: boolean): void {
  for (const fate of unsent) abandon(fate.handle, died);
  unsent.clear();
}

/**
 * Makes `handle` impossible to adopt, without closing its end (a terminator closed it already):
 * adopting any copy of it fails, saying the end was closed.
 */
export function voidHandle(handle: EndHandle): void {
  Atomics.compareExchange(handle.claim, ADOPTED, 0, ABANDONED);
}

/** Forgets `handle` (made by `makeHandle`): its collection closes nothing (spawn failed). */
export function disarm(handle: object): void {
  lost.unregister(handle);
  const fate = fates.get(handle);
  if (fate !== undefined) unsent.delete(fate);
}

/**
 * Makes a handle for an end of `chan`; senders adopting it will claim as a new owner.
 *
 * The handle's `id` is a getter: whatever copies the handle out of this thread — `postMessage`
 * on a worker or a `MessagePort`, `structuredClone` — reads it, which marks the handle as sent
 * (the copy arrives with a plain `id`). A handle collected unsent and unadopted has its end
 * closed (see `lost`).
 */
export function makeHandle<K extends "sender" | "receiver">(
  kind: K,
  chan: SharedChannel,
  codec: Codec<unknown>,
): EndHandle & { kind: K } {
  const id = chan.id;
  const handle = {
    protocol: PROTOCOL,
    version: VERSION,
    kind,
    memory: chan.memory,
    offset: chan.offset,
    generation: chan.generation,
    id,
    codec: codec.name,
    claim: createClaim(kind === "sender" ? chan.newOwner() : 0, chan.offset, chan.generation),
    lifeline: createLifeline(),
  } as const;
  const fate: Fate = {
    sent: false,
    handle: { kind, memory: chan.memory, claim: handle.claim, lifeline: handle.lifeline },
  };
  Object.defineProperty(handle, "id", {
    get: () => {
      fate.sent = true;
      unsent.delete(fate);
      return id;
    },
    enumerable: true,
    configurable: true,
  });
  lost.register(handle, fate, handle);
  unsent.add(fate);
  fates.set(handle, fate);
  track(handle);
  return handle;
}

/**
 * Checks a handle and claims it.
 * @returns the thread's connection to the channel and the codec to use.
 * @throws {TypeError} for anything that is not an unadopted handle of the given kind, or a codec
 * that does not match.
 */
export function adopt<T>(
  handle: unknown,
  kind: "sender" | "receiver",
  options: AdoptOptions<T> | undefined,
  oneshot = false,
): { chan: SharedChannel; codec: Codec<T>; lifeline: Int32Array; owner: number } {
  const what = (oneshot ? "Oneshot" : "") + (kind === "sender" ? "Sender" : "Receiver");
  const h = handle as Partial<EndHandle & { kind: string }> | null;
  if (
    typeof h !== "object" || h === null || typeof h.protocol !== "string" ||
    !h.protocol.startsWith("@wasmring/mpsc@")
  ) {
    throw new TypeError(`Cannot adopt a ${kind}: not a handle from ${what}.transfer()`);
  }
  if (h.protocol !== PROTOCOL || h.version !== VERSION) {
    throw new TypeError(
      `Cannot adopt a ${kind}: the handle comes from @wasmring/mpsc ` +
        `${typeof h.version === "string" ? h.version : "older than 0.1.0"}, and this thread ` +
        `runs ${VERSION}: every thread must use the same version`,
    );
  }
  if (h.kind !== kind) {
    throw new TypeError(`Cannot adopt a ${kind}: this is a ${String(h.kind)} handle`);
  }
  // A oneshot end adopted as a plain one could send twice; a plain one as a oneshot end would
  // take one message of many.
  if (((h as { oneshot?: unknown }).oneshot === true) !== oneshot) {
    throw new TypeError(
      oneshot
        ? `Cannot adopt a oneshot ${kind}: this is a channel's ${kind} handle; adopt it with ` +
          `${kind === "sender" ? "Sender" : "Receiver"}.from()`
        : `Cannot adopt a ${kind}: this is a oneshot ${kind}'s handle; adopt it with ` +
          `Oneshot${what}.from()`,
    );
  }
  if (
    !(h.memory instanceof WebAssembly.Memory) || !isShared(h.claim, CLAIM_WORDS) ||
    !isShared(h.lifeline, LIFELINE_WORDS) ||
    typeof h.id !== "number" || typeof h.codec !== "string" ||
    !isWord(h.offset) || !isWord(h.generation) || h.claim[CHANNEL] !== h.offset ||
    h.claim[CHANNEL_GEN] !== h.generation
  ) {
    throw new TypeError(`Cannot adopt a ${kind}: the handle is damaged`);
  }
  if (!(h.memory.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`Cannot adopt a ${kind}: the handle's memory is not shared`);
  }
  let codec: Codec<T>;
  if (options?.codec !== undefined) {
    codec = resolveCodec<T>(options.codec, `Cannot adopt a ${kind}`);
    if (codec.name !== h.codec) {
      throw new TypeError(
        `Cannot adopt a ${kind}: the channel uses codec "${h.codec}", not "${codec.name}"`,
      );
    }
  } else {
    const known = codecNamed(h.codec);
    if (known === undefined) {
      throw new TypeError(
        `Cannot adopt a ${kind}: the channel uses the custom codec "${h.codec}", not ` +
          `registered in this thread; call registerCodec(codec) at the top level of a module ` +
          `this worker imports, or pass it as ${what}.from(handle, { codec })`,
      );
    }
    codec = known as Codec<T>;
  }
  let chan: SharedChannel;
  try {
    chan = SharedChannel.open(h.memory, h.offset!, h.generation!, h.id);
  } catch {
    throw new TypeError(`Cannot adopt a ${kind}: the handle's memory holds no channels`);
  }
  const status = chan.validate();
  if (status === "corrupted" && chan.recordedId() === h.id) chan.corrupted();
  if (status !== "ok" || chan.recordedId() !== h.id) {
    throw new TypeError(`Cannot adopt a ${kind}: the handle's memory holds no such channel`);
  }
  // An end `spawn` moved into this worker is held under the lifeline it came with: the spawning
  // thread holds that one already (and has told its own parent), so no report can come too late.
  const moved = (h as { moved?: unknown }).moved;
  const keep = moved === DOWN;
  // An end in a worker's result is held under a fresh one: the threads above that worker hold
  // the lifeline it came with, and settle it with the worker.
  const lifeline = claim(
    { kind, claim: h.claim!, lifeline: h.lifeline!, memory: h.memory },
    keep,
    moved === UP,
  );
  if (typeof lifeline === "string") throw new TypeError(`Cannot adopt a ${kind}: ${lifeline}`);
  // Its senders tell a terminator where their claims are (see CLAIM_AT in _lifeline.ts); its
  // receivers' token tells it whether they hold the consumer lock (see `settleHolder`). Adopted
  // once: this thread alone writes the claim now.
  if (kind === "sender") chan.claims = lifeline;
  else {
    h.claim![OWNER] = chan.token;
    chan.tokens = lifeline;
  }
  return { chan, codec, lifeline, owner: h.claim![OWNER] };
}

function isWord(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0x7fffffff;
}

function isShared(words: unknown, length: number): words is Int32Array {
  return words instanceof Int32Array && words.buffer instanceof SharedArrayBuffer &&
    words.length >= length;
}
