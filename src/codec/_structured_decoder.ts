/**
 * The structured codec's decoder: bytes (usually a view of shared memory) to values that alias
 * none of them. Internal; the format is described in _wire.ts.
 *
 * @module
 */

import * as W from "./_wire.ts";
import { latin1, utf16, utf8 } from "./_text.ts";
import { defineProp, ERROR_CTORS, VIEW_CTORS } from "./_structured_kinds.ts";

// ---------------------------------------------------------------------------------------------
// Decoder state. `rb` is the caller's view (in shared memory); nothing decoded may alias it.

let rb: Uint8Array = new Uint8Array(0);
let rp = 0;
let rdv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));
/** The view `rdv` was made for: channels decode from one view of their memory, so it is reused. */
let rdvOf: Uint8Array | null = null;
/** End of the message in `rb`: the decoder reads `rb[rp..rend)`. */
let rend = 0;
/** Decoded objects by id, for REF. */
const refs: unknown[] = [];
let refCount = 0;
/** Shapes defined in the message being decoded, by shape id. */
const shapes: DecShape[] = [];
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
const decShapeCache: (DecShape | undefined)[] = new Array(SHAPE_SLOTS);

function corrupt(): never {
  throw new TypeError("Cannot decode structured value: the bytes are malformed");
}

function readVarint(): number {
  let n = 0;
  let scale = 1;
  for (;;) {
    const b = rb[rp++];
    if (b === undefined) corrupt();
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
}

/** A DataView of the same bytes as `bytes` (offsets alike). */
function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== rdvOf || rdv.byteLength !== bytes.byteLength) {
    rdvOf = bytes;
    rdv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return rdv;
}

function readDataView(n: number): DataView {
  if (rp + n > rend) corrupt();
  return viewOf(rb);
}

function readF64(): number {
  const p = rp;
  if (p + 8 > rend) corrupt();
  rp = p + 8;
  return viewOf(rb).getFloat64(p, true);
}

function readAscii(n: number): string {
  const p = rp;
  if (p + n > rend) corrupt();
  rp = p + n;
  return latin1(rb, p, n);
}

function readUtf16(n: number): string {
  const p = rp;
  if (p + 2 * n > rend) corrupt();
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
  const tag = rb[rp++];
  if (tag === W.STR_ASCII) return readAscii(readVarint());
  if (tag === W.STR_UTF16) return readUtf16(readVarint());
  if (tag === W.STR_UTF8) {
    const n = readDataView(4).getUint32(rp, true);
    rp += 4;
    return readUtf8(n);
  }
  return corrupt();
}

function readBigInt(): bigint {
  const negative = rb[rp++] === 1;
  const words = readVarint();
  let n = 0n;
  const d = readDataView(8 * words);
  for (let i = words - 1; i >= 0; i--) {
    n = (n << 64n) | d.getBigUint64(rp + 8 * i, true);
  }
  rp += 8 * words;
  return negative ? -n : n;
}

function readShape(): DecShape {
  const n = readVarint();
  const blockLen = readVarint();
  const start = rp;
  if (start + blockLen > rend) corrupt();
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
  for (let i = 0; i < n; i++) {
    const k = readString();
    keys[i] = k;
    if (k === "__proto__") special = true;
  }
  if (rp !== start + blockLen) corrupt();
  const shape: DecShape = { keys, special, bytes: b.slice(start, rp), make: undefined, hits: 0 };
  decShapeCache[slot] = shape;
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

function readShaped(shape: DecShape, cyclic: boolean): Record<string, unknown> {
  const keys = shape.keys;
  const n = keys.length;
  const make = shape.make;
  if (cyclic || !make) {
    if (make === undefined && ++shape.hits >= COMPILE_AFTER) compileShape(shape);
    const o: Record<string, unknown> = {};
    refs[refCount++] = o;
    for (let i = 0; i < n; i++) {
      if (rb[rp] === W.ABSENT) {
        rp++;
        continue;
      }
      const v = readValue();
      if (shape.special) setProp(o, keys[i], v);
      else o[keys[i]] = v;
    }
    return o;
  }
  // Not inside a cycle: decode the values, then build the object in one step.
  const slot = refCount++;
  const base = vsp;
  let absent = false;
  for (let i = 0; i < n; i++) {
    const b = rb;
    const p = rp;
    const tag = b[p];
    let v: unknown;
    if (tag === W.INT32) {
      // Inlined: the most common values in objects.
      if (p + 5 > rend) corrupt();
      rp = p + 5;
      v = b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16) | (b[p + 4] << 24);
    } else if (tag === W.STR_ASCII && b[p + 1] < 0x80) {
      rp = p + 2;
      v = readAscii(b[p + 1]);
    } else if (tag === W.ABSENT) {
      rp = p + 1;
      absent = true;
      v = ABSENT_VALUE;
    } else {
      v = readValue();
    }
    vstack[vsp++] = v;
  }
  if (vsp > vhigh) vhigh = vsp;
  let o: Record<string, unknown>;
  if (absent) {
    o = {};
    for (let i = 0; i < n; i++) {
      const v = vstack[base + i];
      if (v !== ABSENT_VALUE) setProp(o, keys[i], v);
    }
  } else {
    o = make(vstack, base);
  }
  vsp = base;
  refs[slot] = o;
  return o;
}

/** Reads `count` key/value pairs into `o`. */
function readProperties(o: Record<string, unknown>, count: number): void {
  for (let i = 0; i < count; i++) {
    const k = readString();
    if (rb[rp] === W.ABSENT) {
      rp++;
      continue;
    }
    setProp(o, k, readValue());
  }
}

function readView(): ArrayBufferView {
  const kind = rb[rp++];
  const flags = rb[rp++];
  const offset = readVarint();
  const length = readVarint();
  const slot = refCount++;
  const buffer = readValue();
  const C = VIEW_CTORS[kind];
  if (C === undefined || !(buffer instanceof ArrayBuffer)) corrupt();
  const view = flags & W.VIEW_LENGTH_TRACKING
    ? new C(buffer, offset)
    : new C(buffer, offset, length);
  refs[slot] = view;
  return view;
}

function readBuffer(): ArrayBuffer {
  const flags = rb[rp++];
  const max = flags & W.BUFFER_RESIZABLE ? readVarint() : -1;
  const n = readVarint();
  rp += 1 + rb[rp]; // alignment padding
  if (rp + n > rend) corrupt();
  let b: ArrayBuffer;
  if (max >= 0) {
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

function readError(): Error {
  const kind = rb[rp++];
  const flags = rb[rp++];
  const C = ERROR_CTORS[kind];
  if (C === undefined) corrupt();
  const message = flags & W.ERROR_HAS_MESSAGE ? readString() : undefined;
  const stack = flags & W.ERROR_HAS_STACK ? readString() : undefined;
  const e = new C(message);
  e.stack = stack;
  refs[refCount++] = e;
  if (flags & W.ERROR_HAS_CAUSE) {
    defineProp(e, "cause", {
      value: readValue(),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
  return e;
}

function readDOMException(): DOMException {
  const name = readString();
  const message = readString();
  const flags = rb[rp++];
  const e = new DOMException(message, name);
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

function readValue(): unknown {
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
      return readShaped(shapes[id], false);
    }
    case W.SHAPE_NEW: {
      const shape = readShape();
      shapes[decShapeCount++] = shape;
      return readShaped(shape, false);
    }
    case W.SHAPE_REF + W.SHAPE_CYCLIC: {
      const id = readVarint();
      if (id >= decShapeCount) corrupt();
      return readShaped(shapes[id], true);
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
      const o: Record<string, unknown> = {};
      refs[refCount++] = o;
      readProperties(o, readVarint());
      return o;
    }
    case W.ARRAY: {
      const len = readVarint();
      const a: unknown[] = new Array(len);
      refs[refCount++] = a;
      for (let i = 0; i < len; i++) {
        if (rb[rp] === W.HOLE) {
          rp++;
          continue;
        }
        a[i] = readValue();
      }
      readProperties(a as unknown as Record<string, unknown>, readVarint());
      return a;
    }
    case W.SPARSE: {
      const len = readVarint();
      const a: unknown[] = [];
      a.length = len;
      refs[refCount++] = a;
      const count = readVarint();
      for (let i = 0; i < count; i++) {
        const index = readVarint();
        if (rb[rp] === W.ABSENT) {
          rp++;
          continue;
        }
        a[index] = readValue();
      }
      readProperties(a as unknown as Record<string, unknown>, readVarint());
      return a;
    }
    case W.DATE: {
      const d = new Date(readF64());
      refs[refCount++] = d;
      return d;
    }
    case W.REGEXP: {
      const source = readString();
      const flags = readString();
      const r = new RegExp(source, flags);
      refs[refCount++] = r;
      return r;
    }
    case W.MAP: {
      const m = new Map();
      refs[refCount++] = m;
      const n = readVarint();
      for (let i = 0; i < n; i++) {
        const k = readValue();
        m.set(k, readValue());
      }
      return m;
    }
    case W.SET: {
      const s = new Set();
      refs[refCount++] = s;
      const n = readVarint();
      for (let i = 0; i < n; i++) s.add(readValue());
      return s;
    }
    case W.BUFFER:
      return readBuffer();
    case W.VIEW:
      return readView();
    case W.ERROR:
      return readError();
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
    default:
      return corrupt();
  }
}

export function decode(bytes: Uint8Array): unknown {
  return decodeFrom(bytes, 0, bytes.length);
}

export function decodeFrom(bytes: Uint8Array, start: number, end: number): unknown {
  const tag = bytes[start];
  const length = end - start;
  // Fast paths: a lone number.
  if (tag === W.INT32 && length === 5) {
    return bytes[start + 1] | (bytes[start + 2] << 8) | (bytes[start + 3] << 16) |
      (bytes[start + 4] << 24);
  }
  if (tag === W.FLOAT64 && length === 9) {
    return viewOf(bytes).getFloat64(start + 1, true);
  }
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
    value = readValue();
    if (rp !== end) corrupt();
  } finally {
    for (let i = 0; i < refCount; i++) refs[i] = undefined;
    refCount = 0;
    for (let i = 0; i < vhigh; i++) vstack[i] = undefined;
    vsp = vhigh = 0;
    rb = EMPTY;
  }
  return value;
}
const EMPTY = new Uint8Array(0);
