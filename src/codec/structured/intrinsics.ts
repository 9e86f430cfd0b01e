/**
 * What the structured codec needs to know about JavaScript's kinds of objects: intrinsics captured
 * before user code can patch them, the wire numbers of views and errors, the objects V8 refuses to
 * clone, and the errors `structuredClone` throws. Internal.
 *
 * @module
 */

import * as types from "node:util/types";

// ---------------------------------------------------------------------------------------------
// Intrinsics, captured once so that user code patching prototypes cannot fool the brand checks.

export const ObjectProto = Object.prototype;
export const ArrayProto = Array.prototype;
export const getProto = Object.getPrototypeOf;
export const objectKeys = Object.keys;
export const hasOwn = Object.hasOwn;
export const isArray = Array.isArray;
export const getOwnDesc = Object.getOwnPropertyDescriptor;
export const defineProp = Object.defineProperty;
export const isProxy = types.isProxy;

// deno-lint-ignore no-explicit-any
type Fn = (this: any, ...args: any[]) => any;
export const getter = (proto: object, key: PropertyKey): Fn => getOwnDesc(proto, key)!.get as Fn;

export const TypedArrayProto = getProto(Uint8Array.prototype) as object;
export const taTag = getter(TypedArrayProto, Symbol.toStringTag);
export const taBuffer = getter(TypedArrayProto, "buffer");
export const taByteOffset = getter(TypedArrayProto, "byteOffset");
export const taLength = getter(TypedArrayProto, "length");
export const dvBuffer = getter(DataView.prototype, "buffer");
export const dvByteOffset = getter(DataView.prototype, "byteOffset");
export const dvByteLength = getter(DataView.prototype, "byteLength");
export const abByteLength = getter(ArrayBuffer.prototype, "byteLength");
export const abResizable = getter(ArrayBuffer.prototype, "resizable");
export const abMaxByteLength = getter(ArrayBuffer.prototype, "maxByteLength");
export const abDetached = getter(ArrayBuffer.prototype, "detached");
export const dateGetTime = Date.prototype.getTime;
export const regexpSource = getter(RegExp.prototype, "source");
export const regexpFlags = getter(RegExp.prototype, "flags");
export const mapForEach = Map.prototype.forEach;
export const setForEach = Set.prototype.forEach;
export const numberValueOf = Number.prototype.valueOf;
export const stringValueOf = String.prototype.valueOf;
export const booleanValueOf = Boolean.prototype.valueOf;
export const bigintValueOf = BigInt.prototype.valueOf;
export const domExceptionName = getter(DOMException.prototype, "name");
export const domExceptionMessage = getter(DOMException.prototype, "message");
// deno-lint-ignore no-explicit-any
export const isError: (x: unknown) => boolean = (Error as any).isError ?? types.isNativeError;

/** Deno marks the prototypes of its non-serializable web classes (URL, Request…) with this. */
export const NOT_SERIALIZABLE = Object.getOwnPropertySymbols(URL.prototype).find((s) =>
  s.description === "[[NotSerializable]]"
);
/** Deno's host objects (Blob, File, MessagePort, DOMException…) carry this symbol. */
export const HOST_OBJECT = Symbol.for("Deno.core.hostObject");

// deno-lint-ignore no-explicit-any
export const G = globalThis as any;
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
  G.Float16Array,
];
export const VIEW_DATAVIEW = 11;
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

/**
 * Objects V8's serializer rejects although nothing but their prototype identifies them from
 * JavaScript: each entry is a prototype and a side-effect-free brand check for its instances.
 */
export const REJECTED: [object, (x: object) => unknown][] = [];
export function reject(proto: unknown, brand: (x: object) => unknown) {
  if (proto !== null && typeof proto === "object") REJECTED.push([proto, brand]);
}
export function methodBrand(proto: unknown, name: string, ...args: unknown[]) {
  if (proto === null || typeof proto !== "object") return;
  const d = getOwnDesc(proto, name);
  const f = (d?.get ?? d?.value) as Fn | undefined;
  if (typeof f === "function") reject(proto, (x) => f.apply(x, args));
}
methodBrand(G.WeakRef?.prototype, "deref");
methodBrand(G.FinalizationRegistry?.prototype, "unregister", {});
for (const name of Object.getOwnPropertyNames(Intl)) {
  const C = (Intl as Record<string, unknown>)[name];
  if (typeof C !== "function" || !C.prototype) continue;
  if ("resolvedOptions" in C.prototype) methodBrand(C.prototype, "resolvedOptions");
  else if (name === "Locale") methodBrand(C.prototype, "baseName");
}
if (G.Temporal) {
  for (const name of Object.getOwnPropertyNames(G.Temporal)) {
    const C = G.Temporal[name];
    if (typeof C !== "function" || !C.prototype) continue;
    const key = ["toJSON", "toString"].find((k) => k in C.prototype);
    if (key) methodBrand(C.prototype, key);
  }
}
methodBrand(G.DisposableStack?.prototype, "disposed");
methodBrand(G.AsyncDisposableStack?.prototype, "disposed");
for (const C of ["Global", "Table", "Instance", "Tag", "Exception"]) {
  const P = G.WebAssembly?.[C]?.prototype;
  if (!P) continue;
  const key = ["value", "length", "exports", "is"].find((k) => {
    const d = getOwnDesc(P, k);
    return d && (typeof d.get === "function");
  });
  if (key) methodBrand(P, key);
  else reject(P, () => true);
}
// Built-in iterators have no side-effect-free brand check: their prototype decides.
for (
  const it of [
    [][Symbol.iterator](),
    ""[Symbol.iterator](),
    new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](),
    /a/[Symbol.matchAll](""),
    G.Iterator?.from?.({ next: () => ({ done: true }) }),
    [].values().map?.((x: unknown) => x),
  ]
) {
  if (it) reject(getProto(it), (x) => getProto(x) === getProto(it));
}

/** Makes the error `structuredClone` throws for a value it cannot clone. */
export function dataCloneError(message: string): DOMException {
  return new DOMException(message, "DataCloneError");
}
export function uncloneable(value: unknown): DOMException {
  let what: string;
  try {
    what = typeof value === "function"
      ? String(value).slice(0, 60)
      : typeof value === "symbol"
      ? value.toString()
      : `#<${Object.prototype.toString.call(value).slice(8, -1)}>`;
  } catch {
    what = typeof value;
  }
  return dataCloneError(`${what} could not be cloned.`);
}
