/// <reference lib="deno.worker" />
// A spawned worker for the tests of ends carried in messages (tests/ends_test.ts); `mode` says
// what it does.
import { channel, type OneshotSender, type Receiver, type Sender } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

/** Ends this worker holds while it blocks: referenced, so never collected (closed). */
const held: unknown[] = [];

export default function (data: Data): unknown {
  switch (data.mode) {
    case "square": {
      // Serves jobs until the channel disconnects: each reply goes through the job's own end.
      const jobs = data.jobs as Receiver<{ n: number; reply: Sender<number> }>;
      let served = 0;
      for (const { n, reply } of jobs) {
        reply.sendSync(n * n);
        reply.close();
        served++;
      }
      return served;
    }
    case "oneshot": {
      const jobs = data.jobs as Receiver<{ n: number; reply: OneshotSender<number> }>;
      let served = 0;
      for (const { n, reply } of jobs) {
        reply.send(n + 1);
        served++;
      }
      return served;
    }
    case "make": {
      // Makes a channel in the arena it shares with its parent and sends its receiver up, then
      // sends through it.
      const up = data.up as Sender<{ rx: Receiver<string> }>;
      const [tx, rx] = channel<string>();
      up.sendSync({ rx });
      for (let i = 0; i < 3; i++) tx.sendSync(`made ${i}`);
      tx.close();
      return "made";
    }
    case "forward": {
      // Takes an end from one channel and passes it on through another, with its name.
      const from = data.from as Receiver<{ path: string[]; tx: Sender<string> }>;
      const to = data.to as Sender<{ path: string[]; tx: Sender<string> }>;
      const message = from.recvSync();
      to.sendSync({ path: [...message.path, data.name], tx: message.tx });
      return data.name;
    }
    case "hold": {
      // Takes an end from a channel and blocks holding it, until terminated.
      const from = data.from as Receiver<unknown>;
      held.push(from.recvSync());
      (data.ready as Sender<string>).sendSync("holding");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return "never";
    }
    case "hoard": {
      // Takes `count` ends from a channel (more than one table of slots holds) and blocks
      // holding them, until terminated.
      const from = data.from as Receiver<{ tx: Sender<number> }>;
      for (let i = 0; i < data.count; i++) held.push(from.recvSync().tx);
      (data.ready as Sender<string>).sendSync("hoarding");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return "never";
    }
    case "stuck": {
      // Holds the jobs receiver and never receives: the jobs (and their reply ends) stay in
      // flight in the channel until this worker is terminated.
      held.push(data.jobs);
      (data.ready as Sender<string>).sendSync("stuck");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return "never";
    }
    case "sandboxed": {
      // Spawned with narrower permissions: an arena of its own. Its ends cannot travel in a
      // message of its parent's channel.
      const up = data.up as Sender<unknown>;
      const [tx] = channel<number>();
      try {
        up.sendSync({ tx });
        return "sent";
      } catch (error) {
        return `${(error as Error).name}: ${(error as Error).message}`;
      }
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
