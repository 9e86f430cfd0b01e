/**
 * What the ends of a NATS channel share: the connection, the JetStream contexts, and the names
 * and configuration of the channel's stream, consumer and presence bucket.
 *
 * A channel named `jobs` is, on the server:
 *
 * - the stream `MPSC_jobs` on the subject `mpsc.jobs`: work-queue retention (a message is
 *   removed once acknowledged), file storage (it survives a server restart), at most `bound`
 *   messages with "discard new" (a publish to a full stream fails; the sender waits and retries);
 *   its description records the codec's name;
 * - a durable pull consumer per group (default `workers`) with explicit acknowledgements: the
 *   receivers of a group share its messages;
 * - the key-value bucket `MPSC_SENDERS_jobs`: one key per open sender, refreshed by a heartbeat,
 *   deleted when the sender closes, expired by the server `senderTtl` ms after its last
 *   heartbeat.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  type Consumer,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { Codec } from "../codec/types.ts";

/** A channel's name, a consumer group's name: what NATS accepts in stream and bucket names. */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Default server, as `nats-server` listens by default. */
export const DEFAULT_SERVERS = "127.0.0.1:4222";
/** Default longest wait to connect, and for each request to the server (ms). */
export const DEFAULT_TIMEOUT = 5_000;
/** Default time a connection keeps trying to reconnect before it gives up (ms). */
export const DEFAULT_RECONNECT_FOR = 60_000;
/** Default time a sender counts as alive after its last heartbeat (ms). */
export const DEFAULT_SENDER_TTL = 10_000;
/** Default time a delivered message may stay unacknowledged before it is delivered again (ms). */
export const DEFAULT_ACK_WAIT = 30_000;
/** Default group (durable consumer) of receivers. */
export const DEFAULT_GROUP = "workers";

/**
 * The server could not be reached (or has no JetStream): `connect` failed, or did not finish
 * within the timeout. Nothing was created.
 *
 * @example
 * ```ts ignore
 * import { NatsConnectError, natsReceiver } from "@wasmring/mpsc/nats";
 *
 * try {
 *   await natsReceiver("jobs", { servers: "127.0.0.1:1", timeout: 1000 });
 * } catch (e) {
 *   if (e instanceof NatsConnectError) console.error(e.message);
 * }
 * ```
 */
export class NatsConnectError extends Error {
  /** The servers that were tried. */
  readonly servers: string;
  /**
   * Creates the error.
   *
   * @param servers The servers that were tried.
   * @param detail What went wrong.
   * @param options The `cause`.
   */
  constructor(servers: string, detail: string, options?: ErrorOptions) {
    super(`Cannot connect to NATS at ${servers}: ${detail}`, options);
    this.name = "NatsConnectError";
    this.servers = servers;
  }
}

/** How to reach the server: options shared by every constructor of `nats.ts`. */
export interface ConnectOptions {
  /**
   * The server(s), `"host:port"` or `"nats://host:port"`. Default: `"127.0.0.1:4222"`. Ignored
   * when `connection` is given.
   */
  servers?: string | string[];
  /**
   * A connection to use instead of opening one (made by `connect` of `@nats-io/transport-node`).
   * The ends do not close it. Several channels can share one.
   */
  connection?: NatsConnection;
  /**
   * Longest wait, in ms, to connect and for each request to the server; a connection not made
   * within it is a {@linkcode NatsConnectError}. Default: 5000.
   */
  timeout?: number;
  /**
   * How long, in ms, a connection that lost its server keeps trying to reconnect (every
   * second) before it gives up; calls then fail instead of waiting for ever. Default: 60000.
   */
  reconnectFor?: number;
}

/** A connection, counted by the ends that use it; closed by the last one if it was opened here. */
export class Link {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly timeout: number;
  #owned: boolean;
  #users = 0;
  /** When this connection last reconnected (performance.now()), or -Infinity. */
  reconnectedAt = -Infinity;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, owned: boolean, timeout: number) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout });
    this.timeout = timeout;
    this.#owned = owned;
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === "reconnect") this.reconnectedAt = performance.now();
      }
    })().catch(() => {});
  }

  /**
   * Connects (or takes `options.connection`) and checks that JetStream is there.
   * @throws {NatsConnectError} Not connected within the timeout, refused, or no JetStream.
   */
  static async open(options: ConnectOptions): Promise<Link> {
    const timeout = positive(options.timeout ?? DEFAULT_TIMEOUT, "timeout");
    const reconnectFor = positive(options.reconnectFor ?? DEFAULT_RECONNECT_FOR, "reconnectFor");
    const servers = options.servers ?? DEFAULT_SERVERS;
    const shown = Array.isArray(servers) ? servers.join(", ") : servers;
    let nc = options.connection;
    const owned = nc === undefined;
    if (nc === undefined) {
      // The client's own timeout covers the connection and its handshake; ours covers the rest
      // (a server that accepts and never answers), so that nothing waits for ever.
      const connecting = connect({
        servers,
        timeout,
        reconnectTimeWait: 1000,
        maxReconnectAttempts: Math.max(1, Math.ceil(reconnectFor / 1000)),
        name: "@wasmring/mpsc",
      });
      try {
        nc = await within(connecting, timeout + 1000, "no answer");
      } catch (error) {
        connecting.then((late) => late.close(), () => {});
        const detail = error instanceof Error ? error.message : String(error);
        throw new NatsConnectError(shown, `${detail} (within ${timeout} ms)`, { cause: error });
      }
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout });
      return new Link(nc, jsm, owned, timeout);
    } catch (error) {
      if (owned) await nc.close().catch(() => {});
      const detail = error instanceof Error ? error.message : String(error);
      throw new NatsConnectError(
        shown,
        `JetStream is not available (${detail}): start nats-server with -js`,
        { cause: error },
      );
    }
  }

  /** One more end uses this connection. */
  use(): this {
    this.#users++;
    return this;
  }

  /** An end stops using this connection: the last closes it, if it was opened here. */
  async release(): Promise<void> {
    if (--this.#users > 0 || !this.#owned || this.nc.isClosed()) return;
    await this.nc.flush().catch(() => {});
    await this.nc.close().catch(() => {});
  }
}

/** A channel's names on the server. */
export interface Names {
  channel: string;
  stream: string;
  subject: string;
  bucket: string;
}

/** The server-side names of channel `name`. @throws {TypeError} A name NATS cannot take. */
export function namesOf(name: string): Names {
  checkName(name, "channel");
  return {
    channel: name,
    stream: `MPSC_${name}`,
    subject: `mpsc.${name}`,
    bucket: `MPSC_SENDERS_${name}`,
  };
}

/** @throws {TypeError} `name` is not 1–64 letters, digits, `_` or `-`. */
export function checkName(name: unknown, what: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Invalid ${what} name ${JSON.stringify(name)}: use 1 to 64 letters, digits, "_" or "-"`,
    );
  }
}

/** @returns `value` if it is a positive finite number. @throws {RangeError} Otherwise. */
export function positive(value: number, what: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Invalid ${what}: expected a positive number of ms, got ${value}`);
  }
  return value;
}

const description = (codec: Codec<unknown>) => `@wasmring/mpsc channel; codec ${codec.name}`;

/**
 * Creates the channel's stream if it does not exist; checks an existing one against `bound` and
 * `codec`. @returns the stream's bound (Infinity: unbounded).
 * @throws {TypeError} The stream exists with another bound or codec.
 */
export async function ensureStream(
  link: Link,
  names: Names,
  codec: Codec<unknown>,
  bound: number | undefined,
): Promise<number> {
  let info = await streamInfo(link, names.stream);
  if (info === null) {
    try {
      info = await link.jsm.streams.add({
        name: names.stream,
        subjects: [names.subject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        max_msgs: bound ?? -1,
        discard: bound === undefined ? DiscardPolicy.Old : DiscardPolicy.New,
        description: description(codec),
      });
    } catch (error) {
      // Another process made it first: check theirs.
      info = await streamInfo(link, names.stream);
      if (info === null) throw error;
    }
  }
  const has = info.config.max_msgs > 0 ? info.config.max_msgs : Infinity;
  if (bound !== undefined && has !== bound) {
    throw new TypeError(
      `Cannot open NATS channel "${names.channel}" with bound ${bound}: it exists with bound ` +
        `${has}`,
    );
  }
  const theirs = info.config.description;
  if (theirs !== undefined && theirs !== description(codec)) {
    throw new TypeError(
      `Cannot open NATS channel "${names.channel}" with codec "${codec.name}": it was made ` +
        `with another (${theirs})`,
    );
  }
  return has;
}

async function streamInfo(link: Link, stream: string) {
  try {
    return await link.jsm.streams.info(stream);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === 10059) return null;
    throw error;
  }
}

/**
 * Creates the group's durable consumer if it does not exist.
 * @returns it, and its ackWait in ms (the one it was made with, maybe by another process).
 */
export async function ensureConsumer(
  link: Link,
  names: Names,
  group: string,
  ackWait: number,
): Promise<{ consumer: Consumer; ackWait: number }> {
  checkName(group, "group");
  try {
    await link.jsm.consumers.info(names.stream, group);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10014) throw error;
    try {
      await link.jsm.consumers.add(names.stream, {
        durable_name: group,
        ack_policy: AckPolicy.Explicit,
        ack_wait: ackWait * 1e6,
        max_deliver: -1,
        max_ack_pending: -1,
      });
    } catch (again) {
      // Another process made it first; or the stream has another group (a work-queue stream
      // takes one consumer per subject).
      await link.jsm.consumers.info(names.stream, group).catch(() => {
        throw new TypeError(
          `Cannot join group "${group}" of NATS channel "${names.channel}": ` +
            `${(again as Error).message} (a channel's receivers share one group)`,
          { cause: again },
        );
      });
    }
  }
  const consumer = await link.js.consumers.get(names.stream, group);
  const info = await consumer.info(true);
  return { consumer, ackWait: (info.config.ack_wait ?? DEFAULT_ACK_WAIT * 1e6) / 1e6 };
}

/**
 * Creates the channel's presence bucket with `ttl`, or opens it as it exists (made by another
 * process, perhaps with another `ttl`: the first one's holds).
 */
export async function presenceBucket(link: Link, names: Names, ttl: number): Promise<KV> {
  const kvm = new Kvm(link.js);
  try {
    return await kvm.create(names.bucket, { ttl, history: 1 });
  } catch (error) {
    if (await streamInfo(link, `KV_${names.bucket}`) === null) throw error;
    return await kvm.open(names.bucket);
  }
}

/** @returns how many senders are alive (their key is there). */
export async function sendersAlive(kv: KV): Promise<number> {
  let n = 0;
  for await (const _ of await kv.keys("s.>")) n++;
  return n;
}

/** `promise`, or a rejection with `detail` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, detail: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(detail)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or rejects with `signal.reason` when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
