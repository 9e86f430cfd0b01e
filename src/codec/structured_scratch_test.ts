// Scratch memory given back: after one large message, the structured codec keeps a bounded
// amount of memory (a few MiB), not the largest message it ever saw. Issue 11: after one
// 100 M-character string through a channel, RSS stayed at 618 MiB (baseline 36).

import assert from "node:assert/strict";
import { structured } from "./structured/mod.ts";
import { scratchBytes as encoderScratch } from "./structured/encode.ts";
import { scratchBytes as decoderScratch } from "./structured/decode.ts";

const MiB = 1 << 20;
/** What the codec may keep between messages: a 4 MiB encoder scratch and some change. */
const BOUND = 6 * MiB;

/**
 * Encodes `value`, decodes it from shared memory, and checks what is kept afterwards (for the
 * decoder: its scratch, and the caller's memory that it keeps reachable).
 */
function throughCodec(value: unknown, label: string): void {
  const bytes = structured.encode(value);
  const ring = new Uint8Array(new SharedArrayBuffer(bytes.length + 16));
  ring.set(bytes, 8);
  structured.decodeFrom!(ring, 8, 8 + bytes.length);
  const small = structured.encode({ next: "message" });
  // `encode` returns a view of its scratch buffer: its size is what the encoder keeps.
  assert.ok(small.buffer.byteLength <= 4 * MiB, `${label}: ${small.buffer.byteLength} B kept`);
  assert.ok(encoderScratch() <= BOUND, `${label}: encoder keeps ${encoderScratch()} B`);
  assert.ok(decoderScratch() <= BOUND, `${label}: decoder keeps ${decoderScratch()} B`);
  assert.deepEqual(structured.decode(small), { next: "message" });
}

Deno.test("structured keeps a bounded scratch after large messages", () => {
  throughCodec("x".repeat(20_000_000), "ASCII string"); // asks for 5 + 3n bytes
  throughCodec("ż".repeat(5_000_000), "UTF-8 string");
  throughCodec("x".repeat(1_000_000) + "\ud800", "lone surrogate string");
  throughCodec(new Uint8Array(32 * MiB), "typed array");
  throughCodec(Array.from({ length: 300_000 }, (_, i) => ({ i })), "many objects");
  throughCodec([new Float64Array(MiB)], "nested typed array");
  throughCodec({ bytes: new Uint8Array(8 * MiB), x: 0.5 }, "double in a large message");
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  throughCodec(deep, "deep array");
  // Keys too long to cache are not cached.
  throughCodec({ ["k".repeat(8 * MiB)]: 1 }, "huge key");
  throughCodec({ ["k".repeat(8 * MiB)]: 1 }, "huge key again");
});

Deno.test("structured keeps a bounded scratch after a large message that throws", () => {
  assert.throws(() => structured.encode(["x".repeat(20_000_000), () => {}]), DOMException);
  assert.ok(structured.encode({ next: 1 }).buffer.byteLength <= 4 * MiB);
  assert.ok(encoderScratch() <= BOUND, `encoder keeps ${encoderScratch()} B`);
});

Deno.test("structured still reuses its scratch for messages that fit it", () => {
  const a = structured.encode({ body: "y".repeat(100_000) });
  const b = structured.encode({ body: "z".repeat(200_000) });
  assert.equal(a.buffer, b.buffer);
});
