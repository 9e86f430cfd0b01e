/// <reference lib="deno.worker" />
// A spawned worker for the oneshot tests; `mode` says what it does with the ends it is given.
import type { OneshotReceiver, OneshotSender } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

/** Ends this worker holds while it blocks: referenced, so never collected (closed). */
const held: unknown[] = [];

export default async function (data: Data): Promise<unknown> {
  switch (data.mode) {
    case "square": {
      // A request and its reply end: the reply goes back through the oneshot.
      const reply = data.reply as OneshotSender<number>;
      reply.send(data.n * data.n);
      return "replied";
    }
    case "relay": {
      // Waits for a value on one oneshot and passes it on through another.
      const from = data.from as OneshotReceiver<string>;
      const to = data.to as OneshotSender<string>;
      to.send(`${await from.recv()} via a worker`);
      return "relayed";
    }
    case "hold": {
      // Holds the sender and blocks until it is terminated: it never sends.
      held.push(data.reply);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return "never";
    }
    case "return": {
      // Hands back a fresh oneshot's receiver in the result, the value sent already (the
      // sender closes with this worker when its function returns).
      const { oneshot } = await import("../../mod.ts");
      const [tx, rx] = oneshot<string>();
      tx.send("sent before the result");
      return { rx };
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
