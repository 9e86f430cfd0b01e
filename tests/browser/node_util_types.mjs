// A stand-in for `node:util/types`, which the structured codec imports and a browser cannot load
// ("Cross origin requests are only supported for protocol schemes: … http, https …"):
// tests/browser_test.ts points the bundle's imports of it here. Brand checks made by calling an
// intrinsic that throws on anything without the internal slot, as far as plain JavaScript can
// tell; `isProxy` cannot be told at all (always false here: a Proxy is encoded as its target
// would be, through its traps, where `structuredClone` throws a DataCloneError).

const uncurry = (f) => (self, ...args) => Reflect.apply(f, self, args);
const getter = (proto, key) => uncurry(Object.getOwnPropertyDescriptor(proto, key).get);
/** A brand check: whether `probe(o)` runs without throwing. */
const brand = (probe) => (o) => {
  if (o === null || (typeof o !== "object" && typeof o !== "function")) return false;
  try {
    probe(o);
    return true;
  } catch {
    return false;
  }
};
const tag = uncurry(Object.prototype.toString);
const toStringTag = (o) => typeof o === "object" && o !== null ? tag(o) : "";

export const isArrayBuffer = brand(getter(ArrayBuffer.prototype, "byteLength"));
export const isSharedArrayBuffer = typeof SharedArrayBuffer === "function"
  ? brand(getter(SharedArrayBuffer.prototype, "byteLength"))
  : () => false;
export const isDate = brand(uncurry(Date.prototype.getTime));
export const isRegExp = brand(getter(RegExp.prototype, "source")); // RegExp.prototype passes
export const isMap = brand(getter(Map.prototype, "size"));
export const isSet = brand(getter(Set.prototype, "size"));
export const isWeakMap = brand((o) => WeakMap.prototype.has.call(o, {}));
export const isWeakSet = brand((o) => WeakSet.prototype.has.call(o, {}));
export const isNumberObject = brand(uncurry(Number.prototype.valueOf));
export const isStringObject = brand(uncurry(String.prototype.valueOf));
export const isBooleanObject = brand(uncurry(Boolean.prototype.valueOf));
export const isBigIntObject = brand(uncurry(BigInt.prototype.valueOf));
export const isSymbolObject = brand(uncurry(Symbol.prototype.valueOf));
export const isBoxedPrimitive = (o) =>
  isNumberObject(o) || isStringObject(o) || isBooleanObject(o) || isBigIntObject(o) ||
  isSymbolObject(o);
// Promises, generators and iterators have no side-effect-free brand check: their prototypes.
const isPrototypeOf = uncurry(Object.prototype.isPrototypeOf);
const protoIs = (proto) => (o) => isPrototypeOf(proto, o);
export const isPromise = protoIs(Promise.prototype);
export const isGeneratorObject = protoIs(Object.getPrototypeOf(function* () {}).prototype);
export const isMapIterator = protoIs(Object.getPrototypeOf(new Map().entries()));
export const isSetIterator = protoIs(Object.getPrototypeOf(new Set().values()));
export const isArgumentsObject = (o) => toStringTag(o) === "[object Arguments]";
export const isModuleNamespaceObject = (o) => toStringTag(o) === "[object Module]";
export const isNativeError = Error.isError ?? ((o) => o instanceof Error);
export const isProxy = () => false;
