// The fuzz test's messages and codec. Every message is self-checking: a 16-byte header (producer,
// sequence number, payload length, checksum; little-endian u32s) and a payload derived from the
// trial seed, the producer and the sequence number, so the consumer can rebuild the exact bytes a
// producer sent and compare them whole. The codec copies bytes like `bytes` does, and remembers
// where in the shared memory each message was read (`whereOf`), so that a wrong message can be
// matched against the addresses the corrupter wrote.
import type { Codec } from "../../mod.ts";
import { prng } from "../stress/_messages.ts";

export { prng };

/** Bytes of a message's own header (not the core's record header). */
export const MESSAGE_HEADER = 16;
/** Longest message the trials send; a longer one can only come from corrupted memory. */
export const LONGEST = MESSAGE_HEADER + 16 * 1024;
/** Bytes copied out of a "message" that is longer than any message sent. */
const OVERSIZED_COPY = 64;

/** Where a received message lay in the channel's memory. */
export interface Where {
  start: number;
  end: number;
  /** `[start, end)` was not inside the memory: nothing was copied. */
  outside?: boolean;
  /** Longer than any message sent: only its first bytes were copied. */
  oversized?: boolean;
}

const places = new WeakMap<Uint8Array, Where>();

/** @returns where `message` (as returned by the codec) was read, if the codec returned it. */
export function whereOf(message: Uint8Array): Where | undefined {
  return places.get(message);
}

function take(memory: Uint8Array, start: number, end: number): Uint8Array {
  let out: Uint8Array;
  if (!(Number.isInteger(start) && start >= 0 && end >= start && end <= memory.length)) {
    out = new Uint8Array(0);
    places.set(out, { start, end, outside: true });
  } else if (end - start > LONGEST) {
    out = memory.slice(start, start + OVERSIZED_COPY);
    places.set(out, { start, end, oversized: true });
  } else {
    out = memory.slice(start, end);
    places.set(out, { start, end });
  }
  return out;
}

/** A `Uint8Array` codec that records where each message was read. */
export const fuzzCodec: Codec<Uint8Array> = Object.freeze({
  name: "fuzz-bytes",
  encode(value: Uint8Array): Uint8Array {
    return value;
  },
  decode(data: Uint8Array): Uint8Array {
    return take(new Uint8Array(data.buffer), data.byteOffset, data.byteOffset + data.length);
  },
  decodeFrom(memory: Uint8Array, start: number, end: number): Uint8Array {
    return take(memory, start, end);
  },
});

/** Payload size profiles: small records, a mix, and a mix with some records of several KiB. */
export type SizeProfile = "small" | "mixed" | "large";

function payloadLength(r: () => number, profile: SizeProfile): number {
  const roll = r();
  if (profile === "small") return roll < 0.3 ? 0 : Math.floor(r() * 48);
  if (roll < 0.15) return 0;
  if (roll < 0.55) return Math.floor(r() * 64);
  if (roll < 0.85) return 64 + Math.floor(r() * 960);
  if (profile === "mixed" || roll < 0.97) return 1024 + Math.floor(r() * 2048);
  return 3072 + Math.floor(r() * 9216);
}

function checksum(p: number, seq: number, length: number, bytes: Uint8Array, at: number): number {
  // FNV-1a over the three fields and the payload.
  let h = 0x811c9dc5;
  for (const word of [p, seq, length]) {
    for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((word >>> (8 * k)) & 0xff), 0x01000193);
  }
  for (let i = at; i < at + length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Message `seq` of producer `p` in the trial of `seed`, exactly as the producer sends it. */
export function message(seed: number, p: number, seq: number, profile: SizeProfile): Uint8Array {
  const r = prng((seed ^ Math.imul(p + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b)) >>> 0);
  const length = payloadLength(r, profile);
  const out = new Uint8Array(MESSAGE_HEADER + length);
  let x = (r() * 0x100000000) >>> 0;
  for (let i = MESSAGE_HEADER; i < out.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  const view = new DataView(out.buffer);
  view.setUint32(0, p, true);
  view.setUint32(4, seq, true);
  view.setUint32(8, length, true);
  view.setUint32(12, checksum(p, seq, length, out, MESSAGE_HEADER), true);
  return out;
}

/** What the consumer makes of a received message. */
export type Verdict =
  | { ok: true; p: number; seq: number }
  | { ok: false; reason: string; p?: number; seq?: number };

/**
 * Checks a received message: well-formed, its checksum right, and equal byte for byte to the
 * message its header names.
 */
export function verify(
  bytes: Uint8Array,
  seed: number,
  counts: readonly number[],
  profile: SizeProfile,
): Verdict {
  const where = whereOf(bytes);
  if (where?.outside) {
    return { ok: false, reason: `read outside the memory [${where.start}, ${where.end})` };
  }
  if (where?.oversized) return { ok: false, reason: `${where.end - where.start} bytes long` };
  if (bytes.length < MESSAGE_HEADER) return { ok: false, reason: `${bytes.length} bytes long` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = view.getUint32(0, true);
  const seq = view.getUint32(4, true);
  const length = view.getUint32(8, true);
  if (length !== bytes.length - MESSAGE_HEADER) {
    return { ok: false, reason: `length field ${length}, ${bytes.length} bytes received` };
  }
  // From here the header names a message that was sent: a damaged payload is reported with it.
  const named = p < counts.length && seq < counts[p];
  if (checksum(p, seq, length, bytes, MESSAGE_HEADER) !== view.getUint32(12, true)) {
    return named
      ? { ok: false, reason: `checksum mismatch (${p}, ${seq})`, p, seq }
      : { ok: false, reason: "checksum mismatch" };
  }
  if (!named) return { ok: false, reason: `names a message never sent (${p}, ${seq})` };
  const expected = message(seed, p, seq, profile);
  if (expected.length !== bytes.length || expected.some((b, i) => b !== bytes[i])) {
    return { ok: false, reason: `differs from the message it names (${p}, ${seq})`, p, seq };
  }
  return { ok: true, p, seq };
}
