/**
 * The structured codec's decoder: bytes (usually a view of shared memory) to values that alias
 * none of them. Internal; the format is described in wire.ts.
 *
 * Its state, per thread and reused by every message: the message being read (and a DataView of
 * its memory, cached), the objects decoded so far (by id, for REF), the shape cache (kept across
 * messages), the stack of values of shaped objects and the stack of frames of nested containers,
 * all cut back to a bound after a large message (`release`); and the source of channel ends
 * (`withEndSource`).
 *
 * Two promises, whatever the bytes say:
 * - **A bounded call stack.** Past a few dozen levels, containers being filled wait on an
 *   explicit stack of frames, not on the call stack: any thread decodes any depth, including a
 *   worker with a smaller stack than the sender's.
 * - **Bounded by the message.** Nothing outside `bytes[start..end)` is read, and every count read
 *   from the message is checked against the bytes left (each element takes at least one) before
 *   anything is allocated for it: a lying count fails at once with the same error as a short
 *   message.
 *
 * @module
 */

import * as W from "./wire.ts";
import { ERROR_CTORS, VIEW_CTORS } from "./wire.ts";
import { latin1, textScratchBytes, utf16, utf8 } from "../_text.ts";
import { dataCloneError, defineProp, DOMExc, HAS_RESIZABLE } from "./intrinsics.ts";

// ---------------------------------------------------------------------------------------------
// Decoder state. `rb` is the caller's view (in shared memory); nothing decoded may alias it.

let rb: Uint8Array = new Uint8Array(0);
let rp = 0;
/** End of the message in `rb`: the decoder reads `rb[rp..rend)` and nothing else. */
let rend = 0;
/** Decoded objects by id, for REF. */
const refs: unknown[] = [];
let refCount = 0;
// Bounded retention: what a message may leave behind (see `release`).
/** Slots of `refs` and `vstack` kept. */
const KEPT = 1 << 14;
const FRAMES_KEPT = 256;
/**
 * Shapes a message may leave referenced in `shapes` (none with long keys: see `readShape`);
 * beyond that, `release` clears them.
 */
const SHAPES_KEPT = 64;
/** Set when a message made the frames outgrow FRAMES_KEPT, or read a shape too long to cache. */
let oversized = false;

/** Shapes defined in the message being decoded, by shape id. */
const shapes: (DecShape | undefined)[] = [];
let decShapeCount = 0;

interface DecShape {
  keys: string[];
  /** Builds the object from `n` values on the value stack; compiled once the shape recurs. */
  make: ((values: unknown[], base: number) => Record<string, unknown>) | null | undefined;
  hits: number;
  /** The key "__proto__" needs defineProperty; plain assignment would set the prototype. */
  special: boolean;
  bytes: Uint8Array;
}
const SHAPE_SLOTS = 128;
const SHAPE_BLOCK_MAX = 2048;
const decShapeCache: (DecShape | undefined)[] = new Array(SHAPE_SLOTS);

/** The error for a value of a type this runtime lacks (encoded where it has it). */
function lacks(type: string): DOMException {
  return dataCloneError(`A ${type} could not be decoded: this runtime has no ${type}`);
}

function corrupt(): never {
  throw new TypeError("Cannot decode structured value: the bytes are malformed");
}

/** Fails unless `n` elements of at least `size` bytes each fit in what is left of the message. */
function fits(n: number, size: number): void {
  if (n * size > rend - rp) corrupt();
}

/** Reads an unsigned LEB128 integer of at most 8 bytes (56 bits: every count and length). */
function readVarint(): number {
  let p = rp;
  if (p >= rend) corrupt();
  let b = rb[p++];
  if (b < 0x80) {
    rp = p;
    return b;
  }
  let n = b & 0x7f;
  let scale = 128;
  for (;;) {
    if (p >= rend || scale > 2 ** 49) corrupt();
    b = rb[p++];
    n += (b & 0x7f) * scale;
    if (b < 0x80) {
      rp = p;
      return n;
    }
    scale *= 128;
  }
}

/** Reads one byte (a kind or flags). */
function readByte(): number {
  if (rp >= rend) corrupt();
  return rb[rp++];
}

// Doubles are read through a DataView of the caller's memory, cached: channels decode from one
// view of their memory. The cache keeps that memory alive after its channel is gone, so only
// memory of up to VIEW_KEPT bytes is cached; doubles in larger memory are copied out first.
let rdv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));
/** The view `rdv` was made for. */
let rdvOf: Uint8Array | null = null;
const VIEW_KEPT = 4 << 20;
const f64Bytes = new Uint8Array(8);
const f64View = new DataView(f64Bytes.buffer);

/** The little-endian double at `b[p..p+8)`. */
function f64At(b: Uint8Array, p: number): number {
  if (b === rdvOf && rdv.byteLength === b.byteLength) return rdv.getFloat64(p, true);
  if (b.buffer.byteLength <= VIEW_KEPT) {
    rdvOf = b;
    rdv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return rdv.getFloat64(p, true);
  }
  const s = f64Bytes;
  s[0] = b[p];
  s[1] = b[p + 1];
  s[2] = b[p + 2];
  s[3] = b[p + 3];
  s[4] = b[p + 4];
  s[5] = b[p + 5];
  s[6] = b[p + 6];
  s[7] = b[p + 7];
  return f64View.getFloat64(0, true);
}

function readF64(): number {
  const p = rp;
  if (p + 8 > rend) corrupt();
  rp = p + 8;
  return f64At(rb, p);
}

function readAscii(n: number): string {
  const p = rp;
  if (p + n > rend) corrupt();
  rp = p + n;
  return n <= ASCII_CACHED && n >= 3 ? cachedAscii(rb, p, n) : latin1(rb, p, n);
}

// Short strings recur: the same names, tags and bodies message after message. Made once, they
// are kept in a small table, by their length and a few of their bytes (the last ones: names
// often differ at the end), and a string whose bytes all match the entry in its slot is that
// entry: no new string. (Strings are values: the same one twice is indistinguishable from two
// equal ones.) Bounded: ASCII_SLOTS strings of ASCII_CACHED characters at most.
const ASCII_CACHED = 32;
const ASCII_SLOTS = 1024;
const asciiCache: string[] = new Array(ASCII_SLOTS).fill("");

/** `latin1(b, p, n)` for 3 ≤ n ≤ ASCII_CACHED, through the cache. */
function cachedAscii(b: Uint8Array, p: number, n: number): string {
  const e = p + n;
  const slot = (n * 0x3b + b[p] * 0x11 + b[e - 3] * 0x65 + b[e - 2] * 0x0b + b[e - 1]) &
    (ASCII_SLOTS - 1);
  const s = asciiCache[slot];
  if (s.length === n) {
    let i = 0;
    while (i < n && s.charCodeAt(i) === b[p + i]) i++;
    if (i === n) return s;
  }
  return asciiCache[slot] = latin1(b, p, n);
}

function readUtf16(n: number): string {
  const p = rp;
  if (2 * n > rend - p) corrupt();
  rp = p + 2 * n;
  return utf16(rb, p, n);
}

function readUtf8(n: number): string {
  const p = rp;
  if (p + n > rend) corrupt();
  rp = p + n;
  return utf8(rb, p, n);
}

function readString(): string {
  const tag = readByte();
  if (tag === W.STR_ASCII) return readAscii(readVarint());
  if (tag === W.STR_UTF16) return readUtf16(readVarint());
  if (tag === W.STR_UTF8) {
    const p = rp;
    if (p + 4 > rend) corrupt();
    rp = p + 4;
    const b = rb;
    return readUtf8(b[p] + b[p + 1] * 0x100 + b[p + 2] * 0x10000 + b[p + 3] * 0x1000000);
  }
  return corrupt();
}

/** Largest BigInt V8 makes: 2^30 bits. */
const MAX_BIGINT_BYTES = 2 ** 27;

function readBigInt(): bigint {
  const sign = readByte();
  const len = readVarint();
  const p = rp;
  if (sign > 1 || len > rend - p || len > MAX_BIGINT_BYTES) corrupt();
  rp = p + len;
  let n: bigint;
  if (len <= 6) {
    let x = 0;
    for (let i = 0; i < len; i++) x = x * 256 + rb[p + i];
    n = BigInt(x);
  } else {
    // Through hexadecimal: linear in V8 (building it 64 bits at a time was quadratic).
    n = BigInt("0x" + hexOf(rb, p, len));
  }
  return sign === 1 ? -n : n;
}

const toHex = (Uint8Array.prototype as { toHex?: () => string }).toHex;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The bytes `b[p..p+n)` in lowercase hexadecimal. */
function hexOf(b: Uint8Array, p: number, n: number): string {
  if (toHex !== undefined) return toHex.call(b.subarray(p, p + n));
  let s = "";
  for (let i = 0; i < n; i++) s += HEX[b[p + i]];
  return s;
}

function readShape(): DecShape {
  const n = readVarint();
  const blockLen = readVarint();
  const start = rp;
  if (blockLen > rend - start || 2 * n > blockLen) corrupt(); // a key takes 2 bytes or more
  const b = rb;
  const h = blockLen === 0
    ? n
    : n * 31 + blockLen * 17 + b[start + (blockLen > 2 ? 2 : 0)] * 7 + b[start + blockLen - 1];
  const slot = h & (SHAPE_SLOTS - 1);
  const cached = decShapeCache[slot];
  if (cached !== undefined && cached.bytes.length === blockLen && cached.keys.length === n) {
    const cb = cached.bytes;
    let i = 0;
    while (i < blockLen && cb[i] === b[start + i]) i++;
    if (i === blockLen) {
      rp = start + blockLen;
      return cached;
    }
  }
  const keys: string[] = new Array(n);
  let special = false;
  const end = rend;
  rend = start + blockLen; // the keys stay inside their block
  try {
    for (let i = 0; i < n; i++) {
      const k = readString();
      keys[i] = k;
      if (k === "__proto__") special = true;
    }
  } finally {
    rend = end;
  }
  if (rp !== start + blockLen) corrupt();
  const shape: DecShape = { keys, special, bytes: b.slice(start, rp), make: undefined, hits: 0 };
  if (blockLen <= SHAPE_BLOCK_MAX) decShapeCache[slot] = shape;
  else oversized = true; // no huge keys kept alive: `release` forgets it after the message
  return shape;
}

function setProp(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") {
    defineProp(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  } else {
    o[k] = v;
  }
}

/** Values of shaped objects waiting to be assembled (see DecShape.make). */
const vstack: unknown[] = [];
let vsp = 0;
let vhigh = 0;
const ABSENT_VALUE = Symbol("absent");
const COMPILE_AFTER = 4;

function compileShape(shape: DecShape): void {
  const body = shape.keys.map((k, i) =>
    `${k === "__proto__" ? '["__proto__"]' : JSON.stringify(k)}: v[b + ${i}]`
  );
  try {
    shape.make = new Function("v", "b", `return { ${body.join(", ")} };`) as DecShape["make"];
  } catch {
    shape.make = null; // code generation disallowed: keep assembling by hand
  }
}

function readView(): ArrayBufferView {
  const kind = readByte();
  const flags = readByte();
  const offset = readVarint();
  const length = readVarint();
  const slot = refCount++;
  // The buffer comes next, written in full or as a reference to one decoded before.
  const tag = readByte();
  let buffer: unknown;
  if (tag === W.BUFFER) {
    buffer = readBuffer();
  } else if (tag === W.REF) {
    const id = readVarint();
    if (id >= refCount) corrupt();
    buffer = refs[id];
  }
  const C = VIEW_CTORS[kind];
  if (C === undefined || !(buffer instanceof ArrayBuffer)) {
    if (C === undefined && kind === W.VIEW_FLOAT16) throw lacks("Float16Array");
    corrupt();
  }
  let view: ArrayBufferView;
  try {
    view = flags & W.VIEW_LENGTH_TRACKING ? new C(buffer, offset) : new C(buffer, offset, length);
  } catch {
    return corrupt(); // out of the buffer's bounds, or misaligned
  }
  refs[slot] = view;
  return view;
}

function readBuffer(): ArrayBuffer {
  const flags = readByte();
  const max = flags & W.BUFFER_RESIZABLE ? readVarint() : -1;
  const n = readVarint();
  rp += 1 + readByte(); // alignment padding
  if (n > rend - rp || (max >= 0 && max < n)) corrupt();
  let b: ArrayBuffer;
  if (max >= 0) {
    if (!HAS_RESIZABLE) throw lacks("resizable ArrayBuffer");
    b = new ArrayBuffer(n, { maxByteLength: max });
    new Uint8Array(b).set(rb.subarray(rp, rp + n));
  } else {
    // A fresh, non-shared ArrayBuffer: one copy.
    b = new Uint8Array(rb.subarray(rp, rp + n)).buffer;
  }
  rp += n;
  refs[refCount++] = b;
  return b;
}

function readDOMException(): DOMException {
  const name = readString();
  const message = readString();
  const flags = readByte();
  if (DOMExc === undefined) throw lacks("DOMException");
  const e = new DOMExc(message, name);
  if (flags & W.ERROR_HAS_STACK) {
    // Deno's own deserializer defines the stack as a data property.
    defineProp(e, "stack", {
      value: readString(),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
  refs[refCount++] = e;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Nesting. A container met inside another is read by a nested call (`readNested`) while fewer
// than RECURSION are open on the call stack, which is what most messages need. Past that, the
// container's reader opens a frame — the container and how far its contents are read — and
// returns MORE without reading them; so does every reader below it on the call stack, each
// inserting its own frame under the frames of its contents (`openFrameAt`). Back at the bottom
// of the call stack, with the whole budget again, `readGraph`'s loop fills the innermost frame
// (`fill`, which reads nested containers the same way), stores the container in the frame below
// (`store`), and so on. So the call stack is bounded by a constant however deep the message
// goes: any thread decodes whatever the encoder wrote.

/** Values collected on `vstack`, then the object built in one step (`DecShape.make`). */
const F_SHAPED = 0;
/** An object created before its values are read (inside a cycle, or no compiled shape yet). */
const F_OBJECT = 1;
/** Key/value pairs: an OBJECT's properties, or an array's extra properties. */
const F_PAIRS = 2;
/** A dense array's elements (then its extra properties). */
const F_ARRAY = 3;
/** A sparse array's (index, value) entries (then its extra properties). */
const F_SPARSE = 4;
const F_MAP = 5;
const F_SET = 6;
/** An error waiting for its cause. */
const F_CAUSE = 7;

class Frame {
  kind = 0;
  // deno-lint-ignore no-explicit-any
  obj: any = null;
  shape: DecShape | null = null;
  /** The key of the value awaited (pairs, sparse index, a map entry's key once read). */
  key: unknown = undefined;
  /** Items read so far (values, pairs, entries; a map counts keys and values). */
  i = 0;
  /** Items in all. */
  n = 0;
  /** F_SHAPED: where the values start on `vstack`, the object's id, whether a key is absent. */
  base = 0;
  slot = 0;
  absent = false;
}

/** The frame stack; frames above `fsp` are kept for reuse, with no references left in them. */
const frames: Frame[] = [];
let fsp = 0;

/** Tags up to this one are values `readOne` reads whole, never opening a frame. */
const LEAF = W.REF;

/** Returned by readers that left a frame to fill. */
const MORE = Symbol("more");

/** Containers read by nested calls, at most: 32 × a few small stack frames. */
const RECURSION = 32;
let budget = RECURSION;

/**
 * Reads a value inside a container. With budget left, a container value is read whole by nested
 * calls; without, its reader opens its frame and returns MORE at once (see `shallow`).
 * @returns the value, or MORE: the value left frames to fill, and the caller must open its own
 * frame at the `fsp` it saw before the call (`openFrameAt`), under them, and return MORE.
 */
function readNested(): unknown {
  if (budget === 0) return readOne();
  budget--;
  const v = readOne();
  budget++;
  return v;
}

/** Whether a container's reader must leave its contents to `fill`: no nested call is left. */
function shallow(): boolean {
  return budget === 0;
}

/** Opens a frame at `at` (≤ fsp), moving the frames above it up by one. */
function openFrameAt(at: number, kind: number, obj: unknown, n: number): Frame {
  let f = frames[fsp];
  if (f === undefined) {
    f = new Frame();
    if (fsp >= FRAMES_KEPT) oversized = true;
  }
  for (let j = fsp; j > at; j--) frames[j] = frames[j - 1];
  frames[at] = f;
  fsp++;
  f.kind = kind;
  f.obj = obj;
  f.i = 0;
  f.n = n;
  return f;
}

function closeFrame(f: Frame): unknown {
  const obj = f.obj;
  f.obj = null;
  f.shape = null;
  f.key = undefined;
  fsp--;
  return obj;
}

function readShaped(shape: DecShape, cyclic: boolean): unknown {
  const make = shape.make;
  if (cyclic || !make) return readObject(shape);
  const slot = refCount++;
  const base = vsp;
  if (budget === 0) return openShaped(fsp, shape, base, slot, false);
  // Not inside a cycle: decode the values, then build the object in one step. (The rare paths
  // are functions of their own: this one stays small enough for V8 to inline its callees.)
  const end = base + shape.keys.length;
  let absent = false;
  while (vsp < end) {
    const b = rb;
    const p = rp;
    if (p >= rend) corrupt();
    const tag = b[p];
    if (tag === W.INT32) {
      // Inlined: the most common values in objects.
      if (p + 5 > rend) corrupt();
      rp = p + 5;
      vstack[vsp++] = b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16) | (b[p + 4] << 24);
    } else if (tag === W.STR_ASCII && p + 1 < rend && b[p + 1] < 0x80) {
      rp = p + 2;
      vstack[vsp++] = readAscii(b[p + 1]);
    } else if (tag === W.TRUE || tag === W.FALSE) {
      rp = p + 1;
      vstack[vsp++] = tag === W.TRUE;
    } else if (tag === W.ABSENT) {
      rp = p + 1;
      absent = true;
      vstack[vsp++] = ABSENT_VALUE;
    } else if (tag <= LEAF) {
      vstack[vsp++] = readOne();
    } else {
      const at = fsp;
      const v = readNested();
      if (v === MORE) return openShaped(at, shape, base, slot, absent);
      vstack[vsp++] = v;
    }
  }
  return refs[slot] = buildObject(shape, base, absent);
}

/** Opens the F_SHAPED frame of an object whose values from `vstack[base]` on are being read. */
function openShaped(at: number, shape: DecShape, base: number, slot: number, absent: boolean) {
  const f = openFrameAt(at, F_SHAPED, null, shape.keys.length);
  f.shape = shape;
  f.base = base;
  f.slot = slot;
  f.absent = absent;
  return MORE;
}

/** An object created before its values are read: inside a cycle, or no compiled shape yet. */
function readObject(shape: DecShape): unknown {
  if (shape.make === undefined && ++shape.hits >= COMPILE_AFTER) compileShape(shape);
  const o = {};
  refs[refCount++] = o;
  const f = openFrameAt(fsp, F_OBJECT, o, shape.keys.length);
  f.shape = shape;
  return shallow() ? MORE : fill(f);
}

/** Builds the object of `shape` from its values on `vstack[base..]`, and pops them. */
function buildObject(shape: DecShape, base: number, absent: boolean): Record<string, unknown> {
  const keys = shape.keys;
  const n = keys.length;
  if (vsp > vhigh) vhigh = vsp;
  let o: Record<string, unknown>;
  if (absent) {
    o = {};
    for (let i = 0; i < n; i++) {
      const v = vstack[base + i];
      if (v !== ABSENT_VALUE) setProp(o, keys[i], v);
    }
  } else {
    o = shape.make!(vstack, base);
  }
  vsp = base;
  return o;
}

function readArray(): unknown {
  const len = readVarint();
  fits(len + 1, 1); // each element (or hole), and the count of extra properties
  const a: unknown[] = new Array(len);
  refs[refCount++] = a;
  if (shallow()) {
    openFrameAt(fsp, F_ARRAY, a, len);
    return MORE;
  }
  for (let i = 0; i < len;) {
    if (rp >= rend) corrupt();
    const tag = rb[rp];
    if (tag === W.HOLE) {
      rp++;
      i++;
    } else if (tag === W.STR_ASCII && rp + 1 < rend && rb[rp + 1] < 0x80) {
      // Inlined, as in readShaped: arrays of short strings (tags, names) are common.
      rp += 2;
      a[i++] = readAscii(rb[rp - 1]);
    } else if (tag <= LEAF) {
      a[i++] = readOne();
    } else {
      const at = fsp;
      const v = readNested();
      if (v === MORE) {
        openFrameAt(at, F_ARRAY, a, len).i = i;
        return MORE;
      }
      a[i++] = v;
    }
  }
  const extras = readVarint();
  if (extras === 0) return a;
  fits(extras, 2);
  return openAndFill(F_PAIRS, a, extras);
}

function readMap(): unknown {
  const count = readVarint();
  fits(count, 2);
  const m = new Map();
  refs[refCount++] = m;
  if (shallow()) {
    openFrameAt(fsp, F_MAP, m, 2 * count);
    return MORE;
  }
  for (let i = 0; i < count; i++) {
    let at = fsp;
    const k = readNested();
    if (k === MORE) {
      openFrameAt(at, F_MAP, m, 2 * count).i = 2 * i;
      return MORE;
    }
    at = fsp;
    const v = readNested();
    if (v === MORE) {
      const f = openFrameAt(at, F_MAP, m, 2 * count);
      f.i = 2 * i + 1;
      f.key = k;
      return MORE;
    }
    m.set(k, v);
  }
  return m;
}

function readSet(): unknown {
  const count = readVarint();
  fits(count, 1);
  const s = new Set();
  refs[refCount++] = s;
  if (shallow()) {
    openFrameAt(fsp, F_SET, s, count);
    return MORE;
  }
  for (let i = 0; i < count; i++) {
    const at = fsp;
    const v = readNested();
    if (v === MORE) {
      openFrameAt(at, F_SET, s, count).i = i;
      return MORE;
    }
    s.add(v);
  }
  return s;
}

/** Stores `v`, a container finished by `readGraph`'s loop, where `f` awaited it. */
function store(f: Frame, v: unknown): void {
  switch (f.kind) {
    case F_SHAPED:
      vstack[vsp++] = v;
      return;
    case F_OBJECT: {
      const shape = f.shape!;
      const k = shape.keys[f.i++];
      if (shape.special) setProp(f.obj, k, v);
      else f.obj[k] = v;
      return;
    }
    case F_PAIRS:
      setProp(f.obj, f.key as string, v);
      f.i++;
      return;
    case F_ARRAY:
      f.obj[f.i++] = v;
      return;
    case F_SPARSE:
      f.obj[f.key as number] = v;
      f.i++;
      return;
    case F_MAP:
      if ((f.i++ & 1) === 0) f.key = v;
      else f.obj.set(f.key, v);
      return;
    case F_SET:
      f.obj.add(v);
      f.i++;
      return;
    default: // F_CAUSE
      defineProp(f.obj, "cause", {
        value: v,
        writable: true,
        enumerable: false,
        configurable: true,
      });
      f.i++;
  }
}

/**
 * Reads the rest of the contents of `f`, the top frame; returns MORE when one of its values
 * left a frame above it, else closes `f` and returns its container.
 */
function fill(f: Frame): unknown {
  for (;;) {
    switch (f.kind) {
      case F_SHAPED: {
        const end = f.base + f.n;
        while (vsp < end) {
          if (rp >= rend) corrupt();
          let v: unknown;
          if (rb[rp] === W.ABSENT) {
            rp++;
            f.absent = true;
            v = ABSENT_VALUE;
          } else if ((v = readNested()) === MORE) {
            return MORE;
          }
          vstack[vsp++] = v;
        }
        const o = buildObject(f.shape!, f.base, f.absent);
        refs[f.slot] = f.obj = o;
        return closeFrame(f);
      }
      case F_OBJECT: {
        const shape = f.shape!;
        const keys = shape.keys;
        const o = f.obj;
        const n = f.n;
        let i = f.i;
        while (i < n) {
          if (rp >= rend) corrupt();
          if (rb[rp] === W.ABSENT) {
            rp++;
            i++;
            continue;
          }
          const v = readNested();
          if (v === MORE) {
            f.i = i;
            return MORE;
          }
          const k = keys[i++];
          if (shape.special) setProp(o, k, v);
          else o[k] = v;
        }
        return closeFrame(f);
      }
      case F_PAIRS: {
        const o = f.obj;
        const n = f.n;
        let i = f.i;
        while (i < n) {
          const k = readString();
          if (rp >= rend) corrupt();
          if (rb[rp] === W.ABSENT) {
            rp++;
            i++;
            continue;
          }
          const v = readNested();
          if (v === MORE) {
            f.i = i;
            f.key = k;
            return MORE;
          }
          setProp(o, k, v);
          i++;
        }
        return closeFrame(f);
      }
      case F_ARRAY: {
        const a = f.obj;
        const n = f.n;
        let i = f.i;
        while (i < n) {
          if (rp >= rend) corrupt();
          if (rb[rp] === W.HOLE) {
            rp++;
            i++;
            continue;
          }
          const v = readNested();
          if (v === MORE) {
            f.i = i;
            return MORE;
          }
          a[i++] = v;
        }
        f.i = i;
        if (!startExtras(f)) return closeFrame(f);
        continue;
      }
      case F_SPARSE: {
        const a = f.obj;
        const len = a.length;
        const n = f.n;
        let i = f.i;
        while (i < n) {
          const index = readVarint();
          if (index >= len) corrupt();
          if (rp >= rend) corrupt();
          if (rb[rp] === W.ABSENT) {
            rp++;
            i++;
            continue;
          }
          const v = readNested();
          if (v === MORE) {
            f.i = i;
            f.key = index;
            return MORE;
          }
          a[index] = v;
          i++;
        }
        f.i = i;
        if (!startExtras(f)) return closeFrame(f);
        continue;
      }
      default: // F_MAP, F_SET, F_CAUSE: values only
        while (f.i < f.n) {
          const v = readNested();
          if (v === MORE) return MORE;
          store(f, v);
        }
        return closeFrame(f);
    }
  }
}

/**
 * Reads the count of an array's extra properties; if there are any, goes on with them as pairs.
 * @returns whether there are.
 */
function startExtras(f: Frame): boolean {
  const count = readVarint();
  if (count === 0) return false;
  fits(count, 2);
  f.kind = F_PAIRS;
  f.i = 0;
  f.n = count;
  return true;
}

/** Opens the frame of a container whose contents `fill` reads, and reads them (budget allowing). */
function openAndFill(kind: number, obj: unknown, n: number): unknown {
  const f = openFrameAt(fsp, kind, obj, n);
  return shallow() ? MORE : fill(f);
}

/** Reads one value; returns it, or MORE when it left frames to fill. */
function readOne(): unknown {
  if (rp >= rend) corrupt();
  const tag = rb[rp++];
  switch (tag) {
    case W.INT32: {
      const b = rb;
      const p = rp;
      if (p + 4 > rend) corrupt();
      rp = p + 4;
      return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    }
    case W.STR_ASCII:
      return readAscii(readVarint());
    case W.SHAPE_REF: {
      const id = readVarint();
      if (id >= decShapeCount) corrupt();
      return readShaped(shapes[id]!, false);
    }
    case W.SHAPE_NEW: {
      const shape = readShape();
      shapes[decShapeCount++] = shape;
      return readShaped(shape, false);
    }
    case W.SHAPE_REF + W.SHAPE_CYCLIC: {
      const id = readVarint();
      if (id >= decShapeCount) corrupt();
      return readShaped(shapes[id]!, true);
    }
    case W.SHAPE_NEW + W.SHAPE_CYCLIC: {
      const shape = readShape();
      shapes[decShapeCount++] = shape;
      return readShaped(shape, true);
    }
    case W.FLOAT64:
      return readF64();
    case W.UNDEFINED:
      return undefined;
    case W.NULL:
      return null;
    case W.FALSE:
      return false;
    case W.TRUE:
      return true;
    case W.STR_UTF16:
      return readUtf16(readVarint());
    case W.STR_UTF8: {
      rp--;
      return readString();
    }
    case W.BIGINT:
      return readBigInt();
    case W.REF: {
      const id = readVarint();
      if (id >= refCount) corrupt();
      return refs[id];
    }
    case W.OBJECT: {
      const count = readVarint();
      fits(count, 3); // a key takes 2 bytes or more, a value 1 or more
      const o = {};
      refs[refCount++] = o;
      return openAndFill(F_PAIRS, o, count);
    }
    case W.ARRAY:
      return readArray();
    case W.SPARSE: {
      const len = readVarint();
      if (len > 0xffffffff) corrupt();
      const a: unknown[] = [];
      a.length = len; // no storage: a sparse array
      refs[refCount++] = a;
      const count = readVarint();
      fits(count, 2); // an index and a value
      return openAndFill(F_SPARSE, a, count);
    }
    case W.DATE: {
      const d = new Date(readF64());
      refs[refCount++] = d;
      return d;
    }
    case W.REGEXP: {
      const source = readString();
      const flags = readString();
      let r: RegExp;
      try {
        r = new RegExp(source, flags);
      } catch {
        return corrupt();
      }
      refs[refCount++] = r;
      return r;
    }
    case W.MAP:
      return readMap();
    case W.SET:
      return readSet();
    case W.BUFFER:
      return readBuffer();
    case W.VIEW:
      return readView();
    case W.ERROR: {
      const kind = readByte();
      const flags = readByte();
      const C = ERROR_CTORS[kind];
      if (C === undefined) corrupt();
      const message = flags & W.ERROR_HAS_MESSAGE ? readString() : undefined;
      const stack = flags & W.ERROR_HAS_STACK ? readString() : undefined;
      const e = new C(message);
      e.stack = stack;
      refs[refCount++] = e;
      if (flags & W.ERROR_HAS_CAUSE) return openAndFill(F_CAUSE, e, 1);
      return e;
    }
    case W.DOMEXC:
      return readDOMException();
    case W.BOX_NUMBER: {
      const o = new Number(readF64());
      refs[refCount++] = o;
      return o;
    }
    case W.BOX_STRING: {
      const o = new String(readString());
      refs[refCount++] = o;
      return o;
    }
    case W.BOX_TRUE:
    case W.BOX_FALSE: {
      const o = new Boolean(tag === W.BOX_TRUE);
      refs[refCount++] = o;
      return o;
    }
    case W.BOX_BIGINT: {
      const o = Object(readBigInt());
      refs[refCount++] = o;
      return o;
    }
    case W.END: {
      const index = readVarint();
      if (endSource === null) corrupt();
      const end = endSource(index);
      refs[refCount++] = end; // the id the encoder gave the end: a REF to it is this value
      return end;
    }
    default:
      return corrupt();
  }
}

/** The source of `withEndSource`, or null: an END tag is malformed. */
let endSource: ((index: number) => unknown) | null = null;

/**
 * Runs `fn` with `source(index)` supplying the value for every END tag the structured decoder
 * meets. Outside such a call, an END tag is a corrupt message (the decoder's usual error for
 * malformed input). Nested calls restore the outer source.
 *
 * `source` runs in the middle of a decoding: it must not decode.
 */
export function withEndSource<R>(source: (index: number) => unknown, fn: () => R): R {
  const outer = endSource;
  endSource = source;
  try {
    return fn();
  } finally {
    endSource = outer;
  }
}

/** Reads a whole value graph, depth first, with a bounded call stack. */
function readGraph(): unknown {
  let v = readOne();
  while (fsp !== 0) {
    const f = frames[fsp - 1];
    if (v !== MORE) store(f, v);
    v = fill(f);
  }
  return v;
}

export function decode(bytes: Uint8Array): unknown {
  return decodeFrom(bytes, 0, bytes.length);
}

export function decodeFrom(bytes: Uint8Array, start: number, end: number): unknown {
  const length = end - start;
  if (!(start >= 0 && length > 0 && end <= bytes.length)) corrupt();
  const tag = bytes[start];
  // Fast paths: a lone number.
  if (tag === W.INT32 && length === 5) {
    return bytes[start + 1] | (bytes[start + 2] << 8) | (bytes[start + 3] << 16) |
      (bytes[start + 4] << 24);
  }
  if (tag === W.FLOAT64 && length === 9) return f64At(bytes, start + 1);
  return decodeValue(bytes, start, end);
}

function decodeValue(bytes: Uint8Array, start: number, end: number): unknown {
  rb = bytes;
  rp = start;
  rend = end;
  refCount = 0;
  decShapeCount = 0;
  let value: unknown;
  try {
    value = readGraph();
    if (rp !== end) corrupt();
  } finally {
    const objects = refCount;
    for (let i = 0; i < objects; i++) refs[i] = undefined;
    refCount = 0;
    const high = vsp > vhigh ? vsp : vhigh;
    for (let i = 0; i < high; i++) vstack[i] = undefined;
    vsp = vhigh = 0;
    if (fsp !== 0 || budget !== RECURSION) abandon(); // left by a throw
    rb = EMPTY;
    if (objects > KEPT || high > KEPT || decShapeCount > SHAPES_KEPT || oversized) release();
  }
  return value;
}

/** After a throw: closes the frames left open, and gives the whole budget back. */
function abandon(): void {
  while (fsp > 0) closeFrame(frames[fsp - 1]);
  budget = RECURSION;
}

/**
 * After a large message (many objects, shapes or frames): bounded retention, so that a message
 * of a million objects leaves no million-slot arrays behind.
 */
function release(): void {
  for (let i = 0; i < shapes.length; i++) shapes[i] = undefined;
  if (shapes.length > KEPT) shapes.length = KEPT;
  if (refs.length > KEPT) refs.length = KEPT;
  if (vstack.length > KEPT) vstack.length = KEPT;
  if (frames.length > FRAMES_KEPT) frames.length = FRAMES_KEPT;
  oversized = false;
}

/** Bytes the decoder keeps between messages (arrays of references, frames, text scratch). */
export function scratchBytes(): number {
  return 8 * (refs.length + vstack.length + shapes.length) + 64 * frames.length +
    ASCII_SLOTS * (8 + 16 + ASCII_CACHED) + textScratchBytes() +
    (rdvOf === null ? 0 : rdvOf.buffer.byteLength);
}
const EMPTY = new Uint8Array(0);
