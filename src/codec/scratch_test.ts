// The json and string codecs give their scratch memory back too: after one large message, their
// encoders keep a bounded buffer (at most 4 MiB), not the largest message they ever saw.

import assert from "node:assert/strict";
import { json } from "./json.ts";
import { string } from "./string.ts";
import { textScratchBytes } from "./_text.ts";

const MiB = 1 << 20;

Deno.test("json and string keep a bounded scratch after large messages", () => {
  for (const codec of [json, string]) {
    const big = "x".repeat(20_000_000);
    const bytes = codec.encode(big);
    const ring = new Uint8Array(new SharedArrayBuffer(bytes.length));
    ring.set(bytes);
    assert.equal((codec.decode(ring) as string).length, big.length);
    const small = codec.encode("small");
    // `encode` returns a view of its scratch buffer: its size is what the encoder keeps.
    assert.ok(small.buffer.byteLength <= 4 * MiB, `${codec.name}: ${small.buffer.byteLength} B`);
    assert.ok(textScratchBytes() <= MiB, `${codec.name}: text scratch ${textScratchBytes()} B`);
    assert.equal(codec.decode(small.slice()), "small");
    // Messages that fit the scratch still reuse it.
    const first = codec.encode("z".repeat(2000)).buffer;
    assert.equal(codec.encode("y".repeat(1000)).buffer, first);
  }
});
