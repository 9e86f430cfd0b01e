/**
 * The sending end of a NATS channel.
 *
 * @module
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { AsyncSender, AsyncSendOptions } from "../async_ends.ts";
import type { Codec } from "../codec/types.ts";
import { encodedBytes } from "../sender.ts";
import { SendError } from "../errors.ts";
import { type Link, type Names, sleep } from "./_link.ts";

/** Longest pause between two attempts to publish to a full stream (ms). */
const MAX_BACKOFF_MS = 50;

interface PendingSend<T> {
  value: T;
  bytes: Uint8Array;
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve(): void;
  reject(error: unknown): void;
}

/** JetStream's error for an update of a revision that is not the key's last (it expired). */
const WRONG_LAST_SEQUENCE = 10071;

let create: <T>(
  link: Link,
  names: Names,
  codec: Codec<T>,
  kv: KV,
  ttl: number,
) => Promise<NatsSender<T>>;

/**
 * The sending end of a NATS channel, made by `natsChannel` or `natsSender` of
 * `@wasmring/mpsc/nats`. It implements {@linkcode AsyncSender}.
 *
 * Each message is published to the channel's JetStream stream and stored there (on disk) before
 * its `send` resolves; this sender's messages are stored in the order of its `send` calls (one
 * publish at a time). While the sender is open, a heartbeat keeps its key in the channel's
 * presence bucket; `close()` deletes it, so that receivers can report disconnection once every
 * sender is closed and the stream is drained.
 *
 * @typeParam T The type of the messages.
 * @example
 * ```ts ignore
 * import { natsSender } from "@wasmring/mpsc/nats";
 *
 * await using tx = await natsSender<{ id: number }>("jobs", { servers: "127.0.0.1:4222" });
 * await tx.send({ id: 1 });
 * ```
 */
export class NatsSender<T> implements AsyncSender<T> {
  #link: Link;
  #names: Names;
  #codec: Codec<T>;
  #kv: KV;
  /** This sender's key in the presence bucket; its messages' ids start with it. */
  #id = crypto.randomUUID();
  #seq = 0;
  #queue: PendingSend<T>[] = [];
  #busy = false;
  #open = true;
  #closing: Promise<void> | null = null;
  #heartbeat: ReturnType<typeof setInterval>;
  /** Settles when the publishing loop is idle. */
  #idle: Promise<void> = Promise.resolve();
  /** The channel's sender TTL (see "Disconnection" in the README). */
  #ttl: number;
  /** The revision of this sender's key as last written: each beat updates exactly that one. */
  #revision = 0;
  /** When the key was last written (a beat confirmed), by `performance.now()`. */
  #beatAt = performance.now();
  /** A beat is in flight (one at a time: two would race on the revision). */
  #beating: Promise<void> | null = null;
  /**
   * The key expired: this sender's heartbeat stopped for longer than the TTL (its event loop was
   * blocked, or it was cut off), so receivers may have counted it gone and reported the
   * disconnection — for good. Its sends fail from then on rather than strand their messages.
   */
  #expired = false;

  private constructor(link: Link, names: Names, codec: Codec<T>, kv: KV, ttl: number) {
    this.#link = link.use();
    this.#names = names;
    this.#codec = codec;
    this.#kv = kv;
    this.#ttl = ttl;
    // Three heartbeats per TTL: one lost (a reconnect) does not make the sender look dead.
    this.#heartbeat = setInterval(() => this.#beat(), Math.max(50, ttl / 3));
  }

  static {
    create = async <T>(link: Link, names: Names, codec: Codec<T>, kv: KV, ttl: number) => {
      const tx = new NatsSender<T>(link, names, codec, kv, ttl);
      try {
        tx.#revision = await kv.put(tx.#key(), "");
        tx.#beatAt = performance.now();
      } catch (error) {
        await tx.close();
        throw error;
      }
      return tx;
    };
  }

  #key(): string {
    return `s.${this.#id}`;
  }

  #beat(): Promise<void> {
    if (!this.#open || this.#expired || this.#link.nc.isClosed()) return Promise.resolve();
    return this.#beating ??= (async () => {
      try {
        // An update of the revision last written: it fails once the key expired.
        this.#revision = await this.#kv.update(this.#key(), "", this.#revision);
        this.#beatAt = performance.now();
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
          this.#expired = true;
        }
        // Anything else (the server away): a missed beat is retried at the next.
      } finally {
        this.#beating = null;
      }
    })();
  }

  /**
   * Before a publish: if no beat was confirmed within the TTL, beats now and waits, so that a
   * sender whose key expired learns it before it sends (see `#expired`).
   * @throws {SendError} carrying `value` when the key expired.
   */
  async #assertAlive(value: T): Promise<void> {
    if (!this.#expired && performance.now() - this.#beatAt > this.#ttl * 2 / 3) {
      await this.#beat();
    }
    if (this.#expired) {
      throw new SendError(
        value,
        `Cannot send on NATS channel "${this.#names.channel}": this sender's heartbeat stopped ` +
          `for longer than the channel's senderTtl (${this.#ttl} ms), so its receivers may have ` +
          `counted every sender gone; open a new sender`,
      );
    }
  }

  /** The channel's name. */
  get name(): string {
    return this.#names.channel;
  }

  /**
   * Sends `value`: publishes it to the channel's stream and resolves once the server stored it.
   * While a bounded stream is full, waits (retrying with a backoff of up to 50 ms) until a
   * receiver acknowledges a message. Calls of one sender complete in call order, one publish at
   * a time; a publish that gets no answer (the server restarts) is retried with the same message
   * id, which the server deduplicates (within its two-minute window).
   *
   * Cancel safety: if `signal` aborts while the message waits for its turn or for room, it is
   * not sent; if it aborts while a publish gets no answer, the message may or may not be stored.
   *
   * @param value The message.
   * @param options `signal` to cancel the wait.
   * @returns A promise that resolves once the message is stored.
   * @throws {SendError} (rejects) The channel's stream was removed; the error carries `value`.
   * @throws {DOMException} (rejects) `DataCloneError` when the codec cannot encode `value`.
   * @throws {RangeError} (rejects) The message is larger than the server takes (1 MiB default).
   * @throws {TypeError} (rejects) This sender was closed (also while the send waited).
   * @throws {Error} (rejects) The connection was lost for good (it gave up reconnecting).
   */
  send(value: T, options?: AsyncSendOptions): Promise<void> {
    const signal = options?.signal;
    let bytes: Uint8Array;
    try {
      if (!this.#open) throw new TypeError("Cannot send: the sender is closed");
      signal?.throwIfAborted();
      // The codec may return its scratch buffer: the message keeps a copy.
      bytes = encodedBytes(this.#codec, value).slice();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSend<T> = { value, bytes, signal, resolve, reject };
      if (signal !== undefined) {
        // Aborted while it waits for its turn: it leaves the queue at once, sent never.
        entry.onAbort = () => {
          const at = this.#queue.indexOf(entry);
          if (at < 0) return; // its turn came: `#publish` looks at the signal
          this.#queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      if (!this.#busy) this.#idle = this.#drain();
    });
  }

  /** Publishes the queued messages one by one, in order. */
  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const entry = this.#queue.shift()!;
        try {
          await this.#publish(entry);
          entry.resolve();
        } catch (error) {
          entry.reject(error);
        } finally {
          if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  async #publish(entry: PendingSend<T>): Promise<void> {
    entry.signal?.throwIfAborted();
    await this.#assertAlive(entry.value);
    const id = `${this.#id}-${++this.#seq}`;
    let backoff = 1;
    for (;;) {
      if (!this.#open) {
        throw new TypeError("Cannot send: the sender was closed while the send waited");
      }
      entry.signal?.throwIfAborted();
      try {
        await this.#link.js.publish(this.#names.subject, entry.bytes, { msgID: id });
        return;
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === 10059) {
          throw new SendError(
            entry.value,
            `Cannot send on NATS channel "${this.#names.channel}": its stream was removed`,
          );
        }
        if (error instanceof JetStreamApiError && error.code === 10054) {
          throw new RangeError(
            `Cannot send a message of ${entry.bytes.length} bytes: larger than the server takes`,
            { cause: error },
          );
        }
        if (this.#link.nc.isClosed()) {
          throw new Error(
            `Cannot send on NATS channel "${this.#names.channel}": the connection is closed ` +
              `(it gave up reconnecting, or was closed)`,
            { cause: error },
          );
        }
        const full = error instanceof JetStreamApiError && error.code === 10077;
        if (!full && error instanceof JetStreamApiError) throw error;
        if (!full && /payload/i.test(String((error as Error)?.message))) {
          throw new RangeError(
            `Cannot send a message of ${entry.bytes.length} bytes: larger than the server takes`,
            { cause: error },
          );
        }
        // No answer: the server is away (the client reconnects), or the stream was removed.
        if (!full && await this.#removed()) {
          throw new SendError(
            entry.value,
            `Cannot send on NATS channel "${this.#names.channel}": its stream was removed`,
          );
        }
        // Full: wait for room. Away: wait for the server.
        await sleep(full ? backoff : 250, entry.signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Whether the channel's stream is gone (false when the server does not answer). */
  async #removed(): Promise<boolean> {
    try {
      await this.#link.jsm.streams.info(this.#names.stream);
      return false;
    } catch (error) {
      return error instanceof JetStreamApiError && error.code === 10059;
    }
  }

  /**
   * Closes this sender: `send()` calls still waiting for their turn or for room reject with a
   * `TypeError` and send nothing; a publish in progress finishes; then its presence key is
   * deleted, so that once every sender is closed, receivers drain the stream and report
   * disconnection. Idempotent; `await using tx = …` calls it at the end of the scope.
   *
   * @returns A promise that resolves once the sender is gone from the server's view.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#open = false;
      clearInterval(this.#heartbeat);
      for (const entry of this.#queue.splice(0)) {
        if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
        entry.reject(new TypeError("Cannot send: the sender was closed while the send waited"));
      }
      await this.#idle;
      try {
        if (!this.#link.nc.isClosed()) await this.#kv.delete(this.#key());
      } catch {
        // The key expires by itself after the TTL.
      } finally {
        await this.#link.release();
      }
    })();
  }

  /** Closes this sender: `await using tx = …`. See {@linkcode NatsSender.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Makes a sender of the channel `names` and registers its presence.
 * @returns the sender, once its key is in the bucket.
 */
export function newNatsSender<T>(
  link: Link,
  names: Names,
  codec: Codec<T>,
  kv: KV,
  ttl: number,
): Promise<NatsSender<T>> {
  return create(link, names, codec, kv, ttl);
}
