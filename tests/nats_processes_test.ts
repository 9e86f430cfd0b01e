// NATS channels between Deno processes (stand-ins for machines), against a real nats-server:
// exactly-once processing with acknowledgements; a consumer killed mid-stream (its
// unacknowledged messages go to the other); the server restarted mid-stream (clients
// reconnect); a sender process that dies (its heartbeat stops: receivers see disconnection
// after the TTL). Processes: tests/nats/producer.ts and tests/nats/consumer.ts. Each consumer
// writes an id, then acknowledges it: an id it wrote may come again if it dies before the
// acknowledgement, none may be missing. Nothing is timed: watchdogs only bound the waits.
//
//   NATS_MESSAGES=100000 deno test -A tests/nats_processes_test.ts   # the long run (default 20000)
import assert from "node:assert/strict";
import { natsReceiver, RecvError } from "../nats.ts";
import { NatsServer, natsTest } from "./_helpers/nats_server.ts";

const ROOT = new URL("../", import.meta.url);
const MESSAGES = Number(Deno.env.get("NATS_MESSAGES") ?? 20_000);
const loose = { sanitizeOps: false, sanitizeResources: false };

/** A `deno run` subprocess whose stdout lines are collected as they come. */
class Proc {
  readonly lines: string[] = [];
  #child: Deno.ChildProcess;
  #stderr = "";
  #changed: (() => void)[] = [];
  readonly done: Promise<Deno.CommandStatus>;

  constructor(script: string, args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", script, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const out = this.#read(this.#child.stdout, (line) => this.lines.push(line));
    const err = this.#read(this.#child.stderr, (line) => this.#stderr += line + "\n");
    this.done = Promise.all([out, err]).then(() => this.#child.status);
  }

  async #read(stream: ReadableStream<Uint8Array>, each: (line: string) => void): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) each(line);
      for (const wake of this.#changed.splice(0)) wake();
    }
    if (rest !== "") each(rest);
    for (const wake of this.#changed.splice(0)) wake();
  }

  /** Waits until `predicate` holds of the output (or the process ends: then it throws). */
  async until(predicate: (lines: string[]) => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    let ended = false;
    this.done.then(() => ended = true);
    while (!predicate(this.lines)) {
      if (ended) throw new Error(`${what}: the process ended first\n${this.report()}`);
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${this.report()}`);
      await new Promise<void>((r) => {
        this.#changed.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Ids written by a consumer. */
  ids(): number[] {
    return this.lines.filter((l) => /^\d+$/.test(l)).map(Number);
  }

  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#child.kill(signal);
    } catch { /* exited */ }
  }

  /** Waits for the exit (killing it after `ms`); asserts success unless `expectFailure`. */
  async finish(ms: number, what: string): Promise<void> {
    const timer = setTimeout(() => this.kill(), ms);
    const status = await this.done;
    clearTimeout(timer);
    assert.ok(status.success, `${what} failed (${status.code})\n${this.report()}`);
  }

  report(): string {
    return `stdout (last 5): ${this.lines.slice(-5).join(" | ")}\nstderr: ${this.#stderr}`;
  }
}

function producer(server: NatsServer, channel: string, to: number, ...more: string[]): Proc {
  return new Proc("tests/nats/producer.ts", [
    "--servers",
    server.url,
    "--channel",
    channel,
    "--from",
    "0",
    "--to",
    String(to),
    ...more,
  ]);
}

function consumer(server: NatsServer, channel: string, ...more: string[]): Proc {
  return new Proc("tests/nats/consumer.ts", [
    "--servers",
    server.url,
    "--channel",
    channel,
    ...more,
  ]);
}

/** Checks that ids 0 … n-1 all arrived (count and checksum); returns how many came twice. */
function checkAll(n: number, ...sources: number[][]): number {
  const seen = new Uint8Array(n);
  let total = 0;
  for (const ids of sources) {
    for (const id of ids) {
      assert.ok(Number.isInteger(id) && id >= 0 && id < n, `unexpected id ${id}`);
      seen[id]++;
      total++;
    }
  }
  const missing: number[] = [];
  let sum = 0;
  let unique = 0;
  for (let id = 0; id < n; id++) {
    if (seen[id] === 0) missing.push(id);
    else {
      unique++;
      sum += id;
    }
  }
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} ids missing`);
  assert.equal(unique, n);
  assert.equal(sum, (n * (n - 1)) / 2, "checksum of the ids");
  return total - n;
}

Deno.test({
  ...natsTest(`exactly-once processing with acks across processes: ${MESSAGES} messages`),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    // The consumers start first: the producer's sends go to them as they come.
    const a = consumer(server, "once");
    const b = consumer(server, "once");
    await a.until((l) => l.includes("ready"), 60_000, "consumer a");
    await b.until((l) => l.includes("ready"), 60_000, "consumer b");
    const p = producer(server, "once", MESSAGES);
    const limit = Math.max(120_000, MESSAGES * 5);
    await p.finish(limit, "producer");
    await a.finish(limit, "consumer a");
    await b.finish(limit, "consumer b");
    const dups = checkAll(MESSAGES, a.ids(), b.ids());
    // No process died and every acknowledgement was confirmed: nothing came twice.
    assert.equal(dups, 0, "messages processed twice");
    assert.ok(a.ids().length > 0 && b.ids().length > 0, "both consumers took work");
    assert.equal(a.lines.at(-1), `done ${a.ids().length}`);
  },
});

Deno.test({
  ...natsTest("a consumer killed mid-stream: its unacknowledged messages go to the other"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const N = 5000;
    // The stream holds a backlog first, so that a has messages pulled ahead (prefetch) and one
    // in hand when it is killed: all of them are unacknowledged.
    const p = producer(server, "killed", N);
    await p.until((l) => l.includes(`sent ${N}`), 120_000, "producer");
    // Short ackWait: the killed consumer's messages come back within 2 s.
    const a = consumer(server, "killed", "--ack-wait", "2000");
    const b = consumer(server, "killed", "--ack-wait", "2000");
    await a.until(() => a.ids().length >= 500, 120_000, "consumer a's first 500");
    a.kill("SIGKILL");
    await a.done;
    const killedAt = a.ids().length;
    await p.finish(120_000, "producer");
    await b.finish(120_000, "consumer b");
    const dups = checkAll(N, a.ids(), b.ids());
    // At most the one a wrote and did not acknowledge comes twice.
    assert.ok(dups <= 1, `${dups} messages processed twice`);
    assert.ok(killedAt < N, "a was killed mid-stream");
  },
});

Deno.test({
  ...natsTest("the server restarted mid-stream: clients reconnect, nothing is lost"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const N = 5000;
    const c = consumer(server, "restart", "--ack-wait", "3000");
    await c.until((l) => l.includes("ready"), 60_000, "consumer");
    const p = producer(server, "restart", N, "--ttl", "3000");
    await c.until(() => c.ids().length >= N / 4, 120_000, "the first quarter");
    await server.restart(500);
    await p.finish(180_000, "producer");
    await c.finish(180_000, "consumer");
    const dups = checkAll(N, c.ids());
    // Acknowledgements lost in the restart bring a few messages again: at least once.
    assert.ok(dups < N / 10, `${dups} messages processed twice`);
  },
});

Deno.test({
  ...natsTest("a sender process that dies counts as closed after its TTL"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    // The channel (and its presence bucket, with a TTL of 2 s) is made here.
    const rx = await natsReceiver<{ id: number }>("dead", { servers: server.url, senderTtl: 2000 });
    const p = producer(server, "dead", 10, "--ttl", "2000", "--hold");
    try {
      await p.until((l) => l.includes("sent 10"), 60_000, "producer");
      const got: number[] = [];
      for (let i = 0; i < 10; i++) got.push((await rx.recv()).id);
      assert.deepEqual(got, [...Array(10).keys()]);
      // Alive (heartbeat running): no disconnection while it holds.
      await assert.rejects(
        rx.recv({ signal: AbortSignal.timeout(3000) }),
        (e) => (e as DOMException).name === "TimeoutError",
      );
      p.kill("SIGKILL");
      await p.done;
      // Dead: its key expires 2 s after its last heartbeat; then the receiver disconnects.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const watchdog = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no disconnection within 30 s")), 30_000);
      });
      await assert.rejects(Promise.race([rx.recv(), watchdog]), RecvError);
      clearTimeout(timer);
    } finally {
      p.kill();
      await rx.close();
    }
  },
});

// Found by a red-team review: a sender alive but stalled past its TTL (a blocked event loop, a
// cut network) was counted gone by the receivers, and its next message was stored where no
// receiver would read it, without an error. Now the stalled sender finds its key expired and
// its send fails with SendError.
Deno.test({
  ...natsTest("a sender stalled past its TTL: the receivers disconnect and its next send fails"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const rx = await natsReceiver<number>("busy", { servers: server.url, senderTtl: 1000 });
    const p = new Proc("tests/nats/busy_sender.ts", [server.url, "1000"]);
    try {
      await p.until((l) => l.includes("sent 1"), 60_000, "the sender");
      assert.equal(await rx.recv(), 1);
      // Stalled: its key expires, and the receiver reports the disconnection.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const watchdog = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no disconnection within 30 s")), 30_000);
      });
      await assert.rejects(Promise.race([rx.recv(), watchdog]), RecvError);
      clearTimeout(timer);
      await p.until((l) => l.some((x) => x.startsWith("SendError") || x === "sent 2"), 60_000, "2");
      assert.ok(p.lines.includes("SendError 2"), p.report());
    } finally {
      p.kill();
      await rx.close();
    }
  },
});
