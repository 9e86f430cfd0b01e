// fast-check arbitraries of structured-clonable values, for property tests of codecs and of
// channels (tests/codec_channel_property_test.ts).
import fc from "fast-check";

// deno-lint-ignore no-explicit-any
type Any = any;

const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 80 })
  .map((u) => String.fromCharCode(...u));
const strings = fc.oneof(fc.string(), fc.string({ unit: "binary" }), codeUnits, fc.constant("id"));
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1, 2 ** 53),
);
const leaves = fc.oneof(
  numbers,
  strings,
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.constantFrom(undefined, null, true, false),
  numbers.map((n) => new Number(n)),
  strings.map((s) => new String(s)),
  fc.boolean().map((b) => new Boolean(b)),
  fc.bigInt().map((n) => Object(n)),
  fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.constant(NaN)).map((t) => new Date(t)),
  fc.tuple(
    fc.constantFrom("a+", "[x-z]*", "^\\d{2,}$", "(?<n>.)\\k<n>", ""),
    fc.subarray([..."dgimsuy"]),
  )
    .map(([s, f]) => new RegExp(s, f.filter((x) => x !== "u" || !s.includes("\\k")).join(""))),
);

const viewKinds: Any[] = [
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
  DataView,
  ...((globalThis as Any).Float16Array ? [(globalThis as Any).Float16Array] : []),
];
const buffers = fc.record({
  bytes: fc.uint8Array({ maxLength: 64 }),
  resizable: fc.boolean(),
  extra: fc.nat(32),
}).map(({ bytes, resizable, extra }) => {
  const b = resizable
    ? new ArrayBuffer(bytes.length, { maxByteLength: bytes.length + extra })
    : new ArrayBuffer(bytes.length);
  new Uint8Array(b).set(bytes);
  return b;
});
const views = fc.tuple(buffers, fc.constantFrom(...viewKinds), fc.nat(), fc.nat(), fc.boolean())
  .map(([b, C, o, l, tracking]) => {
    const size = C.BYTES_PER_ELEMENT ?? 1;
    const max = Math.floor(b.byteLength / size);
    const offset = max === 0 ? 0 : (o % (max + 1)) * size;
    const room = Math.floor((b.byteLength - offset) / size);
    const length = room === 0 ? 0 : l % (room + 1);
    return tracking && b.resizable ? new C(b, offset) : new C(b, offset, length);
  });

const errorKinds = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];

const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: "medium", withCrossShrink: true }, leaves, leaves, tie("node")),
  node: fc.oneof(
    fc.array(tie("tree"), { maxLength: 6 }),
    fc.sparseArray(tie("tree"), { maxLength: 20 }),
    fc.dictionary(strings, tie("tree"), { maxKeys: 6 }),
    fc.record({ id: fc.integer(), body: tie("tree") }),
    fc.record({ id: fc.integer(), body: tie("tree") }),
    fc.array(fc.tuple(tie("tree"), tie("tree")), { maxLength: 4 }).map((e) => new Map(e)),
    fc.array(tie("tree"), { maxLength: 4 }).map((e) => new Set(e)),
    // Arrays with extra properties (not "length": assigning it a non-index value throws).
    fc.tuple(
      fc.array(tie("tree"), { maxLength: 3 }),
      fc.dictionary(strings.filter((k) => k !== "length"), tie("tree"), { maxKeys: 2 }),
    )
      .map(([a, extra]) => Object.assign(a, extra)),
    fc.tuple(
      fc.constantFrom(...errorKinds),
      strings,
      fc.option(tie("tree"), { nil: undefined }),
      fc.option(fc.constantFrom("Custom", "TypeError", "RangeError"), { nil: undefined }),
    ).map(([C, m, cause, name]) => {
      const e: Any = cause === undefined ? new C(m) : new C(m, { cause });
      if (name !== undefined) e.name = name;
      return e;
    }),
    buffers,
    views,
    fc.array(views, { maxLength: 3 }).map((vs) => {
      // Several views of one buffer.
      if (vs.length === 0) return vs;
      const b = vs[0].buffer;
      return vs.map((v: Any) =>
        new (v.constructor as Any)(b, 0, Math.floor(b.byteLength / (v.BYTES_PER_ELEMENT ?? 1)))
      );
    }),
  ),
}));

/** Rewires some slots of the value to point at other objects of it: shared refs and cycles. */
function rewire(root: unknown, picks: number[]): unknown {
  const objects: Any[] = [];
  const seen = new Set<unknown>();
  (function collect(v: unknown) {
    if (v === null || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    objects.push(v);
    if (v instanceof Map) v.forEach((x, k) => (collect(k), collect(x)));
    else if (v instanceof Set) v.forEach((x) => collect(x));
    else if (!ArrayBuffer.isView(v) && !(v instanceof Error)) Object.values(v).forEach(collect);
  })(root);
  const containers = objects.filter((o) =>
    Array.isArray(o) || Object.getPrototypeOf(o) === Object.prototype || o instanceof Map
  );
  for (let i = 0; i + 1 < picks.length && containers.length > 0; i += 2) {
    const c = containers[picks[i] % containers.length];
    const target = objects[picks[i + 1] % objects.length];
    if (c instanceof Map) c.set(`ref${i}`, target);
    else if (Array.isArray(c)) c.push(target);
    else c[`ref${i}`] = target;
  }
  return root;
}

/** Random nested values of every kind the structured codec supports, with shared references
 * and cycles. */
export const values: fc.Arbitrary<unknown> = fc.tuple(tree, fc.array(fc.nat(), { maxLength: 8 }))
  .map(([v, picks]) => rewire(v, picks));

/**
 * Large top-level strings and views (512 bytes and more): what the built-in codecs write in place
 * in a channel's ring (see src/codec/_direct.ts), views at any offset of a buffer with room
 * around them.
 */
export const largeValues: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ minLength: 512, maxLength: 3000 }),
  fc.string({ unit: "binary", minLength: 512, maxLength: 1500 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 512, maxLength: 2000 })
    .map((u) => String.fromCharCode(...u)),
  fc.tuple(fc.uint8Array({ minLength: 512, maxLength: 5000 }), fc.constantFrom(...viewKinds))
    .chain(([bytes, Kind]) => {
      const size = Kind.BYTES_PER_ELEMENT ?? 1;
      const most = Math.floor(bytes.length / size);
      return fc.tuple(fc.nat(most), fc.nat(most)).map(([a, b]) => {
        const buffer = new ArrayBuffer(bytes.length);
        new Uint8Array(buffer).set(bytes);
        const [from, to] = a <= b ? [a, b] : [b, a];
        return new Kind(buffer, from * size, to - from);
      });
    }),
);
