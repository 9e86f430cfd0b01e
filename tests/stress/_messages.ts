// The stress suite's messages: each derives from (producer, seq), so the receiver can rebuild
// the expected value and compare it whole. Sizes run from empty to 256 KiB, types vary. Most are
// objects carrying `p` and `seq`; top-level strings and typed arrays (which the codec writes in
// place in the ring when large) carry them inside: see `idOf`.

/** A small, fast PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Message `seq` of producer `p`. */
export function message(p: number, seq: number): unknown {
  const r = prng(p * 1_000_003 + seq * 7919 + 1);
  const kind = Math.floor(r() * 8);
  switch (kind) {
    case 6: {
      // A top-level string, ASCII or not, short or up to 32 K code units.
      const unit = r() < 0.5 ? "x" : "é€";
      return `${p},${seq},` + unit.repeat(Math.floor(r() * (r() < 0.2 ? 16384 : 600)));
    }
    case 7: {
      // A top-level typed array, sometimes on a larger buffer (it travels whole).
      const words = new Float64Array(2 + Math.floor(r() * (r() < 0.05 ? 32768 : 200)));
      words[0] = p;
      words[1] = seq;
      for (let i = 2; i < words.length; i += 13) words[i] = seq / i;
      return r() < 0.5 ? words : new Float64Array(words.buffer, 8 * Math.floor(r() * 2));
    }
    case 0:
      return { p, seq, n: r() * 1e9 };
    case 1:
      return { p, seq, s: "x".repeat(Math.floor(r() * 200)) + String(seq) };
    case 2: {
      // Bytes: usually small, sometimes up to 256 KiB (crossing wraps and growth).
      const roll = r();
      const size = roll < 0.01 ? Math.floor(r() * 256 * 1024) : Math.floor(r() * 2048);
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 97) bytes[i] = (p * 31 + seq + i) & 0xff;
      return { p, seq, bytes };
    }
    case 3:
      return { p, seq, list: [seq, -0, null, undefined, "a", [p]], map: new Map([[p, seq]]) };
    case 4:
      return { p, seq, date: new Date(seq * 1000), big: BigInt(seq) * 1_000_000_007n };
    default:
      return { p, seq };
  }
}

/** The producer and sequence number of a message made by `message`. */
export function idOf(value: unknown): { p: number; seq: number } {
  if (typeof value === "string") {
    const [p, seq] = value.split(",", 2).map(Number);
    return { p, seq };
  }
  if (value instanceof Float64Array) {
    // A view at offset 8 starts at seq: the buffer holds p before it.
    const all = new Float64Array(value.buffer);
    return { p: all[0], seq: all[1] };
  }
  return value as { p: number; seq: number };
}

/** Number of messages producer `p` sends before closing, for a run of `base` per producer. */
export function countOf(p: number, base: number, seed: number): number {
  return Math.max(1, Math.floor(base * (0.5 + prng(seed + p)())));
}
