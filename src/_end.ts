/**
 * What every channel end has, written once: its state (open, closed, moved to another thread),
 * its place in the channel's end count (held directly, or under a lifeline when adopted from a
 * handle), the finalizer that releases that place when an end is garbage-collected unclosed,
 * and moving it into a handle. `Sender` and `Receiver` each hold one and keep only what
 * differs. Internal.
 *
 * @module
 */
import type { Mover } from "./_brand.ts";
import { adjustHeld, terminated } from "./_lifeline.ts";
import { uncut } from "./_thread.ts";
import { watchWorkers } from "./_deno_35657.ts";
import { heldHere } from "./_settlement.ts";
import { released } from "./_slots.ts";
import type { SharedChannel } from "./_shared_channel.ts";
import type { Codec } from "./codec/types.ts";
import { disarm, type EndHandle, makeHandle, voidHandle } from "./handle.ts";

/** Which end. */
export type Kind = "sender" | "receiver";

/** An end's place in its channel's end count. */
interface Held {
  kind: Kind;
  chan: SharedChannel;
  /** For an end adopted from a handle: the lifeline it is held under (see _lifeline.ts). */
  lifeline: Int32Array | null;
}

/**
 * Releases one end of `held`'s channel, unless a terminator settled it already, or is about to
 * (this thread is being ended: see `uncut`). Counted off the lifeline and dropped, or neither.
 */
function drop(held: Held): void {
  uncut(() => {
    if (held.lifeline !== null) {
      if (!adjustHeld(held.lifeline, -1)) return;
      released(held.lifeline);
    }
    if (held.kind === "sender") held.chan.dropSender();
    else held.chan.closeReceiver();
  }, () => {});
}

/** Releases the ends that are garbage-collected without `close()`. */
const dropped = new FinalizationRegistry<Held>(drop);

const OPEN = 0;
const CLOSED = 1;
const MOVED = 2;
/** Inside a message being sent (see `CarriedEnd`): back to OPEN, or MOVED once it went. */
const LENT = 3;

/** One end's state and accounting. */
export class End {
  readonly chan: SharedChannel;
  #held: Held;
  #state = OPEN;
  /** `close()` was called while the end was lent to a message (see `close`). */
  #closeWhenBack = false;

  /**
   * Holds one end of `kind` for `owner` (the public object, whose collection releases it). The
   * channel's count must already include it.
   */
  constructor(owner: object, kind: Kind, chan: SharedChannel, lifeline: Int32Array | null) {
    this.chan = chan;
    this.#held = { kind, chan, lifeline };
    dropped.register(owner, this.#held, this);
    watchWorkers();
  }

  /** Whether the end is open (not closed, not moved). */
  get open(): boolean {
    return this.#state === OPEN;
  }

  /** Throws a `TypeError` saying why `action` is impossible, unless the end is open. */
  check(action: string): void {
    if (this.#state === OPEN) return;
    throw new TypeError(`Cannot ${action}: this ${this.#held.kind} ${this.#why()}`);
  }

  /** Why the end is not open, as the end of a sentence. */
  #why(): string {
    return this.#state === MOVED
      ? "was transferred"
      : this.#state === LENT
      ? "is inside a message being sent"
      : "was closed";
  }

  /**
   * Another end of the same kind in this thread, held the same way; `add` counts it in the
   * channel. Counted in the channel and on the lifeline, or neither.
   * @throws {DOMException} `AbortError` if this thread is being ended.
   */
  clone(owner: object, add: () => void): End {
    const { kind, chan, lifeline } = this.#held;
    uncut(() => {
      add();
      if (lifeline !== null && !adjustHeld(lifeline, 1)) {
        // A terminator settled this thread's ends meanwhile: the new one is not ours to hold.
        drop({ kind, chan, lifeline: null });
        throw terminated();
      }
    }, () => {
      throw terminated();
    });
    return new End(owner, kind, chan, lifeline);
  }

  /**
   * Closes the end: releases its place in the count. @returns false if it was not open (then
   * nothing happens: closing is idempotent).
   */
  close(): boolean {
    if (this.#state === LENT) {
      // Inside a message being sent: closed if the send fails and gives it back; if it goes,
      // its receiver holds it (it has no calls pending: see `blocker`).
      this.#closeWhenBack = true;
      return false;
    }
    if (this.#state !== OPEN) return false;
    this.#state = CLOSED;
    dropped.unregister(this);
    drop(this.#held);
    return true;
  }

  /**
   * How `spawn` moves this end (see `Mover`): `pending` counts its object's async calls in
   * flight, `codec` is its channel's codec.
   */
  mover(pending: () => number, codec: Codec<unknown>): Mover {
    return {
      blocker: () => this.blocker(pending()),
      prepare: () => this.prepare(codec),
      commit: (handle) => this.commit(handle as EndHandle),
      carry: () => ({
        chan: this.chan,
        kind: this.#held.kind,
        flags: 0,
        codec: codec.name,
        lend: () => {
          const why = this.blocker(pending());
          if (why !== null) throw new TypeError(`Cannot send a message that carries it: ${why}`);
          this.#state = LENT;
        },
        restore: () => {
          if (this.#state !== LENT) return;
          this.#state = OPEN;
          if (this.#closeWhenBack) {
            this.#closeWhenBack = false;
            this.close();
          }
        },
        away: () => this.#away(),
      }),
    };
  }

  /**
   * A message carries the end away (inside the sending thread's uncuttable commit step): this
   * object becomes unusable; the channel's count does not change (the end is in flight in the
   * message, held by no thread, until a thread receives it).
   * @returns false if a terminator settled this thread's ends first (then the end is closed).
   */
  #away(): boolean {
    this.#state = MOVED;
    dropped.unregister(this);
    const lifeline = this.#held.lifeline;
    if (lifeline === null) return true;
    if (!adjustHeld(lifeline, -1)) return false;
    released(lifeline);
    return true;
  }

  /**
   * Why the end cannot be moved into a handle now, or null: it must be open, with no async
   * calls (`pending`) in flight.
   */
  blocker(pending: number): string | null {
    const kind = this.#held.kind;
    if (this.#state !== OPEN) return `this ${kind} ${this.#why()}`;
    if (pending > 0) {
      return `its ${kind === "sender" ? "send() or closed()" : "recv()"} calls are pending`;
    }
    return null;
  }

  /**
   * Moves the end into a handle: this object becomes unusable; the channel's count does not
   * change (the end leaves this thread, so it is no longer held here).
   * @throws {TypeError} if the end has async calls pending (`pending` > 0).
   */
  transfer(codec: Codec<unknown>, pending: number): EndHandle {
    if (pending > 0) {
      throw new TypeError(`Cannot transfer a ${this.#held.kind}: ${this.blocker(pending)}`);
    }
    const handle = this.prepare(codec);
    uncut(() => this.commit(handle), () => {
      disarm(handle);
      throw terminated();
    });
    return handle;
  }

  /**
   * A handle for this end, which stays usable until `commit()` (`spawn` posts the handle, then
   * commits: if posting throws, nothing has moved). Nobody can adopt the handle before it is
   * posted, and this thread does not use the end between the two calls.
   */
  prepare(codec: Codec<unknown>): EndHandle {
    return makeHandle(this.#held.kind, this.chan, codec);
  }

  /**
   * Marks the end moved into `handle` (made by `prepare()`): this object becomes unusable.
   * @throws {DOMException} `AbortError` if a terminator settled the end first (it is closed):
   * the handle is void then, and adopting it fails.
   */
  commit(handle: EndHandle): void {
    this.#state = MOVED;
    dropped.unregister(this);
    const lifeline = this.#held.lifeline;
    if (lifeline === null) return;
    if (adjustHeld(lifeline, -1)) {
      released(lifeline);
      return;
    }
    // Dropped for this thread already: the handle must not count the end a second time.
    disarm(handle);
    voidHandle(handle);
    throw terminated();
  }

  /** The channel, for a getter: throws if this worker was terminated or it is corrupted. */
  usable(): SharedChannel {
    this.chan.assertUsable();
    return this.chan;
  }

  /** The channel's bound in messages (0: rendezvous), or `Infinity` when unbounded. */
  capacity(): number {
    const bound = this.usable().bound;
    return bound < 0 ? Infinity : bound;
  }
}

/**
 * An end made in this thread by `channel()`: held directly, or, in a thread that `spawn`
 * started, under a lifeline its parent settles if this thread ends (see `heldHere`).
 * `claimOwner` is the owner id a sender's claims carry; a receiver's claim carries this thread's
 * receiver token (see `SharedChannel.token`).
 */
export function madeHere(owner: object, kind: Kind, chan: SharedChannel, claimOwner = 0): End {
  if (kind === "receiver") claimOwner = chan.token;
  const lifeline = heldHere(kind, chan, claimOwner);
  // Its claims (a sender's) or rendezvous tokens (a receiver's) are recorded where the parent
  // will look for them (see CLAIM_AT, TOKENS_OUT).
  if (lifeline !== null) {
    if (kind === "sender") chan.claims = lifeline;
    else chan.tokens = lifeline;
  }
  return new End(owner, kind, chan, lifeline);
}
