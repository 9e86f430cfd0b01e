// Large strings, typed arrays and DataViews are encoded straight into the ring by the built-in
// codecs (see src/codec/_direct.ts): a bound is reserved and what was written is published.
// These tests follow such messages through every way of sending, full and rendezvous channels,
// limits measured on the bound but met by the message, and a getter that sends while another
// message is being encoded.
import assert from "node:assert/strict";
import { channel, type Codec, json, string, structured, syncChannel } from "../mod.ts";
import { graphDiff } from "./_helpers/equal.ts";

const ascii = "a".repeat(40_000);
const wide = "é€😀".repeat(5_000);
const lone = "x\ud800".repeat(3_000);
const floats = new Float64Array(5_000).map((_, i) => i / 7);
const view = new Uint16Array(floats.buffer, 6, 999);

function same(actual: unknown, expected: unknown) {
  assert.equal(graphDiff(structuredClone(expected), actual), null);
}

const cases: [string, Codec<unknown>, unknown[]][] = [
  ["structured", structured, [ascii, wide, lone, floats, view, floats.buffer, "short", 1]],
  ["string", string as Codec<unknown>, [ascii, wide, lone, "short"]],
  ["json", json, [ascii, wide, { list: [ascii, 1] }, 1]],
];

for (const [name, codec, values] of cases) {
  Deno.test(`${name}: large values by sendSync, trySend and send, in order`, async () => {
    const [tx, rx] = channel({ codec });
    for (const value of values) {
      tx.sendSync(value);
      assert.ok(tx.trySend(value));
      await tx.send(value);
    }
    for (const value of values) {
      for (let i = 0; i < 3; i++) same(rx.recvSync(), value);
    }
    assert.equal(rx.tryRecv().state, "empty");
  });

  Deno.test(`${name}: large values wait for room on a full channel, then arrive intact`, async () => {
    const [btx, brx] = syncChannel<unknown>(1, { codec });
    btx.sendSync(values[0]);
    assert.equal(btx.trySend(values[0]), false); // full: nothing sent
    const pending = values.map((value) => btx.send(value)); // queued, encoded aside
    for (const value of [values[0], ...values]) same(await brx.recv(), value);
    await Promise.all(pending);
    // A rendezvous: the message waits for the receiver.
    const [rtx, rrx] = syncChannel<unknown>(0, { codec });
    const sent = rtx.send(values[1]);
    same(await rrx.recv(), values[1]);
    await sent;
  });
}

Deno.test("a message whose bound exceeds maxBytes but whose bytes fit is sent", () => {
  // With maxBytes 256 KiB a message may take up to ~128 KiB. 100,000 ASCII code units: a bound
  // of 3 bytes each is 300 KB, the UTF-8 is 100 KB.
  const [tx, rx] = channel<string>({ codec: string, maxBytes: 262144 });
  const text = "a".repeat(100_000);
  tx.sendSync(text);
  assert.equal(rx.recvSync(), text);
  // Too large even exactly: the RangeError names the real size; the channel goes on.
  assert.throws(() => tx.sendSync("b".repeat(140_000)), /140001 bytes/);
  assert.ok(tx.trySend(wide.slice(0, 600)));
  assert.equal(rx.recvSync(), wide.slice(0, 600));
});

Deno.test("a getter that sends while its object is encoded: both arrive, the inner one first", () => {
  const [tx, rx] = channel<unknown>();
  const outer = {
    id: 1,
    get text() {
      tx.sendSync(wide); // from inside the outer encoding: through scratch, not in place
      tx.sendSync({ id: 2, text: ascii });
      return ascii;
    },
    floats,
  };
  tx.sendSync(outer);
  same(rx.recvSync(), wide);
  same(rx.recvSync(), { id: 2, text: ascii });
  same(rx.recvSync(), { id: 1, text: ascii, floats });
  assert.equal(rx.tryRecv().state, "empty");
});

Deno.test("a value the json codec rejects leaves nothing in the ring", () => {
  const [tx, rx] = channel<unknown>({ codec: json });
  assert.throws(() => tx.sendSync(undefined), TypeError);
  assert.throws(() => tx.sendSync({ big: 1n }), TypeError);
  tx.sendSync(ascii);
  assert.equal(rx.len, 1);
  assert.equal(rx.recvSync(), ascii);
});
