/**
 * Channels between machines: the library's `Sender`/`Receiver` surface over NATS JetStream,
 * with the library's codecs, so that moving a pipeline stage to another machine changes how a
 * channel is made, not the code around it.
 *
 * `natsChannel(name, options)` makes both ends; `natsSender` and `natsReceiver` make one, in the
 * process that needs it. The ends implement {@linkcode AsyncSender} and
 * {@linkcode AsyncReceiver}, as local ends do, and {@linkcode pipe} bridges the two kinds (a
 * worker pool keeps `recvSync` on a local channel fed from the network).
 *
 * Semantics (see the README, "When you outgrow one machine"): at-least-once delivery (a
 * message is removed only once acknowledged; a receiver that dies first gets it delivered again
 * to another); `recv()` acknowledges the message it returned at its next call or at close, and
 * `recvDelivery()` gives explicit `ack()`/`nak()`; per-sender order for first deliveries;
 * `bound` limits the messages the stream holds unacknowledged, and `send` waits while it is
 * full; the receivers of a group share the messages; once every sender is closed (or its
 * heartbeat stopped for `senderTtl`) and the stream is drained, receivers get `RecvError`.
 *
 * This entry point depends on the official NATS clients (`@nats-io/transport-node`,
 * `@nats-io/jetstream`, `@nats-io/kv`); the main one (`@wasmring/mpsc`) has no dependency.
 *
 * @example A task queue between two processes
 * ```ts ignore
 * // producer.ts
 * import { natsSender } from "@wasmring/mpsc/nats";
 *
 * await using tx = await natsSender<{ id: number }>("jobs", { servers: "127.0.0.1:4222" });
 * for (let id = 0; id < 1000; id++) await tx.send({ id });
 *
 * // worker.ts (as many as you like, on any machine)
 * import { natsReceiver } from "@wasmring/mpsc/nats";
 *
 * await using rx = await natsReceiver<{ id: number }>("jobs", { servers: "127.0.0.1:4222" });
 * for await (const job of rx) console.log(job.id); // ends once the producer closed
 * ```
 *
 * @module
 */
export {
  natsChannel,
  natsReceiver,
  type NatsReceiverOptions,
  natsSender,
  type NatsSenderOptions,
  removeNatsChannel,
} from "./src/nats/channel.ts";
export { NatsSender } from "./src/nats/sender.ts";
export { type Delivery, NatsReceiver } from "./src/nats/receiver.ts";
export { type ConnectOptions, NatsConnectError } from "./src/nats/_link.ts";
export {
  type AsyncReceiver,
  type AsyncRecvOptions,
  type AsyncSender,
  type AsyncSendOptions,
  pipe,
  type PipeOptions,
} from "./src/async_ends.ts";
export { type DisconnectReason, RecvError, SendError } from "./src/errors.ts";
export type { TryRecvResult } from "./src/receiver.ts";
export { bytes, type Codec, json, string, structured } from "./src/codec/mod.ts";
