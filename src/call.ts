/**
 * Request/reply over channels, the commonest worker pattern: each request carries a
 * {@linkcode oneshot} reply end (tokio's idiom, `cmd_tx.send(Command { key, resp })`), so that
 * many callers, in any threads, share one channel of requests and every reply finds its caller.
 *
 * @module
 */
import { oneshot, type OneshotSender } from "./oneshot.ts";
import type { Receiver } from "./receiver.ts";
import type { Sender } from "./sender.ts";
import { RecvError, SendError } from "./errors.ts";

/**
 * A request and the end its reply goes back through: what a channel of requests carries.
 *
 * @typeParam Req The request.
 * @typeParam Res The reply.
 */
export interface Call<Req, Res> {
  /** The request. */
  readonly request: Req;
  /** Where the reply goes: send it once (a `SendError` there means the caller gave up). */
  readonly reply: OneshotSender<Res>;
}

/** Options of {@linkcode call}. */
export interface CallOptions {
  /**
   * Gives up: the promise rejects with `signal.reason`. Before the request was sent, it is
   * never sent; after, its reply (if one comes) is dropped, and the server's `reply.send` throws
   * a `SendError`.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode callSync}. */
export interface CallSyncOptions {
  /**
   * Longest wait in milliseconds, for room to send the request and then for the reply; when it
   * passes, `callSync` throws a `DOMException` named `TimeoutError` (a request sent stays sent;
   * its reply is dropped).
   */
  timeout?: number;
}

/** The error of a call whose reply end was dropped unanswered (see {@linkcode call}). */
function unanswered(error: RecvError): RecvError {
  return new RecvError(
    error.reason === "died"
      ? "The call got no reply: the worker serving it died"
      : "The call got no reply: the request was dropped unanswered (its server closed the " +
        "reply end, or the channel of requests was closed or its worker died with the request " +
        "still in it)",
    { reason: error.reason },
  );
}

/**
 * Sends `request` through `to` with a fresh reply end, and waits for the reply.
 *
 * @typeParam Req The request.
 * @typeParam Res The reply.
 * @param to The channel of requests (its receiver is the server's: see {@linkcode serve}).
 * @param request The request.
 * @param options `signal` to give up.
 * @returns The reply.
 * @throws {SendError} (rejects) The server is gone: `to`'s receiver was closed (`.value` is the
 * call, request and reply end).
 * @throws {RecvError} (rejects) The request was dropped unanswered: the server closed its reply
 * end, its handler threw (see `serve`), or it died (`reason: "died"`) — never a hang.
 * @throws {DOMException} (rejects) `DataCloneError` for a request the codec cannot encode;
 * `signal.reason` when aborted.
 * @example A worker squares numbers
 * ```ts
 * import { type Call, call, channel, serve } from "@wasmring/mpsc";
 *
 * const [requests, incoming] = channel<Call<number, number>>();
 * const server = serve(incoming, (n) => n * n); // usually in a worker: see spawn
 * console.log(await call(requests, 12)); // 144
 * requests.close();
 * console.log(await server); // 1: requests served
 * ```
 */
export async function call<Req, Res>(
  to: Sender<Call<Req, Res>>,
  request: Req,
  options?: CallOptions,
): Promise<Res> {
  const signal = options?.signal;
  signal?.throwIfAborted();
  const [reply, answer] = oneshot<Res>();
  try {
    await to.send({ request, reply }, { signal });
  } catch (error) {
    reply.close();
    answer.close();
    throw error;
  }
  try {
    return await answer.recv({ signal });
  } catch (error) {
    throw error instanceof RecvError ? unanswered(error) : error;
  } finally {
    answer.close();
  }
}

/**
 * {@linkcode call}, blocking the thread (for workers; not on a browser's main thread).
 *
 * @typeParam Req The request.
 * @typeParam Res The reply.
 * @param to The channel of requests.
 * @param request The request.
 * @param options `timeout` in milliseconds.
 * @returns The reply.
 * @throws as {@linkcode call}; a `DOMException` named `TimeoutError` when `timeout` passes.
 */
export function callSync<Req, Res>(
  to: Sender<Call<Req, Res>>,
  request: Req,
  options?: CallSyncOptions,
): Res {
  const timeout = options?.timeout;
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  const [reply, answer] = oneshot<Res>();
  try {
    to.sendSync({ request, reply }, { timeout });
  } catch (error) {
    reply.close();
    answer.close();
    throw error;
  }
  try {
    const left = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
    return answer.recvSync({ timeout: left });
  } catch (error) {
    throw error instanceof RecvError ? unanswered(error) : error;
  } finally {
    answer.close();
  }
}

/**
 * Serves the calls that arrive on `from` with `handler`, one at a time in arrival order, until
 * every sender of requests is closed and the calls are drained.
 *
 * A caller that gave up is skipped (its reply's `SendError` is ignored). If `handler` throws (or
 * rejects), that call's reply end is closed — its caller gets a `RecvError` — and `serve`
 * rejects with the handler's error, without taking another call: as a Rust thread that panics,
 * the server stops, and the calls still queued are dropped unanswered when `from` is closed.
 *
 * @typeParam Req The request.
 * @typeParam Res The reply.
 * @param from The receiver of the channel of requests.
 * @param handler Makes the reply to a request.
 * @returns The number of calls answered, once the requests are disconnected and drained.
 * @throws (rejects) What `handler` throws; what receiving throws.
 */
export async function serve<Req, Res>(
  from: Receiver<Call<Req, Res>>,
  handler: (request: Req) => Res | Promise<Res>,
): Promise<number> {
  let answered = 0;
  for await (const { request, reply } of from) {
    let value: Res;
    try {
      value = await handler(request);
    } catch (error) {
      reply.close();
      throw error;
    }
    try {
      reply.send(value);
      answered++;
    } catch (error) {
      reply.close(); // a reply the codec refused: the caller must not wait for it
      if (!(error instanceof SendError)) throw error; // else the caller gave up
    }
  }
  return answered;
}
