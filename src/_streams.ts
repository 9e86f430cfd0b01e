/**
 * Web Streams over channel ends: `rx.readable` and `tx.writable` (see receiver.ts, sender.ts).
 *
 * A stream owns the end it was made from once it ends, as Deno's `FsFile.readable` owns its
 * file: when it finishes (drained, or closed by its writer), errors or is cancelled or aborted,
 * it closes the end, so the peers learn at once that nobody reads or writes any more and the
 * channel's memory goes back to the arena.
 *
 * The functions take the two calls they use, not the classes, so that this module imports
 * neither end (the ends import it).
 *
 * @module
 */
import { RecvError } from "./errors.ts";

/** What {@linkcode readableOf} uses of a receiver. */
export interface StreamReceiver<T> {
  /** Takes the next message; takes none when `signal` aborts (cancel safety). */
  recv(options?: { signal?: AbortSignal }): Promise<T>;
  /** Closes the receiver (idempotent). */
  close(): void;
}

/** What {@linkcode writableOf} uses of a sender. */
export interface StreamSender<T> {
  /** Enqueues `value`, waiting for room; enqueues nothing when `signal` aborts first. */
  send(value: T, options?: { signal?: AbortSignal }): Promise<void>;
  /** Closes the sender (idempotent). */
  close(): void;
}

/**
 * A `ReadableStream` of the messages `rx` receives: one `recv()` per `pull`.
 *
 * Its high-water mark is 0, so the stream asks for a message only while a reader waits for one
 * and never holds one nobody asked for: a message the stream has not handed out is still in the
 * channel (counted by `len`, left to a direct `recv()`, dropped by `close()` like any other).
 * A mark of 1 would take a message ahead of every read, and cancelling would then lose a message
 * no reader ever saw. The price is no read-ahead, which a channel does not need: a `recv()` with
 * a message ready settles at once.
 *
 * It closes when `recv()` fails with `RecvError` (every sender closed and every message taken);
 * any other error errors it. Cancelling it aborts the `recv()` in progress through its signal, so
 * no message is taken after the cancel, then closes `rx`.
 */
export function readableOf<T>(rx: StreamReceiver<T>): ReadableStream<T> {
  const cancelled = new AbortController();
  return new ReadableStream<T>({
    async pull(controller) {
      let value: T;
      try {
        value = await rx.recv({ signal: cancelled.signal });
      } catch (error) {
        if (cancelled.signal.aborted) return; // cancel() aborted this recv: it took nothing
        rx.close();
        if (error instanceof RecvError) controller.close();
        else controller.error(error);
        return;
      }
      // A message taken just before a cancel (the recv settled, this continuation had not run
      // yet) goes the way of the buffered messages the cancel's close() drops.
      if (!cancelled.signal.aborted) controller.enqueue(value);
    },
    cancel(reason) {
      cancelled.abort(reason);
      rx.close();
    },
  }, { highWaterMark: 0 });
}

/**
 * A `WritableStream` whose writes are `tx.send(chunk, { signal })`, with the controller's signal:
 * a write waits for room, and an abort cancels the send in progress (its chunk is not enqueued).
 *
 * Its high-water mark is 1: the chunk being sent fills it, so a writer (or `pipeTo`) waits while
 * a send waits; the channel is the buffer. (A mark of 0 would never let `pipeTo` write.)
 *
 * Closing the stream closes `tx`; so do aborting it and a failed write (`SendError`, a
 * `DataCloneError` from the codec…), which error the stream, so that the receiver sees
 * disconnection once it has drained what was sent.
 */
export function writableOf<T>(tx: StreamSender<T>): WritableStream<T> {
  return new WritableStream<T>({
    async write(chunk, controller) {
      try {
        // `signal` is missing in older runtimes; without it an abort waits for the send.
        await tx.send(chunk, { signal: controller.signal as AbortSignal | undefined });
      } catch (error) {
        tx.close();
        throw error;
      }
    },
    close() {
      tx.close();
    },
    abort() {
      tx.close();
    },
  }, { highWaterMark: 1 });
}
