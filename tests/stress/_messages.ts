// The stress suite's messages: each derives from (producer, seq), so the receiver can rebuild
// the expected value and compare it whole. Sizes run from empty to 256 KiB, types vary.

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
  const kind = Math.floor(r() * 6);
  switch (kind) {
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

/** Number of messages producer `p` sends before closing, for a run of `base` per producer. */
export function countOf(p: number, base: number, seed: number): number {
  return Math.max(1, Math.floor(base * (0.5 + prng(seed + p)())));
}
