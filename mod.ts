/**
 * Rust-style channels between Deno Web Workers, on a lock-free ring buffer in shared memory.
 *
 * `channel()` and `syncChannel(n)` make a {@linkcode Sender} and a {@linkcode Receiver} with the
 * semantics of Rust's `std::sync::mpsc`: many senders, one receiver, per-sender order,
 * disconnection reported once every sender is closed and the buffer drained. Ends move into
 * workers by posting a handle (`tx.transfer()`, adopted there with `Sender.from()`); messages
 * travel through shared memory, encoded with `structuredClone` semantics by default — many times
 * faster than `postMessage`.
 *
 * Blocking calls end in `Sync` (`recvSync`, `sendSync`); the others return promises and take an
 * `AbortSignal`. Ends are disposable (`using`).
 *
 * @example Hello from a worker
 * ```ts ignore
 * // main.ts
 * import { channel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<string>();
 * const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
 * worker.postMessage(tx.transfer());
 * console.log(await rx.recv()); // "Hello from the worker!"
 * worker.terminate();
 *
 * // worker.ts
 * import { Sender, type SenderHandle } from "@wasmring/mpsc";
 *
 * self.onmessage = (e: MessageEvent<SenderHandle<string>>) => {
 *   using tx = Sender.from(e.data);
 *   tx.sendSync("Hello from the worker!");
 * };
 * ```
 *
 * @module
 */
export { channel, type ChannelOptions, syncChannel } from "./src/channel.ts";
export { Sender, type SendOptions, type SendSyncOptions } from "./src/sender.ts";
export {
  Receiver,
  type RecvOptions,
  type RecvSyncOptions,
  type TryRecvManyResult,
  type TryRecvResult,
} from "./src/receiver.ts";
export {
  ArenaFullError,
  type ArenaLimit,
  ChannelCorruptedError,
  type DisconnectOptions,
  type DisconnectReason,
  RecvError,
  SendError,
} from "./src/errors.ts";
export {
  type Call,
  call,
  type CallOptions,
  callSync,
  type CallSyncOptions,
  serve,
} from "./src/call.ts";
export {
  type IndexOf,
  type ReceiverValue,
  select,
  type SelectOptions,
  type SelectResult,
  type SelectResultOf,
  selectSync,
  type SelectSyncOptions,
  trySelect,
  type TrySelectResult,
} from "./src/select.ts";
export {
  oneshot,
  OneshotReceiver,
  type OneshotReceiverHandle,
  OneshotSender,
  type OneshotSenderHandle,
} from "./src/oneshot.ts";
export {
  type AsyncReceiver,
  type AsyncRecvOptions,
  type AsyncSender,
  type AsyncSendOptions,
  pipe,
  type PipeOptions,
} from "./src/async_ends.ts";
export { JoinHandle, type JoinOptions, spawn, type SpawnOptions } from "./src/spawn.ts";
export type {
  AdoptOptions,
  EndHandle,
  OneshotHandle,
  ReceiverHandle,
  SenderHandle,
} from "./src/handle.ts";
export {
  builtinCodecs,
  bytes,
  type Codec,
  json,
  registerCodec,
  string,
  structured,
  validateCodec,
} from "./src/codec/mod.ts";
