// A view's buffer is written as an ArrayBuffer whatever its prototype says, as V8's serializer
// does (it goes by the object's internal type): the encoder used to write a buffer posing as a
// plain object as one, and the decoder then rejected the message the encoder had accepted.

import assert from "node:assert/strict";
import { structured } from "./structured/mod.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";

Deno.test("structured writes a view's buffer as an ArrayBuffer whatever its prototype", () => {
  for (const proto of [Object.prototype, Array.prototype, null]) {
    const buffer = new ArrayBuffer(16);
    new Uint8Array(buffer).set([1, 2, 3, 4]);
    Object.setPrototypeOf(buffer, proto);
    const value = { a: new Uint8Array(buffer, 1, 2), b: new DataView(buffer, 4) };
    const out = structured.decode(structured.encode(value).slice()) as typeof value;
    assert.deepEqual([...out.a], [2, 3]);
    assert.equal(out.a.buffer, out.b.buffer);
    assert.ok(out.a.buffer instanceof ArrayBuffer);
    assert.equal(out.a.buffer.byteLength, 16);
    Object.setPrototypeOf(buffer, ArrayBuffer.prototype);
    assert.equal(diffWithStructuredClone(structured, value), null);
  }
});
