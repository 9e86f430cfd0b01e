/**
 * Exact structural comparison for the codec tests: two value graphs are equal when there is a
 * one-to-one map between their objects under which every primitive is `Object.is`-equal and
 * every object has the same prototype, internal kind, own keys (in order), property attributes
 * and internal state. So it tells `-0` from `0`, a hole from `undefined`, a shared reference
 * from two equal objects, and a cycle from a deep tree.
 *
 * @module
 */

const tagOf = (x: object) => Object.prototype.toString.call(x);
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const taTag = Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag)!.get!;

/**
 * Compares two value graphs exactly.
 *
 * @param a The expected value (usually `structuredClone(x)`).
 * @param b The actual value.
 * @returns `null` when they are equal, else a description of the first difference.
 * @throws Never.
 * @example
 * ```ts
 * import { graphDiff } from "./equal.ts";
 * const o = {};
 * if (graphDiff([o, o], [{}, {}]) === null) throw new Error("identity must count");
 * ```
 */
export function graphDiff(a: unknown, b: unknown): string | null {
  const aToB = new Map<object, object>();
  const bToA = new Map<object, object>();

  function diff(x: unknown, y: unknown, path: string): string | null {
    if (typeof x !== typeof y) return `${path}: typeof ${typeof x} vs ${typeof y}`;
    if (x === null || y === null || (typeof x !== "object" && typeof x !== "function")) {
      return Object.is(x, y) ? null : `${path}: ${show(x)} vs ${show(y)}`;
    }
    const xo = x as object;
    const yo = y as object;
    const mapped = aToB.get(xo);
    if (mapped !== undefined) return mapped === yo ? null : `${path}: identity differs`;
    if (bToA.has(yo)) return `${path}: identity differs (b object seen elsewhere)`;
    aToB.set(xo, yo);
    bToA.set(yo, xo);
    if (Object.getPrototypeOf(xo) !== Object.getPrototypeOf(yo)) return `${path}: prototype`;
    if (tagOf(xo) !== tagOf(yo)) return `${path}: ${tagOf(xo)} vs ${tagOf(yo)}`;
    if (Array.isArray(xo) !== Array.isArray(yo)) return `${path}: isArray`;
    const k = kindDiff(xo, yo, path);
    if (k !== null) return k;
    return propsDiff(xo, yo, path);
  }

  function kindDiff(x: object, y: object, path: string): string | null {
    if (x instanceof Date) {
      return Object.is(x.getTime(), (y as Date).getTime()) ? null : `${path}: date`;
    }
    if (x instanceof RegExp) {
      const r = y as RegExp;
      if (x.source !== r.source || x.flags !== r.flags) return `${path}: regexp`;
      return null; // lastIndex is an own property: compared by propsDiff
    }
    if (x instanceof Map) {
      const m = y as Map<unknown, unknown>;
      if (x.size !== m.size) return `${path}: map size ${x.size} vs ${m.size}`;
      const xe = [...x];
      const ye = [...m];
      for (let i = 0; i < xe.length; i++) {
        const d = diff(xe[i][0], ye[i][0], `${path}.key(${i})`) ??
          diff(xe[i][1], ye[i][1], `${path}.value(${i})`);
        if (d !== null) return d;
      }
      return null;
    }
    if (x instanceof Set) {
      const s = y as Set<unknown>;
      if (x.size !== s.size) return `${path}: set size`;
      const xe = [...x];
      const ye = [...s];
      for (let i = 0; i < xe.length; i++) {
        const d = diff(xe[i], ye[i], `${path}.entry(${i})`);
        if (d !== null) return d;
      }
      return null;
    }
    if (x instanceof Number || x instanceof String || x instanceof Boolean) {
      return Object.is(x.valueOf(), y.valueOf()) ? null : `${path}: boxed value`;
    }
    if (typeof BigInt !== "undefined" && x instanceof BigInt) {
      return x.valueOf() === y.valueOf() ? null : `${path}: boxed bigint`;
    }
    if (x instanceof ArrayBuffer) {
      const yb = y as ArrayBuffer;
      if (x.byteLength !== yb.byteLength) return `${path}: byteLength`;
      if (x.resizable !== yb.resizable || x.maxByteLength !== yb.maxByteLength) {
        return `${path}: resizable/maxByteLength`;
      }
      const xu = new Uint8Array(x);
      const yu = new Uint8Array(yb);
      for (let i = 0; i < xu.length; i++) if (xu[i] !== yu[i]) return `${path}: byte ${i}`;
      return null;
    }
    if (ArrayBuffer.isView(x)) {
      const yv = y as ArrayBufferView;
      if (taTag.call(x) !== taTag.call(yv)) return `${path}: view kind`;
      if (x.byteOffset !== yv.byteOffset || x.byteLength !== yv.byteLength) {
        return `${path}: view offset/length ${x.byteOffset}+${x.byteLength} vs ${yv.byteOffset}+${yv.byteLength}`;
      }
      const d = diff(x.buffer, yv.buffer, `${path}.buffer`);
      if (d !== null) return d;
      const xb = x.buffer as ArrayBuffer;
      const yb = yv.buffer as ArrayBuffer;
      if (xb.resizable && yb.resizable && xb.byteLength < xb.maxByteLength) {
        // Length tracking: grow both buffers and compare, then put them back.
        const xl = xb.byteLength;
        const yl = yb.byteLength;
        xb.resize(xb.maxByteLength);
        yb.resize(yb.maxByteLength);
        const grown = x.byteLength !== yv.byteLength;
        xb.resize(xl);
        yb.resize(yl);
        if (grown) return `${path}: length tracking differs`;
      }
      return null;
    }
    if (x instanceof DOMException) {
      const e = y as DOMException;
      if (x.name !== e.name || x.message !== e.message || x.code !== e.code) {
        return `${path}: DOMException name/message/code`;
      }
      return x.stack === e.stack ? null : `${path}: DOMException stack`;
    }
    if (x instanceof Error) {
      const e = y as Error;
      if (x.name !== e.name) return `${path}: error name ${x.name} vs ${e.name}`;
      if (x.message !== e.message) return `${path}: error message`;
      if (x.stack !== e.stack) return `${path}: error stack ${show(x.stack)} vs ${show(e.stack)}`;
      return null; // cause: an own property, compared by propsDiff
    }
    return null;
  }

  function propsDiff(x: object, y: object, path: string): string | null {
    const isView = ArrayBuffer.isView(x);
    const xk = Reflect.ownKeys(x);
    const yk = Reflect.ownKeys(y);
    if (xk.length !== yk.length) {
      return `${path}: keys [${xk.map(String).slice(0, 20)}] vs [${yk.map(String).slice(0, 20)}]`;
    }
    for (let i = 0; i < xk.length; i++) {
      if (xk[i] !== yk[i]) return `${path}: key ${String(xk[i])} vs ${String(yk[i])}`;
    }
    if (isView) return null; // elements compared through the buffer
    for (const key of xk) {
      const p = `${path}.${String(key)}`;
      const dx = Object.getOwnPropertyDescriptor(x, key)!;
      const dy = Object.getOwnPropertyDescriptor(y, key)!;
      if (dx.enumerable !== dy.enumerable || dx.configurable !== dy.configurable) {
        return `${p}: attributes`;
      }
      if ("value" in dx !== "value" in dy) return `${p}: data vs accessor`;
      if ("value" in dx) {
        if (dx.writable !== dy.writable) return `${p}: writable`;
        const d = diff(dx.value, dy.value, p);
        if (d !== null) return d;
      } else if ((x instanceof Error || x instanceof DOMException) && key === "stack") {
        continue; // V8's stack accessor; the values were compared above
      } else if (dx.get !== dy.get || dx.set !== dy.set) {
        return `${p}: accessor`;
      }
    }
    return null;
  }

  return diff(a, b, "$");
}

function show(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x.length > 80 ? x.slice(0, 80) + "…" : x);
  if (typeof x === "bigint") return `${x}n`;
  if (Object.is(x, -0)) return "-0";
  return String(x);
}
