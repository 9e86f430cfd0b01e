/// <reference lib="deno.worker" />
// A spawned worker for tests/mpmc_test.ts; `mode` says what it does.
import { type Receiver, RecvError, type Sender } from "../../mod.ts";
import { parkStats } from "../../src/_shared_channel.ts";
import { stall } from "./stall_codec.ts";

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

export default async function (data: Data): Promise<unknown> {
  switch (data.mode) {
    case "produce": {
      // Sends [p, 0 … count - 1] and closes.
      const tx = data.tx as Sender<[number, number]>;
      for (let i = 0; i < data.count; i++) tx.sendSync([data.p, i]);
      tx.close();
      return data.count;
    }
    case "consume": {
      // Receives [p, seq] until disconnected, checking per-producer order, and reports what it
      // took: per producer, the count and the sum of seqs.
      const rx = data.rx as Receiver<[number, number]>;
      const last = new Map<number, number>();
      const counts: Record<number, [number, number]> = {};
      for (const [p, seq] of rx) {
        const before = last.get(p) ?? -1;
        if (seq <= before) throw new Error(`producer ${p}: ${seq} after ${before}`);
        last.set(p, seq);
        const c = counts[p] ??= [0, 0];
        c[0]++;
        c[1] += seq;
      }
      return counts;
    }
    case "forward": {
      // Takes numbers until disconnected, sending [id, n] for each (after `work` ms of "work" for
      // a negative one).
      const rx = data.rx as Receiver<number>;
      const out = data.out as Sender<[number, number]>;
      for (const n of rx) {
        if (n < 0 && data.work > 0) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, data.work);
        }
        out.sendSync([data.id, n]);
      }
      out.close();
      return parkStats.woken;
    }
    case "idle": {
      // Takes messages one by one, reporting each; returns how often this thread was woken.
      const rx = data.rx as Receiver<number>;
      const out = data.out as Sender<number>;
      for (const n of rx) out.sendSync(n);
      out.close();
      return parkStats.woken;
    }
    case "async": {
      const rx = data.rx as Receiver<number>;
      const out = data.out as Sender<number>;
      for await (const n of rx) out.sendSync(n);
      out.close();
      return parkStats.woken;
    }
    case "stall":
    case "stall-many": {
      // Takes messages (one at a time, or in batches with recvManySync) and reports each,
      // stalling `ms` in the decode of -1 (see stall_codec.ts).
      stall.here = true;
      stall.ms = data.ms;
      const rx = data.rx as Receiver<number>;
      const out = data.out as Sender<number>;
      out.sendSync(-2); // ready
      for (;;) {
        let taken: number[];
        try {
          taken = data.mode === "stall" ? [rx.recvSync()] : rx.recvManySync(100);
        } catch (error) {
          if (error instanceof RecvError) return "done";
          throw error;
        }
        for (const n of taken) out.sendSync(n);
      }
    }
    case "recv-one": {
      const rx = data.rx as Receiver<number>;
      try {
        return await rx.recv();
      } catch (error) {
        return error instanceof RecvError ? "disconnected" : String(error);
      }
    }
    default:
      throw new Error(`unknown mode ${data.mode}`);
  }
}
