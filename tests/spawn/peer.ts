/// <reference lib="deno.worker" />
// A spawned worker that comes to hold one channel end by some path, then ends in some way; see
// tests/spawn_test.ts.
import { type EndHandle, Receiver, Sender } from "../../mod.ts";

/** How the end reaches this worker. */
export type Path =
  | "data" // moved in spawn's data
  | "post0" // a handle posted to handle.worker, at the top level
  | "post1" // … nested 1, 3, 10 deep in objects and arrays
  | "post3"
  | "post10"
  | "map" // … inside a Map
  | "port" // a handle posted on a MessagePort given in spawn's data
  | "forward"; // a handle a second worker got and forwarded, unadopted, on a MessagePort

/** How this worker ends, once it holds the end. */
export type Death =
  | "idle" // terminated while waiting on its event loop
  | "blocked" // terminated while blocked in recvSync/sendSync
  | "polling" // terminated while looping on tryRecv/trySend
  | "selfclose" // self.close()
  | "throw" // an unhandled error
  | "return" // its function returned
  | "reject"; // its function threw

export interface PeerData {
  path: Path;
  death: Death;
  end?: Sender<number> | Receiver<number>;
  port?: MessagePort;
  /** [0]: 1 once the end is held; [1]: turns of a polling loop. */
  words: Int32Array;
}

/** Wraps `value` `depth` levels deep, alternating objects and arrays. */
export function nest(value: unknown, depth: number): unknown {
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { inner: value } : [0, value];
  return value;
}

function unnest(value: unknown, depth: number): unknown {
  for (let i = depth - 1; i >= 0; i--) {
    value = i % 2 === 0 ? (value as { inner: unknown }).inner : (value as unknown[])[1];
  }
  return value;
}

function adopt(handle: EndHandle & { kind: string }): Sender<number> | Receiver<number> {
  return handle.kind === "sender"
    ? Sender.from(handle as EndHandle & { kind: "sender" })
    : Receiver.from(handle as EndHandle & { kind: "receiver" });
}

function arrival(data: PeerData): Promise<Sender<number> | Receiver<number>> {
  if (data.path === "data") return Promise.resolve(data.end!);
  return new Promise((resolve) => {
    const take = (message: unknown) => {
      const depth = { post0: 0, post1: 1, post3: 3, post10: 10 }[data.path as "post0"];
      const handle = data.path === "map"
        ? (message as Map<string, unknown>).get("end")
        : data.path === "port" || data.path === "forward"
        ? message
        : unnest(message, depth);
      resolve(adopt(handle as EndHandle & { kind: string }));
    };
    if (data.port) data.port.onmessage = (e) => take(e.data);
    else self.onmessage = (e) => take(e.data);
  });
}

/**
 * The ends this worker holds, as a real worker would keep what it works with: an end nothing
 * references may be collected, which closes it (a close, not a death).
 */
const held: unknown[] = [];

export default async function (data: PeerData): Promise<string> {
  const end = await arrival(data);
  held.push(end);
  const ready = () => {
    Atomics.store(data.words, 0, 1);
    Atomics.notify(data.words, 0);
  };
  const sender = end instanceof Sender ? end : null;
  const receiver = end instanceof Receiver ? end : null;
  switch (data.death) {
    case "idle":
      ready();
      return await new Promise<never>(() => {});
    case "blocked":
      if (sender) {
        sender.sendSync(1); // fills the channel (bound 1)
        ready();
        sender.sendSync(2); // blocks until terminated
      } else {
        ready();
        receiver!.recvSync(); // blocks until terminated
      }
      throw new Error("unreachable: the blocking call returned");
    case "polling":
      ready();
      for (;;) {
        if (sender) sender.trySend(1);
        else receiver!.tryRecv();
        Atomics.add(data.words, 1, 1);
      }
    case "selfclose":
      ready();
      self.close();
      return "unreachable";
    case "throw":
      setTimeout(() => {
        ready();
        throw new Error("the peer fails");
      }, 1);
      return await new Promise<never>(() => {});
    case "return":
      ready();
      return "returned";
    case "reject":
      ready();
      throw new RangeError("the peer rejects");
  }
}
