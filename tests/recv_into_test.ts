// `recvInto` / `recvIntoSync`: a Uint8Array message's bytes straight into the caller's buffer
// (issue 15: W5 without an allocation per message). Every codec; what does not fit or is not
// bytes stays in the channel; cancel safety; the structured fast path checked against a full
// decode on random arrays and views.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bytes,
  channel,
  type Codec,
  RecvError,
  registerCodec,
  structured,
  syncChannel,
} from "../mod.ts";
import { decodeInto } from "../src/codec/structured/into.ts";
import { SharedChannel } from "../src/_shared_channel.ts";

const copying: Codec<Uint8Array> = registerCodec({
  name: "test-into-copying",
  encode: (v: Uint8Array) => v.slice(),
  decode: (b: Uint8Array) => b.slice(),
});

for (const [name, codec] of [["bytes", bytes], ["structured", structured], ["custom", copying]]) {
  Deno.test(`recvIntoSync (${name}): the bytes, the count, the rest of the buffer untouched`, () => {
    const [tx, rx] = channel<Uint8Array>({ codec: codec as Codec<Uint8Array> });
    const buffer = new Uint8Array(16).fill(0xee);
    tx.sendSync(new Uint8Array([1, 2, 3]));
    tx.sendSync(new Uint8Array(0));
    tx.sendSync(new Uint8Array(16).fill(9));
    assert.equal(rx.recvIntoSync(buffer), 3);
    assert.deepEqual([...buffer.subarray(0, 4)], [1, 2, 3, 0xee]);
    assert.equal(rx.recvIntoSync(buffer), 0);
    assert.equal(rx.recvIntoSync(buffer), 16);
    assert.deepEqual(buffer, new Uint8Array(16).fill(9));
    tx.close();
    assert.throws(() => rx.recvIntoSync(buffer), RecvError);
    rx.close();
  });

  Deno.test(`recvInto (${name}): a message longer than the buffer stays, a RangeError says its size`, async () => {
    const [tx, rx] = channel<Uint8Array>({ codec: codec as Codec<Uint8Array> });
    tx.sendSync(new Uint8Array(100).fill(5));
    tx.sendSync(new Uint8Array([6]));
    const small = new Uint8Array(99);
    assert.throws(
      () => rx.recvIntoSync(small),
      /buffer of 99 bytes: the next message has 100 bytes/,
    );
    await assert.rejects(rx.recvInto(small), RangeError);
    assert.equal(small[0], 0, "nothing written");
    assert.deepEqual(rx.recvSync(), new Uint8Array(100).fill(5), "it stayed, first");
    assert.equal(await rx.recvInto(small), 1);
    assert.equal(small[0], 6);
    tx.close();
    rx.close();
  });
}

Deno.test("recvInto: a message that is not a Uint8Array stays; a TypeError says so", async () => {
  const [tx, rx] = channel<unknown>();
  const buffer = new Uint8Array(64);
  for (const value of ["text", new Uint16Array([1]), { a: 1 }, [1, 2], new Uint8Array(3).buffer]) {
    tx.sendSync(value);
    assert.throws(() => rx.recvIntoSync(buffer), TypeError);
    await assert.rejects(rx.recvInto(buffer), TypeError);
    assert.deepEqual(rx.recvSync(), structuredClone(value), "it stayed");
  }
  assert.throws(() => rx.recvIntoSync("nope" as unknown as Uint8Array), TypeError);
  tx.close();
  rx.close();
});

Deno.test("recvInto: a message that carries ends stays; a TypeError says so", () => {
  const [tx, rx] = channel<unknown>();
  const [inner] = channel<number>();
  tx.sendSync({ inner });
  assert.throws(() => rx.recvIntoSync(new Uint8Array(64)), TypeError);
  const got = rx.recvSync() as { inner: { close(): void } };
  got.inner.close();
  tx.close();
  rx.close();
});

Deno.test("recvInto waits, is served in call order with recv(), and an abort takes nothing", async () => {
  const [tx, rx] = channel<Uint8Array>({ codec: bytes });
  const a = new Uint8Array(4);
  const b = new Uint8Array(4);
  const controller = new AbortController();
  const first = rx.recvInto(a);
  const aborted = rx.recvInto(b, { signal: controller.signal });
  const second = rx.recv();
  controller.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
  tx.sendSync(new Uint8Array([1]));
  tx.sendSync(new Uint8Array([2, 2]));
  assert.equal(await first, 1);
  assert.deepEqual(await second, new Uint8Array([2, 2]));
  assert.equal(b[0], 0, "the aborted call wrote nothing");
  assert.equal(a[0], 1);
  tx.close();
  await assert.rejects(rx.recvInto(a), RecvError);
  rx.close();
});

Deno.test("recvInto on a rendezvous channel lets its sender through", async () => {
  const [tx, rx] = syncChannel<Uint8Array>(0, { codec: bytes });
  const buffer = new Uint8Array(8);
  const got = rx.recvInto(buffer);
  await tx.send(new Uint8Array([4, 2]));
  assert.equal(await got, 2);
  tx.close();
  rx.close();
});

Deno.test("a message the codec cannot decode is consumed, as recv() consumes it, its error thrown", () => {
  const strict: Codec<Uint8Array> = registerCodec({
    name: "test-into-strict",
    encode: (v: Uint8Array) => v.slice(),
    decode: (b: Uint8Array) => b.slice(),
    decodeInto(memory: Uint8Array, start: number, end: number, target: Uint8Array): number {
      if (memory[start] === 255) throw new SyntaxError("malformed");
      target.set(memory.subarray(start, end));
      return end - start;
    },
  });
  const [tx, rx] = channel<Uint8Array>({ codec: strict });
  tx.sendSync(new Uint8Array([255]));
  tx.sendSync(new Uint8Array([1]));
  const buffer = new Uint8Array(4);
  assert.throws(() => rx.recvIntoSync(buffer), SyntaxError);
  assert.equal(rx.recvIntoSync(buffer), 1, "the next one");
  assert.equal(buffer[0], 1);
  tx.close();
  rx.close();
});

Deno.test("structured decodeInto agrees with a full decode on random arrays and views", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.nat(40),
      fc.nat(40),
      fc.boolean(),
      (data, from, cut, resizable) => {
        let value: Uint8Array = data.subarray(Math.min(from, data.length));
        value = value.subarray(0, Math.max(0, value.length - cut));
        if (resizable) {
          const rb = new ArrayBuffer(data.length, { maxByteLength: data.length + 8 });
          new Uint8Array(rb).set(data);
          value = new Uint8Array(rb, Math.min(from, data.length));
        }
        const wire = structured.encode(value).slice();
        // At an offset in a larger memory, as in a ring.
        const memory = new Uint8Array(wire.length + 24);
        memory.set(wire, 8);
        const target = new Uint8Array(value.length + 5).fill(0xaa);
        const n = decodeInto(memory, 8, 8 + wire.length, target);
        assert.equal(n, value.length);
        assert.deepEqual(target.subarray(0, n), new Uint8Array(structuredClone(value)));
        assert.equal(target[n], 0xaa);
        if (value.length > 0) {
          assert.equal(decodeInto(memory, 8, 8 + wire.length, new Uint8Array(n - 1)), -2 - n);
        }
      },
    ),
    { numRuns: 500 },
  );
});

// Found by a red-team review (issue 15): targets that pass `instanceof` but are not plain
// arrays made the copy throw inside the decode, which consumed the message.
for (const [name, codec] of [["bytes", bytes], ["structured", structured]] as const) {
  Deno.test(`recvInto (${name}): a detached, proxied or lying target takes nothing`, () => {
    const [tx, rx] = channel<Uint8Array>({ codec: codec as Codec<Uint8Array> });
    tx.sendSync(new Uint8Array(0));
    tx.sendSync(new Uint8Array(100).fill(1));
    const ab = new ArrayBuffer(16);
    const detached = new Uint8Array(ab);
    ab.transfer();
    assert.throws(() => rx.recvIntoSync(detached), TypeError);
    assert.throws(() => rx.recvIntoSync(new Proxy(new Uint8Array(16), {})), TypeError);
    assert.equal(rx.recvSync({ timeout: 1000 }).length, 0, "the empty message stayed");
    class Lying extends Uint8Array {
      override get length() {
        return 1 << 20;
      }
    }
    assert.throws(() => rx.recvIntoSync(new Lying(10)), RangeError);
    assert.equal(rx.recvSync({ timeout: 1000 }).length, 100, "the long message stayed");
    tx.close();
    rx.close();
  });
}

Deno.test("recvInto: a target detached while the call waits takes nothing", async () => {
  const [tx, rx] = channel<Uint8Array>({ codec: bytes });
  const ab = new ArrayBuffer(16);
  const pending = rx.recvInto(new Uint8Array(ab));
  await new Promise((r) => setTimeout(r, 5));
  ab.transfer();
  tx.sendSync(new Uint8Array(0));
  await assert.rejects(pending, TypeError);
  assert.equal(rx.recvSync({ timeout: 1000 }).length, 0, "the message stayed");
  tx.close();
  rx.close();
});

// Found by a red-team review: a batch's deferred decode error must reach the next call served,
// whichever kind it is, before the messages after it.
const picky: Codec<Uint8Array> = registerCodec({
  name: "test-into-picky",
  encode: (v: Uint8Array) => v.slice(),
  decode: (b: Uint8Array) => {
    if (b[0] === 0xff) throw new SyntaxError("bad message");
    return b.slice();
  },
});
for (const second of ["recv", "recvInto"] as const) {
  Deno.test(`a batch's deferred decode error comes before the next message (pending ${second})`, async () => {
    const [tx, rx] = channel<Uint8Array>({ codec: picky });
    const many = rx.recvMany(10);
    const buffer = new Uint8Array(8);
    const next = second === "recv" ? rx.recv() : rx.recvInto(buffer);
    await new Promise((r) => setTimeout(r, 10));
    tx.sendManySync([new Uint8Array([1]), new Uint8Array([0xff]), new Uint8Array([2])]);
    assert.deepEqual((await many).map((v) => v[0]), [1]);
    await assert.rejects(next, SyntaxError);
    assert.deepEqual(rx.tryRecv(), { state: "ok", value: new Uint8Array([2]) });
    tx.close();
    rx.close();
  });
}

// Found by a red-team review: a pending recvInto() or recvMany() served by the pump offered a
// rendezvous token again for itself once it had its message; a sender running before the pump
// withdrew it completed a send with no receive waiting. Played in one thread: the "other
// thread's" sender runs inside the window, from `offerToken`.
for (const mode of ["recv", "recvInto", "recvMany"] as const) {
  Deno.test(`rendezvous: once a pending ${mode}() is served, no send gets through`, async () => {
    const [tx, rx] = syncChannel<Uint8Array>(0, { codec: bytes });
    const proto = SharedChannel.prototype as unknown as { offerToken(): void };
    const offer = proto.offerToken;
    let armed = false;
    let lateSend = false;
    proto.offerToken = function (this: SharedChannel) {
      offer.call(this);
      if (armed) {
        armed = false;
        lateSend = tx.trySend(new Uint8Array([9]));
      }
    };
    try {
      const got = mode === "recv"
        ? rx.recv()
        : mode === "recvMany"
        ? rx.recvMany(1)
        : rx.recvInto(new Uint8Array(8));
      await new Promise((r) => setTimeout(r, 20)); // the pump offered its token, and sleeps
      assert.equal(tx.trySend(new Uint8Array([1, 2])), true, "the waiting receive admits one");
      armed = true;
      await got;
      armed = false;
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(lateSend, false, "a rendezvous send completed with no receive waiting");
    } finally {
      proto.offerToken = offer;
      tx.close();
      rx.close();
    }
  });
}

// A hostile review: a codec's decodeInto that answers nonsense (a count it cannot have written,
// not a number) must not hand the caller a count past its buffer: one clear TypeError naming the
// codec, the message consumed as after any failed decode, the next one intact.
Deno.test("a decodeInto that answers nonsense is a TypeError naming the codec", () => {
  for (const answer of [1e9, 9, NaN, 2.5, "3", -1.5, undefined]) {
    const liar: Codec<Uint8Array> = registerCodec({
      name: `test-into-liar-${String(answer)}`,
      encode: (v: Uint8Array) => v.slice(),
      decode: (b: Uint8Array) => b.slice(),
      decodeInto: () => answer as number,
    });
    const [tx, rx] = channel<Uint8Array>({ codec: liar });
    tx.sendSync(new Uint8Array([1, 2, 3]));
    tx.sendSync(new Uint8Array([4]));
    assert.throws(
      () => rx.recvIntoSync(new Uint8Array(8)),
      (e: unknown) => e instanceof TypeError && e.message.includes(liar.name),
      `answer ${String(answer)}`,
    );
    assert.deepEqual(rx.recvSync({ timeout: 1000 }), new Uint8Array([4]), "the next one intact");
    tx.close();
    rx.close();
  }
});
