// Text helpers shared by the codecs. Views of shared memory are slow to hand to TextDecoder
// (~1 µs fixed cost in Deno 2.9), so short ASCII is decoded by hand and longer text is first
// copied into a non-shared scratch buffer.

const fromCharCode = String.fromCharCode;
const decoder = new TextDecoder();
let plain = new Uint8Array(1024);

/** `String.fromCharCode` of `b[p..p+n)` for 1 ≤ n ≤ 16, without allocating an argument array. */
function chunk(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 1:
      return fromCharCode(b[p]);
    case 2:
      return fromCharCode(b[p], b[p + 1]);
    case 3:
      return fromCharCode(b[p], b[p + 1], b[p + 2]);
    case 4:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    case 8:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
      );
    case 9:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
      );
    case 10:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
      );
    case 11:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
      );
    case 12:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
        b[p + 11],
      );
    case 13:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
        b[p + 11],
        b[p + 12],
      );
    case 14:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
        b[p + 11],
        b[p + 12],
        b[p + 13],
      );
    case 15:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
        b[p + 11],
        b[p + 12],
        b[p + 13],
        b[p + 14],
      );
    default:
      return fromCharCode(
        b[p],
        b[p + 1],
        b[p + 2],
        b[p + 3],
        b[p + 4],
        b[p + 5],
        b[p + 6],
        b[p + 7],
        b[p + 8],
        b[p + 9],
        b[p + 10],
        b[p + 11],
        b[p + 12],
        b[p + 13],
        b[p + 14],
        b[p + 15],
      );
  }
}

/** Decodes `n` bytes at `p` as Latin-1 (each byte one code unit); meant for short ASCII. */
export function latin1(b: Uint8Array, p: number, n: number): string {
  if (n <= 16) return n === 0 ? "" : chunk(b, p, n);
  let s = "";
  let i = 0;
  for (; i + 16 <= n; i += 16) s += chunk(b, p + i, 16);
  if (i < n) s += chunk(b, p + i, n - i);
  return s;
}

/**
 * The scratch copy grows up to this size; longer text is copied into a buffer of its own, which
 * is garbage once decoded: one 100 MB string must not hold 100 MB for as long as the thread lives.
 */
const PLAIN_KEPT = 1 << 20;

/** Decodes `n` bytes at `p` as UTF-8 from a non-shared copy. */
export function utf8(b: Uint8Array, p: number, n: number): string {
  // Copy from an 8-byte-aligned start: copies out of shared memory are several times slower
  // when source and destination are not equally aligned.
  const skew = (b.byteOffset + p) & 7;
  const from = p >= skew ? p - skew : p;
  const m = p + n - from;
  let copy = plain;
  if (copy.length < m) {
    copy = new Uint8Array(Math.max(m, Math.min(copy.length * 2, PLAIN_KEPT)));
    if (copy.length <= PLAIN_KEPT) plain = copy;
  }
  copy.set(b.subarray(from, p + n));
  return decoder.decode(copy.subarray(p - from, m));
}

/** Bytes the text helpers keep between calls. */
export function textScratchBytes(): number {
  return plain.length;
}

const units: number[] = [];
/** Decodes `n` little-endian UTF-16 code units at `p` (lone surrogates kept). */
export function utf16(b: Uint8Array, p: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i += 4096) {
    const m = Math.min(4096, n - i);
    units.length = m;
    for (let j = 0; j < m; j++, p += 2) units[j] = b[p] | (b[p + 1] << 8);
    s += fromCharCode.apply(null, units);
  }
  units.length = 0;
  return s;
}
