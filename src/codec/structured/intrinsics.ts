/**
 * What the structured codec needs to know about JavaScript's kinds of objects: intrinsics captured
 * before user code can patch them, brand checks that tell an object's internal kind without
 * running user code (the objects V8 refuses to clone among them), and the errors
 * `structuredClone` throws. Its one piece of state, the table of rejected prototypes, is filled
 * once when the module loads. Internal.
 *
 * @module
 */

import { types } from "./brands.ts";

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
// deno-lint-ignore no-explicit-any
const G = globalThis as any;

// Every lookup is feature-tested: the module loads on any runtime (Node 20 has no
// `ArrayBuffer.prototype.detached`, for one), and what a runtime lacks is resolved here, once,
// to a stand-in, so that the encoder and decoder never test for it per value.

/** The getter of `key` on `proto`, or undefined if this runtime has none. */
function getterOrUndefined(proto: object | undefined, key: PropertyKey): Fn | undefined {
  const get = proto === undefined ? undefined : getOwnDesc(proto, key)?.get;
  return typeof get === "function" ? get as Fn : undefined;
}
/**
 * The getter of `key` on `proto`. Every runtime with shared memory has the ones asked for this
 * way; one that does not gets a stand-in that throws when called, not when this module loads.
 */
function getter(proto: object | undefined, key: PropertyKey): Fn {
  return getterOrUndefined(proto, key) ?? function () {
    throw new TypeError(`This runtime has no getter ${String(key)} that the codec needs`);
  };
}

const TypedArrayProto = getProto(Uint8Array.prototype) as object;
export const taTag = getter(TypedArrayProto, Symbol.toStringTag);
export const taBuffer = getter(TypedArrayProto, "buffer");
export const taByteOffset = getter(TypedArrayProto, "byteOffset");
export const taLength = getter(TypedArrayProto, "length");
export const dvBuffer = getter(DataView.prototype, "buffer");
export const dvByteOffset = getter(DataView.prototype, "byteOffset");
export const dvByteLength = getter(DataView.prototype, "byteLength");
export const abByteLength = getter(ArrayBuffer.prototype, "byteLength");
const nativeResizable = getterOrUndefined(ArrayBuffer.prototype, "resizable");
/** Whether this runtime has resizable ArrayBuffers (without, no buffer is resizable). */
export const HAS_RESIZABLE = nativeResizable !== undefined;
export const abResizable: Fn = nativeResizable ?? (() => false);
export const abMaxByteLength: Fn = getterOrUndefined(ArrayBuffer.prototype, "maxByteLength") ??
  abByteLength;
/**
 * Without the `detached` getter (Node 20): a detached buffer has length 0, and no typed array can
 * be made on it (making one runs no user code).
 */
function detachedByLength(this: ArrayBuffer): boolean {
  if (abByteLength.call(this) !== 0) return false;
  try {
    new Uint8Array(this);
    return false;
  } catch {
    return true;
  }
}
export const abDetached: Fn = getterOrUndefined(ArrayBuffer.prototype, "detached") ??
  detachedByLength;
export const dateGetTime = Date.prototype.getTime;
export const regexpSource = getter(RegExp.prototype, "source");
export const regexpFlags = getter(RegExp.prototype, "flags");
export const mapForEach = Map.prototype.forEach;
export const setForEach = Set.prototype.forEach;
export const numberValueOf = Number.prototype.valueOf;
export const stringValueOf = String.prototype.valueOf;
export const booleanValueOf = Boolean.prototype.valueOf;
export const bigintValueOf = BigInt.prototype.valueOf;
/** DOMException, where the runtime has one. */
export const DOMExc: typeof DOMException | undefined = typeof G.DOMException === "function"
  ? G.DOMException
  : undefined;
// Without DOMException these throw, and so `isDOMException` says no.
export const domExceptionName = getter(DOMExc?.prototype, "name");
export const domExceptionMessage = getter(DOMExc?.prototype, "message");

/** Deno marks the prototypes of its non-serializable web classes (URL, Request…) with this. */
export const NOT_SERIALIZABLE = typeof G.URL === "function"
  ? Object.getOwnPropertySymbols(G.URL.prototype).find((s) =>
    s.description === "[[NotSerializable]]"
  )
  : undefined;
/** Deno's host objects (Blob, File, MessagePort, DOMException…) carry this symbol. */
export const HOST_OBJECT = Symbol.for("Deno.core.hostObject");

/**
 * Whether DOMExceptions are ordinary objects here (Node, Bun), not host objects (Deno): the
 * encoder, which looks for them among host objects, then meets them as errors (see `isError`)
 * and must tell them apart there.
 */
export const DOMEXC_UNMARKED = DOMExc !== undefined && !(HOST_OBJECT in new DOMExc());
const nativeIsError: (x: unknown) => boolean = G.Error.isError ?? types.isNativeError;
/** Whether `o` is an Error (by internal slot); where DOMEXC_UNMARKED, a DOMException too. */
export const isError: (o: object) => boolean = DOMEXC_UNMARKED
  ? (o) => nativeIsError(o) || (inherits(o, DOMExc!.prototype) && isDOMException(o))
  : nativeIsError;
function inherits(o: object, proto: object): boolean {
  for (let p = getProto(o); p !== null; p = getProto(p)) if (p === proto) return true;
  return false;
}

/**
 * Objects V8's serializer rejects although nothing but their prototype identifies them from
 * JavaScript: each entry is a prototype and a side-effect-free brand check for its instances.
 */
const REJECTED: [object, (x: object) => unknown][] = [];
function reject(proto: unknown, brand: (x: object) => unknown) {
  if (proto !== null && typeof proto === "object") REJECTED.push([proto, brand]);
}
function methodBrand(proto: unknown, name: string, ...args: unknown[]) {
  if (proto === null || typeof proto !== "object") return;
  const d = getOwnDesc(proto, name);
  const f = (d?.get ?? d?.value) as Fn | undefined;
  if (typeof f === "function") reject(proto, (x) => f.apply(x, args));
}
methodBrand(G.WeakRef?.prototype, "deref");
methodBrand(G.FinalizationRegistry?.prototype, "unregister", {});
for (const name of Object.getOwnPropertyNames(G.Intl ?? {})) {
  const C = G.Intl[name];
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
// Elsewhere than Deno, the web classes carry neither of Deno's markers: find them by prototype,
// so that a channel rejects on other runtimes what it rejects on Deno (rather than sending, say,
// a Blob as `{}`). Node defines most of them lazily, and loading Headers, Request and Response
// takes it some 20 ms: a class whose global is still a lazy accessor is left alone (Node's own
// structuredClone turns those into `{}` too), except Blob, which costs nothing to load.
/** The prototype of global class `name` if it is loaded (or `always`), without loading it. */
function loadedProto(name: string, always = false): object | undefined {
  const d = getOwnDesc(globalThis, name);
  const C = d === undefined ? undefined : "value" in d ? d.value : always ? G[name] : undefined;
  return typeof C === "function" ? C.prototype : undefined;
}
if (NOT_SERIALIZABLE === undefined) {
  methodBrand(loadedProto("URL", true), "href");
  methodBrand(loadedProto("URLSearchParams", true), "has", "a");
  methodBrand(loadedProto("Headers"), "has", "a");
  methodBrand(loadedProto("Request"), "url");
  methodBrand(loadedProto("Response"), "status");
  methodBrand(loadedProto("ReadableStream"), "locked");
  methodBrand(loadedProto("WritableStream"), "locked");
  methodBrand(loadedProto("TransformStream"), "readable");
}
const BlobProto = loadedProto("Blob", true);
if (BlobProto !== undefined && !(HOST_OBJECT in BlobProto)) {
  methodBrand(BlobProto, "size"); // and File, which extends it
  methodBrand(loadedProto("MessagePort"), "onmessage");
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

// ---------------------------------------------------------------------------------------------
// Brand checks: an object's internal kind, told without running user code.

/**
 * Whether `o`, whose prototype is `proto`, is an object V8 refuses to clone that only its
 * prototype identifies (see REJECTED).
 */
export function isRejected(o: object, proto: object | null): boolean {
  for (let p = proto; p !== null; p = getProto(p)) {
    for (let i = 0; i < REJECTED.length; i++) {
      const r = REJECTED[i];
      if (r[0] !== p) continue;
      let branded = true;
      try {
        r[1](o);
      } catch {
        branded = false;
      }
      if (branded) return true;
    }
  }
  return false;
}

/** Whether `o` is a DOMException (by the brand check of its `name` getter). */
export function isDOMException(o: object): boolean {
  try {
    domExceptionName.call(o);
    return true;
  } catch {
    return false;
  }
}

const wasmMemoryBuffer = getterOrUndefined(G.WebAssembly?.Memory?.prototype, "buffer");
/** Whether `o` is a `WebAssembly.Module` or a `WebAssembly.Memory`. */
export function isWasmModuleOrMemory(o: object): boolean {
  if (wasmMemoryBuffer === undefined) return false;
  try {
    WebAssembly.Module.exports(o as WebAssembly.Module);
    return true;
  } catch { /* not a module */ }
  try {
    wasmMemoryBuffer.call(o);
    return true;
  } catch {
    return false;
  }
}

/** Whether `view`, on a resizable buffer, tracks its buffer's length. */
export function isLengthTracking(view: ArrayBufferView): boolean {
  // No JavaScript API tells a length-tracking view from a fixed one: ask V8 on a shallow clone
  // (cloning a view copies its buffer and runs no user code; it also throws the DataCloneError
  // for a view out of bounds), then grow the clone's buffer and see whether the view follows.
  const c = structuredClone(view) as ArrayBufferView;
  const before = c.byteLength;
  const cb = c.buffer as ArrayBuffer;
  if (cb.byteLength === cb.maxByteLength) return false; // cannot tell, and it makes no difference
  cb.resize(cb.maxByteLength);
  return c.byteLength !== before;
}

/** Makes the error `structuredClone` throws for a value it cannot clone. */
export function dataCloneError(message: string): DOMException {
  if (DOMExc !== undefined) return new DOMExc(message, "DataCloneError");
  // A runtime without DOMException: an Error by the same name.
  const e = new Error(message) as DOMException;
  defineProp(e, "name", { value: "DataCloneError", writable: true, configurable: true });
  return e;
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
