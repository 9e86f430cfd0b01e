/**
 * The receiving end of a NATS channel.
 *
 * @module
 */
import { type Consumer, JetStreamApiError, type JsMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { type AsyncReceiver, type AsyncRecvOptions, messagesOf } from "../async_ends.ts";
import type { Codec } from "../codec/types.ts";
import { RecvError } from "../errors.ts";
import type { TryRecvResult } from "../receiver.ts";
import { type Link, type Names, sendersAlive, sleep } from "./_link.ts";

/** The body of an acknowledgement (JetStream's protocol). */
const ACK = new TextEncoder().encode("+ACK");

/** How long one pull request waits for messages (ms; the client's minimum). */
const PULL_EXPIRES_MS = 1000;

const EMPTY_RESULT = Object.freeze({ state: "empty" }) as { readonly state: "empty" };
const DISCONNECTED_RESULT = Object.freeze({ state: "disconnected" }) as {
  readonly state: "disconnected";
};

/**
 * A message taken with {@linkcode NatsReceiver.recvDelivery}, to acknowledge explicitly.
 * Until it is acknowledged, the server keeps it: if it is neither acknowledged nor handed back
 * within the channel's `ackWait`, or its receiver's process dies, it is delivered again (to this
 * receiver or another of its group).
 *
 * @typeParam T The type of the messages.
 */
export interface Delivery<T> {
  /** The message. */
  readonly value: T;
  /** Whether it was delivered before (and not acknowledged in time, or handed back). */
  readonly redelivered: boolean;
  /** How many times it has been delivered, this time included. */
  readonly deliveryCount: number;
  /**
   * Acknowledges the message: the server removes it from the stream (and makes room in a
   * bounded one). Waits for the server to confirm, retrying while it is away and the connection
   * reconnects — unless `confirm: false`: then it only sends the acknowledgement (about 7×
   * cheaper; if it is lost, the message is delivered again). Idempotent.
   *
   * @param options `confirm: false` not to wait for the server.
   * @throws {Error} (rejects) The connection gave up: the message may be delivered again.
   * @throws {TypeError} (rejects) It was handed back by `nak()` or by closing the receiver.
   */
  ack(options?: { confirm?: boolean }): Promise<void>;
  /**
   * Hands the message back: it is delivered again (to any receiver of the group) after
   * `delayMs`, at once by default.
   *
   * @param delayMs How long the server waits before delivering it again.
   * @throws {TypeError} (rejects) It was acknowledged already.
   */
  nak(delayMs?: number): Promise<void>;
  /** Tells the server the message is still being processed: its `ackWait` starts again. */
  working(): void;
}

interface Waiter {
  delivery: boolean;
  // deno-lint-ignore no-explicit-any
  resolve(value: any): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** What a receiver needs to know of its channel and group. */
interface ReceiverConfig {
  prefetch: number;
  /** The presence bucket's TTL (ms). */
  ttl: number;
  /** The group's ackWait (ms). */
  ackWait: number;
  /** Whether a sender of the channel is known to exist (made with this receiver). */
  seenSender: boolean;
  /**
   * The presence bucket's last sequence when the receiver was opened: a later one means a sender
   * opened since (and maybe closed already, unseen by any look at the live senders).
   */
  sendersSince: number;
}

/**
 * The share of ackWait after which a message pulled ahead and not taken yet is handed back
 * rather than handed out: by ackWait the server delivers it again, maybe to another receiver.
 */
const STALE_SHARE = 0.8;

let create: <T>(
  link: Link,
  names: Names,
  codec: Codec<T>,
  consumer: Consumer,
  kv: KV,
  options: ReceiverConfig,
) => NatsReceiver<T>;

/**
 * The receiving end of a NATS channel, made by `natsChannel` or `natsReceiver` of
 * `@wasmring/mpsc/nats`. It implements {@linkcode AsyncReceiver}.
 *
 * Receivers of one group (a durable consumer) share the messages: each goes to one of them, as
 * a task queue. Delivery is at least once: a message stays in the stream until it is
 * acknowledged, and one delivered but not acknowledged in time (its receiver died, or was too
 * slow) is delivered again. `recv()` acknowledges each message it returned at its next call (of
 * `recv`, `tryRecv` or `recvDelivery`) or at `close()`; `recvDelivery()` leaves that to you.
 *
 * Disconnection: once every sender is closed (or has died: its heartbeat stopped for the
 * channel's `senderTtl`) and no message is left in the stream, `recv()` rejects with
 * {@linkcode RecvError} and `for await` ends.
 *
 * @typeParam T The type of the messages.
 * @example
 * ```ts ignore
 * import { natsReceiver } from "@wasmring/mpsc/nats";
 *
 * await using rx = await natsReceiver<{ id: number }>("jobs", { servers: "127.0.0.1:4222" });
 * for await (const job of rx) console.log(job.id); // ends once every sender closed
 * ```
 */
export class NatsReceiver<T> implements AsyncReceiver<T> {
  #link: Link;
  #names: Names;
  #codec: Codec<T>;
  #consumer: Consumer;
  #kv: KV;
  #prefetch: number;
  #ttl: number;
  /** Messages pulled from the server, not yet taken. */
  #buffer: JsMsg[] = [];
  /** When each message of the buffer arrived (performance.now()). */
  #arrived = new WeakMap<JsMsg, number>();
  /** How long a message may wait in the buffer (ms; see STALE_SHARE). */
  #staleAfter: number;
  /** Messages `recv` returned, to acknowledge at the next call or at close. */
  #returned: JsMsg[] = [];
  /** Deliveries handed out by `recvDelivery` and not settled yet. */
  #outstanding = new Set<JsMsg>();
  #waiters: Waiter[] = [];
  #pump: Promise<void> | null = null;
  /** A call asked for messages since the last pull: pull again (prefetch). */
  #demand = false;
  #open = true;
  #closing: Promise<void> | null = null;
  #disconnected = false;
  /** Whether a sender (or a message) was ever seen: until then, no sender is not disconnection. */
  #seenSender: boolean;
  #sendersSince: number;
  /** A failure that ends every receive (the connection is closed, the stream removed). */
  #failure: unknown = null;

  private constructor(
    link: Link,
    names: Names,
    codec: Codec<T>,
    consumer: Consumer,
    kv: KV,
    options: ReceiverConfig,
  ) {
    this.#link = link.use();
    this.#names = names;
    this.#codec = codec;
    this.#consumer = consumer;
    this.#kv = kv;
    this.#prefetch = options.prefetch;
    this.#ttl = options.ttl;
    this.#staleAfter = options.ackWait * STALE_SHARE;
    this.#seenSender = options.seenSender;
    this.#sendersSince = options.sendersSince;
  }

  static {
    create = (link, names, codec, consumer, kv, options) =>
      new NatsReceiver(link, names, codec, consumer, kv, options);
  }

  /** The channel's name. */
  get name(): string {
    return this.#names.channel;
  }

  #check(): void {
    if (!this.#open) throw new TypeError("Cannot receive: the receiver is closed");
  }

  /** Acknowledges what `recv` returned (without waiting: a lost one is only a redelivery). */
  #ackReturned(): void {
    for (const m of this.#returned.splice(0)) m.ack();
  }

  /**
   * Takes the next message, waiting for one; acknowledges the messages `recv` returned before.
   *
   * Cancel safety: if `signal` aborts, the promise rejects with `signal.reason` and no message
   * is taken (one pulled meanwhile stays here for the next call).
   *
   * @param options `signal` to cancel the wait.
   * @returns The message.
   * @throws {RecvError} (rejects) Every sender is closed or dead, and the stream is drained; or
   * the receiver was closed while the call waited.
   * @throws {TypeError} (rejects) This receiver is closed.
   * @throws {Error} (rejects) The connection was lost for good; or what the codec's `decode`
   * throws (that message is terminated: never delivered again).
   */
  recv(options?: AsyncRecvOptions): Promise<T> {
    return this.#start<T>(false, options);
  }

  /**
   * Takes the next message with an explicit acknowledgement: the message stays in the stream
   * until `ack()`, and comes back after `nak()`, after the channel's `ackWait`, or if this
   * process dies. For exactly-once processing with an idempotent or transactional consumer.
   * Also acknowledges the messages plain `recv` returned before.
   *
   * @param options `signal` to cancel the wait.
   * @returns The delivery: `value`, `ack()`, `nak()`.
   * @throws {RecvError} (rejects) As {@linkcode NatsReceiver.recv}.
   * @throws {TypeError} (rejects) This receiver is closed.
   * @example
   * ```ts ignore
   * const job = await rx.recvDelivery();
   * try {
   *   await handle(job.value);
   *   await job.ack();
   * } catch {
   *   await job.nak(1000); // try again in a second
   * }
   * ```
   */
  recvDelivery(options?: AsyncRecvOptions): Promise<Delivery<T>> {
    return this.#start<Delivery<T>>(true, options);
  }

  /** `recv` and `recvDelivery`: checks, acknowledges what `recv` returned before, takes one. */
  #start<R>(delivery: boolean, options?: AsyncRecvOptions): Promise<R> {
    try {
      this.#check();
      options?.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#ackReturned();
    return this.#take<R>(delivery, options?.signal);
  }

  /**
   * Takes a message if one was already pulled to this process, without waiting (and starts a
   * pull, so that a later call may find one). Acknowledges the messages `recv` returned before.
   *
   * @returns `{ state: "ok", value }`; `{ state: "empty" }`; `{ state: "disconnected" }` once a
   * receive found the channel disconnected.
   * @throws {TypeError} This receiver is closed.
   * @throws {unknown} What the codec's `decode` throws (that message is terminated).
   */
  tryRecv(): TryRecvResult<T> {
    this.#check();
    if (this.#failure !== null) throw this.#failure;
    this.#ackReturned();
    const next = this.#waiters.length === 0 ? this.#next() : undefined;
    if (next !== undefined) {
      const value = this.#hand(next, false) as T;
      this.#want();
      return { state: "ok", value };
    }
    if (this.#disconnected) return DISCONNECTED_RESULT;
    this.#want();
    return EMPTY_RESULT;
  }

  /**
   * Iterates over the messages until disconnection (each acknowledged when the next is asked
   * for, or at close). Breaking out of the loop leaves the receiver open.
   *
   * @returns An async iterator of the messages.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return messagesOf(() => this.recv());
  }

  /** Takes a message from the buffer, or waits for one. */
  #take<R>(delivery: boolean, signal?: AbortSignal): Promise<R> {
    const next = this.#waiters.length === 0 ? this.#next() : undefined;
    if (next !== undefined) {
      try {
        const taken = this.#hand(next, delivery) as R;
        this.#want();
        return Promise.resolve(taken);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#disconnected) return Promise.reject(this.#disconnectedError());
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter = { delivery, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#want();
    });
  }

  #disconnectedError(): RecvError {
    return new RecvError(
      `Cannot receive on NATS channel "${this.#names.channel}": every sender is closed and ` +
        `the stream is drained`,
    );
  }

  /**
   * Turns a pulled message into what a call returns: its value (then acknowledged later), or a
   * delivery. A message the codec cannot decode is terminated (never delivered again).
   */
  #hand(m: JsMsg, delivery: boolean): T | Delivery<T> {
    this.#seenSender = true;
    let value: T;
    try {
      value = this.#codec.decode(m.data);
    } catch (error) {
      m.term("the codec could not decode it");
      throw error;
    }
    if (!delivery) {
      this.#returned.push(m);
      return value;
    }
    this.#outstanding.add(m);
    return this.#delivery(m, value);
  }

  #delivery(m: JsMsg, value: T): Delivery<T> {
    let settled: "ack" | "nak" | null = null;
    const outstanding = this.#outstanding;
    return {
      value,
      redelivered: m.redelivered,
      deliveryCount: m.info.deliveryCount,
      ack: async (options?: { confirm?: boolean }) => {
        if (settled === "ack") return;
        if (settled === "nak" || (!outstanding.has(m) && !this.#open)) {
          throw new TypeError("Cannot acknowledge: the message was handed back");
        }
        settled = "ack";
        outstanding.delete(m);
        if (options?.confirm === false) m.ack();
        else await this.#confirm(m);
      },
      nak: (delayMs?: number) => {
        if (settled === "nak") return Promise.resolve();
        if (settled === "ack") {
          return Promise.reject(new TypeError("Cannot hand back an acknowledged message"));
        }
        settled = "nak";
        if (outstanding.delete(m)) m.nak(delayMs);
        return Promise.resolve();
      },
      working: () => m.working(),
    };
  }

  /**
   * Acknowledges `m` and waits for the server to confirm, retrying while the server is away
   * (restarting) and the connection still tries to reconnect: a repeated acknowledgement is
   * harmless.
   * @throws {Error} The connection gave up: the message may be delivered again.
   */
  async #confirm(m: JsMsg): Promise<void> {
    // The acknowledgement subject (JsMsgImpl has it; the JsMsg type does not say so).
    const reply = (m as unknown as { reply?: string }).reply;
    if (typeof reply !== "string" || reply === "") {
      if (!await m.ackAck()) throw new Error("Cannot acknowledge: the server did not confirm");
      return;
    }
    for (let backoff = 100;; backoff = Math.min(backoff * 2, 1000)) {
      try {
        // What `m.ackAck()` does, but repeatable (ackAck sends only once).
        await this.#link.nc.request(reply, ACK, { timeout: this.#link.timeout });
        return;
      } catch (error) {
        if (this.#link.nc.isClosed()) {
          throw new Error(
            "Cannot acknowledge: the connection is closed (the message may be delivered again)",
            { cause: error },
          );
        }
      }
      await sleep(backoff);
    }
  }

  /**
   * The next message of the buffer that is fresh: one that waited there longer than
   * STALE_SHARE × ackWait is handed back (nak) instead, since the server is about to deliver it
   * again, maybe to another receiver (handing it out would then process it twice).
   */
  #next(): JsMsg | undefined {
    const now = performance.now();
    for (;;) {
      const m = this.#buffer.shift();
      if (m === undefined) return undefined;
      if (now - this.#arrived.get(m)! <= this.#staleAfter) return m;
      m.nak();
    }
  }

  /** Serves waiting calls from the buffer, oldest first. */
  #serve(): void {
    while (this.#waiters.length > 0) {
      const next = this.#next();
      if (next === undefined) break;
      const waiter = this.#waiters.shift()!;
      if (waiter.signal && waiter.onAbort) {
        waiter.signal.removeEventListener("abort", waiter.onAbort);
      }
      try {
        waiter.resolve(this.#hand(next, waiter.delivery));
      } catch (error) {
        waiter.reject(error);
      }
    }
  }

  /** Ends every waiting call with `error`. */
  #rejectAll(error: () => unknown): void {
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.signal && waiter.onAbort) {
        waiter.signal.removeEventListener("abort", waiter.onAbort);
      }
      waiter.reject(error());
    }
  }

  /** A call wants messages: pull, unless a pull is running. */
  #want(): void {
    this.#demand = true;
    this.#pump ??= this.#run().finally(() => {
      this.#pump = null;
    });
  }

  /**
   * Pulls messages while calls wait, or while calls keep taking them and fewer than half of
   * `prefetch` are here. A pull that brings nothing to a waiting call checks for disconnection.
   */
  async #run(): Promise<void> {
    let backoff = 100;
    while (
      this.#open && this.#failure === null && !this.#disconnected &&
      (this.#waiters.length > 0 || (this.#demand && this.#buffer.length <= this.#prefetch / 2))
    ) {
      const asked = this.#demand;
      this.#demand = false;
      let got = 0;
      try {
        const batch = await this.#consumer.fetch({
          max_messages: this.#prefetch - this.#buffer.length,
          expires: PULL_EXPIRES_MS,
        });
        for await (const m of batch) {
          got++;
          if (!this.#open) {
            m.nak();
            continue;
          }
          this.#buffer.push(m);
          this.#arrived.set(m, performance.now());
          this.#serve();
        }
        backoff = 100;
      } catch (error) {
        if (!this.#open) break;
        if (this.#link.nc.isClosed()) {
          this.#fail(
            new Error(
              `Cannot receive on NATS channel "${this.#names.channel}": the connection is ` +
                `closed (it gave up reconnecting, or was closed)`,
              { cause: error },
            ),
          );
          break;
        }
        if (await this.#removed()) {
          this.#fail(this.#removedError());
          break;
        }
        // The server is away (restarting): the client reconnects; pull again.
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (
        this.#open && got === 0 && this.#buffer.length === 0 && (this.#waiters.length > 0 || asked)
      ) {
        await this.#checkDisconnected();
      }
    }
  }

  /** Whether the channel's stream or group is gone (false when the server does not answer). */
  async #removed(): Promise<boolean> {
    try {
      await this.#consumer.info();
      return false;
    } catch (error) {
      return error instanceof JetStreamApiError && (error.code === 10059 || error.code === 10014);
    }
  }

  #removedError(): RecvError {
    return new RecvError(`Cannot receive on NATS channel "${this.#names.channel}": it was removed`);
  }

  #fail(error: unknown): void {
    this.#failure = error;
    this.#rejectAll(() => error);
  }

  /**
   * Finds out whether the channel is disconnected: no sender alive, and no message left in the
   * stream, neither waiting nor delivered and unacknowledged. Senders first: a sender's messages
   * are all stored before its key is deleted, so a drained stream seen after no sender is final.
   */
  async #checkDisconnected(): Promise<void> {
    try {
      if (await sendersAlive(this.#kv) > 0) {
        this.#seenSender = true;
        return;
      }
      // A receiver opened before any sender waits for one; after a reconnect, senders get a
      // TTL to beat again (their keys may have expired while the server was away).
      if (!this.#seenSender) {
        // None alive, none seen: did one come and go between two looks?
        if ((await this.#kv.status()).streamInfo.state.last_seq <= this.#sendersSince) return;
        this.#seenSender = true;
      }
      if (performance.now() - this.#link.reconnectedAt < this.#ttl) return;
      const info = await this.#consumer.info();
      if (info.num_pending + info.num_ack_pending > 0 || this.#buffer.length > 0) return;
    } catch {
      // The channel was removed, or the server is away: then check again at the next pull.
      if (await this.#removed()) this.#fail(this.#removedError());
      return;
    }
    this.#disconnected = true;
    this.#rejectAll(() => this.#disconnectedError());
  }

  /**
   * Closes this receiver: waiting calls reject with {@linkcode RecvError}; the messages `recv`
   * returned are acknowledged (confirmed by the server); messages pulled but not taken, and
   * deliveries not settled, are handed back at once for other receivers. Idempotent;
   * `await using rx = …` calls it at the end of the scope.
   *
   * @returns A promise that resolves once the server has it all.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#open = false;
      this.#rejectAll(() => new RecvError("The receiver was closed"));
      // The pull in progress runs out (within PULL_EXPIRES_MS), its messages handed back as
      // they come (see `#run`): closing it now would drop those the server has sent it, to be
      // delivered again only after ackWait.
      await this.#pump;
      const acks = this.#returned.splice(0).map((m) => m.ackAck().catch(() => false));
      for (const m of this.#buffer.splice(0)) m.nak();
      for (const m of this.#outstanding) m.nak();
      this.#outstanding.clear();
      await Promise.all(acks);
      if (!this.#link.nc.isClosed()) await this.#link.nc.flush().catch(() => {});
      await this.#link.release();
    })();
  }

  /** Closes this receiver: `await using rx = …`. See {@linkcode NatsReceiver.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Makes a receiver of the group `consumer` of the channel `names`. */
export function newNatsReceiver<T>(
  link: Link,
  names: Names,
  codec: Codec<T>,
  consumer: Consumer,
  kv: KV,
  options: ReceiverConfig,
): NatsReceiver<T> {
  return create(link, names, codec, consumer, kv, options);
}
