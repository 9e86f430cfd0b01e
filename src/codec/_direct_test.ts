// The built-in codecs' in-place encoders (see _direct.ts) must write exactly what `encode`
// returns, within the measured bound and nothing past the end, and decline what they cannot
// write without running user code.
import assert from "node:assert/strict";
import { DIRECT_MAX, DIRECT_MIN, directOf, encodeAside } from "./_direct.ts";
import { bytes, json, string, structured } from "./mod.ts";
import type { Codec } from "./types.ts";

const FILL = 0xa5;

/**
 * Encodes `value` in place into a filled shared buffer, at an 8-byte aligned offset (as in a
 * ring) and at an odd one; checks the bytes, the bound and that nothing else was written.
 */
function inPlace<T>(codec: Codec<T>, value: T): void {
  const direct = directOf(codec)!;
  const expected = codec.encode(value).slice();
  for (const start of [16, 13]) {
    const bound = direct.measure(value);
    assert.ok(bound >= 0, "measured");
    const target = new Uint8Array(new SharedArrayBuffer(start + bound + 32)).fill(FILL);
    const end = direct.encodeInto(value, target, start, bound);
    assert.ok(end <= start + bound, `within the bound: ${end - start} ≤ ${bound}`);
    assert.ok(target.subarray(0, start).every((b) => b === FILL), "nothing before");
    assert.ok(target.subarray(end).every((b) => b === FILL), "nothing past the end");
    const written = target.slice(start, end);
    // Binary data is aligned to 8 bytes relative to the message start (padding varies with it).
    if (start % 8 === 0) assert.deepEqual(written, expected);
    assert.deepEqual(codec.decode(written), codec.decode(expected));
  }
  const bound = direct.measure(value);
  assert.deepEqual(encodeAside(direct, value, bound), expected);
}

const long = (unit: string) => unit.repeat(Math.ceil(DIRECT_MIN / unit.length) + 3);

Deno.test("structured writes long strings and binary data in place, byte for byte", () => {
  const buffer = new ArrayBuffer(3000);
  new Uint8Array(buffer).forEach((_, i, a) => (a[i] = i * 7));
  const values: unknown[] = [
    long("a"),
    long("é€😀"),
    long("x\ud800"), // a lone surrogate: UTF-16 on the wire
    new Uint8Array(buffer, 5, 100), // the whole buffer travels, as with structuredClone
    new Float64Array(buffer, 8, 300),
    new DataView(buffer, 1, 2000),
    new BigInt64Array(80),
  ];
  for (const value of values) {
    inPlace(structured, value);
    const decoded = structured.decode(structured.encode(value).slice());
    assert.deepEqual(decoded, structuredClone(value));
  }
});

Deno.test("structured declines what it encodes through its scratch buffer", () => {
  const measure = directOf(structured)!.measure;
  const shared = new Uint8Array(new SharedArrayBuffer(4096));
  const detached = new ArrayBuffer(4096);
  structuredClone(detached, { transfer: [detached] });
  const retyped = new Uint8Array(4096);
  Object.setPrototypeOf(retyped, Object.prototype); // a plain object now: getters may run
  const posing = new Uint8Array(4096);
  Object.setPrototypeOf(posing.buffer, Object.prototype); // its buffer is a plain object now
  const declined: unknown[] = [
    posing,
    "a".repeat(DIRECT_MAX / 3), // a bound over DIRECT_MAX: copied, not held in the ring for long
    "short",
    1.5,
    new Uint8Array(DIRECT_MIN - 1),
    { big: long("a") }, // objects: getters may run
    [long("a")],
    new Map(),
    new ArrayBuffer(4096), // through scratch: its brand check would cost every object sent
    shared, // the scratch path throws its DataCloneError
    detached,
    new ArrayBuffer(4096, { maxByteLength: 8192 }),
    retyped,
    new Proxy(new Uint8Array(4096), {}),
    null,
    undefined,
  ];
  declined.forEach((value, i) => assert.equal(measure(value), -1, `declined[${i}]`));
});

Deno.test("structured declines in-place writes from inside a getter of another encoding", () => {
  const measure = directOf(structured)!.measure;
  let inner = 0;
  structured.encode({
    get x() {
      inner = measure(long("a"));
      return 1;
    },
  });
  assert.equal(inner, -1);
  assert.ok(measure(long("a")) > 0);
});

Deno.test("string writes long strings in place, byte for byte", () => {
  for (const value of [long("a"), long("é€😀"), long("x\udc00")]) {
    inPlace(string, value);
  }
  assert.equal(directOf(string)!.measure("short"), -1);
  assert.equal(directOf(string)!.measure("a".repeat(DIRECT_MAX / 3)), -1);
  assert.throws(() => directOf(string)!.measure(1 as unknown as string), TypeError);
});

Deno.test("json writes every value in place, exactly when short and ASCII or huge", () => {
  const values: unknown[] = [1, "é", { id: 1, body: "hello" }, [long("a")], { s: long("é\ud800") }];
  for (const value of values) inPlace(json, value);
  // Three bytes a unit would exceed DIRECT_MAX: the bound is the exact UTF-8 length.
  const huge = { s: "é😀a\ud800".repeat(DIRECT_MAX / 12) };
  assert.equal(
    directOf(json)!.measure(huge),
    new TextEncoder().encode(JSON.stringify(huge)).length,
  );
  inPlace(json, huge);
  // JSON.rawJSON lets lone surrogates through unescaped: TextEncoder writes U+FFFD for them.
  const rawJSON = (JSON as unknown as { rawJSON?(text: string): unknown }).rawJSON;
  if (rawJSON) {
    const unit = "\ud800é\udc00x\ud83d\ude00";
    const raw = { s: rawJSON('"' + unit.repeat(DIRECT_MAX / 15) + '\ud800"') };
    const text = JSON.stringify(raw);
    assert.equal(directOf(json)!.measure(raw), new TextEncoder().encode(text).length);
    inPlace(json, raw);
  }
  assert.equal(directOf(json)!.measure({ id: 1 }), '{"id":1}'.length);
  assert.throws(() => directOf(json)!.measure(undefined), TypeError);
});

Deno.test("bytes and custom codecs have no in-place encoder", () => {
  assert.equal(directOf(bytes), null);
  assert.equal(directOf({ ...structured }), null); // a copy of a built-in is a custom codec
});
