/**
 * Constructors of NATS channels: both ends in one process, or one end each.
 *
 * @module
 */
import type { Codec } from "../codec/types.ts";
import { validateCodec } from "../codec/mod.ts";
import { structured } from "../codec/structured/mod.ts";
import {
  checkName,
  type ConnectOptions,
  DEFAULT_ACK_WAIT,
  DEFAULT_GROUP,
  DEFAULT_SENDER_TTL,
  ensureConsumer,
  ensureStream,
  Link,
  namesOf,
  positive,
  presenceBucket,
} from "./_link.ts";
import { type NatsSender, newNatsSender } from "./sender.ts";
import { type NatsReceiver, newNatsReceiver } from "./receiver.ts";

/** Options of {@linkcode natsSender} (and of the sending half of {@linkcode natsChannel}). */
export interface NatsSenderOptions<T> extends ConnectOptions {
  /** How messages become bytes; every end of the channel must use the same. Default: `structured`. */
  codec?: Codec<T>;
  /**
   * When this end creates the channel: the most messages its stream holds unacknowledged
   * (waiting, or delivered and not yet acknowledged); `send` waits while it is full. Default:
   * unbounded. When the channel exists: must match its bound if given.
   */
  bound?: number;
  /**
   * When this end creates the channel's presence bucket: how long, in ms, a sender counts as
   * alive after its last heartbeat (senders beat every third of it). A sender whose process died
   * counts as closed this long after its last beat. Default: 10000.
   */
  senderTtl?: number;
}

/** Options of {@linkcode natsReceiver} (and of the receiving half of {@linkcode natsChannel}). */
export interface NatsReceiverOptions<T> extends NatsSenderOptions<T> {
  /**
   * The group of receivers (a durable consumer) this one joins: the receivers of a group share
   * the messages. Default: `"workers"`.
   */
  group?: string;
  /**
   * When this end creates the group: how long, in ms, a delivered message may stay
   * unacknowledged before it is delivered again. Default: 30000.
   */
  ackWait?: number;
  /**
   * Most messages this receiver pulls ahead of its calls (they are delivered to it, and handed
   * back when it closes). Lower shares work more evenly between receivers; higher is faster.
   * Default: 64.
   */
  prefetch?: number;
}

interface Prepared<T> {
  link: Link;
  codec: Codec<T>;
  names: ReturnType<typeof namesOf>;
  ttl: number;
  kv: Awaited<ReturnType<typeof presenceBucket>>;
}

/** Connects and makes (or checks) the channel's stream and presence bucket. */
async function prepare<T>(name: string, options: NatsSenderOptions<T>): Promise<Prepared<T>> {
  const names = namesOf(name);
  const codec = validateCodec<T>(options.codec ?? structured);
  const bound = options.bound;
  if (bound !== undefined && (!Number.isSafeInteger(bound) || bound < 1)) {
    throw new RangeError(`Invalid bound: expected a positive integer, got ${bound}`);
  }
  const ttl = positive(options.senderTtl ?? DEFAULT_SENDER_TTL, "senderTtl");
  const link = await Link.open(options);
  link.use();
  try {
    await ensureStream(link, names, codec as Codec<unknown>, bound);
    const kv = await presenceBucket(link, names, ttl);
    // The bucket's TTL is the one it was made with (maybe by another process).
    const made = (await kv.status()).ttl;
    return { link, codec, names, ttl: made > 0 ? made : ttl, kv };
  } catch (error) {
    await link.release();
    throw error;
  }
}

function receiverOptions(options: NatsReceiverOptions<unknown>) {
  const prefetch = options.prefetch ?? 64;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1) {
    throw new RangeError(`Invalid prefetch: expected a positive integer, got ${prefetch}`);
  }
  const group = options.group ?? DEFAULT_GROUP;
  checkName(group, "group");
  const ackWait = positive(options.ackWait ?? DEFAULT_ACK_WAIT, "ackWait");
  return { prefetch, group, ackWait };
}

/**
 * Opens a channel over NATS JetStream and makes both ends, in this process: the same surface as
 * `channel()`'s ends where it makes sense (`send`, `recv`, `tryRecv`, `for await`,
 * `close()`), asynchronous only. Creates the channel (its stream, group and presence bucket) if
 * it does not exist. Usually one process makes the sender ({@linkcode natsSender}) and others
 * the receivers ({@linkcode natsReceiver}); this makes both on one connection.
 *
 * @typeParam T The type of the messages.
 * @param name The channel's name: 1 to 64 letters, digits, `_` or `-`.
 * @param options The server, codec, bound, and the receivers' options.
 * @returns `[sender, receiver]`, once the sender's presence is registered.
 * @throws {NatsConnectError} (rejects) The server could not be reached within `timeout`.
 * @throws {TypeError} (rejects) A bad name or codec; the channel exists with another bound or
 * codec.
 * @throws {RangeError} (rejects) A bad `bound`, `timeout`, `senderTtl`, `ackWait`, `prefetch`.
 * @example
 * ```ts ignore
 * import { natsChannel } from "@wasmring/mpsc/nats";
 *
 * const [tx, rx] = await natsChannel<{ id: number }>("jobs", { servers: "127.0.0.1:4222" });
 * await tx.send({ id: 1 });
 * await tx.close();
 * for await (const job of rx) console.log(job); // { id: 1 }, then ends
 * await rx.close();
 * ```
 */
export async function natsChannel<T>(
  name: string,
  options: NatsReceiverOptions<T> = {},
): Promise<[NatsSender<T>, NatsReceiver<T>]> {
  const { prefetch, group, ackWait } = receiverOptions(options as NatsReceiverOptions<unknown>);
  const { link, codec, names, ttl, kv } = await prepare(name, options);
  try {
    const { consumer, ackWait: wait } = await ensureConsumer(link, names, group, ackWait);
    const tx = await newNatsSender(link, names, codec, kv, ttl);
    const rx = newNatsReceiver(link, names, codec, consumer, kv, {
      prefetch,
      ttl,
      ackWait: wait,
      seenSender: true,
      sendersSince: 0,
    });
    return [tx, rx];
  } finally {
    await link.release(); // the ends hold it now
  }
}

/**
 * Opens a channel over NATS JetStream and makes a sender, creating the channel if it does not
 * exist. The channel's receivers may be in other processes, on other machines.
 *
 * @typeParam T The type of the messages.
 * @param name The channel's name.
 * @param options The server, codec, bound, sender TTL.
 * @returns The sender, once its presence is registered.
 * @throws {NatsConnectError} (rejects) The server could not be reached within `timeout`.
 * @throws {TypeError} (rejects) A bad name or codec; the channel exists with another bound or
 * codec.
 * @throws {RangeError} (rejects) A bad option.
 * @example
 * ```ts ignore
 * import { natsSender } from "@wasmring/mpsc/nats";
 *
 * await using tx = await natsSender<string>("jobs", { servers: "10.0.0.5:4222", bound: 1000 });
 * await tx.send("resize photo 17");
 * ```
 */
export async function natsSender<T>(
  name: string,
  options: NatsSenderOptions<T> = {},
): Promise<NatsSender<T>> {
  const { link, codec, names, ttl, kv } = await prepare(name, options);
  try {
    return await newNatsSender(link, names, codec, kv, ttl);
  } finally {
    await link.release();
  }
}

/**
 * Opens a channel over NATS JetStream and makes a receiver in the group `options.group`,
 * creating the channel and the group if they do not exist. Receivers of one group share the
 * messages. A receiver opened before any sender waits for one: it reports disconnection only
 * after it has seen a sender (or a message).
 *
 * @typeParam T The type of the messages.
 * @param name The channel's name.
 * @param options The server, codec, group, ackWait, prefetch.
 * @returns The receiver.
 * @throws {NatsConnectError} (rejects) The server could not be reached within `timeout`.
 * @throws {TypeError} (rejects) A bad name or codec; the channel exists with another bound or
 * codec.
 * @throws {RangeError} (rejects) A bad option.
 * @example
 * ```ts ignore
 * import { natsReceiver } from "@wasmring/mpsc/nats";
 *
 * await using rx = await natsReceiver<string>("jobs", { servers: "10.0.0.5:4222" });
 * for await (const job of rx) console.log(job);
 * ```
 */
export async function natsReceiver<T>(
  name: string,
  options: NatsReceiverOptions<T> = {},
): Promise<NatsReceiver<T>> {
  const { prefetch, group, ackWait } = receiverOptions(options as NatsReceiverOptions<unknown>);
  const { link, codec, names, ttl, kv } = await prepare(name, options);
  try {
    const { consumer, ackWait: wait } = await ensureConsumer(link, names, group, ackWait);
    // Where the presence bucket stands now: any sender that opens later moves it, even one
    // that closes before this receiver looks (see `sendersSince`).
    const since = (await kv.status()).streamInfo.state.last_seq;
    return newNatsReceiver(link, names, codec, consumer, kv, {
      prefetch,
      ttl,
      ackWait: wait,
      seenSender: false,
      sendersSince: since,
    });
  } finally {
    await link.release();
  }
}

/**
 * Removes a NATS channel from the server: its stream (with every message in it), its groups and
 * its presence bucket. Its open senders then fail with `SendError`, its receivers with
 * `RecvError`. Does nothing if it does not exist.
 *
 * @param name The channel's name.
 * @param options How to reach the server.
 * @returns Whether there was a channel to remove.
 * @throws {NatsConnectError} (rejects) The server could not be reached within `timeout`.
 * @example
 * ```ts ignore
 * import { removeNatsChannel } from "@wasmring/mpsc/nats";
 *
 * await removeNatsChannel("jobs", { servers: "127.0.0.1:4222" });
 * ```
 */
export async function removeNatsChannel(
  name: string,
  options: ConnectOptions = {},
): Promise<boolean> {
  const names = namesOf(name);
  const link = (await Link.open(options)).use();
  try {
    let removed = false;
    for (const stream of [names.stream, `KV_${names.bucket}`]) {
      removed = await link.jsm.streams.delete(stream).catch(() => false) || removed;
    }
    return removed;
  } finally {
    await link.release();
  }
}
