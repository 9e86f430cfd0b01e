// NATS channels (`@wasmring/mpsc/nats`) against a real nats-server, in this process: the
// surface, codec fidelity over the wire, acknowledgements, bound, work sharing, disconnection,
// connection errors and pipe. Each test starts its own server (JetStream, a free port of
// 127.0.0.1, a temporary directory) and stops it. Without nats-server the tests are skipped,
// except in CI (CI set), where they fail. Cross-process cases: tests/nats_processes_test.ts.
// Nothing is timed: waits are bounded by watchdogs only.
import assert from "node:assert/strict";
import fc from "fast-check";
import { syncChannel } from "../mod.ts";
import {
  type AsyncReceiver,
  type AsyncSender,
  type Codec,
  json,
  natsChannel,
  NatsConnectError,
  natsReceiver,
  natsSender,
  pipe,
  RecvError,
  removeNatsChannel,
  SendError,
} from "../nats.ts";
import { values } from "./_helpers/arbitraries.ts";
import { graphDiff } from "./_helpers/equal.ts";
import { NatsServer, natsTest } from "./_helpers/nats_server.ts";

/** The NATS client keeps timers and sockets past a test's end (reconnect loops). */
const loose = { sanitizeOps: false, sanitizeResources: false };

/** Rejects if `promise` takes longer than `ms` (a hang fails the test instead of the run). */
function watchdog<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  ...natsTest("send, recv, tryRecv and for await; disconnection once the sender closed"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<number>("smoke", { servers: server.url });
    try {
      // Local ends and NATS ends share one surface.
      const s: AsyncSender<number> = tx;
      const r: AsyncReceiver<number> = rx;
      assert.ok(s && r);
      for (let i = 0; i < 10; i++) await tx.send(i);
      assert.equal(await rx.recv(), 0);
      let tried = rx.tryRecv();
      for (let i = 0; i < 50 && tried.state === "empty"; i++) {
        await tick(20);
        tried = rx.tryRecv();
      }
      assert.deepEqual(tried, { state: "ok", value: 1 });
      await tx.close();
      await assert.rejects(tx.send(99), TypeError);
      const rest: number[] = [];
      for await (const n of rx) rest.push(n);
      assert.deepEqual(rest, [2, 3, 4, 5, 6, 7, 8, 9]);
      await assert.rejects(rx.recv(), RecvError);
      assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
    } finally {
      await tx.close();
      await rx.close();
    }
    await assert.rejects(rx.recv(), TypeError);
  },
});

Deno.test({
  ...natsTest("the structured codec carries 300 random values over the wire exactly"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const seed = Number(Deno.env.get("NATS_FUZZ_SEED") ?? Date.now() % 2 ** 31);
    const samples = fc.sample(values, { numRuns: 300, seed });
    const [tx, rx] = await natsChannel<unknown>("fidelity", { servers: server.url });
    try {
      const sending = (async () => {
        for (const v of samples) await tx.send(v);
        await tx.close();
      })();
      let i = 0;
      for await (const got of rx) {
        const diff = graphDiff(structuredClone(samples[i]), got);
        assert.equal(diff, null, `value ${i} (seed ${seed}) differs: ${diff}`);
        i++;
      }
      await sending;
      assert.equal(i, samples.length);
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("typed arrays, Map, Date, bigint, cycles arrive as sent; json codec too"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<unknown>("kinds", { servers: server.url });
    const cyclic: Record<string, unknown> = { n: -0 };
    cyclic.self = cyclic;
    const sent = [
      new Map<unknown, unknown>([[1, new Set(["a"])], ["d", new Date(5)]]),
      new Float64Array([1.5, NaN, -0]),
      2n ** 100n,
      cyclic,
      [1, , 3],
    ];
    for (const v of sent) await tx.send(v);
    for (const v of sent) assert.equal(graphDiff(structuredClone(v), await rx.recv()), null);
    await tx.close();
    await rx.close();
    const [jtx, jrx] = await natsChannel<{ a: number[] }>("kinds-json", {
      servers: server.url,
      codec: json as Codec<{ a: number[] }>,
    });
    await jtx.send({ a: [1, 2] });
    assert.deepEqual(await jrx.recv(), { a: [1, 2] });
    await jtx.close();
    await jrx.close();
    // The codec is part of the channel: another one is refused.
    await assert.rejects(natsReceiver("kinds-json", { servers: server.url }), /codec/);
  },
});

Deno.test({
  ...natsTest("bound: the stream holds at most `bound` unacknowledged messages, send waits"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<number>("bounded", { servers: server.url, bound: 3 });
    try {
      for (let i = 0; i < 3; i++) await tx.send(i);
      let fourth = false;
      const sending = tx.send(3).then(() => fourth = true);
      await tick(300);
      assert.equal(fourth, false, "the fourth send must wait while 3 are unacknowledged");
      // recv delivers one, but it is acknowledged only at the next call: still full.
      assert.equal(await rx.recv(), 0);
      await tick(300);
      assert.equal(fourth, false, "a delivered, unacknowledged message still takes its place");
      assert.equal(await rx.recv(), 1); // acknowledges 0: room
      await watchdog(sending, 10_000, "the waiting send");
      assert.equal(fourth, true);
      // A cancelled wait sends nothing.
      const controller = new AbortController();
      const cancelled = tx.send(100, { signal: controller.signal });
      await tick(100);
      controller.abort(new Error("no"));
      await assert.rejects(cancelled, /no/);
      await tx.close();
      const rest: number[] = [];
      for await (const n of rx) rest.push(n);
      assert.deepEqual(rest, [2, 3]);
      // A channel exists with its bound: another is refused.
      await assert.rejects(natsSender("bounded", { servers: server.url, bound: 5 }), /bound 3/);
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("recvDelivery: nak hands a message back, ack removes it, close hands back the rest"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<string>("acks", { servers: server.url });
    try {
      await tx.send("a");
      await tx.send("b");
      const first = await rx.recvDelivery();
      assert.equal(first.value, "a");
      assert.equal(first.redelivered, false);
      await first.nak();
      // "b" was pulled first; then "a" comes again.
      const second = await rx.recvDelivery();
      const third = await rx.recvDelivery();
      const got = [second, third].sort((x, y) => x.value.localeCompare(y.value));
      assert.deepEqual(got.map((d) => d.value), ["a", "b"]);
      assert.equal(got[0].redelivered, true);
      assert.equal(got[0].deliveryCount, 2);
      await got[0].ack();
      await assert.rejects(got[0].nak(), TypeError);
      // "b" is not settled: closing hands it back; a new receiver gets it.
      await rx.close();
      await assert.rejects(got[1].ack(), TypeError);
      const rx2 = await natsReceiver<string>("acks", { servers: server.url });
      const again = await watchdog(rx2.recvDelivery(), 10_000, "the handed-back message");
      assert.equal(again.value, "b");
      // (Its deliveryCount is the server's business: a nak'ed message may count once.)
      await again.ack();
      await tx.close();
      await assert.rejects(watchdog(rx2.recv(), 10_000, "disconnection"), RecvError);
      await rx2.close();
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("receivers of one group share the work; each message goes to one of them"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const N = 2000;
    const tx = await natsSender<number>("shared", { servers: server.url });
    const receivers = await Promise.all(
      [0, 1, 2].map(() => natsReceiver<number>("shared", { servers: server.url, prefetch: 8 })),
    );
    try {
      const counts = [0, 0, 0];
      const seen = new Uint8Array(N);
      const draining = receivers.map(async (rx, i) => {
        for await (const n of rx) {
          seen[n]++;
          counts[i]++;
          if (counts[i] % 50 === 0) await tick(1); // let the others take some
        }
      });
      for (let i = 0; i < N; i++) await tx.send(i);
      await tx.close();
      await watchdog(Promise.all(draining), 60_000, "the receivers");
      assert.ok(seen.every((c) => c === 1), "every message exactly once");
      assert.equal(counts.reduce((a, b) => a + b), N);
      assert.ok(counts.filter((c) => c > 0).length >= 2, `work not shared: ${counts}`);
      // One group per channel: a work-queue stream takes one consumer.
      await assert.rejects(
        natsReceiver("shared", { servers: server.url, group: "others" }),
        (e) => e instanceof TypeError && /Cannot join group "others"/.test(e.message),
      );
    } finally {
      await tx.close();
      for (const rx of receivers) await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("a message pulled ahead and left past ackWait is handed back, not processed twice"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const opts = { servers: server.url, ackWait: 1500, prefetch: 8 };
    const [tx, a] = await natsChannel<number>("stale", opts);
    const b = await natsReceiver<number>("stale", opts);
    try {
      for (let i = 0; i < 4; i++) await tx.send(i);
      // a pulls all four ahead and takes one; b waits for work meanwhile.
      const first = await a.recvDelivery();
      await first.ack();
      const bGot: number[] = [];
      const bTaking = (async () => {
        for (let i = 0; i < 3; i++) {
          const d = await b.recvDelivery();
          bGot.push(d.value);
          await d.ack();
        }
      })();
      // ackWait passes: the server delivers a's three again, to b.
      await watchdog(bTaking, 20_000, "b's redeliveries");
      // a must not hand out its stale copies as well.
      const aGot: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = a.tryRecv();
        if (r.state === "ok") aGot.push(r.value);
        await tick(20);
      }
      assert.deepEqual(aGot, [], "stale copies handed out: processed twice");
      assert.deepEqual([first.value, ...bGot].sort(), [0, 1, 2, 3]);
    } finally {
      await tx.close();
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  ...natsTest("disconnection waits for every sender, and for a receiver's first sender"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const opts = { servers: server.url };
    // A receiver opened before any sender waits for one.
    const rx = await natsReceiver<number>("senders", opts);
    const early = rx.recv({ signal: AbortSignal.timeout(2500) });
    await assert.rejects(early, (e) => (e as DOMException).name === "TimeoutError");
    const a = await natsSender<number>("senders", opts);
    const b = await natsSender<number>("senders", opts);
    try {
      await a.send(1);
      await a.close();
      await b.send(2);
      assert.equal(await rx.recv(), 1);
      assert.equal(await rx.recv(), 2);
      // b is open: no disconnection yet (two pulls come back empty).
      const more = rx.recv({ signal: AbortSignal.timeout(2500) });
      await assert.rejects(more, (e) => (e as DOMException).name === "TimeoutError");
      await b.close();
      await assert.rejects(watchdog(rx.recv(), 15_000, "disconnection"), RecvError);
    } finally {
      await a.close();
      await b.close();
      await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("a bad server address is a NatsConnectError, never a hang"),
  ...loose,
  async fn() {
    // Refused: nothing listens.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const silentPort = (listener.addr as Deno.NetAddr).port;
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const refusedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await assert.rejects(
      watchdog(
        natsChannel("x", { servers: `127.0.0.1:${refusedPort}`, timeout: 1000 }),
        20_000,
        "refused",
      ),
      (e) =>
        e instanceof NatsConnectError && /Cannot connect to NATS at 127\.0\.0\.1/.test(e.message),
    );
    // Silent: a server that accepts and never speaks.
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })().catch(() => {});
    try {
      await assert.rejects(
        watchdog(
          natsSender("x", { servers: `127.0.0.1:${silentPort}`, timeout: 1000 }),
          20_000,
          "silent",
        ),
        (e) => e instanceof NatsConnectError && e.servers === `127.0.0.1:${silentPort}`,
      );
    } finally {
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    }
  },
});

Deno.test({
  ...natsTest("removeNatsChannel: senders then get SendError, receivers RecvError"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<number>("removed", { servers: server.url });
    try {
      await tx.send(1);
      assert.equal(await removeNatsChannel("removed", { servers: server.url }), true);
      await assert.rejects(tx.send(2), (e) => e instanceof SendError && e.value === 2);
      await assert.rejects(watchdog(rx.recv(), 15_000, "removed"), RecvError);
      assert.equal(await removeNatsChannel("removed", { servers: server.url }), false);
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});

Deno.test({
  ...natsTest("pipe: NATS → local syncChannel and local → NATS, with backpressure both ways"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const N = 500;
    // local producer → syncChannel(4) → pipe → NATS (bound 8) → pipe → syncChannel(4) → here
    const [srcTx, srcRx] = syncChannel<{ id: number }>(4);
    const [remoteTx, remoteRx] = await natsChannel<{ id: number }>("piped", {
      servers: server.url,
      bound: 8,
      prefetch: 4,
    });
    const [dstTx, dstRx] = syncChannel<{ id: number }>(4);
    try {
      const up = pipe(srcRx, remoteTx);
      const down = pipe(remoteRx, dstTx);
      let produced = 0;
      const producing = (async () => {
        for (let id = 0; id < N; id++) {
          await srcTx.send({ id });
          produced++;
        }
        srcTx.close();
      })();
      // Nobody takes from dstRx yet: everything backs up, bounded at each stage — 4 here, one in
      // the pipe's hands, 8 in the stream, 4 pulled ahead, one in hand, 4 at the source.
      await tick(1500);
      assert.equal(dstRx.len, 4);
      assert.equal(srcRx.len, 4);
      assert.ok(produced <= 4 + 1 + 8 + 4 + 1 + 4, `${produced} produced: no backpressure`);
      const got: number[] = [];
      for await (const { id } of dstRx) got.push(id);
      await watchdog(Promise.all([producing, up, down]), 30_000, "the pipes");
      assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
      assert.equal(await up, N);
      assert.equal(await down, N);
    } finally {
      await remoteTx.close();
      await remoteRx.close();
      srcRx.close();
      dstRx.close();
    }
  },
});

Deno.test("bad names and options are refused before any connection", async () => {
  // No server needed: each is checked first (the address would be refused anyway).
  const servers = "127.0.0.1:1";
  await assert.rejects(natsChannel("no spaces", { servers }), TypeError);
  await assert.rejects(natsChannel("a.b", { servers }), TypeError);
  await assert.rejects(natsSender("x", { servers, bound: 0 }), RangeError);
  await assert.rejects(natsSender("x", { servers, bound: 1.5 }), RangeError);
  await assert.rejects(natsSender("x", { servers, senderTtl: -1 }), RangeError);
  await assert.rejects(natsReceiver("x", { servers, prefetch: 0 }), RangeError);
  await assert.rejects(natsReceiver("x", { servers, group: "a.b" }), TypeError);
  await assert.rejects(natsReceiver("x", { servers, ackWait: NaN }), RangeError);
  await assert.rejects(natsReceiver("x", { servers, timeout: 0 }), RangeError);
  await assert.rejects(
    natsSender("x", { servers, codec: {} as unknown as Codec<unknown> }),
    TypeError,
  );
});

// Found by a red-team review: a send queued behind one that waits for room ignored its signal.
Deno.test({
  ...natsTest("a send queued behind one waiting for room rejects at once when aborted"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const [tx, rx] = await natsChannel<number>("queued-abort", { servers: server.url, bound: 1 });
    try {
      await tx.send(0); // full
      const blocked = tx.send(1);
      blocked.catch(() => {});
      const controller = new AbortController();
      const queued = tx.send(2, { signal: controller.signal });
      await tick(100);
      controller.abort(new Error("stop"));
      await watchdog(assert.rejects(queued, /stop/), 5000, "the aborted queued send");
      assert.equal(await rx.recv(), 0);
      const next = rx.recv(); // acknowledges 0: room for the blocked send
      await watchdog(blocked, 10_000, "the blocked send, once there is room");
      assert.equal(await next, 1);
      await tx.close();
      await assert.rejects(watchdog(rx.recv(), 10_000, "disconnection"), RecvError);
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});

// Found by a red-team review: a receiver opened first waited for ever if a sender opened and
// closed between two of its looks without sending.
Deno.test({
  ...natsTest("a receiver opened first ends once a sender came and went without sending"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    await using rx = await natsReceiver<number>("came-and-went", {
      servers: server.url,
      senderTtl: 2000,
    });
    const pending = rx.recv();
    pending.catch(() => {});
    const tx = await natsSender<number>("came-and-went", { servers: server.url });
    await tx.close();
    await assert.rejects(watchdog(pending, 15_000, "disconnection"), RecvError);
  },
});

// Found by a red-team review: close() dropped the open pull's subscription, so the messages the
// server had sent it, and those close() handed back into it, reached another receiver only after
// ackWait (30 s), some twice.
Deno.test({
  ...natsTest("close hands back what it pulled to the other receivers at once, once each"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const tx = await natsSender<number>("handback", { servers: server.url });
    const a = await natsReceiver<number>("handback", { servers: server.url });
    try {
      for (let i = 1; i <= 5; i++) await tx.send(i);
      const first = await a.recvDelivery();
      await first.ack();
      await a.close(); // it had pulled the other four ahead
      await tx.close();
      await using b = await natsReceiver<number>("handback", { servers: server.url });
      const rest: number[] = [];
      // ackWait is 30 s: anything lost in a dropped pull would come back only then.
      await watchdog(
        (async () => {
          for await (const n of b) rest.push(n);
        })(),
        20_000,
        `the rest (so far ${rest})`,
      );
      assert.deepEqual(rest.sort(), [2, 3, 4, 5]);
    } finally {
      await tx.close();
      await a.close();
    }
  },
});

// A hostile review: a codec whose encode returns something other than a Uint8Array must be
// refused as the local sender refuses it — a TypeError naming the codec, nothing sent — not
// published as whatever the NATS client makes of it.
Deno.test({
  ...natsTest("a codec whose encode returns no Uint8Array: a TypeError, nothing sent"),
  ...loose,
  async fn() {
    await using server = await NatsServer.start();
    const liar = {
      name: "test-nats-liar",
      encode: (v: string) => v as unknown as Uint8Array, // a string, not bytes
      decode: (b: Uint8Array) => new TextDecoder().decode(b),
    } as Codec<string>;
    const [tx, rx] = await natsChannel<string>("liar", { servers: server.url, codec: liar });
    try {
      await assert.rejects(
        tx.send("abc"),
        (e: unknown) => e instanceof TypeError && e.message.includes("test-nats-liar"),
      );
      assert.deepEqual(rx.tryRecv(), { state: "empty" });
    } finally {
      await tx.close();
      await rx.close();
    }
  },
});
