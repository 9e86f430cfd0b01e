/**
 * Brand checks: what kind of object a value is, by its internal slots, without running user
 * code. Deno, Node and Bun have them natively in `node:util/types`, reached synchronously with
 * `process.getBuiltinModule` (a static `node:` import would not load in a browser); elsewhere (a
 * browser) they are written here from the intrinsics' own brand checks: a getter or method that
 * throws for any other kind of object. Resolved once, when the module loads. Internal.
 *
 * In a browser, where no check tells a Proxy apart, `isProxy` is always false: a Proxy is then
 * encoded through its traps, where `structuredClone` would refuse it.
 *
 * @module
 */

/** The checks the structured codec uses, as `node:util/types` names them. */
export interface Brands {
  isArrayBuffer(o: unknown): boolean;
  isSharedArrayBuffer(o: unknown): boolean;
  isDate(o: unknown): boolean;
  isRegExp(o: unknown): boolean;
  isMap(o: unknown): boolean;
  isSet(o: unknown): boolean;
  isBoxedPrimitive(o: unknown): boolean;
  isNumberObject(o: unknown): boolean;
  isStringObject(o: unknown): boolean;
  isBooleanObject(o: unknown): boolean;
  isBigIntObject(o: unknown): boolean;
  isWeakMap(o: unknown): boolean;
  isWeakSet(o: unknown): boolean;
  isPromise(o: unknown): boolean;
  isGeneratorObject(o: unknown): boolean;
  isMapIterator(o: unknown): boolean;
  isSetIterator(o: unknown): boolean;
  isArgumentsObject(o: unknown): boolean;
  isModuleNamespaceObject(o: unknown): boolean;
  isNativeError(o: unknown): boolean;
  isProxy(o: unknown): boolean;
}

// deno-lint-ignore no-explicit-any
type Fn = (this: any, ...args: any[]) => any;

/** `node:util/types`, where the runtime has it (Deno, Node ≥ 20.16, Bun). */
function native(): Brands | null {
  // deno-lint-ignore no-explicit-any
  const load = (globalThis as any).process?.getBuiltinModule;
  if (typeof load !== "function") return null;
  try {
    return load("node:util/types") ?? null;
  } catch {
    return null;
  }
}

/** A check that `o` has the slot `call` needs: `call` throws a TypeError for any other object. */
function slot(call: (o: object) => unknown): (o: unknown) => boolean {
  return (o) => {
    if (typeof o !== "object" || o === null) return false;
    try {
      call(o);
      return true;
    } catch {
      return false;
    }
  };
}

function getter(proto: object, key: string): Fn {
  return Object.getOwnPropertyDescriptor(proto, key)!.get as Fn;
}

/** What `Object.prototype.toString` says of `o` (its Symbol.toStringTag may lie: a fallback). */
function tagged(tag: string): (o: unknown) => boolean {
  const toString = Object.prototype.toString;
  return (o) => typeof o === "object" && o !== null && toString.call(o) === `[object ${tag}]`;
}

/** The checks written with the intrinsics' brand checks (for a browser). */
function written(): Brands {
  const abLength = getter(ArrayBuffer.prototype, "byteLength");
  const sabLength = typeof SharedArrayBuffer === "function"
    ? getter(SharedArrayBuffer.prototype, "byteLength")
    : () => {
      throw new TypeError("no SharedArrayBuffer");
    };
  const getTime = Date.prototype.getTime;
  const source = getter(RegExp.prototype, "source");
  const mapSize = getter(Map.prototype, "size");
  const setSize = getter(Set.prototype, "size");
  const numberValue = Number.prototype.valueOf;
  const stringValue = String.prototype.valueOf;
  const booleanValue = Boolean.prototype.valueOf;
  const bigintValue = BigInt.prototype.valueOf;
  const symbolValue = Symbol.prototype.valueOf;
  const weakMapHas = WeakMap.prototype.has;
  const weakSetHas = WeakSet.prototype.has;
  const key = {};
  const isNumberObject = slot((o) => numberValue.call(o));
  const isStringObject = slot((o) => stringValue.call(o));
  const isBooleanObject = slot((o) => booleanValue.call(o));
  const isBigIntObject = slot((o) => bigintValue.call(o));
  const isSymbolObject = slot((o) => symbolValue.call(o));
  // deno-lint-ignore no-explicit-any
  const isError = (Error as any).isError as ((o: unknown) => boolean) | undefined;
  return {
    isArrayBuffer: slot((o) => abLength.call(o)),
    isSharedArrayBuffer: slot((o) => sabLength.call(o)),
    isDate: slot((o) => getTime.call(o)),
    // RegExp.prototype itself answers `source` without the slot: it is no RegExp.
    isRegExp: (o) => o !== RegExp.prototype && slot((o) => source.call(o))(o),
    isMap: slot((o) => mapSize.call(o)),
    isSet: slot((o) => setSize.call(o)),
    isBoxedPrimitive: (o) =>
      isNumberObject(o) || isStringObject(o) || isBooleanObject(o) || isBigIntObject(o) ||
      isSymbolObject(o),
    isNumberObject,
    isStringObject,
    isBooleanObject,
    isBigIntObject,
    isWeakMap: slot((o) => weakMapHas.call(o, key)),
    isWeakSet: slot((o) => weakSetHas.call(o, key)),
    isPromise: tagged("Promise"),
    isGeneratorObject: tagged("Generator"),
    isMapIterator: tagged("Map Iterator"),
    isSetIterator: tagged("Set Iterator"),
    isArgumentsObject: tagged("Arguments"),
    isModuleNamespaceObject: tagged("Module"),
    isNativeError: isError ?? tagged("Error"),
    isProxy: () => false,
  };
}

/** The brand checks of this runtime. */
export const types: Brands = native() ?? written();

/** For tests: the checks as written for a browser. */
export const writtenBrands: () => Brands = written;
