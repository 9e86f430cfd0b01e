/// <reference lib="deno.worker" />
// A spawned worker for the smaller spawn tests; `mode` says what it does.
import { channel, type Receiver, Sender, spawn } from "../../mod.ts";
import { type Point, point } from "./point_codec.ts";
import { parentWords, T_BUSY } from "../../src/_thread.ts";

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

/**
 * Ends this worker holds while it idles: an end nothing references may be collected, which
 * closes it (a close, not the death the tests look for).
 */
const held: unknown[] = [];

export default async function (data: Data): Promise<unknown> {
  switch (data.mode) {
    case "async":
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { sum: data.a + data.b, at: new Date(0), map: new Map([[1, "one"]]) };
    case "deep": {
      // Ends 10 levels down, in a Map in a Set in arrays and objects.
      let node = data.root;
      for (let i = 0; i < 8; i++) node = node.next[0];
      const tx = [...node.set][0].get("tx") as Sender<string>;
      const rx = node.rx as Receiver<string>;
      tx.sendSync(`got ${rx.recvSync()}`);
      return "deep";
    }
    case "hidden": {
      // Ends that only a walk of all structuredClone copies finds: an array's other property,
      // an Error's cause, an element far into a sparse array.
      const list = data.list as number[] & { extra: Sender<string> };
      list.extra.sendSync(`extra beside ${list.length} elements`);
      const error = data.error as Error & { cause: { tx: Sender<string> } };
      error.cause.tx.sendSync(`cause of a ${error.name}: ${error.message}`);
      const sparse = data.sparse as Sender<string>[];
      sparse[2 ** 30].sendSync(
        `${Object.keys(sparse).length} of ${sparse.length} in a sparse array`,
      );
      return "hidden";
    }
    case "point":
      (data.tx as Sender<Point>).sendSync({ x: 1.5, y: -2 });
      void point; // imported for its registration
      return "sent";
    case "typeerror":
      throw new TypeError("bad input: " + data.what);
    case "uncloneable":
      return () => 1;
    case "wait": // until the parent sends something on `rx`
      return (data.rx as Receiver<string>).recvSync();
    case "nested": {
      // Spawns a grandchild with the sender it got, and returns what that one returned.
      const child = spawn<string>(new URL("./hello.ts", import.meta.url), { tx: data.tx });
      return await child.join();
    }
    case "middle": {
      // Passes its end on to a worker of its own (which idles holding it), then waits for ever.
      spawn(new URL("./peer.ts", import.meta.url), {
        path: "data",
        death: "idle",
        end: data.end,
        words: data.words,
      });
      return await new Promise(() => {});
    }
    case "relay-middle": {
      // Passes a port on to a worker of its own, then blocks (it cannot pass anything on).
      spawn(new URL("./misc.ts", import.meta.url), {
        mode: "relay-leaf",
        port: data.port,
        words: data.words,
      }, { transfer: [data.port] });
      const [, idle] = channel<number>();
      return idle.recvSync(); // until terminated
    }
    case "relay-leaf": {
      // Adopts the sender that comes through the port, says so, and holds it.
      const port = data.port as MessagePort;
      port.onmessage = (e) => {
        held.push(Sender.from<number>(e.data));
        Atomics.store(data.words, 0, 1);
        Atomics.notify(data.words, 0);
      };
      return await new Promise(() => {});
    }
    case "spawn-many": {
      // Spawns and joins short-lived workers one after the other, then idles.
      for (let i = 0; i < data.count; i++) {
        await spawn(new URL("./misc.ts", import.meta.url), { mode: "async", a: 1, b: i }).join();
      }
      Atomics.store(data.words, 0, 1);
      Atomics.notify(data.words, 0);
      return await new Promise(() => {});
    }
    case "transfer-unsent": {
      // Moves its sender into a handle it never posts: it is lost when the worker ends.
      const handle = (data.tx as Sender<number>).transfer();
      (globalThis as { kept?: unknown }).kept = handle; // not collected before the worker ends
      return "kept";
    }
    case "idle-gc": {
      // Keeps no reference to its data (the sender in it), collects garbage, then idles.
      const words = data.words as Int32Array;
      data = { mode: "" };
      const gc = (globalThis as { gc?: () => void }).gc!;
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      Atomics.store(words, 0, 1);
      return await new Promise(() => {});
    }
    case "busy-step": {
      // As if in the middle of adopting an end for 300 ms: terminate() must wait for the step.
      const thread = parentWords()!;
      Atomics.add(thread, T_BUSY, 1);
      Atomics.store(data.words, 0, 1);
      Atomics.notify(data.words, 0);
      const start = Date.now();
      await new Promise<void>((resolve) => {
        const id = setInterval(() => {
          Atomics.add(data.words, 1, 1); // alive
          if (Date.now() - start < 300) return;
          clearInterval(id);
          resolve();
        }, 5);
      });
      Atomics.store(data.words, 2, 1); // the step is over
      Atomics.sub(thread, T_BUSY, 1);
      Atomics.notify(thread, T_BUSY);
      return await new Promise(() => {});
    }
    case "unhandled": // an error nobody handles: thrown from a timer, or a promise's rejection
      setTimeout(() => {
        if (data.reject) void Promise.reject(new TypeError(data.message));
        else if (data.uncloneable) throw { message: data.message, f: () => 1 };
        else throw new RangeError(data.message);
      }, 1);
      return await new Promise(() => {});
    case "deno-exit": // ends the worker without closing its sender
      (data.tx as Sender<number>).sendSync(1);
      Deno.exit(data.code ?? 0);
      return;
    case "return-ends": {
      // Returns a receiver it was given and the sender of a channel it made, deep in its result.
      const [tx, rx] = channel<number>();
      tx.sendSync(7);
      return { got: [data.rx], made: new Map([["rx", rx]]) };
    }
    case "return-closed": {
      const [tx] = channel<number>();
      tx.close();
      return { tx };
    }
    case "echo": // sends back every message posted to this worker
      self.onmessage = (e) => (data.tx as Sender<string>).sendSync(e.data);
      return await new Promise(() => {});
    case "made-here": {
      // A channel made in this worker: its sender goes to the parent, its receiver stays here.
      const [tx, rx] = channel<number>();
      self.postMessage(tx.transfer());
      data.words[0] = 1;
      Atomics.notify(data.words, 0);
      held.push(rx); // holds rx until terminated
      return await new Promise(() => {});
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
