/**
 * The structured codec's encoder: values to bytes in one growable scratch buffer, or in place in
 * a channel's ring (`encodeInto`, for in_place.ts). Internal; the format is described in wire.ts.
 *
 * Its state, per thread and reused by every message: the scratch buffer (and the views of it that
 * `encode` returns), the identity of the objects met, the shape cache (kept across messages) and
 * the stack of frames of nested containers, and the sink of channel ends (`withEndSink`). No other
 * module touches it: the in-place path goes through `encodeInto` and `encoding`.
 *
 * @module
 */

import { types } from "./brands.ts";
import * as W from "./wire.ts";
import { ERROR_KIND, VIEW_DATAVIEW, VIEW_KIND } from "./wire.ts";
import { endCloneError, isEnd } from "../../_brand.ts";
import {
  abByteLength,
  abDetached,
  abMaxByteLength,
  abResizable,
  ArrayProto,
  bigintValueOf,
  booleanValueOf,
  dataCloneError,
  dateGetTime,
  DOMEXC_UNMARKED,
  domExceptionMessage,
  domExceptionName,
  dvBuffer,
  dvByteLength,
  dvByteOffset,
  getOwnDesc,
  getProto,
  hasOwn,
  HOST_OBJECT,
  isArray,
  isDOMException,
  isError,
  isLengthTracking,
  isProxy,
  isRejected,
  isWasmModuleOrMemory,
  mapForEach,
  NOT_SERIALIZABLE,
  numberValueOf,
  objectKeys,
  ObjectProto,
  regexpFlags,
  regexpSource,
  setForEach,
  stringValueOf,
  taBuffer,
  taByteOffset,
  taLength,
  taTag,
  uncloneable,
} from "./intrinsics.ts";

// ---------------------------------------------------------------------------------------------
// Encoder state: one growable scratch buffer, reused by every call to `encode`.

let buf: Uint8Array = new Uint8Array(4096);
let dv: DataView = new DataView(buf.buffer);
let pos = 0;
/** Cached `buf.subarray(0, n)` views for small n, so that small messages allocate nothing. */
let outViews: (Uint8Array | undefined)[] = [];
const OUT_VIEWS = 256;

/** `buf.subarray(0, 5)` and `(0, 9)`: a lone number's encoding. */
let out5: Uint8Array | undefined;
let out9: Uint8Array | undefined;

/** Set while `encodeInto` writes into a channel's ring: there is no growing that. */
let direct = false;

/**
 * The scratch buffer grows with the messages, up to this size; a larger message is written into
 * a buffer of its own, which its returned view alone keeps alive: one 100 MB string must not
 * hold 100 MB (or the 512 MiB its worst case asked for) for as long as the thread lives.
 */
const SCRATCH_KEPT = 4 << 20;
/** The scratch buffer to go back to after a message outgrew SCRATCH_KEPT, or null. */
let kept: Uint8Array | null = null;
/** Set when a message made the scratch, the per-object flags or the frames outgrow their bound. */
let oversized = false;

function grow(need: number): void {
  if (direct) throw new Error("Internal error: a value outgrew the bound measured for it");
  let cap = buf.length * 2;
  while (cap < need) cap *= 2;
  const next = new Uint8Array(cap);
  next.set(buf.subarray(0, pos));
  if (cap > SCRATCH_KEPT && kept === null) {
    kept = buf;
    oversized = true;
  }
  setBuffer(next);
}

function setBuffer(b: Uint8Array): void {
  buf = b;
  dv = new DataView(b.buffer);
  outViews = [];
  out5 = out9 = undefined;
}

/** After a message: back to the kept scratch if the message outgrew it; bounded caches. */
function release(): void {
  if (kept !== null) {
    setBuffer(kept);
    kept = null;
  }
  if (open.length > OPEN_KEPT) open = new Uint8Array(256);
  if (frames.length > FRAMES_KEPT) frames.length = FRAMES_KEPT;
  oversized = false;
}
const OPEN_KEPT = 1 << 16;
const FRAMES_KEPT = 256;

/** Bytes the encoder keeps between messages (scratch buffer, per-object flags, frames). */
export function scratchBytes(): number {
  return buf.length + open.length + 64 * frames.length;
}

function output(): Uint8Array {
  const n = pos;
  if (n < OUT_VIEWS) {
    let v = outViews[n];
    if (v === undefined) v = outViews[n] = buf.subarray(0, n);
    return v;
  }
  return buf.subarray(0, n);
}

function writeVarint(n: number): void {
  if (pos + 8 > buf.length) grow(pos + 8);
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
}

function writeTag(tag: number): void {
  if (pos >= buf.length) grow(pos + 1);
  buf[pos++] = tag;
}

function writeF64(tag: number, n: number): void {
  if (pos + 9 > buf.length) grow(pos + 9);
  buf[pos] = tag;
  dv.setFloat64(pos + 1, n, true);
  pos += 9;
}

function writeNumber(n: number): void {
  if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
    if (pos + 5 > buf.length) grow(pos + 5);
    const p = pos;
    buf[p] = W.INT32;
    buf[p + 1] = n;
    buf[p + 2] = n >> 8;
    buf[p + 3] = n >> 16;
    buf[p + 4] = n >> 24;
    pos = p + 5;
  } else {
    writeF64(W.FLOAT64, n);
  }
}

const textEncoder = new TextEncoder();
const SHORT_STRING = 64;

function writeString(s: string): void {
  const n = s.length;
  if (n < SHORT_STRING) {
    if (pos + 2 + 2 * n > buf.length) grow(pos + 2 + 2 * n);
    const start = pos;
    const b = buf;
    let p = start + 2;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        // Not ASCII: code units, two bytes each.
        b[start] = W.STR_UTF16;
        b[start + 1] = n;
        p = start + 2;
        for (let j = 0; j < n; j++) {
          const u = s.charCodeAt(j);
          b[p] = u;
          b[p + 1] = u >> 8;
          p += 2;
        }
        pos = p;
        return;
      }
      b[p++] = c;
    }
    b[start] = W.STR_ASCII;
    b[start + 1] = n;
    pos = p;
  } else if (s.isWellFormed()) {
    if (pos + 5 + 3 * n > buf.length) grow(pos + 5 + 3 * n);
    buf[pos] = W.STR_UTF8;
    const { written } = textEncoder.encodeInto(s, buf.subarray(pos + 5));
    dv.setUint32(pos + 1, written, true);
    pos += 5 + written;
  } else {
    writeTag(W.STR_UTF16);
    writeVarint(n);
    if (pos + 2 * n > buf.length) grow(pos + 2 * n);
    const b = buf;
    let p = pos;
    for (let j = 0; j < n; j++) {
      const u = s.charCodeAt(j);
      b[p] = u;
      b[p + 1] = u >> 8;
      p += 2;
    }
    pos = p;
  }
}

function writeBigInt(tag: number, n: bigint): void {
  const negative = n < 0n;
  const m = negative ? -n : n;
  if (m <= 0x1fffffffffffffn) {
    // Up to 2^53 - 1: the bytes of a double.
    let x = Number(m);
    let len = 0;
    for (let t = x; t > 0; t = Math.floor(t / 256)) len++;
    if (pos + 3 + len > buf.length) grow(pos + 3 + len);
    buf[pos] = tag;
    buf[pos + 1] = negative ? 1 : 0;
    buf[pos + 2] = len;
    pos += 3;
    for (let j = len - 1; j >= 0; j--) {
      buf[pos + j] = x % 256;
      x = Math.floor(x / 256);
    }
    pos += len;
    return;
  }
  // Through hexadecimal: V8 converts a BigInt to and from a power-of-two radix in linear time
  // (shifting 64 bits off at a time was quadratic: 1.6 s for 256 KiB).
  let hex = m.toString(16);
  if (hex.length & 1) hex = "0" + hex;
  const len = hex.length >> 1;
  writeTag(tag);
  writeTag(negative ? 1 : 0);
  writeVarint(len);
  if (pos + len > buf.length) grow(pos + len);
  hexInto(hex, buf, pos);
  pos += len;
}

const setFromHex = (Uint8Array.prototype as { setFromHex?: (hex: string) => unknown }).setFromHex;

/** Writes the bytes of `hex` (lowercase, even length) at `b[p..]`. */
function hexInto(hex: string, b: Uint8Array, p: number): void {
  const len = hex.length >> 1;
  if (setFromHex !== undefined) {
    setFromHex.call(b.subarray(p, p + len), hex);
    return;
  }
  for (let i = 0; i < len; i++) {
    const hi = hex.charCodeAt(2 * i);
    const lo = hex.charCodeAt(2 * i + 1);
    b[p + i] = ((hi > 57 ? hi - 87 : hi - 48) << 4) | (lo > 57 ? lo - 87 : lo - 48);
  }
}

function writeBytes(src: Uint8Array): void {
  const n = src.length;
  if (pos + n > buf.length) grow(pos + n);
  if (n <= 32) {
    const b = buf;
    for (let i = 0; i < n; i++) b[pos + i] = src[i];
  } else {
    buf.set(src, pos);
  }
  pos += n;
}

// Object identity: the first objects go in a small array searched linearly, then in a Set while
// no object has been met twice (one hash operation per object), then in a Map from object to id.
const SMALL_SEEN = 24;
let seen: object[] = [];
let seenCount = 0;
let seenSet: Set<object> | null = null;
let seenMap: Map<object, number> | null = null;

/**
 * Per object id while its values are being written: 1, or 2 once a REF to it was written from
 * inside (a cycle through it). Lets shaped objects be built in one step when decoded.
 */
let open = new Uint8Array(256);

/** Returns the id of `o` if it was already written, or -1 after giving it the next id. */
function identify(o: object): number {
  const set = seenSet;
  if (set !== null) {
    const n = set.size;
    set.add(o);
    if (set.size !== n) {
      seenCount = n + 1;
      return -1;
    }
    return repeated(set, o);
  }
  if (seenMap === null) {
    const n = seenCount;
    for (let i = 0; i < n; i++) if (seen[i] === o) return i;
    if (n < SMALL_SEEN) {
      seen[n] = o;
      seenCount = n + 1;
      return -1;
    }
    const next = seenSet = new Set();
    for (let i = 0; i < n; i++) next.add(seen[i]);
    next.add(o);
    seenCount = n + 1;
    return -1;
  }
  const id = seenMap.get(o);
  if (id !== undefined) return id;
  seenMap.set(o, seenCount++);
  return -1;
}

/** The first object met twice: from now on, ids come from a Map (a Set keeps insertion order). */
function repeated(set: Set<object>, o: object): number {
  const map = new Map<object, number>();
  let i = 0;
  for (const x of set) map.set(x, i++);
  seenSet = null;
  seenMap = map;
  return map.get(o)!;
}

// Shapes: the key list of a plain object, cached across messages with its encoded bytes; within
// one message a shape is written once (SHAPE_NEW) and referred to by number (SHAPE_REF).
interface EncShape {
  keys: string[];
  bytes: Uint8Array;
  epoch: number;
  id: number;
}
const SHAPE_SLOTS = 128;
const MAX_SHAPE_KEYS = 32;
const encShapes: (EncShape | undefined)[] = new Array(SHAPE_SLOTS);
let epoch = 0;
let shapeCount = 0;

function shapeSlot(keys: string[], n: number): number {
  const k0 = keys[0];
  const kn = keys[n - 1];
  return (n * 31 + k0.length * 7 + k0.charCodeAt(0) * 3 + kn.charCodeAt(kn.length - 1)) &
    (SHAPE_SLOTS - 1);
}

/** The shape written last: consecutive objects usually share it, and it needs no hashing. */
let lastShape: EncShape | undefined;

/**
 * Writes the shape of an object with keys `keys`.
 * @returns false, having written nothing, for keys too long to cache (SHAPE_CHARS_MAX): such an
 * object is written with the OBJECT tag.
 */
function writeShape(keys: string[], n: number): boolean {
  const e = lastShape;
  if (e !== undefined) {
    const ek = e.keys;
    if (ek.length === n) {
      let i = 0;
      while (i < n && ek[i] === keys[i]) i++;
      if (i === n) {
        if (e.epoch === epoch) {
          const id = e.id;
          if (id < 128) {
            if (pos + 2 > buf.length) grow(pos + 2);
            buf[pos] = W.SHAPE_REF;
            buf[pos + 1] = id;
            pos += 2;
            return true;
          }
        }
        writeShapeEntry(e);
        return true;
      }
    }
  }
  const found = findShape(keys, n);
  if (found === undefined) return false;
  lastShape = found;
  writeShapeEntry(found);
  return true;
}

/**
 * Shapes whose keys are longer in all are not cached (nor kept alive by the cache): their
 * objects are written with the OBJECT tag.
 */
const SHAPE_CHARS_MAX = 512;

function findShape(keys: string[], n: number): EncShape | undefined {
  const slot = shapeSlot(keys, n);
  let e = encShapes[slot];
  if (e !== undefined) {
    const ek = e.keys;
    if (ek.length === n) {
      let i = 0;
      while (i < n && ek[i] === keys[i]) i++;
      if (i !== n) e = undefined;
    } else {
      e = undefined;
    }
  }
  if (e === undefined) {
    let chars = 0;
    for (let i = 0; i < n; i++) chars += keys[i].length;
    if (chars > SHAPE_CHARS_MAX) return undefined;
    // Encode the key block once: count, byte length, keys.
    const start = pos;
    for (let i = 0; i < n; i++) writeString(keys[i]);
    const block = buf.slice(start, pos);
    pos = start;
    const head = new Uint8Array(10);
    let h = 0;
    for (const v of [n, block.length]) {
      let x = v;
      while (x > 0x7f) {
        head[h++] = (x & 0x7f) | 0x80;
        x = Math.floor(x / 128);
      }
      head[h++] = x;
    }
    const bytes = new Uint8Array(h + block.length);
    bytes.set(head.subarray(0, h));
    bytes.set(block, h);
    e = { keys: keys.slice(), bytes, epoch: -1, id: 0 };
    encShapes[slot] = e;
  }
  return e;
}

function writeShapeEntry(e: EncShape): void {
  if (e.epoch === epoch) {
    writeTag(W.SHAPE_REF);
    writeVarint(e.id);
  } else {
    e.epoch = epoch;
    e.id = shapeCount++;
    writeTag(W.SHAPE_NEW);
    writeBytes(e.bytes);
  }
}

// deno-lint-ignore no-explicit-any
function writePlainObject(o: any, checkOwn: boolean): void {
  const self = seenCount - 1; // the id identify() just gave `o`
  const keys = objectKeys(o);
  const n = keys.length;
  if (n > 0 && n <= MAX_SHAPE_KEYS) {
    const tagAt = pos;
    if (self >= open.length) {
      const next = new Uint8Array(open.length * 2 > self ? open.length * 2 : self + 1);
      next.set(open);
      open = next;
      if (next.length > OPEN_KEPT) oversized = true;
    }
    open[self] = 1;
    if (!writeShape(keys, n)) {
      open[self] = 0;
      return writeObject(o, keys, n);
    }
    // The values, as `next` writes them when the object has a frame.
    for (let i = 0; i < n;) {
      const k = keys[i++];
      const v = o[k];
      // Primitives first: a property read yielding a number or string is present (a getter
      // deleting a later key makes it read as undefined, unless a prototype has the key: hence
      // checkOwn for objects not inheriting from Object.prototype).
      if (!checkOwn) {
        if (typeof v === "number") {
          writeNumber(v);
          continue;
        }
        if (typeof v === "string") {
          writeString(v);
          continue;
        }
        if (typeof v === "boolean") {
          writeTag(v ? W.TRUE : W.FALSE);
          continue;
        }
      }
      // A getter may have deleted a later key: V8 skips keys no longer present.
      if ((checkOwn || v === undefined || typeof v === "function") && !hasOwn(o, k)) {
        writeTag(W.ABSENT);
      } else if (typeof v !== "object" || v === null) {
        writeValue(v);
      } else {
        const at = fsp;
        if (writeNested(v)) continue;
        const f = openFrameAt(at, E_SHAPED, o, keys, n);
        f.i = i;
        f.checkOwn = checkOwn;
        f.self = self;
        f.at = tagAt;
        return;
      }
    }
    if (open[self] === 2) buf[tagAt] += W.SHAPE_CYCLIC;
    open[self] = 0;
  } else {
    writeObject(o, keys, n);
  }
}

/** Writes an object with the OBJECT tag: its keys with its values. */
// deno-lint-ignore no-explicit-any
function writeObject(o: any, keys: string[], n: number): void {
  writeTag(W.OBJECT);
  writeVarint(n);
  if (n > 0) fill(openFrameAt(fsp, E_PAIRS, o, keys, n));
}

/** Whether `k` is an array index: the canonical form of an integer below 2^32 - 1. */
function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  const n = +k;
  return n < 4294967295 && n % 1 === 0 && String(n) === k; // not "1.5", "01", "1e3"
}

/** `String(i)` for the indices of small arrays, made once. */
const INDEX_KEYS: string[] = Array.from({ length: 64 }, (_, i) => String(i));

function indexKey(i: number): string {
  return i < 64 ? INDEX_KEYS[i] : String(i);
}

// deno-lint-ignore no-explicit-any
function writeArray(a: any[]): void {
  const len = a.length;
  const keys = objectKeys(a);
  const kn = keys.length;
  if (kn === len && (len === 0 || keys[len - 1] === indexKey(len - 1))) {
    // Packed, no extra properties.
    writeTag(W.ARRAY);
    writeVarint(len);
    // The elements, as `next` writes them when the array has a frame.
    for (let i = 0; i < len; i++) {
      const v = a[i];
      if (typeof v === "number") writeNumber(v);
      else if (typeof v === "string") writeString(v);
      else if (v === undefined && !hasOwn(a, i)) writeTag(W.HOLE);
      else if (typeof v !== "object" || v === null) writeValue(v);
      else {
        const at = fsp;
        if (writeNested(v)) continue;
        openFrameAt(at, E_ARRAY, a, null, len).i = i + 1;
        return;
      }
    }
    writeTag(0); // no extra properties
    return;
  }
  let m = 0; // number of index keys (they come first, ascending)
  while (m < kn && isIndexKey(keys[m])) m++;
  let f: Frame;
  if (len > 16 && m * 4 < len) {
    writeTag(W.SPARSE);
    writeVarint(len);
    writeVarint(m);
    f = openFrameAt(fsp, E_SPARSE, a, keys, m);
  } else {
    writeTag(W.ARRAY);
    writeVarint(len);
    f = openFrameAt(fsp, E_ARRAY, a, keys, len);
  }
  f.m = m;
  fill(f);
}

function writeArrayBuffer(b: ArrayBuffer): void {
  if (abDetached.call(b)) {
    throw dataCloneError("An ArrayBuffer is detached and could not be cloned.");
  }
  const len: number = abByteLength.call(b);
  writeTag(W.BUFFER);
  if (abResizable.call(b)) {
    writeTag(W.BUFFER_RESIZABLE);
    writeVarint(abMaxByteLength.call(b));
  } else {
    writeTag(0);
  }
  writeVarint(len);
  // Pad so that the bytes start 8-byte aligned (relative to the message): copies out of shared
  // memory are several times slower when source and destination are not equally aligned.
  const pad = len >= ALIGN_MIN ? (8 - ((pos + 1) & 7)) & 7 : 0;
  if (pos + 1 + pad > buf.length) grow(pos + 1 + pad);
  buf[pos++] = pad;
  for (let i = 0; i < pad; i++) buf[pos++] = 0;
  writeBytes(new Uint8Array(b, 0, len));
}
const ALIGN_MIN = 256;

function writeView(v: ArrayBufferView, kind: number): void {
  const isDv = kind === VIEW_DATAVIEW;
  let buffer: ArrayBuffer;
  try {
    buffer = isDv ? dvBuffer.call(v) : taBuffer.call(v);
  } catch {
    throw uncloneable(v);
  }
  if (types.isSharedArrayBuffer(buffer)) throw sharedError();
  if (abDetached.call(buffer)) {
    throw dataCloneError("An ArrayBuffer is detached and could not be cloned.");
  }
  let offset: number, length: number;
  try {
    // Both throw (DataView) or report 0 (typed arrays) when the view is out of bounds.
    offset = isDv ? dvByteOffset.call(v) : taByteOffset.call(v);
    length = isDv ? dvByteLength.call(v) : taLength.call(v);
  } catch {
    throw uncloneable(v);
  }
  let flags = 0;
  if (abResizable.call(buffer) && isLengthTracking(v)) flags = W.VIEW_LENGTH_TRACKING;
  writeTag(W.VIEW);
  writeTag(kind);
  writeTag(flags);
  writeVarint(offset);
  writeVarint(length);
  // The buffer, as an ArrayBuffer whatever its prototype says (V8 goes by its internal type).
  const id = identify(buffer);
  if (id >= 0) {
    writeTag(W.REF);
    writeVarint(id);
  } else {
    writeArrayBuffer(buffer);
  }
}

function sharedError(): DOMException {
  return dataCloneError(
    "A SharedArrayBuffer could not be cloned: a channel copies bytes and cannot share memory",
  );
}

// deno-lint-ignore no-explicit-any
function writeError(e: any): void {
  if (DOMEXC_UNMARKED && isDOMException(e)) return writeDOMException(e);
  // Same reads, in the same order, as V8's ValueSerializer::WriteJSError.
  const messageDesc = getOwnDesc(e, "message");
  const causeDesc = getOwnDesc(e, "cause");
  const name = String(e.name);
  let flags = 0;
  let message = "";
  if (messageDesc !== undefined && "value" in messageDesc) {
    message = String(messageDesc.value);
    flags |= W.ERROR_HAS_MESSAGE;
  }
  const stack = e.stack;
  if (typeof stack === "string") flags |= W.ERROR_HAS_STACK;
  if (causeDesc !== undefined && "value" in causeDesc) flags |= W.ERROR_HAS_CAUSE;
  writeTag(W.ERROR);
  writeTag(ERROR_KIND[name] ?? 0);
  writeTag(flags);
  if (flags & W.ERROR_HAS_MESSAGE) writeString(message);
  if (flags & W.ERROR_HAS_STACK) writeString(stack);
  if (flags & W.ERROR_HAS_CAUSE) {
    // Last in the error: nothing to come back to, so no frame even if it is left pending.
    const cause = causeDesc!.value;
    if (typeof cause !== "object" || cause === null) writeValue(cause);
    else writeNested(cause);
  }
}

function writeDOMException(e: DOMException): void {
  const name: string = domExceptionName.call(e);
  const message: string = domExceptionMessage.call(e);
  const stack = (e as { stack?: unknown }).stack;
  writeTag(W.DOMEXC);
  writeString(name);
  writeString(message);
  if (typeof stack === "string") {
    writeTag(W.ERROR_HAS_STACK);
    writeString(stack);
  } else {
    writeTag(0);
  }
}

function writeMap(m: Map<unknown, unknown>): void {
  const entries: unknown[] = [];
  mapForEach.call(m, (v: unknown, k: unknown) => {
    entries.push(k, v);
  });
  writeTag(W.MAP);
  writeVarint(entries.length / 2);
  writeList(entries);
}

function writeSet(s: Set<unknown>): void {
  const entries: unknown[] = [];
  setForEach.call(s, (v: unknown) => {
    entries.push(v);
  });
  writeTag(W.SET);
  writeVarint(entries.length);
  writeList(entries);
}

/** Writes the values listed (as `next` writes them when the list has a frame). */
function writeList(list: unknown[]): void {
  const n = list.length;
  for (let i = 0; i < n; i++) {
    const v = list[i];
    if (typeof v !== "object" || v === null) {
      writeValue(v);
    } else {
      const at = fsp;
      if (writeNested(v)) continue;
      openFrameAt(at, E_LIST, list, null, n).i = i + 1;
      return;
    }
  }
}

/** Objects other than plain objects and arrays: find the kind from internal slots. */
// deno-lint-ignore no-explicit-any
function writeExotic(o: any): void {
  if (isArray(o)) return writeArray(o);
  if (ArrayBuffer.isView(o)) {
    const tag: string | undefined = taTag.call(o);
    return writeView(o, tag === undefined ? VIEW_DATAVIEW : VIEW_KIND[tag]);
  }
  if (types.isArrayBuffer(o)) return writeArrayBuffer(o);
  if (types.isSharedArrayBuffer(o)) throw sharedError();
  if (types.isDate(o)) return writeF64(W.DATE, dateGetTime.call(o));
  if (types.isRegExp(o)) {
    writeTag(W.REGEXP);
    writeString(regexpSource.call(o));
    writeString(regexpFlags.call(o));
    return;
  }
  if (types.isMap(o)) return writeMap(o);
  if (types.isSet(o)) return writeSet(o);
  if (types.isBoxedPrimitive(o)) {
    if (types.isNumberObject(o)) return writeF64(W.BOX_NUMBER, numberValueOf.call(o));
    if (types.isStringObject(o)) {
      writeTag(W.BOX_STRING);
      return writeString(stringValueOf.call(o));
    }
    if (types.isBooleanObject(o)) {
      return writeTag(booleanValueOf.call(o) ? W.BOX_TRUE : W.BOX_FALSE);
    }
    if (types.isBigIntObject(o)) return writeBigInt(W.BOX_BIGINT, bigintValueOf.call(o));
    throw uncloneable(o); // Symbol objects
  }
  if (HOST_OBJECT in o) {
    if (isDOMException(o)) return writeDOMException(o);
    throw dataCloneError("Cannot clone object of unsupported type.");
  }
  if (isError(o)) return writeError(o);
  if (NOT_SERIALIZABLE !== undefined && NOT_SERIALIZABLE in o) {
    throw dataCloneError("Cannot clone object of unsupported type.");
  }
  if (
    types.isWeakMap(o) || types.isWeakSet(o) || types.isPromise(o) || types.isGeneratorObject(o) ||
    types.isMapIterator(o) || types.isSetIterator(o) || types.isArgumentsObject(o) ||
    types.isModuleNamespaceObject(o)
  ) {
    throw uncloneable(o);
  }
  const proto = getProto(o);
  // A Sender or Receiver: written as END for the channel to resolve, or refused (see `writeEnd`).
  // (Only class instances get here: plain objects and arrays never pay for the check. Before the
  // Wasm check, which costs two caught exceptions, ~13 µs: ends may be many in a message.)
  if (proto !== null && isEnd(o)) return writeEnd(o);
  if (isWasmModuleOrMemory(o)) {
    // structuredClone shares these within one process; bytes on a channel cannot.
    throw dataCloneError(
      "A WebAssembly.Module or Memory could not be cloned: a channel copies bytes and cannot " +
        "share compiled code or memory",
    );
  }
  if (isRejected(o, proto)) throw uncloneable(o);
  // An ordinary object (class instance, null prototype…): its own enumerable string keys.
  writePlainObject(o, true);
}

// ---------------------------------------------------------------------------------------------
// Channel ends. A channel whose messages may carry ends encodes them inside `withEndSink`: an end
// takes an object id as any object does (so that a second occurrence is a REF to it, and the sink
// hears of each end once), then is written as END and the index the sink gives it. Elsewhere an
// end would arrive as a plain object, cut off from its channel: a DataCloneError.

/** The sink of `withEndSink`, or null: an end is a DataCloneError. */
let endSink: ((end: object) => number) | null = null;
/** The `nesting` of the encodings the sink is for: not those a getter starts without one. */
let sinkLevel = 0;
/** Calls of `encodeNested` in progress (encodings started by a getter of another). */
let nesting = 0;

/**
 * Runs `fn` with `sink` receiving every channel end the structured encoder meets (in the order
 * written); `sink(end)` returns the index to write (it may throw a DataCloneError to refuse the
 * end). Outside such a call an end is a DataCloneError. Nested calls restore the outer sink.
 *
 * The sink is for the encodings `fn` starts, not for those a getter of their values starts: such
 * an encoding refuses ends unless it runs inside a `withEndSink` of its own.
 */
export function withEndSink<R>(sink: (end: object) => number, fn: () => R): R {
  const outer = endSink;
  const outerLevel = sinkLevel;
  endSink = sink;
  sinkLevel = nesting + depth; // from a getter (depth 1), `fn`'s encode is an encodeNested
  try {
    return fn();
  } finally {
    endSink = outer;
    sinkLevel = outerLevel;
  }
}

/**
 * Makes `sink` the sink of every encoding that no `withEndSink` and no getter starts, from now
 * on: for a channel layer that decides at each end whether it may go (`sink` throws the
 * DataCloneError when not), without a call around every message.
 */
export function setEndSink(sink: (end: object) => number): void {
  endSink = sink;
  sinkLevel = 0;
}

/** Writes the channel end `o`, which `identify` just gave an id. */
function writeEnd(o: object): void {
  if (endSink === null || sinkLevel !== nesting) throw endCloneError();
  const index = endSink(o);
  if (!(Number.isSafeInteger(index) && index >= 0)) {
    throw new RangeError(`Internal error: an end sink returned ${index}, not an index`);
  }
  writeTag(W.END);
  writeVarint(index);
}

// ---------------------------------------------------------------------------------------------
// Nesting. An object met inside another is written by a nested call (`writeNested`, or `fill`
// for containers written from a frame) while fewer than RECURSION are open on the call stack,
// which is what most values need. Past that, the object is left `pending` and its container's
// writer opens a frame — the container and how far its contents are written — and returns; so
// does every writer below it on the call stack, each inserting its own frame under the frames of
// its contents (`openFrameAt`). Back at the bottom of the call stack, with the whole budget
// again, `writeGraph`'s loop writes the pending object, then goes on with the innermost frame
// (`next`), and so on. So the call stack is bounded by a constant however deep the value goes,
// and whatever `structuredClone` accepts (and more) is encoded.

/** A plain object's values, after its shape. */
const E_SHAPED = 0;
/** Key/value pairs: an OBJECT's properties, or an array's extra properties. */
const E_PAIRS = 1;
/** An array's elements (then its extra properties, if `keys` is set). */
const E_ARRAY = 2;
/** A sparse array's (index, value) entries, then its extra properties. */
const E_SPARSE = 3;
/** Values listed up front: map entries (key, value, …), set values, an error's cause. */
const E_LIST = 4;

class Frame {
  kind = 0;
  // deno-lint-ignore no-explicit-any
  o: any = null;
  keys: string[] | null = null;
  /** Next item: key, element, sparse entry or list value. */
  i = 0;
  /** Items in all (for sparse arrays: index keys). */
  n = 0;
  /** Arrays: the number of index keys, after which come the extra properties' keys. */
  m = 0;
  /** Plain objects: their id, the position of their tag, whether keys must be checked own. */
  self = 0;
  at = 0;
  checkOwn = false;
}

/** The frame stack; frames above `fsp` are kept for reuse, with no references left in them. */
let frames: Frame[] = [];
let fsp = 0;

/** The object to write before going on with the top frame, which holds it. */
let pending: unknown;
let hasPending = false;

/** Objects written by nested calls, at most: 32 × a few small stack frames. */
const RECURSION = 32;
let budget = RECURSION;

/**
 * Writes `v`, an object inside a container, by a nested call while the budget lasts; else leaves
 * it pending.
 * @returns whether `v` is written whole; if not, the caller must open its own frame at the `fsp`
 * it saw before the call (`openFrameAt`), under the frames `v` opened, and return.
 */
function writeNested(v: unknown): boolean {
  if (budget === 0) {
    pending = v;
    hasPending = true;
    return false;
  }
  const at = fsp;
  budget--;
  writeValue(v);
  budget++;
  return fsp === at && !hasPending; // (an error may leave its cause pending, with no frame)
}

/** Opens a frame at `at` (≤ fsp), moving the frames above it up by one. */
// deno-lint-ignore no-explicit-any
function openFrameAt(at: number, kind: number, o: any, keys: string[] | null, n: number): Frame {
  let f = frames[fsp];
  if (f === undefined) {
    f = new Frame();
    if (fsp >= FRAMES_KEPT) oversized = true;
  }
  for (let j = fsp; j > at; j--) frames[j] = frames[j - 1];
  frames[at] = f;
  fsp++;
  f.kind = kind;
  f.o = o;
  f.keys = keys;
  f.i = 0;
  f.n = n;
  return f;
}

function closeFrame(f: Frame): void {
  f.o = null;
  f.keys = null;
  fsp--;
}

/** Writes the contents of `f`, just opened on top, by a nested call while the budget lasts. */
function fill(f: Frame): void {
  if (budget === 0) return; // left to writeGraph's loop
  budget--;
  next(f);
  budget++;
}

/** Switches an array's frame to its extra properties, once its elements are written. */
function startExtras(f: Frame): void {
  const keys = f.keys!;
  writeVarint(keys.length - f.m);
  f.kind = E_PAIRS;
  f.i = f.m;
  f.n = keys.length;
}

/**
 * Writes what comes next in `f`, the top frame: its values, up to one that is left unwritten
 * (frames above `f`), or to its end, when `f` is closed.
 */
function next(f: Frame): void {
  const o = f.o;
  const top = fsp;
  for (;;) {
    switch (f.kind) {
      case E_SHAPED: {
        const keys = f.keys!;
        const n = f.n;
        const checkOwn = f.checkOwn;
        let i = f.i;
        while (i < n) {
          const k = keys[i++];
          const v = o[k];
          if (!checkOwn) {
            if (typeof v === "number") {
              writeNumber(v);
              continue;
            }
            if (typeof v === "string") {
              writeString(v);
              continue;
            }
          }
          if ((checkOwn || v === undefined || typeof v === "function") && !hasOwn(o, k)) {
            writeTag(W.ABSENT);
            continue;
          }
          f.i = i;
          writeValue(v);
          if (fsp !== top || hasPending) return;
        }
        const self = f.self;
        if (open[self] === 2) buf[f.at] += W.SHAPE_CYCLIC;
        open[self] = 0;
        closeFrame(f);
        return;
      }
      case E_PAIRS: {
        const keys = f.keys!;
        while (f.i < f.n) {
          const k = keys[f.i++];
          writeString(k);
          const v = o[k];
          if (!hasOwn(o, k)) {
            writeTag(W.ABSENT);
            continue;
          }
          writeValue(v);
          if (fsp !== top || hasPending) return;
        }
        closeFrame(f);
        return;
      }
      case E_ARRAY: {
        while (f.i < f.n) {
          const i = f.i++;
          const v = o[i];
          if (typeof v === "number") writeNumber(v);
          else if (typeof v === "string") writeString(v);
          else if (v === undefined && !hasOwn(o, i)) writeTag(W.HOLE);
          else {
            writeValue(v);
            if (fsp !== top || hasPending) return;
          }
        }
        if (f.keys === null) {
          writeTag(0); // no extra properties
          closeFrame(f);
          return;
        }
        startExtras(f);
        continue;
      }
      case E_SPARSE: {
        const keys = f.keys!;
        while (f.i < f.n) {
          const k = keys[f.i++];
          writeVarint(+k);
          const v = o[k];
          if (!hasOwn(o, k)) {
            writeTag(W.ABSENT);
            continue;
          }
          writeValue(v);
          if (fsp !== top || hasPending) return;
        }
        startExtras(f);
        continue;
      }
      default: // E_LIST
        while (f.i < f.n) {
          writeValue(o[f.i++]);
          if (fsp !== top || hasPending) return;
        }
        closeFrame(f);
        return;
    }
  }
}

/** Writes `root` and everything in it, depth first, with a bounded call stack. */
function writeGraph(root: unknown): void {
  writeValue(root);
  for (;;) {
    if (hasPending) {
      const v = pending;
      pending = undefined;
      hasPending = false;
      writeValue(v);
    } else if (fsp !== 0) {
      next(frames[fsp - 1]);
    } else {
      return;
    }
  }
}

/** Writes `v`: in full if it is a primitive, else its header, opening its frame if it has one. */
function writeValue(v: unknown): void {
  switch (typeof v) {
    case "number":
      return writeNumber(v);
    case "string":
      return writeString(v);
    case "object": {
      if (v === null) return writeTag(W.NULL);
      const id = identify(v);
      if (id >= 0) {
        if (id < open.length && open[id] === 1) open[id] = 2;
        writeTag(W.REF);
        return writeVarint(id);
      }
      if (isProxy(v)) throw uncloneable(v);
      const proto = getProto(v);
      if (proto === ObjectProto) return writePlainObject(v, false);
      if (proto === ArrayProto && isArray(v)) return writeArray(v as unknown[]);
      return writeExotic(v);
    }
    case "boolean":
      return writeTag(v ? W.TRUE : W.FALSE);
    case "undefined":
      return writeTag(W.UNDEFINED);
    case "bigint":
      return writeBigInt(W.BIGINT, v);
    default:
      throw uncloneable(v);
  }
}

/**
 * 1 while `writeValue` runs. Getters it calls may encode another value (a getter that sends on
 * a channel): such a nested call must not touch the state of the encoding in progress.
 */
let depth = 0;

/** Encodes `value` from inside a getter of an encoding in progress, with state of its own. */
function encodeNested(value: unknown): Uint8Array {
  const outer = {
    buf,
    dv,
    pos,
    outViews,
    out5,
    out9,
    seen,
    seenCount,
    seenSet,
    seenMap,
    open,
    direct,
    frames,
    fsp,
    budget,
    kept,
    oversized,
  };
  const outerShapes = shapeCount;
  buf = new Uint8Array(256);
  dv = new DataView(buf.buffer);
  outViews = [];
  out5 = out9 = undefined;
  seen = [];
  seenCount = 0;
  seenSet = seenMap = null;
  open = new Uint8Array(256);
  frames = [];
  fsp = 0;
  budget = RECURSION;
  kept = null;
  oversized = false;
  depth = 0;
  direct = false;
  nesting++;
  try {
    return encode(value); // a view of a buffer nobody else uses
  } finally {
    nesting--;
    ({
      buf,
      dv,
      pos,
      outViews,
      out5,
      out9,
      seen,
      seenCount,
      seenSet,
      seenMap,
      open,
      direct,
      frames,
      fsp,
      budget,
      kept,
      oversized,
    } = outer);
    // The nested call renumbered cached shapes: the outer one writes them anew, numbered on
    // from its own count, which is what the decoder expects.
    epoch++;
    shapeCount = outerShapes;
    depth = 1;
  }
}

export function encode(value: unknown): Uint8Array {
  if (depth !== 0) return encodeNested(value);
  // Fast paths: values without objects need no identity or shape bookkeeping.
  if (typeof value === "number") {
    const b = buf; // at least 4096 bytes: no need to grow
    if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
      b[0] = W.INT32;
      b[1] = value;
      b[2] = value >> 8;
      b[3] = value >> 16;
      b[4] = value >> 24;
      return out5 ??= b.subarray(0, 5);
    }
    b[0] = W.FLOAT64;
    dv.setFloat64(1, value, true);
    return out9 ??= b.subarray(0, 9);
  }
  return encodeValue(value);
}

function encodeValue(value: unknown): Uint8Array {
  pos = 0;
  writeTop(value);
  const out = output();
  if (oversized) release(); // `out` alone keeps a grown buffer alive
  return out;
}

/** Writes a whole message at `pos`. */
function writeTop(value: unknown): void {
  if (typeof value === "string" && value.length < SHORT_STRING) return writeString(value);
  epoch++;
  shapeCount = 0;
  depth = 1;
  try {
    writeGraph(value);
  } catch (e) {
    open.fill(0); // objects left open by the throw
    while (fsp !== 0) closeFrame(frames[fsp - 1]);
    pending = undefined;
    hasPending = false;
    budget = RECURSION;
    if (oversized) release();
    throw e;
  } finally {
    // Leave nothing behind: the next call starts clean even after a DataCloneError.
    const n = seenCount < SMALL_SEEN ? seenCount : SMALL_SEEN;
    for (let i = 0; i < n; i++) seen[i] = undefined as unknown as object;
    seenCount = 0;
    seenSet = null;
    seenMap = null;
    depth = 0;
  }
}

/**
 * Whether a call to `encode` is in progress on this thread (a getter of the value it encodes is
 * running): the in-place path declines then, as only `encode` keeps the outer state apart.
 */
export function encoding(): boolean {
  return depth !== 0;
}

/**
 * The in-place path's writer (see in_place.ts): writes `value` at `target[start..]`, within the
 * `bound` measured for it, instead of into the scratch buffer.
 * @returns The offset after the last byte written.
 */
export function encodeInto(
  value: unknown,
  target: Uint8Array,
  start: number,
  bound: number,
): number {
  const scratch = buf;
  const scratchDv = dv;
  buf = target.subarray(0, start + bound);
  dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  pos = start;
  direct = true;
  try {
    writeTop(value);
    return pos;
  } finally {
    buf = scratch;
    dv = scratchDv;
    direct = false;
  }
}
