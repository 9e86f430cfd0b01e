// The corrupter's writes: one 32-bit word of a channel's shared memory, in its control block, a
// ring descriptor, or a record header between the consumer's HEAD and the ring's TAIL, set to a
// value chosen to break something (random bits, small numbers, the sign bit, the capacity ± k,
// an address of something else, the old value ± k or with one bit flipped). Only header words
// are written, never payload bytes. Each write is logged in the watch words (see _shared.ts), so
// that the watchdog can list the writes of a trial that hung.
//
// Offsets come from the core's generated constants by name (CORE in src/_core_generated.ts); a
// name that disappears from the layout is skipped, and words of the control block that no known
// name covers are written too (as `ctl+OFFSET`). The channel's control block is at `ch` in its
// memory (an arena: see assembly/life.ts), its first ring wherever FIRST_RING says.
import { CORE } from "../../src/_core_generated.ts";
import { LOG_ENTRY, MAX_WRITES, W_LOG } from "./_shared.ts";

const K = CORE as unknown as Record<string, number | undefined>;

/**
 * Control-block fields whose corruption may legitimately end in timeouts (issue 11): counts of
 * messages, ends, tokens and sealers at work.
 */
const COUNT_FIELDS = [
  "ADMITTED",
  "RECEIVED",
  "RECEIVED_CACHE",
  "SENDERS",
  "RECEIVER",
  "RECV_WAITING",
  "SEALING",
  "SEAL_GEN",
];
const WAIT_FIELDS = ["DATA_SEQ", "DATA_WAITERS", "SPACE_SEQ", "SPACE_WAITERS"];
const OWNER_FIELDS = ["NEXT_OWNER"];
const CONFIG_FIELDS = [
  "MAGIC",
  "VERSION",
  "BOUND",
  "MAX_BYTES",
  "STORAGE",
  "ID",
  "CONFIG_CHECK",
  "ARENA",
  "FIRST_RING",
];
/** Flags: the sticky corruption flag itself, a producer's request to the consumer. */
const FLAG_FIELDS = ["CORRUPT", "REALIGN"];
const LINK_FIELDS = ["FREE_RINGS", "PROD_RING", "CONS_RING", "CONS_CHECK", "LARGE_RING", "RINGS"];
/**
 * The in-call words (64-bit, written by halves): a tag that no longer matches, or a count moved,
 * is found by the next call that enters or leaves (STALE, then `condemn`; or a count below 0).
 */
const CALLS_FIELDS = ["PROD_CALLS", "CONS_CALLS"];

/** The control block's named words: offset → name. */
const controlNames = new Map<number, string>();
for (
  const name of [
    ...CONFIG_FIELDS,
    ...FLAG_FIELDS,
    ...LINK_FIELDS,
    ...COUNT_FIELDS,
    ...WAIT_FIELDS,
    ...OWNER_FIELDS,
  ]
) {
  const off = K[name];
  if (typeof off === "number") controlNames.set(off, name);
}
for (const name of CALLS_FIELDS) {
  const off = K[name];
  if (typeof off === "number") controlNames.set(off, `${name}.lo`).set(off + 4, `${name}.hi`);
}
const namedOffsets = [...controlNames.keys()];

/** What a write hit, for deciding which outcomes it explains. */
export type FieldClass =
  | "count"
  | "wait"
  | "owner"
  | "config"
  | "flag"
  | "link"
  | "spare"
  | "ring"
  | "record";

function classOfControl(name: string | undefined): FieldClass {
  if (name === undefined) return "spare";
  if (CALLS_FIELDS.includes(name.split(".")[0])) return "config";
  if (COUNT_FIELDS.includes(name)) return "count";
  if (WAIT_FIELDS.includes(name)) return "wait";
  if (OWNER_FIELDS.includes(name)) return "owner";
  if (LINK_FIELDS.includes(name)) return "link";
  if (FLAG_FIELDS.includes(name)) return "flag";
  return "config";
}

/** Ring descriptor words: [offset in the descriptor, name]. 64-bit fields by halves. */
const ringFields: [number, string][] = [];
for (
  const name of [
    "RING_CAPACITY",
    "RING_NEXT",
    "RING_FREE_NEXT",
    "RING_CHECK",
    "RING_PREV",
    "RING_START",
    "RING_OWNER",
    "RING_GEN",
    "RING_ALL",
  ]
) {
  if (typeof K[name] === "number") ringFields.push([K[name]!, name.slice(5)]);
}
for (const name of ["RING_TAIL", "RING_HEAD"]) {
  if (typeof K[name] === "number") {
    ringFields.push([K[name]!, `${name.slice(5)}.lo`], [K[name]! + 4, `${name.slice(5)}.hi`]);
  }
}

const ROLES = ["consumer's", "producers'", "first free", "first"] as const;
const TARGETS = ["control", "ring", "record"] as const;
export type Target = typeof TARGETS[number];
const HOWS = [
  "random",
  "small",
  "sign",
  "capacity±k",
  "pointer",
  "old±k",
  "bitflip",
  "size-like",
  "kind",
] as const;

/** One logged write. */
export interface Write {
  /** Milliseconds since the trial began. */
  t: number;
  target: Target;
  /** e.g. `ADMITTED`, `ring(consumer's).TAIL.hi`, `record[2].SIZE`. */
  field: string;
  class: FieldClass;
  addr: number;
  old: number;
  value: number;
  how: string;
}

interface Ring {
  addr: number;
  capacity: number;
}

/** @returns the ring descriptor at `addr` if it looks sound in memory of `bytes` bytes. */
function ringAt(i32: Int32Array, addr: number): Ring | undefined {
  const bytes = i32.length * 4;
  if (!(addr >= CORE.FIRST_OFFSET && addr % 8 === 0 && addr + CORE.RING_DATA <= bytes)) {
    return undefined;
  }
  const capacity = Atomics.load(i32, (addr + CORE.RING_CAPACITY) >> 2);
  if (!(capacity >= 16 && (capacity & (capacity - 1)) === 0)) return undefined;
  if (addr + CORE.RING_DATA + capacity > bytes) return undefined;
  return { addr, capacity };
}

/** The ring of `role` of the channel at `ch` (the first ring: where FIRST_RING says). */
function roleRing(i32: Int32Array, ch: number, role: number): Ring | undefined {
  const word = [CORE.CONS_RING, CORE.PROD_RING, CORE.FREE_RINGS, CORE.FIRST_RING][role];
  return ringAt(i32, Atomics.load(i32, (ch + word) >> 2));
}

function position(i32: Int32Array, addr: number): number {
  const i64 = new BigInt64Array(i32.buffer, 0, i32.length >> 1);
  return Number(BigInt.asUintN(63, Atomics.load(i64, addr >> 3)));
}

/** Record headers from HEAD towards TAIL (at most 64, stopping at the first unfinished one). */
function records(i32: Int32Array, ring: Ring): number[] {
  const head = position(i32, ring.addr + CORE.RING_HEAD);
  const tail = position(i32, ring.addr + CORE.RING_TAIL);
  const found: number[] = [];
  for (let pos = head; pos < tail && found.length < 64;) {
    const at = ring.addr + CORE.RING_DATA + (pos & (ring.capacity - 1));
    found.push(at);
    const size = Atomics.load(i32, (at + CORE.RECORD_SIZE) >> 2);
    if (size <= 0) break;
    const step = (size + CORE.ALIGN - 1) & ~(CORE.ALIGN - 1);
    if (step <= 0 || step > ring.capacity) break;
    pos += step;
  }
  return found;
}

function pickValue(
  r: () => number,
  old: number,
  i32: Int32Array,
  ch: number,
  ring: Ring | undefined,
  field: string,
): [number, number] {
  const capacity = ring?.capacity ?? CORE.MAX_INITIAL_CAPACITY;
  const bytes = i32.length * 4;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)];
  const isSize = field.endsWith(".SIZE");
  const isMeta = field.endsWith(".META");
  for (;;) {
    const roll = r();
    let how: number;
    let value: number;
    if (isSize && roll < 0.3) {
      how = 7;
      value = pick([
        old + 8,
        old - 8,
        old * 2,
        -old,
        -8,
        CORE.HEADER,
        capacity - 8,
        capacity,
        1008,
        0x7ffffff8,
        -0x7ffffff8,
      ]);
    } else if (isMeta && roll < 0.3) {
      how = 8;
      value = (old & ~0xff) | pick([0, 1, 2, 3, 4, 5, 0xff]);
    } else if (roll < 0.4) {
      how = 0;
      value = (r() * 0x100000000) | 0;
    } else if (roll < 0.55) {
      how = 1;
      value = pick([0, 1, -1, 2, -2, 7, 8, 16, 64]);
    } else if (roll < 0.63) {
      how = 2;
      value = pick([old | 0x80000000, 0x80000000 | 0, 0x7fffffff, old ^ 0x80000000]);
    } else if (roll < 0.7) {
      how = 3;
      value = capacity + pick([-9, -8, -1, 0, 1, 8, 64]);
    } else if (roll < 0.8) {
      how = 4;
      const rings = [0, 1, 2, 3].map((role) => roleRing(i32, ch, role)?.addr ?? 0);
      value = pick([
        0,
        ch,
        ...rings,
        (ring?.addr ?? rings[3]) + CORE.RING_DATA + 8 * Math.floor(r() * 64),
        bytes - 8,
        bytes - CORE.RING_DATA,
        bytes,
        bytes + CORE.PAGE,
      ]);
    } else if (roll < 0.92) {
      how = 5;
      value = old + pick([-64, -8, -1, 1, 8, 64]);
    } else {
      how = 6;
      value = old ^ (1 << Math.floor(r() * 32));
    }
    value |= 0;
    if (value !== old) return [value, how];
  }
}

/**
 * Makes one write of `target`, logging it in `watch`.
 * @returns false if there was nothing to write (a record was wanted and the consumer's ring held
 * none); nothing is written then.
 */
export function corruptOnce(
  memory: WebAssembly.Memory,
  ch: number,
  r: () => number,
  target: Target,
  watch: Int32Array,
  t0: number,
): boolean {
  memory.grow(0); // brings this thread's view up to another thread's growth
  const i32 = new Int32Array(memory.buffer);
  let addr: number;
  let field: string;
  let ring: Ring | undefined;
  let role = 0;
  if (target === "control") {
    const off = r() < 0.85
      ? namedOffsets[Math.floor(r() * namedOffsets.length)]
      : 4 * Math.floor(r() * (CORE.CONTROL_SIZE / 4));
    addr = ch + off;
    field = controlNames.get(off) ?? `ctl+${off}`;
    ring = roleRing(i32, ch, 0);
  } else if (target === "ring") {
    role = Math.floor(r() * ROLES.length);
    ring = roleRing(i32, ch, role);
    if (ring === undefined) {
      // The first ring's descriptor is always there, whatever was written into it (or into
      // FIRST_RING: then where the channel put it, right after its control block's block).
      role = 3;
      ring = roleRing(i32, ch, 3) ??
        { addr: ch + CORE.CONTROL_SIZE + CORE.BLOCK_HEADER, capacity: CORE.MAX_INITIAL_CAPACITY };
    }
    const [off, name] = ringFields[Math.floor(r() * ringFields.length)];
    addr = ring.addr + off;
    field = `ring(${ROLES[role]}).${name}`;
  } else {
    ring = roleRing(i32, ch, 0);
    if (ring === undefined) return false;
    const found = records(i32, ring);
    if (found.length === 0) return false;
    role = Math.floor(r() * found.length);
    const meta = r() < 0.4;
    addr = found[role] + (meta ? CORE.RECORD_META : CORE.RECORD_SIZE);
    field = `record[${role}].${meta ? "META" : "SIZE"}`;
  }
  const old = Atomics.load(i32, addr >> 2);
  const [value, how] = pickValue(r, old, i32, ch, ring, field);
  Atomics.store(i32, addr >> 2, value);
  const count = Atomics.load(watch, W_LOG);
  if (count < MAX_WRITES) {
    const at = W_LOG + 1 + count * LOG_ENTRY;
    watch[at] = Math.round((performance.timeOrigin + performance.now() - t0) * 10);
    watch[at + 1] = addr;
    watch[at + 2] = old;
    watch[at + 3] = value;
    watch[at + 4] = TARGETS.indexOf(target) | (how << 4);
    watch[at + 5] = target === "ring"
      ? addr - ring!.addr
      : target === "control"
      ? addr - ch
      : addr & 7;
    watch[at + 6] = role;
    watch[at + 7] = ring?.addr ?? 0;
    Atomics.store(watch, W_LOG, count + 1);
  }
  return true;
}

/** The writes logged in `watch` so far. */
export function writesOf(watch: Int32Array): Write[] {
  const writes: Write[] = [];
  const count = Math.min(Atomics.load(watch, W_LOG), MAX_WRITES);
  for (let i = 0; i < count; i++) {
    const at = W_LOG + 1 + i * LOG_ENTRY;
    const target = TARGETS[watch[at + 4] & 0xf];
    const addr = watch[at + 1];
    let field: string;
    let cls: FieldClass;
    if (target === "control") {
      const name = controlNames.get(watch[at + 5]);
      field = name ?? `ctl+${watch[at + 5]}`;
      cls = classOfControl(name);
    } else if (target === "ring") {
      const name = ringFields.find(([off]) => off === watch[at + 5])?.[1] ?? `+${watch[at + 5]}`;
      field = `ring(${ROLES[watch[at + 6]]}).${name}`;
      // TAIL counts the bytes producers claimed: moved forward, it is a claim nobody writes,
      // which nothing tells from a producer stopped between claiming and writing its header
      // (README, "Corrupted channels"): a count, whose corruption may end in timeouts.
      cls = name.startsWith("TAIL") ? "count" : "ring";
    } else {
      field = `record[${watch[at + 6]}].${watch[at + 5] === CORE.RECORD_META ? "META" : "SIZE"}`;
      cls = "record";
    }
    writes.push({
      t: watch[at] / 10,
      target,
      field,
      class: cls,
      addr,
      old: watch[at + 2],
      value: watch[at + 3],
      how: HOWS[watch[at + 4] >> 4] ?? "?",
    });
  }
  return writes;
}

/** Clears the log for the next trial. */
export function clearLog(watch: Int32Array): void {
  Atomics.store(watch, W_LOG, 0);
}
