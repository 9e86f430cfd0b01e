/// <reference lib="deno.worker" />
// A spawned worker for tests/stress/mpmc_stress_test.ts; `mode` says what it does: "produce"
// (send [p, seq, check] or a 1 KiB Uint32Array for seq = 0 … count - 1, then close), "consume"
// (take messages until RecvError, checking each and per-producer order, and report what it
// took), "victim" (the same, but first logging every message it takes on a log channel, so that
// the test can account for what it took before it was terminated).
import { type Receiver, RecvError, type Sender } from "../../mod.ts";

/** [p, seq, check], or a 1 KiB Uint32Array: [p, seq, check, …, check]. */
export type Message = [number, number, number] | Uint32Array;

/** The check word of message `seq` of producer `p` (the consumer recomputes it). */
export function checkOf(p: number, seq: number): number {
  let h = Math.imul(p + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * Start gate, in a SharedArrayBuffer: READY counts the workers at their loop, GO is set once all
 * are; producers wait for it, so that no consumer is missing for a lack of start-up time.
 */
export const READY = 0;
export const GO = 1;

/** What a consumer reports: per producer, the count, the sum of the check words, the marks. */
export interface Took {
  /** Messages taken, per producer. */
  counts: number[];
  /** Sum of the check words of the messages taken, per producer, modulo 2^32. */
  sums: number[];
  /** marks[p][seq]: how often this consumer took message seq of producer p (at most 255). */
  marks: Uint8Array[];
  /** How the loop ended: "RecvError" when the channel said disconnected. */
  end: string;
}

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

export default async function (data: Data): Promise<unknown> {
  const gate = new Int32Array(data.gate as SharedArrayBuffer);
  switch (data.mode) {
    case "produce":
      return await produce(data.tx, data.p, data.count, data.async, gate);
    case "consume":
    case "victim":
      return await consume(data as ConsumeData, gate);
    default:
      throw new Error(`unknown mode ${data.mode}`);
  }
}

async function produce(
  tx: Sender<Message>,
  p: number,
  count: number,
  async: boolean,
  gate: Int32Array,
): Promise<number> {
  const large = new Uint32Array(256);
  Atomics.add(gate, READY, 1);
  Atomics.notify(gate, READY);
  while (Atomics.load(gate, GO) === 0) Atomics.wait(gate, GO, 0, 50);
  for (let seq = 0; seq < count; seq++) {
    const check = checkOf(p, seq);
    let message: Message;
    if (seq % 16 === 15) {
      // Above the codec's in-place threshold: written in place in the ring.
      large.fill(check);
      large[0] = p;
      large[1] = seq;
      message = large;
    } else {
      message = [p, seq, check];
    }
    if (async && seq % 2 === 1) await tx.send(message);
    else tx.sendSync(message);
  }
  tx.close();
  return count;
}

interface ConsumeData {
  mode: "consume" | "victim";
  rx: Receiver<Message>;
  /** Victims: where each message taken is logged as [id, p, seq], before anything else. */
  log?: Sender<[number, number, number]>;
  /**
   * Victims: words [2 id, 2 id + 1] = [p, seq + 1] of the last message taken, stored before it
   * is logged — memory, not a channel, so that a message whose log a terminated worker could
   * no longer send is told from one that never reached this code.
   */
  last?: SharedArrayBuffer;
  id: number;
  /** How this consumer receives: "sync", "async", "try", "iter" (for await). */
  how: string;
  producers: number;
  count: number;
}

async function consume(data: ConsumeData, gate: Int32Array): Promise<Took> {
  const { rx, log, id, how, producers, count } = data;
  const last = data.last === undefined ? null : new Int32Array(data.last);
  const took: Took = {
    counts: new Array(producers).fill(0),
    sums: new Array(producers).fill(0),
    marks: Array.from({ length: producers }, () => new Uint8Array(count)),
    end: "none",
  };
  const latest = new Array<number>(producers).fill(-1);
  const take = (message: Message): void => {
    const p = message[0];
    const seq = message[1];
    // First of all, before any check that could throw: tell the test this one is taken.
    if (last !== null) {
      Atomics.store(last, 2 * id, p);
      Atomics.store(last, 2 * id + 1, seq + 1);
    }
    log?.sendSync([id, p, seq]);
    const check = checkOf(p, seq);
    if (message[2] !== check || (message instanceof Uint32Array && message[255] !== check)) {
      throw new Error(`consumer ${id}: message (${p}, ${seq}) damaged: ${String(message)}`);
    }
    if (seq <= latest[p]) {
      throw new Error(`consumer ${id}: producer ${p}: ${seq} after ${latest[p]}`);
    }
    latest[p] = seq;
    took.counts[p]++;
    took.sums[p] = (took.sums[p] + check) >>> 0;
    if (took.marks[p][seq] < 255) took.marks[p][seq]++;
  };
  Atomics.add(gate, READY, 1);
  Atomics.notify(gate, READY);
  try {
    if (how === "iter") {
      for await (const message of rx) take(message);
      await rx.recv(); // the iterator ended at disconnection: throws RecvError
      throw new Error(`consumer ${id}: recv after the iterator's end returned`);
    }
    for (;;) {
      if (how === "sync") take(rx.recvSync());
      else if (how === "async") take(await rx.recv());
      else if (how === "try") {
        const result = rx.tryRecv();
        // Empty: wait for one; disconnected: recvSync throws RecvError.
        take(result.state === "ok" ? result.value : rx.recvSync());
      } else throw new Error(`unknown how ${how}`);
    }
  } catch (error) {
    if (!(error instanceof RecvError)) throw error;
    took.end = "RecvError";
  }
  log?.close();
  return took;
}
