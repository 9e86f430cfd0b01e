import assert from "node:assert/strict";
import { channel } from "../mod.ts";
import { find, substitute } from "./_walk.ts";

Deno.test("find: ends and handles at any depth, each once; none in leaves", () => {
  const [tx, rx] = channel<number>();
  const handle = tx.clone().transfer();
  let deep: unknown = { rx };
  for (let i = 0; i < 10_000; i++) {
    deep = i % 3 === 0 ? [deep] : i % 3 === 1 ? { d: deep } : new Map([[1, deep]]);
  }
  const shared = { tx };
  const cyclic: Record<string, unknown> = {
    a: shared,
    b: [shared, new Set([shared, handle])],
    deep,
  };
  cyclic.self = cyclic;
  const found = find(cyclic)!;
  assert.deepEqual(new Set(found.ends), new Set([tx, rx]));
  assert.equal(found.ends.length, 2, "each end once");
  assert.deepEqual(found.handles, [handle]);
  assert.equal(find([1, "x", { a: 1 }, new Uint8Array(8), null, undefined]), null);
  assert.equal(find(42), null);
  // Typed arrays are not looked into; a Map key is.
  assert.deepEqual(find(new Map([[{ tx }, 1]]))!.ends, [tx]);
  tx.close();
  rx.close();
});

Deno.test("substitute: copies only the paths to replaced objects, keeps identity and cycles", () => {
  const target = { t: 1 };
  const untouched = { u: [1, 2] };
  const list = [target, untouched];
  const root: Record<string, unknown> = {
    list,
    again: list,
    set: new Set([target]),
    map: new Map([[target, untouched]]),
    untouched,
  };
  root.self = root;
  const copy = substitute(root, new Map([[target, "X"]])) as Record<string, unknown>;
  assert.notEqual(copy, root);
  assert.equal(copy.self, copy, "the cycle goes through the copy");
  assert.deepEqual(copy.list, ["X", untouched]);
  assert.equal(copy.again, copy.list, "a shared container stays shared");
  assert.equal(copy.untouched, untouched, "what leads to no replacement is not copied");
  assert.deepEqual([...(copy.set as Set<unknown>)], ["X"]);
  assert.deepEqual([...(copy.map as Map<unknown, unknown>)], [["X", untouched]]);
  assert.equal(root.list, list, "the original is unchanged");
  assert.deepEqual(list, [target, untouched]);
  // Holes and extra array properties survive, as structuredClone keeps them.
  const sparse: unknown[] = [target, , 3];
  (sparse as unknown as Record<string, unknown>).extra = target;
  const out = substitute(sparse, new Map([[target, 0]])) as unknown[];
  assert.equal(out.length, 3);
  assert.ok(!(1 in out));
  assert.equal((out as unknown as Record<string, unknown>).extra, 0);
});

// ── What structuredClone copies, and only that (review of the walk) ───────────────────────

const X = { replaced: true };

Deno.test("find and substitute: an array's other own properties, which structuredClone keeps", () => {
  const [tx, rx] = channel<number>();
  const list: unknown[] = [1, { a: 1 }];
  (list as unknown as Record<string, unknown>).extra = { tx };
  assert.deepEqual(Object.keys(structuredClone(list)), ["0", "1", "extra"], "the premise");
  assert.deepEqual(find({ list })?.ends, [tx]);
  const target = { t: 1 };
  const holey: unknown[] = [, "b", ,];
  (holey as unknown as Record<string, unknown>).extra = [target];
  const out = substitute({ holey }, new Map([[target, X]])) as { holey: unknown[] };
  assert.notEqual(out.holey, holey);
  assert.equal(out.holey.length, 3);
  assert.deepEqual(Object.keys(out.holey), ["1", "extra"], "holes stay holes");
  assert.deepEqual((out.holey as unknown as Record<string, unknown>).extra, [X]);
  assert.deepEqual((holey as unknown as Record<string, unknown>).extra, [target], "unchanged");
  tx.close();
  rx.close();
});

Deno.test("find and substitute: a sparse array costs what it holds, not its length", () => {
  const [tx, rx] = channel<number>();
  const target = { t: 1 };
  const sparse: unknown[] = [];
  sparse.length = 2 ** 31;
  sparse[5] = target;
  sparse[2 ** 30] = [{ tx }];
  const t0 = performance.now();
  assert.deepEqual(find(sparse)?.ends, [tx]);
  const out = substitute(sparse, new Map([[target, X]])) as unknown[];
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal(out.length, 2 ** 31);
  assert.deepEqual(Object.keys(out), ["5", String(2 ** 30)], "holes stay holes");
  assert.equal(out[5], X);
  assert.equal(out[2 ** 30], sparse[2 ** 30], "what leads to no replacement is shared");
  tx.close();
  rx.close();
});

Deno.test("find and substitute: an Error's cause, which structuredClone copies", () => {
  const [tx, rx] = channel<number>();
  const premise = structuredClone(new TypeError("bad", { cause: { deep: [1] } }));
  assert.ok(premise instanceof TypeError);
  assert.deepEqual(premise.cause, { deep: [1] }, "the premise");
  assert.deepEqual(find([new TypeError("bad", { cause: { tx } })])?.ends, [tx]);
  assert.deepEqual(find(new Error("bad", { cause: rx }))?.ends, [rx]);

  const target = { t: 1 };
  const error = new RangeError("out of range", { cause: [target] });
  const copy = (substitute({ error }, new Map([[target, X]])) as { error: RangeError }).error;
  assert.notEqual(copy, error);
  assert.ok(copy instanceof RangeError);
  assert.equal(copy.name, "RangeError");
  assert.equal(copy.message, "out of range");
  assert.equal(copy.stack, error.stack);
  assert.deepEqual(copy.cause, [X]);
  assert.deepEqual(error.cause, [target], "the original is unchanged");
  const posted = structuredClone(copy);
  assert.ok(posted instanceof RangeError);
  assert.equal(posted.message, "out of range");
  assert.equal(posted.stack, error.stack);
  assert.deepEqual(posted.cause, [X]);

  // The clone picks the prototype by name: so does a clone of the copy.
  const named = new Error("named", { cause: target });
  named.name = "TypeError";
  const again = structuredClone(substitute(named, new Map([[target, X]]))) as Error;
  assert.ok(again instanceof TypeError);
  assert.equal(again.message, "named");
  assert.deepEqual(again.cause, X);
  tx.close();
  rx.close();
});

/** Objects structuredClone copies from their internal data alone, dropping own properties. */
const internal: [string, () => object][] = [
  ["Date", () => new Date(0)],
  ["RegExp", () => /a/g],
  ["Number", () => new Number(1)],
  ["String", () => new String("s")],
  ["Boolean", () => new Boolean(true)],
  ["BigInt", () => Object(1n)],
  ["Map", () => new Map([[1, 2]])],
  ["Set", () => new Set([1])],
  ["Blob", () => new Blob(["x"])],
  ["ArrayBuffer", () => new ArrayBuffer(8)],
  ["Error", () => new Error("e")],
];

Deno.test("an end where structuredClone drops it is reported as dropped, never as moved", () => {
  for (const [name, make] of internal) {
    const [tx, rx] = channel<number>();
    const holder = make() as Record<string, unknown>;
    holder.extra = { tx };
    assert.equal(structuredClone(holder).extra, undefined, `the premise (${name})`);
    const found = find([holder]);
    assert.deepEqual(found?.ends, [], name);
    assert.deepEqual(found.dropped.map((d) => d.value), [tx], name);
    assert.match(found.dropped[0].where, new RegExp(`^a property of an? ${name}$`), name);
    // Reachable through a place the clone copies too: it is copied.
    const both = find({ holder, also: holder.extra });
    assert.deepEqual(both?.ends, [tx], name);
    assert.deepEqual(both.dropped, [], name);
    tx.close();
    rx.close();
  }
  // An Error's message and stack are copied as strings, its other properties dropped.
  const [tx, rx] = channel<number>();
  const error = new Error("e");
  (error as unknown as Record<string, unknown>).message = { tx };
  assert.deepEqual(find(error)?.dropped.map((d) => d.value), [tx]);
  const error2 = new Error("e");
  error2.stack = [rx] as unknown as string;
  assert.deepEqual(find(error2)?.dropped.map((d) => d.value), [rx]);
  tx.close();
  rx.close();
});

Deno.test("substitute never copies what structuredClone copies from internal data alone", () => {
  for (const [name, make] of internal) {
    const target = { t: 1 };
    const holder = make() as Record<string, unknown>;
    holder.extra = target;
    const root = { holder };
    const out = substitute(root, new Map([[target, X]])) as typeof root;
    assert.equal(out, root, `${name}: nothing to copy`);
    assert.equal(out.holder, holder, name);
  }
});

Deno.test("substitute copies an ordinary object as structuredClone does: into a plain object", () => {
  const target = { t: 1 };
  const replace = new Map([[target, X]]);
  class Point {
    x = 1;
    constructor(public at: unknown) {}
    get y(): number {
      return 2;
    }
  }
  // An own property where the prototype has a getter alone: assigning it would throw.
  class Guarded {
    constructor(at: unknown) {
      Object.defineProperty(this, "at", { value: at, enumerable: true });
    }
    get at(): unknown {
      return null;
    }
  }
  for (const value of [new Point([target]), new Guarded([target])]) {
    const copy = substitute(value, replace) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(copy, structuredClone({ ...value, at: [X] }));
  }
  const bare = Object.assign(Object.create(null), { at: target });
  assert.deepEqual(substitute(bare, replace), { at: X });
  // A property named __proto__ stays a property (assigning it would set the prototype).
  const own = JSON.parse('{ "__proto__": { "at": 0 } }');
  own.__proto__.at = target;
  const copy = substitute(own, replace) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value, { at: X });
});

Deno.test("subclasses are walked as their built-in is; an ordinary object as ordinary", () => {
  const target = { t: 1 };
  const replace = new Map([[target, X]]);
  class Stamp extends Date {}
  const stamp = Object.assign(new Stamp(0), { target });
  assert.equal((substitute([stamp], replace) as unknown[])[0], stamp, "a Date is never copied");
  class Table extends Map<number, unknown> {}
  const table = substitute(new Table([[1, target]]), replace);
  assert.ok(table instanceof Map);
  assert.deepEqual([...table], [[1, X]]);
  class Failure extends Error {
    constructor(cause: unknown) {
      super("failed", { cause });
      this.name = "Failure";
    }
  }
  const failure = substitute(new Failure([target]), replace) as Failure;
  assert.ok(failure instanceof Failure);
  assert.equal(failure.name, "Failure");
  assert.deepEqual(failure.cause, [X]);
  // An ordinary object with a built-in prototype: the clone copies its own properties.
  const fake = Object.assign(Object.create(Date.prototype), { target });
  assert.deepEqual(structuredClone(fake), { target }, "the premise");
  const copy = substitute(fake, replace);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.deepEqual(copy, { target: X });
});

Deno.test("what structuredClone refuses is neither looked into nor copied: posting fails as it would", () => {
  const [tx, rx] = channel<number>();
  const target = { t: 1 };
  for (
    const refused of [
      new WeakMap(),
      new WeakSet(),
      Promise.resolve(),
      new WeakRef({}),
      new Proxy({ target }, {}),
      new Proxy([target], {}),
    ]
  ) {
    Object.assign(refused, { target, tx });
    const root = { refused };
    const out = substitute(root, new Map([[target, X]]));
    assert.equal(out, root);
    assert.throws(() => structuredClone(out), (e) => e instanceof DOMException);
  }
  assert.equal(find({ weak: Object.assign(new WeakMap(), { tx }) }), null);
  tx.close();
  rx.close();
});

Deno.test("posting the substitute gives what posting the original gives, but for the replaced", () => {
  const builders: [string, (x: object) => unknown][] = [
    ["plain", (x) => ({ a: 1, x, nested: { x } })],
    ["array with a property", (x) => Object.assign([x, 2], { extra: x })],
    ["sparse", (x) => Object.assign(new Array(100), { 50: x })],
    ["Map", (x) => new Map<unknown, unknown>([[x, x], ["k", [x]]])],
    ["Set", (x) => new Set([x, 1])],
    ["Error", (x) => new SyntaxError("s", { cause: { x } })],
    ["class instance", (x) =>
      new (class {
        a = 1;
        constructor(public x: object) {}
      })(x)],
    ["null prototype", (x) => Object.assign(Object.create(null), { x })],
    ["Date and co. beside it", (x) => ({ d: new Date(5), r: /x/y, n: new Number(2), x })],
    // Deno refuses these only as the value posted: inside one, they are ordinary objects.
    ["URL, Response inside", (x) => [Object.assign(new URL("http://a/"), { x }), new Response()]],
    ["cycle", (x) => {
      const c: Record<string, unknown> = { x };
      c.self = c;
      c.list = [c, x];
      return c;
    }],
  ];
  for (const [name, build] of builders) {
    const target = { t: 1 };
    const posted = structuredClone(substitute(build(target), new Map([[target, X]])));
    assert.deepEqual(posted, structuredClone(build(X)), name);
    if (posted instanceof Error) assert.deepEqual(posted.cause, { x: X });
  }
});
