// The records of the raw-core worker test: lengths and contents both derive from
// (producer id, sequence number), so the consumer can check every byte and the order.

/** Producer 0 sends an empty record every 97th message; nobody else ever does. */
export function recordLength(id: number, seq: number): number {
  if (id === 0 && seq % 97 === 96) return 0;
  const r = hash(id * 1_000_003 + seq);
  if (r % 1000 === 0) return 33_000 + (r >>> 10) % 20_000; // larger than the first ring
  if (r % 100 === 0) return 8 + (r >>> 8) % 8192;
  return 8 + (r >>> 8) % 1500;
}

function hash(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

function byteAt(id: number, seq: number, i: number): number {
  return (id * 31 + seq * 7 + i) & 0xff;
}

/** Writes record (id, seq): its id and seq as two u32 words, then a pattern. */
export function fillPayload(u8: Uint8Array, at: number, length: number, id: number, seq: number) {
  if (length === 0) return;
  const view = new DataView(u8.buffer, at, length);
  view.setUint32(0, id, true);
  view.setUint32(4, seq, true);
  for (let i = 8; i < length; i++) u8[at + i] = byteAt(id, seq, i);
}

/** @returns the producer id stored in a non-empty record. */
export function recordId(u8: Uint8Array, at: number): number {
  return new DataView(u8.buffer, at, 8).getUint32(0, true);
}

/** @returns a description of the first difference from record (id, seq), or "" if none. */
export function checkPayload(
  u8: Uint8Array,
  at: number,
  length: number,
  id: number,
  seq: number,
): string {
  if (length === 0) return "";
  const view = new DataView(u8.buffer, at, length);
  if (view.getUint32(4, true) !== seq) return `seq ${view.getUint32(4, true)}, expected ${seq}`;
  for (let i = 8; i < length; i++) {
    if (u8[at + i] !== byteAt(id, seq, i)) return `byte ${i} of (${id}, ${seq}) differs`;
  }
  return "";
}
