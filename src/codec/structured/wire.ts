/**
 * The structured codec's wire format: the tag of each kind of value, the flags that follow some
 * of them, and the numbers of view and error kinds. Constants only: no state. Internal.
 *
 * @module
 */

// Tag bytes of the structured codec's wire format. One byte per value, followed by the value's
// payload. Integers in payloads are little-endian; "varint" is unsigned LEB128.
//
//   value      = tag payload
//   UNDEFINED / NULL / FALSE / TRUE / HOLE / ABSENT       (no payload)
//   INT32      i32
//   FLOAT64    f64
//   BIGINT     sign:u8 len:varint byte*len              (magnitude, most significant byte first)
//   STR_ASCII  len:varint byte*len                       (code units 0x00..0x7f)
//   STR_UTF16  len:varint u16*len                        (any code units, lone surrogates too)
//   STR_UTF8   bytes:u32 byte*bytes                      (well-formed strings only)
//   REF        id:varint                                 (an object already decoded)
//   SHAPE_NEW  keys:varint blockLen:varint key*keys value*keys   (defines the next shape id)
//   SHAPE_REF  shape:varint value*keys
//   (SHAPE_NEW and SHAPE_REF + SHAPE_CYCLIC: the same, for objects inside a cycle through them)
//   OBJECT     count:varint (key value)*count            (objects with many keys)
//   ARRAY      len:varint value*len extras:varint (key value)*extras
//   SPARSE     len:varint count:varint (index:varint value)*count extras:varint (key value)*extras
//   DATE       f64
//   REGEXP     source:string flags:string
//   MAP / SET  count:varint (key value)*count / value*count
//   BUFFER     flags:u8 [maxByteLength:varint] len:varint pad:u8 0*pad byte*len
//              (pad aligns the bytes to 8 relative to the message start)
//   VIEW       kind:u8 flags:u8 offset:varint length:varint (BUFFER … | REF id:varint)
//   ERROR      kind:u8 flags:u8 [message:string] [stack:string] [cause:value]
//   DOMEXC     name:string message:string flags:u8 [stack:string]
//   BOX_*      payload as the primitive (BOX_TRUE / BOX_FALSE have none)
//   END        index:varint                              (a channel end: the channel's index of
//              it, given by `withEndSink` in encode.ts, resolved by `withEndSource` in decode.ts)
//
// Every object tag (SHAPE_*, OBJECT, ARRAY, SPARSE, DATE, REGEXP, MAP, SET, BUFFER, VIEW, ERROR,
// DOMEXC, BOX_*, END) takes the next object id, in the order the encoder first meets the objects, so
// that REF can point back at it (shared references and cycles).

export const UNDEFINED = 0;
export const NULL = 1;
export const FALSE = 2;
export const TRUE = 3;
export const INT32 = 4;
export const FLOAT64 = 5;
export const BIGINT = 6;
export const STR_ASCII = 7;
export const STR_UTF16 = 8;
export const STR_UTF8 = 9;
export const REF = 10;
export const SHAPE_NEW = 11;
export const SHAPE_REF = 12;
export const OBJECT = 13;
export const ARRAY = 14;
export const SPARSE = 15;
export const HOLE = 16;
export const ABSENT = 17;
export const DATE = 18;
export const REGEXP = 19;
export const MAP = 20;
export const SET = 21;
export const BUFFER = 22;
export const VIEW = 23;
export const ERROR = 24;
export const DOMEXC = 25;
export const BOX_NUMBER = 26;
export const BOX_STRING = 27;
export const BOX_TRUE = 28;
export const BOX_FALSE = 29;
export const BOX_BIGINT = 30;
export const END = 31;
/**
 * SHAPE_NEW and SHAPE_REF plus this: the object is referenced from inside its own values (a
 * cycle), so the decoder must create it before it decodes them. Without it the decoder may
 * decode the values first and build the object in one step.
 */
export const SHAPE_CYCLIC = 32;

/** BUFFER flag: the buffer is resizable; `maxByteLength` follows. */
export const BUFFER_RESIZABLE = 1;
/** VIEW flag: the view tracks the length of its resizable buffer (no fixed length). */
export const VIEW_LENGTH_TRACKING = 1;
/** ERROR / DOMEXC flags. */
export const ERROR_HAS_MESSAGE = 1;
export const ERROR_HAS_STACK = 2;
export const ERROR_HAS_CAUSE = 4;

// ---------------------------------------------------------------------------------------------
// Kinds: the `kind:u8` of VIEW and ERROR, by constructor.

type ViewCtor = new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => ArrayBufferView;
/** View kinds on the wire, by index. */
export const VIEW_CTORS: (ViewCtor | undefined)[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView as unknown as ViewCtor,
  (globalThis as { Float16Array?: ViewCtor }).Float16Array,
];
export const VIEW_DATAVIEW = 11;
/** The one view kind a runtime may lack (Node 20 has no Float16Array). */
export const VIEW_FLOAT16 = 12;
export const VIEW_KIND: Record<string, number> = { __proto__: null } as unknown as Record<
  string,
  number
>;
VIEW_CTORS.forEach((c, i) => {
  if (c !== undefined && i !== VIEW_DATAVIEW) VIEW_KIND[c.name] = i;
});

export const ERROR_CTORS: ErrorConstructor[] = [
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
];
export const ERROR_KIND: Record<string, number> = {
  __proto__: null,
  EvalError: 1,
  RangeError: 2,
  ReferenceError: 3,
  SyntaxError: 4,
  TypeError: 5,
  URIError: 6,
} as unknown as Record<string, number>;
