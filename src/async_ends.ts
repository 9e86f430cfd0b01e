/**
 * The asynchronous surface that every channel end shares, local or remote, and {@linkcode pipe}
 * between two of them.
 *
 * A local {@linkcode Sender}/{@linkcode Receiver} (shared memory between workers) and a NATS end
 * (`@wasmring/mpsc/nats`, another machine) both implement {@linkcode AsyncSender} and
 * {@linkcode AsyncReceiver}: code written against these interfaces does not care where the other
 * side is. This module has no runtime dependency.
 *
 * @module
 */
import type { TryRecvResult } from "./receiver.ts";
import { RecvError } from "./errors.ts";

/** Options of {@linkcode AsyncSender.send}. */
export interface AsyncSendOptions {
  /** Cancels the wait for room; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@linkcode AsyncReceiver.recv}. */
export interface AsyncRecvOptions {
  /** Cancels the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * The sending end of a channel, as async code uses it: a local {@linkcode Sender} and a NATS
 * sender both implement it.
 *
 * @typeParam T The type of the messages.
 * @example Code that does not care where the receiver is
 * ```ts
 * import { type AsyncSender, channel } from "@wasmring/mpsc";
 *
 * async function produce(tx: AsyncSender<number>): Promise<void> {
 *   for (let i = 0; i < 3; i++) await tx.send(i);
 *   await tx.close();
 * }
 * const [tx, rx] = channel<number>();
 * await produce(tx);
 * console.log([...rx]); // [0, 1, 2]
 * ```
 */
export interface AsyncSender<T> {
  /**
   * Sends `value`, waiting while a bounded channel is full.
   *
   * @param value The message.
   * @param options `signal` to cancel the wait.
   * @returns A promise that resolves once the message is enqueued.
   */
  send(value: T, options?: AsyncSendOptions): Promise<void>;
  /**
   * Closes this end: once every sender is closed, receivers drain the channel and then report
   * disconnection. A local end closes at once (returns `void`); a remote one returns a promise.
   */
  close(): void | Promise<void>;
}

/**
 * The receiving end of a channel, as async code uses it: a local {@linkcode Receiver} and a NATS
 * receiver both implement it. Iterating (`for await`) ends at disconnection.
 *
 * @typeParam T The type of the messages.
 * @example Code that does not care where the senders are
 * ```ts
 * import { type AsyncReceiver, channel } from "@wasmring/mpsc";
 *
 * async function sum(rx: AsyncReceiver<number>): Promise<number> {
 *   let total = 0;
 *   for await (const n of rx) total += n;
 *   return total;
 * }
 * const [tx, rx] = channel<number>();
 * tx.sendSync(1);
 * tx.sendSync(2);
 * tx.close();
 * console.log(await sum(rx)); // 3
 * ```
 */
export interface AsyncReceiver<T> extends AsyncIterable<T> {
  /**
   * Takes the next message, waiting for one.
   *
   * @param options `signal` to cancel the wait.
   * @returns The message.
   * @throws {RecvError} (rejects) Every sender is closed and every message taken.
   */
  recv(options?: AsyncRecvOptions): Promise<T>;
  /**
   * Takes a message if one is ready here now, without waiting.
   *
   * @returns `{ state: "ok", value }`, `{ state: "empty" }` or `{ state: "disconnected" }`.
   */
  tryRecv(): TryRecvResult<T>;
  /** Closes this end. A local end closes at once (returns `void`); a remote one, a promise. */
  close(): void | Promise<void>;
}

/** Options of {@linkcode pipe}. */
export interface PipeOptions {
  /**
   * Stops the pipe: it rejects with `signal.reason` and closes neither end. A message taken from
   * `from` and not yet sent is lost, except from a receiver with acknowledgements (a NATS
   * receiver): there it is not acknowledged, so it is delivered again.
   */
  signal?: AbortSignal;
  /** Leave `to` open when `from` reports disconnection. Default: close it. */
  preventClose?: boolean;
}

/** The part of a NATS receiver that {@linkcode pipe} uses when it is there (see nats.ts). */
interface Acknowledging<T> {
  recvDelivery(options?: AsyncRecvOptions): Promise<{
    value: T;
    ack(options?: { confirm?: boolean }): Promise<void>;
    nak(): Promise<void>;
  }>;
}

function acknowledging<T>(rx: AsyncReceiver<T>): rx is AsyncReceiver<T> & Acknowledging<T> {
  return typeof (rx as Partial<Acknowledging<T>>).recvDelivery === "function";
}

/**
 * Moves every message from `from` to `to`, one at a time and in order, until `from` reports
 * disconnection; then closes `to` (unless `preventClose`), so disconnection travels on.
 *
 * Backpressure both ways: `pipe` takes the next message only once `to` took the last one, so a
 * full bounded `to` stops the taking (a NATS stream fills up to its bound, then its senders
 * wait), and a slow `from` leaves `to` empty. Over a NATS receiver, each message is acknowledged
 * only once `to` took it (`recvDelivery`): if this process dies, the message in hand is delivered
 * again. Messages already in a local `to` are not (the local channel is memory).
 *
 * @typeParam T The type of the messages.
 * @param from Where messages come from.
 * @param to Where they go.
 * @param options `signal` to stop; `preventClose` to leave `to` open at the end.
 * @returns How many messages were moved, once `from` is disconnected and drained.
 * @throws {SendError} (rejects) `to` is disconnected: the error carries the message in hand
 * (from a NATS receiver, it is not acknowledged, so it is delivered again). `from` stays open.
 * @throws {unknown} (rejects) `signal.reason`, or what a receive or send throws.
 * @example Feeding a local channel, whose workers can block in `recvSync`
 * ```ts
 * import { channel, pipe, syncChannel } from "@wasmring/mpsc";
 *
 * const [remoteTx, remoteRx] = channel<number>(); // stands for a NATS channel
 * const [localTx, localRx] = syncChannel<number>(2);
 * const piped = pipe(remoteRx, localTx); // waits whenever localRx is 2 behind
 * for (let i = 0; i < 5; i++) await remoteTx.send(i);
 * remoteTx.close();
 * const got: number[] = [];
 * for await (const n of localRx) got.push(n); // ends: pipe closed localTx
 * console.log(await piped, got); // 5 [0, 1, 2, 3, 4]
 * ```
 */
export async function pipe<T>(
  from: AsyncReceiver<T>,
  to: AsyncSender<T>,
  options?: PipeOptions,
): Promise<number> {
  const signal = options?.signal;
  signal?.throwIfAborted();
  let moved = 0;
  for (;;) {
    if (acknowledging(from)) {
      let delivery;
      try {
        delivery = await from.recvDelivery({ signal });
      } catch (error) {
        if (error instanceof RecvError) break;
        throw error;
      }
      try {
        await to.send(delivery.value, { signal });
      } catch (error) {
        await delivery.nak().catch(() => {});
        throw error;
      }
      // Not confirmed: a lost acknowledgement only means the message is delivered again.
      delivery.ack({ confirm: false }).catch(() => {});
    } else {
      let value: T;
      try {
        value = await from.recv({ signal });
      } catch (error) {
        if (error instanceof RecvError) break;
        throw error;
      }
      await to.send(value, { signal });
    }
    moved++;
  }
  if (!options?.preventClose) await to.close();
  return moved;
}

/**
 * The async iterator of a receiver: what `recv()` returns, ending at the first `RecvError`
 * (every sender gone, everything taken). Breaking out of the loop leaves the receiver open.
 * Shared by local and NATS receivers.
 */
export function messagesOf<T>(recv: () => Promise<T>): AsyncIterator<T> {
  return {
    next: async (): Promise<IteratorResult<T>> => {
      try {
        return { done: false, value: await recv() };
      } catch (error) {
        if (error instanceof RecvError) return { done: true, value: undefined };
        throw error;
      }
    },
  };
}
