// as-pect configuration for the core's unit tests (assembly/__tests__/). Run: `deno task aspect`.
// The core uses atomics but never waits, so the tests run on as-pect's own (unshared) memory.
export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
