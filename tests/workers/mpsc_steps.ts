/// <reference lib="deno.worker" />
// A scripted thread for the ports of Rust's mpsc test suites (tests/mpsc_test.ts,
// tests/sync_channel_test.ts, tests/async_test.ts).
//
// The parent posts one message: `{ steps, <name>: handle, … }` — every key but `steps` is a
// channel end moved here with `transfer()` (kept at the top level of the message so that the
// library's lifeline sees it and can unblock this worker when it is terminated). The worker
// adopts the ends, runs the steps in order — the body of the Rust thread — closes every end it
// still holds (Rust drops them when the thread ends), joins the workers it spawned, and posts
// `{ type: "done", results, handles }`, or `{ type: "error", message }` when a step failed (a
// panic in the Rust thread). The main-thread side is tests/workers/mpsc_harness.ts.
import assert from "node:assert/strict";
import { type EndHandle, Receiver, RecvError, Sender, SendError } from "@wasmring/mpsc";
import { type Done, isTimeout, type Report, runScript, type Step } from "./mpsc_harness.ts";

type End = Sender<unknown> | Receiver<unknown>;

/** Ends kept open on purpose by `leak` steps. */
const leaked: End[] = [];

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

class Script {
  ends = new Map<string, End>();
  results: unknown[] = [];
  handles: Record<string, EndHandle> = {};
  children: { worker: Worker; done: Promise<Done> }[] = [];

  tx(name: string): Sender<unknown> {
    const end = this.ends.get(name);
    if (!(end instanceof Sender)) throw new Error(`No sender named ${name}`);
    return end;
  }

  rx(name: string): Receiver<unknown> {
    const end = this.ends.get(name);
    if (!(end instanceof Receiver)) throw new Error(`No receiver named ${name}`);
    return end;
  }

  async join(): Promise<void> {
    const children = this.children.splice(0);
    try {
      for (const child of children) {
        const done = await child.done;
        this.results.push(...done.results);
      }
    } finally {
      for (const child of children) child.worker.terminate();
    }
  }

  async run(step: Step): Promise<void> {
    switch (step[0]) {
      case "send": {
        const [, tx, value, times = 1] = step;
        for (let i = 0; i < times; i++) this.tx(tx).sendSync(value);
        break;
      }
      case "sendSeq": {
        const [, tx, tag, count] = step;
        const sender = this.tx(tx);
        for (let i = 0; i < count; i++) sender.sendSync([tag, i]);
        break;
      }
      case "sendIgnore": {
        try {
          this.tx(step[1]).sendSync(step[2]);
        } catch (e) {
          if (!(e instanceof SendError)) throw e;
        }
        break;
      }
      case "sendErr": {
        const [, tx, value] = step;
        const e = catchError(() => this.tx(tx).sendSync(value));
        assert.ok(e instanceof SendError, `expected a SendError, got ${e}`);
        assert.equal(e.value, value, "SendError.value is the value passed");
        break;
      }
      case "sendUntilErr": {
        const [, tx, value] = step;
        const sender = this.tx(tx);
        for (;;) {
          try {
            sender.sendSync(value);
          } catch (e) {
            if (e instanceof SendError) break;
            throw e;
          }
        }
        break;
      }
      case "trySend":
        assert.equal(this.tx(step[1]).trySend(step[2]), step[3]);
        break;
      case "recv": {
        const [, rx, expected, times = 1] = step;
        for (let i = 0; i < times; i++) assert.deepEqual(this.rx(rx).recvSync(), expected);
        break;
      }
      case "recvErr": {
        const e = catchError(() => this.rx(step[1]).recvSync());
        assert.ok(e instanceof RecvError, `expected a RecvError, got ${e}`);
        break;
      }
      case "recvTimeout":
        assert.deepEqual(this.rx(step[1]).recvSync({ timeout: step[2] }), step[3]);
        break;
      case "recvUntilErr": {
        const receiver = this.rx(step[1]);
        let count = 0;
        for (;;) {
          try {
            receiver.recvSync();
            count++;
          } catch (e) {
            if (e instanceof RecvError) break;
            throw e;
          }
        }
        this.results.push(count);
        break;
      }
      case "recvSeq": {
        const [, rx, producers, perProducer, timeout] = step;
        const receiver = this.rx(rx);
        const next = new Array<number>(producers).fill(0);
        for (let n = 0; n < producers * perProducer;) {
          let message: unknown;
          try {
            message = receiver.recvSync(timeout === undefined ? undefined : { timeout });
          } catch (e) {
            if (isTimeout(e)) continue;
            throw e;
          }
          const [tag, i] = message as [number, number];
          assert.equal(i, next[tag], `producer ${tag}: message ${i} came out of order`);
          next[tag]++;
          n++;
        }
        assert.deepEqual(next, new Array(producers).fill(perProducer));
        break;
      }
      case "recvTimeoutCount": {
        const [, rx, timeout, expected, total] = step;
        const receiver = this.rx(rx);
        let count = 0;
        for (;;) {
          try {
            assert.deepEqual(receiver.recvSync({ timeout }), expected);
            count++;
          } catch (e) {
            if (isTimeout(e)) continue;
            if (e instanceof RecvError) break;
            throw e;
          }
        }
        if (total !== undefined) assert.equal(count, total, "messages received");
        this.results.push(count);
        break;
      }
      case "tryRecvNotOk":
        assert.notEqual(this.rx(step[1]).tryRecv().state, "ok");
        break;
      case "iterSum": {
        const [, rx, out, stopAt] = step;
        let count = 0;
        for (const x of this.rx(rx)) {
          if (count >= stopAt) break;
          count += x as number;
        }
        this.tx(out).sendSync(count);
        break;
      }
      case "tryIterRequests": {
        const [, response, request, target] = step;
        let count = 0;
        outer: for (;;) {
          for (const x of this.rx(response).tryIter()) {
            count += x as number;
            if (count === target) break outer;
          }
          this.tx(request).sendSync(null);
        }
        this.results.push(count);
        break;
      }
      case "sleep":
        sleep(step[1]);
        break;
      case "close":
        this.ends.get(step[1])!.close();
        break;
      case "clone":
        this.ends.set(step[2], this.tx(step[1]).clone());
        break;
      case "spawn": {
        const [, names, steps] = step;
        const moved: Record<string, EndHandle> = {};
        for (const name of names) {
          moved[name] = this.ends.get(name)!.transfer();
          this.ends.delete(name);
        }
        const child = runScript(moved, steps);
        child.done.catch(() => {}); // observed by join()
        this.children.push(child);
        break;
      }
      case "join":
        await this.join();
        break;
      case "leak":
        leaked.push(this.ends.get(step[1])!);
        this.ends.delete(step[1]);
        break;
      case "giveBack":
        this.handles[step[1]] = this.ends.get(step[1])!.transfer();
        this.ends.delete(step[1]);
        break;
      default:
        throw new Error(`Unknown step ${JSON.stringify(step)}`);
    }
  }
}

function catchError(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error, but the call succeeded");
}

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

async function main(message: Record<string, unknown>): Promise<Report> {
  const script = new Script();
  const steps = message.steps as Step[];
  let failure: string | undefined;
  try {
    for (const [name, handle] of Object.entries(message)) {
      if (name === "steps") continue;
      const kind = (handle as { kind?: string }).kind;
      script.ends.set(
        name,
        kind === "sender"
          ? Sender.from(handle as EndHandle & { kind: "sender" })
          : Receiver.from(handle as EndHandle & { kind: "receiver" }),
      );
    }
    for (const [i, step] of steps.entries()) {
      try {
        await script.run(step);
      } catch (e) {
        throw new Error(`step ${i} ${JSON.stringify(step).slice(0, 120)}: ${describe(e)}`);
      }
    }
  } catch (e) {
    failure = describe(e);
  } finally {
    // The Rust thread ends: its ends are dropped.
    for (const end of script.ends.values()) end.close();
  }
  try {
    await script.join();
  } catch (e) {
    failure ??= `a nested worker failed: ${describe(e)}`;
  }
  if (failure !== undefined) return { type: "error", message: failure };
  return { type: "done", results: script.results, handles: script.handles };
}

self.onmessage = async (e: MessageEvent<Record<string, unknown>>) => {
  self.onmessage = null;
  self.postMessage(await main(e.data));
  self.close();
};
