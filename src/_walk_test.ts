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
