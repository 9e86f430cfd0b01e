/**
 * Finding channel ends and handles anywhere inside a value that is about to be posted, and
 * substituting them: one iterative walk (no recursion, so no depth limit; each object visited
 * once, so cycles and shared references cost nothing extra), used by `spawn` on both sides and
 * by the Deno worker wrapper. Internal.
 *
 * **What is walked** is what `structuredClone` copies as values (V8's `ValueSerializer`, which
 * decides by an object's internal slots, not its prototype):
 *
 * - a plain object, and any other ordinary object (a class instance, an object with a null
 *   prototype): its own enumerable string-keyed properties, read as the clone reads them
 *   (getters run);
 * - an array: its elements and its other own enumerable string-keyed properties
 *   (`a.extra = …`), read with one `Object.values`, so that a sparse array costs what is in it,
 *   not its `length`;
 * - a `Map`'s keys and values, a `Set`'s members;
 * - an Error's `cause`, if it is an own data property: the only part of an Error the clone
 *   copies as a value (it copies `message` and `stack` as strings and picks the copy's
 *   prototype by `name`).
 *
 * Nothing else: symbol-keyed and non-enumerable properties (the clone skips them); the contents
 * of typed arrays, `DataView`s, `ArrayBuffer`s, `Date`s, `RegExp`s, boxed primitives, host
 * objects (`Blob`, `File`, `CryptoKey`, `DOMException` on Deno), `MessagePort`s, WebAssembly
 * modules and memories (copied from their internal data alone); objects the clone refuses
 * (`WeakMap`, `WeakSet`, `WeakRef`, `Promise`, iterators, `arguments`, a Proxy of anything but a
 * plain object or an array), whose posting fails with a `DataCloneError` anyway. (Deno refuses
 * its `URL`, `Request`, `Headers`… only as the value posted itself: inside one, it copies them as
 * ordinary objects, and so they are walked.)
 *
 * **What the clone drops**: the own properties of the objects it copies from internal data
 * (`date.tx = tx`), of `Map`s and `Set`s, and of an Error but its `cause`. An end or a handle
 * held only there would silently not arrive: a live end would stay open here while its owner
 * believes it moved, and its peer would wait for ever. So `find` looks there too (except in
 * typed arrays: that would mean going through their elements) and reports what it finds there
 * as `dropped`, and every caller refuses to post it: `spawn` (and a spawned worker's result)
 * with a `TypeError`, the Deno wrapper with a `DataCloneError`, as it does for a live end. What
 * is also reachable through a place the clone copies counts as copied.
 *
 * **Copies**: `substitute` copies a container as `structuredClone` would, so that posting the
 * copy gives what posting the original gives, apart from what was replaced: an ordinary object
 * into a plain object (the clone drops its prototype too; and writing its properties into an
 * object with its prototype would run that prototype's setters); an array into an array of the
 * same length, with its holes and its other properties; a `Map` into a `Map`, a `Set` into a
 * `Set`; an Error into an Error of the same prototype with the same `name`, `message` and
 * `stack`, and its `cause` substituted. Nothing else is copied: a `Date` stays that `Date`, and
 * an object the clone refuses (a Proxy included) stays as it is, so that posting it fails as it
 * would have.
 *
 * Not told apart, so that the common objects stay fast: an object whose prototype is
 * `Object.prototype` is taken for a plain object, an array for an array, and an object without
 * a built-in prototype on its chain (an instance of a user's class) for an ordinary object, all
 * without brand checks. So `find` walks a Proxy of one through its traps, where posting it
 * would throw (`substitute` checks, and leaves a Proxy as it is); and an object given such a
 * prototype by hand (`Object.setPrototypeOf(new Date(), null)`) is walked, and copied, as an
 * ordinary object.
 *
 * @module
 */
import { isEnd } from "./_brand.ts";
import { PROTOCOL } from "./_lifeline.ts";
import { types } from "./codec/structured/brands.ts";
import {
  DOMEXC_UNMARKED,
  HOST_OBJECT,
  isDOMException,
  isError,
  isRejected,
  mapForEach,
  setForEach,
} from "./codec/structured/intrinsics.ts";

/** An end or a handle met only where `structuredClone` drops what it holds. */
export interface Dropped {
  value: object;
  /** Where, in words: "a property of a Date". */
  where: string;
}

/** What the walk found: live end objects, handles, in the order met (each once). */
export interface Found {
  ends: object[];
  handles: object[];
  /** Ends and handles held only where `structuredClone` drops them (see the module doc). */
  dropped: Dropped[];
}

const { isArray } = Array;
const { isView } = ArrayBuffer;
const {
  defineProperty,
  getOwnPropertyDescriptor,
  getOwnPropertyNames,
  getPrototypeOf,
  hasOwn,
  keys: objectKeys,
  setPrototypeOf,
  values: objectValues,
} = Object;
const ObjectPrototype = Object.prototype;
const objectToString = ObjectPrototype.toString;
// deno-lint-ignore no-explicit-any
const G = globalThis as any;
/**
 * Told by prototype, not by brand: the brand checks of WebAssembly objects throw (5 µs per
 * ordinary object), and MessagePort's getters check no brand on Deno.
 */
const BY_PROTOTYPE: (new (...args: never[]) => object)[] = [
  G.WebAssembly?.Module,
  G.WebAssembly?.Memory,
  G.MessagePort,
].filter((C) => typeof C === "function");

/** @returns whether `value` has the shape of a handle (its fields are checked on adoption). */
export function isHandleShape(value: object): boolean {
  const protocol = (value as { protocol?: unknown }).protocol;
  return protocol === PROTOCOL ||
    (typeof protocol === "string" && protocol.startsWith("@wasmring/mpsc@"));
}

/** @returns what is wrong with posting `dropped`, as the end of an error message. */
export function droppedProblem(dropped: Dropped): string {
  return `a channel ${isEnd(dropped.value) ? "end" : "handle"} is held by ${dropped.where}, ` +
    "which structuredClone does not copy, so it would never arrive";
}

// ── What structuredClone does with an object ───────────────────────────────────────────────

/** An ordinary object: its own enumerable string-keyed properties are copied. */
const ORDINARY = 0;
const ARRAY = 1;
const MAP = 2;
const SET = 3;
/** An Error: its `cause` is copied as a value; its other own properties are dropped. */
const ERROR = 4;
/** Copied from its internal data alone: its own properties are dropped. */
const INTERNAL = 5;
/** A typed array or a DataView: copied from its bytes; nothing of it is looked at. */
const VIEW = 6;
/** `structuredClone` throws. */
const REFUSED = 7;

/**
 * The prototypes of the language's kinds, taken when the module loads (a global replaced later
 * changes nothing), with those of its iterators and generators, which no global holds.
 */
const INTRINSIC: unknown[] = [
  ...[ArrayBuffer, G.SharedArrayBuffer, DataView, Uint8Array, Date, RegExp, Map, Set, WeakMap]
    .map((C) => C?.prototype),
  ...[WeakSet, G.WeakRef, G.FinalizationRegistry, Promise, Number, String, Boolean, BigInt, Symbol]
    .map((C) => C?.prototype),
  Error.prototype,
  ...[
    [].values(),
    new Map().entries(),
    new Set().values(),
    ""[Symbol.iterator](),
    /a/[Symbol.matchAll](""),
    (function* () {})(),
    (async function* () {})(),
  ].map(getPrototypeOf),
];

/**
 * Those prototypes, and the prototypes of the runtime's other classes (its globals'), found
 * once, when first needed (some 0.5 ms: not at every worker's start); `Object.prototype` aside.
 * An object with none of them on its prototype chain was made by `new` of a user's class or by
 * `Object.create`: it is ordinary.
 */
let builtIn: Set<object> | null = null;

function builtInPrototypes(): Set<object> {
  const found = new Set<object>();
  const addChain = (p: unknown) => {
    for (; typeof p === "object" && p !== null && p !== ObjectPrototype; p = getPrototypeOf(p)) {
      found.add(p);
    }
  };
  for (const p of INTRINSIC) addChain(p);
  for (const holder of [globalThis, G.Intl, G.WebAssembly, G.Temporal]) {
    if (typeof holder !== "object" || holder === null) continue;
    for (const name of Object.getOwnPropertyNames(holder)) {
      // A value, not a getter: Node defines some classes lazily, and loading them costs.
      const d = getOwnPropertyDescriptor(holder, name);
      if (d !== undefined && typeof d.value === "function") addChain(d.value.prototype);
    }
  }
  return found;
}

/**
 * How `structuredClone` treats `o`, an object that is neither a plain object nor an array: by
 * its prototype chain first, by internal slots if a built-in prototype is on it (see `kindOf`).
 */
function exoticKind(o: object): number {
  const proto = getPrototypeOf(o);
  if (proto === null) return types.isModuleNamespaceObject(o) ? REFUSED : ORDINARY;
  const prototypes = builtIn ??= builtInPrototypes();
  for (let p: object | null = proto; p !== null && p !== ObjectPrototype; p = getPrototypeOf(p)) {
    if (prototypes.has(p)) return kindOf(o);
  }
  // Deno defines some of its web classes lazily (not found above): a host object is marked.
  return HOST_OBJECT in o ? INTERNAL : ORDINARY;
}

/**
 * How `structuredClone` treats `o`, told by internal slots (in the order of V8's
 * `ValueSerializer::WriteJSReceiver`, as the structured codec's `writeExotic` does). Costs a
 * dozen brand checks (some 0.4 µs): asked only for objects with a built-in prototype.
 */
function kindOf(o: object): number {
  if (types.isProxy(o)) return REFUSED;
  if (isArray(o)) return ARRAY;
  if (isView(o)) return VIEW;
  if (
    types.isArrayBuffer(o) || types.isSharedArrayBuffer(o) || types.isDate(o) ||
    types.isRegExp(o)
  ) {
    return INTERNAL;
  }
  if (types.isMap(o)) return MAP;
  if (types.isSet(o)) return SET;
  if (types.isBoxedPrimitive(o)) return INTERNAL;
  if (HOST_OBJECT in o) return INTERNAL; // Deno's Blob, File, CryptoKey, DOMException…
  if (isError(o)) return DOMEXC_UNMARKED && isDOMException(o) ? INTERNAL : ERROR;
  // Deno's URL, Request, Headers… are refused only at the top of a value (see the module doc).
  if (
    types.isWeakMap(o) || types.isWeakSet(o) || types.isPromise(o) || types.isGeneratorObject(o) ||
    types.isMapIterator(o) || types.isSetIterator(o) || types.isArgumentsObject(o) ||
    types.isModuleNamespaceObject(o) || isRejected(o, getPrototypeOf(o))
  ) {
    return REFUSED;
  }
  // WebAssembly modules and memories are shared, a port transferred (or refused, if not in the
  // transfer list): what the clone keeps of them is internal either way.
  for (let i = 0; i < BY_PROTOTYPE.length; i++) if (o instanceof BY_PROTOTYPE[i]) return INTERNAL;
  return ORDINARY;
}

/** `o` in words, for a message: "a Date", "an Error". */
function describe(o: object): string {
  let tag: string;
  try {
    tag = objectToString.call(o).slice(8, -1);
  } catch {
    tag = "Object";
  }
  return `${/^[AEIOU]/.test(tag) ? "an" : "a"} ${tag}`;
}

// ── find ───────────────────────────────────────────────────────────────────────────────────

interface Walk {
  found: Found | null;
  seen: Set<object>;
  stack: unknown[];
  /** Objects held where the clone drops them, with where: walked once the rest is. */
  lost: Dropped[] | null;
}

/**
 * Walks `root` and reports every channel end object and every handle in it, and every one held
 * only where `structuredClone` drops it.
 * @returns null when there are none (the common case: nothing allocated but the walk's own
 * stack and visited set), else what was found.
 */
export function find(root: unknown): Found | null {
  if (typeof root !== "object" || root === null) return null;
  // Only objects with objects inside are remembered (a cycle needs one): a leaf object met
  // twice is looked at twice, which costs less than remembering every object.
  const walk: Walk = { found: null, seen: new Set(), stack: [root], lost: null };
  walkFrom(walk, null);
  // What the clone drops, last: an object also reachable by a path it copies was seen by now.
  const lost = walk.lost;
  if (lost !== null) {
    for (let i = 0; i < lost.length; i++) {
      walk.stack.push(lost[i].value);
      walkFrom(walk, lost[i].where);
    }
  }
  return walk.found;
}

/**
 * Walks what is on `walk.stack`: in a place the clone copies (`where` null), or in one it drops
 * (`where` says which).
 */
function walkFrom(walk: Walk, where: string | null): void {
  const { seen, stack } = walk;
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    const proto = getPrototypeOf(value);
    if (proto === ObjectPrototype) {
      // The common case first: a plain object (a handle is one too). `Object.keys` and keyed
      // reads: half what `Object.values` costs on a small object.
      if (isHandleShape(value)) {
        seen.add(value);
        note(walk, value, false, where);
        continue;
      }
      const keys = objectKeys(value);
      let inner = false;
      for (let i = 0; i < keys.length; i++) {
        const item = (value as Record<string, unknown>)[keys[i]];
        if (typeof item !== "object" || item === null) continue;
        if (!inner) {
          inner = true;
          seen.add(value);
        }
        stack.push(item);
      }
      continue;
    }
    let items: unknown[];
    if (isArray(value)) {
      // Elements (holes skipped), then the other properties: the only way to see those is to
      // enumerate, and `Object.values` does it without turning indices into strings.
      items = objectValues(value);
    } else if (isView(value)) {
      continue; // typed arrays and DataViews, often many: their bytes are all the clone copies
    } else {
      seen.add(value);
      if (isEnd(value)) note(walk, value, true, where);
      else walkExotic(walk, value, where);
      continue;
    }
    let inner = false;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== "object" || item === null) continue;
      if (!inner) {
        inner = true;
        seen.add(value);
      }
      stack.push(item);
    }
  }
}

/** Records the end or handle `value`, met in a copied place (`where` null) or a dropped one. */
function note(walk: Walk, value: object, end: boolean, where: string | null): void {
  const found = walk.found ??= { ends: [], handles: [], dropped: [] };
  if (where !== null) found.dropped.push({ value, where });
  else if (end) found.ends.push(value);
  else found.handles.push(value);
}

/** Walks an object that is neither a plain object nor an array (nor a Proxy of one) nor an end. */
function walkExotic(walk: Walk, value: object, where: string | null): void {
  const stack = walk.stack;
  switch (exoticKind(value)) {
    case ORDINARY: {
      if (isHandleShape(value)) return note(walk, value, false, where);
      const keys = objectKeys(value);
      for (let i = 0; i < keys.length; i++) stack.push((value as Record<string, unknown>)[keys[i]]);
      return;
    }
    case MAP:
      mapForEach.call(value, (v: unknown, k: unknown) => void stack.push(k, v));
      break;
    case SET:
      setForEach.call(value, (v: unknown) => void stack.push(v));
      break;
    case ERROR: {
      const cause = getOwnPropertyDescriptor(value, "cause");
      if (cause !== undefined && "value" in cause) stack.push(cause.value);
      // Dropped: every other own property (message and name become strings), and a stack
      // that is not a string.
      const names = getOwnPropertyNames(value);
      for (let i = 0; i < names.length; i++) {
        if (names[i] === "cause" && cause !== undefined && "value" in cause) continue;
        const d = getOwnPropertyDescriptor(value, names[i]);
        if (d !== undefined && "value" in d) drop(walk, d.value, value, where);
      }
      drop(walk, (value as { stack?: unknown }).stack, value, where);
      return;
    }
    case INTERNAL:
      break;
    default: // VIEW, REFUSED
      return;
  }
  // MAP, SET, INTERNAL: their own properties are dropped.
  const items = objectValues(value);
  for (let i = 0; i < items.length; i++) drop(walk, items[i], value, where);
}

/** Notes `item`, held by a property of `holder` that the clone drops. */
function drop(walk: Walk, item: unknown, holder: object, where: string | null): void {
  if (typeof item !== "object" || item === null) return;
  if (where !== null) walk.stack.push(item); // already in a dropped place
  else (walk.lost ??= []).push({ value: item, where: `a property of ${describe(holder)}` });
}

// ── substitute ─────────────────────────────────────────────────────────────────────────────

/**
 * How `structuredClone` treats `o`, for `substitute`: as `exoticKind`, with the plain objects'
 * and arrays' shortcut of the walk (so that both go the same ways), and ends as leaves.
 */
function containerKind(o: object): number {
  if (types.isProxy(o)) return REFUSED;
  const proto = getPrototypeOf(o);
  if (proto === ObjectPrototype) return ORDINARY;
  if (isArray(o)) return ARRAY;
  if (isEnd(o)) return INTERNAL;
  return exoticKind(o);
}

/**
 * A copy of `root` in which every object that is a key of `replace` is replaced by its value:
 * the containers (objects, arrays, Maps, Sets, Errors) on a path from `root` to a replaced
 * object are copied as `structuredClone` would copy them (see the module doc), everything else
 * is shared with `root`; shared references and cycles among the copied containers are kept.
 * Only the places the clone copies are looked at. `root` is not modified.
 */
export function substitute(root: unknown, replace: ReadonlyMap<object, unknown>): unknown {
  if (typeof root !== "object" || root === null) return root;
  if (replace.has(root)) return replace.get(root);
  // Every container, with its kind and the containers it is in (reverse edges), by one walk.
  const parents = new Map<object, object[]>([[root, []]]);
  const kinds = new Map<object, number>();
  const stack: object[] = [root];
  while (stack.length > 0) {
    const container = stack.pop()!;
    if (replace.has(container)) continue;
    const kind = containerKind(container);
    kinds.set(container, kind);
    forEachChild(container, kind, (child) => {
      if (typeof child !== "object" || child === null) return;
      const list = parents.get(child);
      if (list !== undefined) {
        list.push(container);
        return;
      }
      parents.set(child, [container]);
      stack.push(child);
    });
  }
  // The containers that lead to a replaced object are the ones to copy.
  const dirty = new Set<object>();
  const up: object[] = [];
  for (const target of replace.keys()) if (parents.has(target)) up.push(target);
  while (up.length > 0) {
    for (const parent of parents.get(up.pop()!) ?? []) {
      if (!dirty.has(parent)) {
        dirty.add(parent);
        up.push(parent);
      }
    }
  }
  const copies = new Map<object, object>();
  for (const container of dirty) copies.set(container, emptyLike(container, kinds.get(container)!));
  const map = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    if (replace.has(value)) return replace.get(value);
    return copies.get(value) ?? value;
  };
  for (const [original, copy] of copies) fill(original, kinds.get(original)!, copy, map);
  return copies.get(root) ?? root;
}

/** Calls `each` with every value in a place of `container` that the clone copies. */
function forEachChild(container: object, kind: number, each: (child: unknown) => void): void {
  switch (kind) {
    case ORDINARY:
    case ARRAY: {
      const items = objectValues(container);
      for (let i = 0; i < items.length; i++) each(items[i]);
      return;
    }
    case MAP:
      mapForEach.call(container, (v: unknown, k: unknown) => {
        each(k);
        each(v);
      });
      return;
    case SET:
      setForEach.call(container, (v: unknown) => each(v));
      return;
    case ERROR: {
      const cause = getOwnPropertyDescriptor(container, "cause");
      if (cause !== undefined && "value" in cause) each(cause.value);
    }
  }
}

/** An empty copy of a container of `kind` (one that has children: see `forEachChild`). */
function emptyLike(container: object, kind: number): object {
  switch (kind) {
    case ARRAY:
      return new Array((container as unknown[]).length); // all holes, until filled
    case MAP:
      return new Map();
    case SET:
      return new Set();
    case ERROR: {
      // A real Error (the clone goes by the internal slot), of the original's prototype.
      const copy = new Error();
      setPrototypeOf(copy, getPrototypeOf(container));
      return copy;
    }
    default:
      return {};
  }
}

/** Fills `copy` with what the clone would copy of `original`, each value through `map`. */
function fill(original: object, kind: number, copy: object, map: (v: unknown) => unknown): void {
  switch (kind) {
    case MAP:
      mapForEach.call(original, (v: unknown, k: unknown) => {
        (copy as Map<unknown, unknown>).set(map(k), map(v));
      });
      return;
    case SET:
      setForEach.call(original, (v: unknown) => void (copy as Set<unknown>).add(map(v)));
      return;
    case ERROR:
      return fillError(original, copy, map);
    case ARRAY: {
      const array = original as unknown[];
      const items = objectValues(array);
      if (items.length === array.length && !hasHoles(array)) {
        // Packed, and as many values as elements: nothing but elements.
        for (let i = 0; i < items.length; i++) (copy as unknown[])[i] = map(items[i]);
        return;
      }
      break; // holes (kept as holes) or other properties: by key
    }
  }
  const from = original as Record<string, unknown>;
  const keys = objectKeys(from);
  for (let i = 0; i < keys.length; i++) {
    const value = from[keys[i]];
    // A getter may have deleted a later key: the clone skips it then.
    if (value === undefined && !hasOwn(from, keys[i])) continue;
    put(copy, keys[i], map(value));
  }
}

function hasHoles(array: unknown[]): boolean {
  for (let i = 0; i < array.length; i++) if (!(i in array)) return true;
  return false;
}

/** Defines property `key` as a plain assignment would on a fresh object, `__proto__` too. */
function put(target: object, key: string, value: unknown): void {
  if (key === "__proto__") {
    defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (target as Record<string, unknown>)[key] = value;
  }
}

/**
 * Gives `copy` (an Error of the original's prototype) what V8's serializer reads of `original`
 * (`ValueSerializer::WriteJSError`): its `name` (which picks the clone's prototype), its own
 * `message` data property, its `stack`, and its own `cause` data property, substituted.
 */
function fillError(original: object, copy: object, map: (v: unknown) => unknown): void {
  const from = original as { name?: unknown; stack?: unknown };
  const data = (value: unknown, like?: PropertyDescriptor): PropertyDescriptor => ({
    value,
    writable: like?.writable ?? true,
    enumerable: like?.enumerable ?? false,
    configurable: like?.configurable ?? true,
  });
  const name = getOwnPropertyDescriptor(original, "name");
  if (name !== undefined) defineProperty(copy, "name", data(from.name, name));
  const message = getOwnPropertyDescriptor(original, "message");
  if (message !== undefined && "value" in message) {
    defineProperty(copy, "message", data(message.value, message));
  }
  if ("stack" in original) defineProperty(copy, "stack", data(from.stack));
  else delete (copy as { stack?: unknown }).stack;
  const cause = getOwnPropertyDescriptor(original, "cause");
  if (cause !== undefined && "value" in cause) {
    defineProperty(copy, "cause", data(map(cause.value), cause));
  }
}
