/**
 * Finding channel ends and handles anywhere inside a value that is about to be posted, and
 * substituting them: one iterative walk (no recursion, so no depth limit; each object visited
 * once, so cycles and shared references cost nothing extra), used by `spawn` on both sides and
 * by the Deno worker wrapper. Internal.
 *
 * The walk follows what `structuredClone` copies: an array's elements and its other own
 * enumerable properties (`a.extra = …`, which the clone keeps), read with one `Object.values`
 * so that a sparse array costs what is in it, not its `length`; own enumerable properties of
 * other objects, `Map` keys and values, `Set` members. It does not look inside typed arrays,
 * `DataView`s and `ArrayBuffer`s (their elements are numbers), nor at non-enumerable properties.
 *
 * @module
 */
import { isEnd } from "./_brand.ts";
import { PROTOCOL } from "./_lifeline.ts";

/** What the walk found: live end objects, handles, in the order met (each once). */
export interface Found {
  ends: object[];
  handles: object[];
}

const { isArray } = Array;
const { isView } = ArrayBuffer;
const { hasOwn, getPrototypeOf, keys: objectKeys, values: objectValues } = Object;
const ObjectPrototype = Object.prototype;

/** @returns whether `value` has the shape of a handle (its fields are checked on adoption). */
export function isHandleShape(value: object): boolean {
  const protocol = (value as { protocol?: unknown }).protocol;
  return protocol === PROTOCOL ||
    (typeof protocol === "string" && protocol.startsWith("@wasmring/mpsc@"));
}

/**
 * Walks `root` and reports every channel end object and every handle in it.
 * @returns null when there are none (the common case: nothing allocated but the walk's own
 * stack and visited set), else what was found.
 */
export function find(root: unknown): Found | null {
  if (typeof root !== "object" || root === null) return null;
  let found: Found | null = null;
  // Only objects with objects inside are remembered (a cycle needs one): a leaf object met
  // twice is looked at twice, which costs less than remembering every object.
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    const proto = getPrototypeOf(value);
    let items: unknown[];
    if (proto === ObjectPrototype) {
      // The common case first: a plain object (a handle is one too).
      if (isHandleShape(value)) {
        (found ??= { ends: [], handles: [] }).handles.push(value);
        seen.add(value);
        continue;
      }
      // `Object.keys` and keyed reads: half what `Object.values` costs on a small object.
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
    } else if (isArray(value)) {
      // Elements (holes skipped), then the other properties: the only way to see those is to
      // enumerate, and `Object.values` does it without turning indices into strings.
      items = objectValues(value);
    } else if (isView(value) || value instanceof ArrayBuffer) {
      continue;
    } else {
      seen.add(value);
      if (value instanceof Map) {
        for (const [k, v] of value) stack.push(k, v);
      } else if (value instanceof Set) {
        for (const v of value) stack.push(v);
      } else if (isEnd(value)) {
        (found ??= { ends: [], handles: [] }).ends.push(value);
      } else if (isHandleShape(value)) {
        (found ??= { ends: [], handles: [] }).handles.push(value);
      } else {
        for (const key in value) {
          if (hasOwn(value, key)) stack.push((value as Record<string, unknown>)[key]);
        }
      }
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
  return found;
}

/**
 * A copy of `root` in which every object that is a key of `replace` is replaced by its value:
 * the containers (arrays, objects, Maps, Sets) on a path from `root` to a replaced object are
 * copied, everything else is shared with `root`; shared references and cycles among the copied
 * containers are kept. `root` is not modified. A copied object keeps only what `structuredClone`
 * would copy of it (own enumerable properties), with its prototype.
 */
export function substitute(root: unknown, replace: ReadonlyMap<object, unknown>): unknown {
  if (typeof root !== "object" || root === null) return root;
  if (replace.has(root)) return replace.get(root);
  // Every container, with the containers it is in (reverse edges), found by one walk.
  const parents = new Map<object, object[]>([[root, []]]);
  const stack: object[] = [root];
  while (stack.length > 0) {
    const container = stack.pop()!;
    if (replace.has(container)) continue;
    forEachChild(container, (child) => {
      if (typeof child !== "object" || child === null) return;
      const list = parents.get(child);
      if (list !== undefined) {
        list.push(container);
        return;
      }
      parents.set(child, [container]);
      if (!isView(child) && !(child instanceof ArrayBuffer)) stack.push(child);
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
  for (const container of dirty) copies.set(container, emptyLike(container));
  const map = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    if (replace.has(value)) return replace.get(value);
    return copies.get(value) ?? value;
  };
  for (const [original, copy] of copies) {
    if (original instanceof Map) {
      for (const [k, v] of original) (copy as Map<unknown, unknown>).set(map(k), map(v));
    } else if (original instanceof Set) {
      for (const v of original) (copy as Set<unknown>).add(map(v));
    } else {
      for (const key in original) {
        if (hasOwn(original, key)) {
          (copy as Record<string, unknown>)[key] = map((original as Record<string, unknown>)[key]);
        }
      }
    }
  }
  return copies.get(root) ?? root;
}

function forEachChild(container: object, each: (child: unknown) => void): void {
  if (isArray(container)) {
    const items = objectValues(container); // not to `length`: a sparse array has few
    for (let i = 0; i < items.length; i++) each(items[i]);
  } else if (container instanceof Map) {
    for (const [k, v] of container) {
      each(k);
      each(v);
    }
  } else if (container instanceof Set) {
    for (const v of container) each(v);
  } else if (!isView(container) && !(container instanceof ArrayBuffer)) {
    for (const key in container) {
      if (hasOwn(container, key)) each((container as Record<string, unknown>)[key]);
    }
  }
}

function emptyLike(container: object): object {
  if (isArray(container)) return new Array(container.length);
  if (container instanceof Map) return new Map();
  if (container instanceof Set) return new Set();
  return Object.create(Object.getPrototypeOf(container));
}
