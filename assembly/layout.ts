// The layout of a channel in the shared memory: the control block, the ring descriptor and the
// record header, each drawn directly above the constants and accessors it describes; the status
// codes and limits of the core; and the check words that guard the layout's fields (see
// "Untrusted memory" in channel.ts). Every exported constant here that index.ts re-exports
// becomes an exported global that build.ts copies into src/_core_generated.ts, so TypeScript
// never retypes an offset.
//
// Nothing here keeps state, and nothing but `initRing` touches memory.

// ── Build switch. Internal invariants are checked with `if (DEBUG) assert(…)`: on in the
//    as-pect build (as-pect.asconfig.json passes `--use CORE_DEBUG=1`), compiled out of the
//    release build (build.ts passes no such flag). Values read from shared memory are never
//    checked this way: those checks are unconditional (see "Untrusted memory" in channel.ts).

// @ts-ignore: decorator, and CORE_DEBUG is defined only by `--use CORE_DEBUG=1`
@inline export const DEBUG: bool = isDefined(CORE_DEBUG);

// ── Status codes. Functions returning an offset return one of these instead; offsets are
//    always ≥ FIRST_OFFSET.
export const OK: i32 = 0;
export const EMPTY: i32 = 1;
export const BUSY: i32 = 2;
export const FULL: i32 = 3;
export const DISCONNECTED: i32 = 4;
export const TOO_LARGE: i32 = 5;
export const NO_MEMORY: i32 = 6;
export const INVALID: i32 = 7;
export const CLAIMED: i32 = 8;
/** The channel's memory broke an invariant (see "Untrusted memory" in channel.ts); sticky. */
export const CORRUPTED: i32 = 9;
/** `commit`/`cancel`: the claim's header is not the one its producer wrote (see `commit`). */
export const MISMATCH: i32 = 10;
/** `peek`: another receiver holds the head (see "Several receivers" in consumer.ts). */
export const LOCKED: i32 = 14;
/** The arena (assembly/arena.ts) reached its cap: no block of that class fits any more. */
export const ARENA_FULL: i32 = 11;
/** The arena is below its cap, but `memory.grow` failed (the memory's maximum, or the engine). */
export const GROW_FAILED: i32 = 12;
/** An arena block was freed (and maybe handed out again) since its holder got it. */
export const STALE: i32 = 13;
export const FIRST_OFFSET: i32 = 16;

// ── Control block (byte offsets from `ch`; every line is 64 bytes so that producer-written,
//    consumer-written and rarely-written words never share a cache line). A control block is a
//    block of the arena (assembly/arena.ts), of class ARENA_CONTROL_CLASS; its rings are blocks
//    of their own, owned by it (see life.ts).
//
//   ch + 0    ┌──────────────────────────────────────────────────────────────────┐
//             │ MAGIC │ VERSION │ BOUND │ MAX_BYTES │ STORAGE │ FREE_RINGS │ ID │ config
//             │ CORRUPT │ CONFIG_CHECK │ LARGE_RING │ ARENA │ FIRST_RING │ RINGS  │
//   ch + 64   ├──────────────────────────────────────────────────────────────────┤
//             │ PROD_RING │ ADMITTED │ RECEIVED_CACHE │ SEALING │ SEAL_GEN │      │ producers
//             │ PROD_CALLS: i64                                                  │
//   ch + 128  ├──────────────────────────────────────────────────────────────────┤
//             │ CONS_RING │ RECEIVED │ REALIGN │ CONS_CHECK │ CONS_CALLS: i64     │ consumer
//             │ CONS_HOLDER │ CONS_LAST │                                          │
//   ch + 192  ├──────────────────────────────────────────────────────────────────┤
//             │ SENDERS │ RECEIVER (count) │ RECV_WAITING │ DIED │              │ ends
//   ch + 256  ├──────────────────────────────────────────────────────────────────┤
//             │ DATA_SEQ │ (unused) │ DATA_WAITERS │ SELECTORS │                 │ wait: data
//   ch + 320  ├──────────────────────────────────────────────────────────────────┤
//             │ SPACE_SEQ │ SPACE_WAITERS │                                      │ wait: space
//   ch + 384  ├──────────────────────────────────────────────────────────────────┤
//             │ NEXT_OWNER │ NEXT_TOKEN │                                         │ owners
//   ch + 448  ├──────────────────────────────────────────────────────────────────┤
//             │ (unused)                                                         │
//   ch + 512  └──────────────────────────────────────────────────────────────────┘
//
// CONFIG_CHECK is a hash of BOUND, MAX_BYTES, ID, ARENA and FIRST_RING: a thread reads the
// config once, checks it and keeps its own copy, so a later write there changes nothing.
// PROD_CALLS and CONS_CALLS are the in-call words (see life.ts): a tag (high half: the control
// block's generation + 1) and the calls inside (low half), producer side and consumer side, each
// on the line its side writes anyway. CONS_HOLDER is the consumer lock (the token of the receiver
// between its `peek` and `release`, 0 when free) and CONS_LAST the token of the last holder to
// let go: see "Several receivers" in consumer.ts.

export const MAGIC_VALUE: i32 = 0x4d505343; // "MPSC"
export const LAYOUT_VERSION: i32 = 7;
export const MAGIC: i32 = 0;
export const VERSION: i32 = 4;
export const BOUND: i32 = 8;
export const MAX_BYTES: i32 = 12;
export const STORAGE: i32 = 16;
export const FREE_RINGS: i32 = 20;
export const ID: i32 = 24;
export const CORRUPT: i32 = 28;
export const CONFIG_CHECK: i32 = 32;
/** The ring of the largest capacity the channel can have, once allocated (see `allocRing`). */
export const LARGE_RING: i32 = 36;
/** Where the arena this channel's blocks belong to starts (ARENA_BASE in a channel memory). */
export const ARENA: i32 = 40;
/** The channel's first ring (it decides the largest ring: see `attach` in channel.ts). */
export const FIRST_RING: i32 = 44;
/** Head of the list of every ring the channel holds, linked by RING_ALL (see life.ts). */
export const RINGS: i32 = 48;
export const PROD_RING: i32 = 64;
export const ADMITTED: i32 = 68;
/** Producers' last view of RECEIVED, so that a bounded send reads the consumer's line rarely. */
export const RECEIVED_CACHE: i32 = 72;
/** Sealers at work: raised before a seal, lowered once its ring is linked or unsealed. */
export const SEALING: i32 = 76;
/** Seals finished (wrapping): with SEALING, tells a sealed ring nobody links (`sealedFor`). */
export const SEAL_GEN: i32 = 80;
/** In-call word of the producer side (i64; see life.ts). */
export const PROD_CALLS: i32 = 88;
export const CONS_RING: i32 = 128;
export const RECEIVED: i32 = 132;
/** Set by a producer whose record fits the current ring only from offset 0 (see `realign`). */
export const REALIGN: i32 = 136;
/** A check of CONS_RING (`consCheck`), written with it: a consumer that starts checks it. */
export const CONS_CHECK: i32 = 140;
/** In-call word of the consumer side (i64; see life.ts). */
export const CONS_CALLS: i32 = 144;
/**
 * The consumer lock: the token of the receiver that holds the head (between its `peek` and its
 * `release`), with HOLDER_DEAD once that receiver's thread was found dead; 0 when free.
 */
export const CONS_HOLDER: i32 = 152;
/** The token of the last receiver that let the consumer lock go (see `lockConsumer`). */
export const CONS_LAST: i32 = 156;
/** CONS_HOLDER's mark of a holder whose thread died holding the lock (see `settleHolder`). */
export const HOLDER_DEAD: i32 = 0x80000000;
/** Receiver tokens are 31 bits, never 0 (see `newToken`). */
export const TOKEN_MASK: i32 = 0x7fffffff;
/** The token of the receiver `create` counts (the creating thread's). */
export const FIRST_TOKEN: i32 = 1;
export const SENDERS: i32 = 192;
/** Open receivers (clones, and receivers in flight in handles or messages). */
export const RECEIVER: i32 = 196;
export const RECV_WAITING: i32 = 200;
/**
 * Which ends were settled for a thread that died holding them (DIED_SENDER | DIED_RECEIVER),
 * rather than closed: set before the count it explains changes, read only to word the errors.
 */
export const DIED: i32 = 204;
export const DIED_SENDER: i32 = 1;
export const DIED_RECEIVER: i32 = 2;
export const DATA_SEQ: i32 = 256;
/** Receivers registered to wait for data; with SELECTORS, one aligned i64 (`wakeData`). */
export const DATA_WAITERS: i32 = 264;
/**
 * Selectors registered on the channel (`selectBegin`): while any is, a publish also moves its
 * arena's ARENA_SELECT word, which they sleep on (see "Selecting" in wait.ts).
 */
export const SELECTORS: i32 = 268;
export const SPACE_SEQ: i32 = 320;
export const SPACE_WAITERS: i32 = 324;
export const NEXT_OWNER: i32 = 384;
/** The last receiver token handed out (see `newToken`). */
export const NEXT_TOKEN: i32 = 388;
/** Owner ids fit the 16 bits META leaves them. */
export const OWNER_MASK: i32 = 0xffff;
export const CONTROL_SIZE: i32 = 512;
/** Low half of an in-call word: the number of calls inside. */
export const CALLS_COUNT: i64 = 0x1fffffff;
/** Low half of an in-call word: set once both sides are closed (the last call out destroys). */
export const CALLS_CLOSING: i64 = 0x20000000;
/** Low half of an in-call word: set once the channel is destroyed (no call enters again). */
export const CALLS_DEAD: i64 = 0x40000000;

/** Config check word. */
// @ts-ignore: decorator
@inline export function configCheck(
  bound: u32,
  maxBytes: u32,
  id: i32,
  arena: i32,
  first: i32,
): i32 {
  return mix(mix(mix(<i32>bound, <i32>maxBytes), id ^ MAGIC_VALUE), mix(arena, first));
}

/** Check word of CONS_RING = `ring`. */
// @ts-ignore: decorator
@inline export function consCheck(ring: usize): i32 {
  return mix(<i32>ring, 0x434f4e53);
}

// ── Ring descriptor
//
// A ring is a block of the arena, owned by its channel: a descriptor followed by `capacity`
// bytes of data (a power of two ≥ 16):
//
//   r + 0     │ CAPACITY │ NEXT (ring that follows once this one is sealed; 0 = none) │
//             │ FREE_NEXT (next retired ring in the FREE_RINGS list) │ RING_CHECK     │
//             │ PREV (the ring it succeeds, written before NEXT links it) │ START      │
//             │ OWNER (its channel's control block) │ GEN (its block's generation)  │
//             │ ALL (next ring in the channel's RINGS list)                          │
//   r + 64    │ TAIL: i64 byte position claimed by producers; bit 63 = SEALED,       │
//             │   bit 2 = REALIGNING │ REALIGNS                                      │
//   r + 128   │ HEAD: i64 byte position of the next record to consume                │
//   r + 192   │ data[capacity] ...                                                   │
//
// RING_CHECK is a hash of the ring's address, capacity, owner and generation: a ring address
// read from shared memory (PROD_RING, CONS_RING, NEXT, FREE_RINGS, FREE_NEXT, RINGS, ALL) is used
// only if the descriptor there carries the right check, names the channel as its owner, holds a
// valid capacity, and the arena confirms it: a block in use of the ring's class, with that
// generation, allocated for that channel (`capacityOf` in channel.ts). So a ring of another
// channel, or one freed since, is refused. A successor must name its predecessor in PREV; a
// free ring must be sealed, drained and neither ring in use; only the consumer moves CONS_RING.
// A ring starts (fresh or reused) with HEAD = TAIL at a multiple of its capacity, and START is a
// check of its address and that HEAD: the consumer moving on to a successor takes HEAD from
// memory only if START vouches for it; after that it keeps HEAD itself and moves it by CAS from
// the value it keeps, so a write to HEAD is found at its next read or release. Positions grow
// monotonically; the byte of position p is at data + (p & (capacity - 1)).

export const RING_CAPACITY: i32 = 0;
export const RING_NEXT: i32 = 4;
export const RING_FREE_NEXT: i32 = 8;
export const RING_CHECK: i32 = 12;
/** The ring this one succeeds (written by the sealer that links it; 0 for the first ring). */
export const RING_PREV: i32 = 16;
/** A check of the ring's address and its starting HEAD (see `startCheck`), written with HEAD. */
export const RING_START: i32 = 20;
/** The channel (control block) the ring belongs to. */
export const RING_OWNER: i32 = 24;
/** The ring's block generation when it was allocated (see `arenaGeneration`). */
export const RING_GEN: i32 = 28;
/** The next ring in the channel's RINGS list (0: the last). Written once, when allocated. */
export const RING_ALL: i32 = 32;
export const RING_TAIL: i32 = 64;
/**
 * Realigns the consumer began in this ring (wrapping), counted before it moves TAIL: a producer
 * whose last claim came before one takes its next claim's space on no word of its own (see
 * `reserve`). On TAIL's line, which the producers read anyway.
 */
export const RING_REALIGNS: i32 = 72;
export const RING_HEAD: i32 = 128;
export const RING_DATA: i32 = 192;

/** TAIL's SEALED bit (bit 63), and the mask of the byte position below it. */
export const SEALED: i64 = i64.MIN_VALUE;
export const POSITION: i64 = i64.MAX_VALUE;
/**
 * A mark in TAIL's alignment bits: the consumer is realigning the ring from this position (see
 * `realign`). Nobody claims from a marked TAIL; whoever reads it may finish the realign.
 */
export const REALIGNING: i64 = 4;

/** Check word of a ring at `ring` with `capacity`, of channel `owner`, block generation `gen`. */
// @ts-ignore: decorator
@inline export function ringCheck(ring: usize, capacity: i32, owner: i32, gen: i32): i32 {
  return mix(mix(<i32>ring ^ 0x52494e47, capacity), mix(owner, gen));
}

/** Check word (RING_START) of ring `ring` starting at HEAD = `head`. */
// @ts-ignore: decorator
@inline export function startCheck(ring: usize, head: i64): i32 {
  return mix(<i32>ring ^ 0x53544152, <i32>head ^ mix(<i32>(head >>> 32), 0x48454144));
}

/**
 * Writes an empty ring descriptor at `r` for channel `owner`, in a block of generation `gen`,
 * linked to `all` (the channel's list of rings). The data area must be zero (a block as the arena
 * hands it out).
 */
export function initRing(r: usize, capacity: i32, owner: i32, gen: i32, all: i32): void {
  store<i32>(r + RING_CAPACITY, capacity);
  store<i32>(r + RING_NEXT, 0);
  store<i32>(r + RING_FREE_NEXT, 0);
  store<i32>(r + RING_OWNER, owner);
  store<i32>(r + RING_GEN, gen);
  store<i32>(r + RING_ALL, all);
  store<i32>(r + RING_CHECK, ringCheck(r, capacity, owner, gen));
  store<i32>(r + RING_PREV, 0);
  store<i32>(r + RING_START, startCheck(r, 0));
  store<i64>(r + RING_TAIL, 0);
  store<i32>(r + RING_REALIGNS, 0);
  store<i64>(r + RING_HEAD, 0);
}

/**
 * Bytes of the arena a ring of `capacity` takes: its block (assembly/arena.ts), the block's
 * header, descriptor and data. What STORAGE counts against MAX_BYTES.
 */
// @ts-ignore: decorator
@inline export function ringBytes(capacity: i32): i64 {
  return 64 + ((<i64>RING_DATA + capacity + 63) & ~63);
}

// ── Record
//
// A record is an 8-byte header and its payload, padded to a multiple of 8 bytes:
//
//   +0  SIZE  i32  0 = not written yet; -(8 + length) = claimed, being written;
//                  +(8 + length) = committed message; for padding, its whole extent
//   +4  META  i32  kind (bits 0–3) | check (bits 4–15) | owner id (bits 16–31), where the
//                  kind is RECORD_MESSAGE (a message, or a claim of one while SIZE < 0),
//                  RECORD_DEAD (a claim whose producer was reported dead), RECORD_PADDING, or
//                  RECORD_GAP (a padding whose bytes after the header are still 0)
//   +8  payload[length], then zeros up to the next multiple of 8
//
// The check is a hash of SIZE, kind and owner (`header`): a header changed by a stray write
// fails it (but for 1 in 4,096). SIZE and META form one i64 (SIZE in the low half): a producer
// publishes a claim by one 64-bit CAS from the header it wrote (its owner, -size) to the
// committed one, so that a producer that was reported dead, and whose claim was skipped and
// reused by another producer, can never publish or touch that other producer's record: the
// owner in the expected value differs.

export const HEADER: i32 = 8;
export const RECORD_SIZE: i32 = 0;
export const RECORD_META: i32 = 4;
export const RECORD_MESSAGE: i32 = 1;
export const RECORD_PADDING: i32 = 2;
/** Padding whose bytes after the header were never written (they still read 0). */
export const RECORD_GAP: i32 = 3;
/** A claim (SIZE < 0) whose producer was reported dead: `unblock` may skip it. */
export const RECORD_DEAD: i32 = 5;
/** A committed message that carries channel ends: its payload starts with an ends table. */
export const RECORD_ENDS: i32 = 6;

// ── Ends table
//
// A message that carries channel ends (of channels in the same arena) is committed as
// RECORD_ENDS; its payload starts with a table of those ends, then the codec's bytes:
//
//   +0   ENDS_COUNT  i32  entries (1 … MAX_ENDS)
//   +4   (zero)
//   +8   entries, ENTRY_SIZE bytes each:
//          ENTRY_STATE  i32  ENTRY_IN_FLIGHT → ENTRY_ADOPTED (by the thread that receives the
//                            message) or ENTRY_DROPPED (by a scan once the receiver is gone),
//                            each by one CAS: whoever wins it settles the end, exactly once
//          ENTRY_CH     i32  the end's channel (control block) in the arena
//          ENTRY_GEN    i32  that block's generation
//          ENTRY_META   i32  END_SENDER or END_RECEIVER (bits 0–1), caller flags (bits 2–7),
//                            check (bits 8–31) of the entry's address, CH, GEN and bits 0–7
//
// While a message is in flight its ends are counted in their channels (a sender in SENDERS, a
// receiver in RECEIVER) but held by no thread: the receiving thread adopts them; if the
// receiver is closed first (by its thread, or for a thread that died), a scan drops every end
// still in flight in the channel without reading the codec's bytes (see `scanEnds`).

export const ENDS_COUNT: i32 = 0;
export const ENDS_ENTRIES: i32 = 8;
export const ENTRY_SIZE: i32 = 16;
export const ENTRY_STATE: i32 = 0;
export const ENTRY_CH: i32 = 4;
export const ENTRY_GEN: i32 = 8;
export const ENTRY_META: i32 = 12;
export const ENTRY_IN_FLIGHT: i32 = 1;
export const ENTRY_ADOPTED: i32 = 2;
export const ENTRY_DROPPED: i32 = 3;
export const END_SENDER: i32 = 1;
export const END_RECEIVER: i32 = 2;
/** Most ends one message carries. */
export const MAX_ENDS: i32 = 4096;
/**
 * Ends carried in channels carried in channels… a scan follows this deep (see `scanEnds`): a
 * bound on the call stack. Ends nested deeper in undelivered messages stay counted.
 */
export const SCAN_DEPTH: i32 = 64;

/** The check of an ends-table entry at `entry` (bits 8–31 of ENTRY_META). */
// @ts-ignore: decorator
@inline export function entryCheck(entry: usize, ch: i32, gen: i32, low: i32): i32 {
  return mix(mix(<i32>entry ^ 0x454e4453, ch), mix(gen, low & 0xff)) & ~0xff;
}
/** Largest bound the built-in codecs write in place (see src/codec/_direct.ts). */
export const MAX_TRIM: i32 = 0xffffff;
export const ALIGN: i32 = 8;

/** A record header as one i64: META (with its check) in the high half, SIZE in the low half. */
// @ts-ignore: decorator
@inline export function header(kind: i32, owner: i32, size: i32): i64 {
  // Callers mask what they pass: META has 4 bits for the kind and 16 for the owner.
  if (DEBUG) assert(<u32>kind <= 0xf && <u32>owner <= <u32>OWNER_MASK);
  const fields = kind | (owner << 16);
  // Two multiplications: every bit of SIZE and of the fields reaches the top 12 bits.
  const check = (((fields * 0x9e3779b1) ^ size) * 0x85ebca6b) >>> 20;
  return (<i64>(fields | (check << 4)) << 32) | <i64><u32>size;
}

/** Whether the header `h` read from shared memory carries a right check (and a known kind). */
// @ts-ignore: decorator
@inline export function headerOk(h: i64): bool {
  const meta = <i32>(h >>> 32);
  return header(meta & 0xf, meta >>> 16, <i32>h) == h;
}

// ── Limits
export const UNBOUNDED: u32 = 0xffffffff;
export const MIN_CAPACITY: i32 = 16;
/** Largest initial capacity (a larger ring is grown when a message needs it). */
export const MAX_INITIAL_CAPACITY: i32 = 32768;
/** Largest storage of one channel (1 GiB), so that every offset is a positive i32. */
export const MAX_STORAGE: u32 = 0x40000000;
/** Largest payload of one record. */
export const MAX_LENGTH: i32 = 0x20000000;
/** Set in `peekLength()` for a message that carries ends (above any length: see MAX_LENGTH). */
export const PEEK_ENDS: i32 = 0x40000000;
export const PAGE: i32 = 65536;
/**
 * Most turns of one CAS retry loop, or of one wait for another thread's step inside a call
 * (a sealer linking its new ring). Far beyond any real contention; a bound against a writer
 * that keeps changing a word.
 */
export const SPIN_LIMIT: i32 = 1 << 20;
/** Turns `reserve` waits for a sealer to link a ring before it returns BUSY. */
export const SEAL_SPINS: i32 = 1024;

// ── Arithmetic

// @ts-ignore: decorator
@inline export function align8(n: i32): i32 {
  return (n + (ALIGN - 1)) & ~(ALIGN - 1);
}

// @ts-ignore: decorator
@inline export function isPowerOfTwo(n: i32): bool {
  return n > 0 && (n & (n - 1)) == 0;
}

// @ts-ignore: decorator
@inline export function nextPowerOfTwo(n: i32): i32 {
  return n <= 1 ? 1 : (1 << (32 - clz<i32>(n - 1)));
}

/** A 32-bit mix of two words (for check words; not cryptographic). */
// @ts-ignore: decorator
@inline export function mix(a: i32, b: i32): i32 {
  let x = (a * 0x9e3779b1) ^ (b * 0x85ebca6b);
  x ^= x >>> 15;
  x *= 0x2c1b3c6d;
  return x ^ (x >>> 13);
}

