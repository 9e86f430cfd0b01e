import assert from "node:assert/strict";
import * as node from "node:util/types";
import { type Brands, types, writtenBrands } from "./brands.ts";

Deno.test("on Deno the brand checks are node:util/types' own", () => {
  assert.equal(types.isDate, node.isDate);
});

Deno.test("the brand checks written for a browser agree with node:util/types", () => {
  const written = writtenBrands();
  function* gen() {}
  const values: unknown[] = [
    new ArrayBuffer(8),
    new SharedArrayBuffer(8),
    new Uint8Array(4),
    new DataView(new ArrayBuffer(2)),
    new Date(0),
    /x/g,
    RegExp.prototype,
    new Map(),
    new Set(),
    Object(1),
    Object("s"),
    Object(true),
    Object(1n),
    Object(Symbol("s")),
    new WeakMap(),
    new WeakSet(),
    Promise.resolve(),
    gen(),
    new Map().keys(),
    new Set().values(),
    (function () {
      return arguments;
    })(),
    new Error("e"),
    new TypeError("t"),
    {},
    [],
    null,
    undefined,
    1,
    "s",
    Object.create(null),
    Object.create(Date.prototype),
    { [Symbol.toStringTag]: "Nothing" },
    () => 1,
  ];
  for (const name of Object.keys(written) as (keyof Brands)[]) {
    if (name === "isProxy") continue; // plain JavaScript cannot tell (documented)
    for (const value of values) {
      assert.equal(written[name](value), node[name](value), `${name}(${Deno.inspect(value)})`);
    }
  }
});
