import assert from "node:assert/strict";
import fc from "fast-check";
import { builtinCodecs, bytes, json, string, structured, validateCodec } from "./mod.ts";
import type { Codec } from "./mod.ts";
import { roundTrip } from "../../tests/_helpers/round_trip.ts";

Deno.test("json round-trips JSON values through shared memory", () => {
  const values = [
    null,
    true,
    0,
    -1.5,
    "text ✓ \ud800",
    [],
    {},
    { id: 1, body: "hello world", nested: [1, { deep: ["x"] }] },
    "x".repeat(10_000),
  ];
  for (const v of values) assert.deepEqual(roundTrip(json, v), JSON.parse(JSON.stringify(v)));
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.deepEqual(roundTrip(json, v), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 300 },
  );
});

Deno.test("json has JSON's semantics", () => {
  const out = roundTrip(json, { d: new Date(0), u: undefined, n: NaN }) as Record<string, unknown>;
  assert.deepEqual(out, { d: "1970-01-01T00:00:00.000Z", n: null });
});

Deno.test("json rejects values JSON cannot represent", () => {
  for (const v of [undefined, () => 1, Symbol("s")]) {
    assert.throws(() => json.encode(v), TypeError);
  }
  assert.throws(() => json.encode(1n), TypeError);
  assert.throws(() => json.encode({ deep: [1n] }), TypeError);
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => json.encode(cycle), TypeError);
  assert.deepEqual(roundTrip(json, { after: "errors" }), { after: "errors" });
  assert.throws(() => json.decode(new Uint8Array([123])), SyntaxError);
});

Deno.test("bytes sends the view itself and decodes a private copy of just the view", () => {
  const backing = new Uint8Array(1024).map((_, i) => i);
  const view = backing.subarray(10, 20);
  assert.equal(bytes.encode(view), view);
  const out = roundTrip(bytes, view);
  assert.deepEqual([...out], [...view]);
  assert.equal(out.byteOffset, 0);
  assert.equal(out.buffer.byteLength, 10);
  assert.ok(out.buffer instanceof ArrayBuffer);
  assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
  assert.deepEqual([...roundTrip(bytes, new Uint8Array(0))], []);
  const large = new Uint8Array(1 << 20).map((_, i) => i * 31);
  assert.deepEqual(roundTrip(bytes, large), large);
});

Deno.test("bytes rejects everything but a Uint8Array", () => {
  const bad: unknown[] = [
    new Uint8ClampedArray(1),
    new Int8Array(1),
    new ArrayBuffer(1),
    new DataView(new ArrayBuffer(1)),
    [1, 2],
    "bytes",
    null,
    Object.create(Uint8Array.prototype),
  ];
  for (const v of bad) assert.throws(() => bytes.encode(v as Uint8Array), TypeError);
  const sub = new (class Sub extends Uint8Array {})(2);
  assert.equal(bytes.encode(sub), sub);
});

Deno.test("string round-trips every string exactly", () => {
  const samples = [
    "",
    "a",
    "hello world",
    "é",
    "\ud800",
    "\udc00x\ud800",
    "😀",
    "x".repeat(63),
    "x".repeat(64),
    "ü".repeat(100),
    "x".repeat(5000) + "\ud800",
    "y".repeat(100_000),
  ];
  for (const s of samples) assert.equal(roundTrip(string, s), s);
  const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 })
    .map((u) => String.fromCharCode(...u));
  fc.assert(
    fc.property(fc.oneof(units, fc.string({ unit: "binary" }), fc.string()), (s) => {
      assert.equal(roundTrip(string, s), s);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("string rejects non-strings and malformed bytes", () => {
  for (const v of [1, null, undefined, new String("boxed"), ["a"]]) {
    assert.throws(() => string.encode(v as string), TypeError);
  }
  assert.throws(() => string.decode(new Uint8Array(0)), TypeError);
  assert.throws(() => string.decode(new Uint8Array([7, 1])), TypeError);
  assert.throws(() => string.decode(new Uint8Array([1, 1])), TypeError);
  assert.equal(roundTrip(string, "after"), "after");
});

Deno.test("builtinCodecs maps names to the built-in codecs", () => {
  assert.deepEqual([...builtinCodecs.keys()].sort(), ["bytes", "json", "string", "structured"]);
  for (const [name, codec] of builtinCodecs) {
    assert.equal(codec.name, name);
    assert.equal(validateCodec(codec), codec);
  }
  assert.equal(builtinCodecs.get("structured"), structured);
});

Deno.test("validateCodec checks the codec's members", () => {
  const encode = () => new Uint8Array();
  const decode = () => 1;
  const ok: Codec<number> = { name: "n", encode, decode };
  assert.equal(validateCodec(ok), ok);
  const cases: [unknown, string][] = [
    [null, "Invalid codec: not an object"],
    ["structured", "Invalid codec: not an object"],
    [{ encode, decode }, "Invalid codec: missing name"],
    [{ name: "", encode, decode }, "Invalid codec: missing name"],
    [{ name: 1, encode, decode }, "Invalid codec: missing name"],
    [{ name: "x", decode }, "Invalid codec: missing encode"],
    [{ name: "x", encode: "f", decode }, "Invalid codec: missing encode"],
    [{ name: "x", encode }, "Invalid codec: missing decode"],
  ];
  for (const [c, message] of cases) {
    assert.throws(() => validateCodec(c), (e) => e instanceof TypeError && e.message === message);
  }
});
