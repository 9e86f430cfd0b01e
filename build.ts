/**
 * Builds the Wasm core: compiles `assembly/index.ts` with the AssemblyScript compiler, checks
 * that the module is safe to instantiate in many threads over one memory, and writes
 * `src/_core_generated.ts` (the module as base64 plus the layout constants).
 *
 *     deno task build          # regenerate src/_core_generated.ts
 *     deno task build:check    # fail if the committed file differs from a fresh build
 *
 * ## Why the module must look the way it does
 * Every thread that holds a channel end instantiates the same module over the same shared
 * `WebAssembly.Memory`. Each instance has its own globals and its own allocator state, and
 * instantiation re-applies active data segments and runs the start function in every new
 * thread. So the core imports one shared memory and nothing else, has no data segment and no
 * start function, and never allocates (no `new`, strings, arrays or closures in `assembly/`):
 * its globals are per-thread caches by design. `compile()` sets the flags for that (each is
 * explained at `ASC_FLAGS`) and `verify()` refuses a module that breaks it.
 *
 * ## The checks
 * - `verify()`: no data segment (section 11, or its count section 12) — a worker instantiating
 *   the module would reset that memory under the others; no start function (section 8), for
 *   the same reason; exactly one import, `env.memory` — any other (an `env.abort` from an
 *   `assert`, a `trace`, runtime helpers) calls out of the core or needs state the threads do
 *   not share. The `DEBUG` checks of `assembly/` import `env.abort` and carry their messages in
 *   a data segment, so a build with them compiled in is rejected here as well.
 * - `constants()`: the layout constants come from the module's exported immutable globals, read
 *   from a throwaway instance, so TypeScript never retypes an offset.
 * - `--check` (CI): the compiler's output is deterministic, so the committed
 *   `src/_core_generated.ts` must equal a fresh build byte for byte.
 *
 * ## DEBUG
 * `assembly/layout.ts` defines `DEBUG = isDefined(CORE_DEBUG)`. The as-pect build
 * (`as-pect.asconfig.json`) passes `--use CORE_DEBUG=1`, so its `if (DEBUG) assert(…)`
 * invariant checks run in the unit tests. This build does not (and passes `--noAssert`), so
 * they are compiled out: the release module is the same, byte for byte, with or without them.
 * Do not put `use` in `asconfig.json`: asc reads that file for this build too (it is where
 * `--enable threads` comes from for the as-pect build, which extends it).
 *
 * @module
 */
import asc from "assemblyscript/asc";

const ROOT = new URL(".", import.meta.url);
const OUTPUT = new URL("src/_core_generated.ts", ROOT);

/** Compiler flags (AssemblyScript 0.28), each with the reason it is there. */
export const ASC_FLAGS = [
  // The entry: its exports, and nothing else, are the module's exports.
  "assembly/index.ts",
  // Kept in memory by `compile()`'s writeFile; nothing is written to disk.
  "--outFile",
  "core.wasm",
  // Atomics (`atomic.load/store/cmpxchg/notify`) and shared memory.
  "--enable",
  "threads",
  // One memory for every thread's instance, created by JavaScript (`createMemory` in
  // src/_core.ts) and passed in as `env.memory`.
  "--importMemory",
  // Atomics between workers need a shared memory.
  "--sharedMemory",
  // The module's minimum: the JavaScript memory's initial size must be at least this.
  "--initialMemory",
  "1",
  // A shared memory must declare a maximum, and the JavaScript memory's maximum must not exceed
  // it: declare the largest (65536 pages, 4 GiB) and let JavaScript choose. A large maximum
  // costs no resident memory up front.
  "--maximumMemory",
  "65536",
  // JavaScript already holds the memory it passed in.
  "--noExportMemory",
  // The smallest runtime (`--runtime none` no longer exists). The core never allocates:
  // allocator state is per instance, so two threads would hand out the same block.
  "--runtime",
  "stub",
  // `assert` compiles to nothing; with no `--use CORE_DEBUG=1` here, the DEBUG checks are
  // compiled out as well (see "DEBUG" above).
  "--noAssert",
  // Speed: the core is the hot path of every send and receive.
  "-O3",
];

/** Compiles the core. @returns the module's bytes. */
export async function compile(): Promise<Uint8Array<ArrayBuffer>> {
  Deno.chdir(ROOT);
  const files = new Map<string, Uint8Array>();
  let errors = "";
  const { error } = await asc.main(ASC_FLAGS, {
    writeFile(name: string, contents: Uint8Array | string) {
      files.set(name, typeof contents === "string" ? new TextEncoder().encode(contents) : contents);
    },
    stdout: { write: (s: string) => (console.log(s), true) },
    stderr: { write: (s: string) => (errors += s, true) },
  });
  if (error) throw new Error(`AssemblyScript compilation failed: ${error}\n${errors}`);
  const wasm = files.get("core.wasm");
  if (!wasm) throw new Error("The compiler wrote no core.wasm");
  return new Uint8Array(wasm);
}

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** Section ids of a Wasm binary, in order. */
export function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, next] = readLeb(bytes, at + 1);
    ids.push(id);
    at = next + size;
  }
  return ids;
}

const SECTION_START = 8;
const SECTION_DATA = 11;
const SECTION_DATA_COUNT = 12;

/**
 * Rejects a module that would misbehave when instantiated in several threads over one memory:
 * a data segment or start function (re-applied at every instantiation) or any import besides
 * the shared memory.
 */
export function verify(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const ids = sectionIds(bytes);
  if (ids.includes(SECTION_DATA) || ids.includes(SECTION_DATA_COUNT)) {
    throw new Error("The core has a data segment: it would reset memory in every new thread");
  }
  if (ids.includes(SECTION_START)) throw new Error("The core has a start function");
  const module = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(module);
  if (
    imports.length !== 1 || imports[0].module !== "env" || imports[0].name !== "memory" ||
    imports[0].kind !== "memory"
  ) {
    throw new Error(`The core must import only env.memory, not ${JSON.stringify(imports)}`);
  }
  return module;
}

/** Reads the exported constants (immutable globals) of the core. */
export function constants(module: WebAssembly.Module): Record<string, number> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const out: Record<string, number> = {};
  for (const { name, kind } of WebAssembly.Module.exports(module)) {
    if (kind !== "global") continue;
    const value = (instance.exports[name] as WebAssembly.Global).value;
    out[name] = typeof value === "bigint" ? Number(value) : value;
  }
  return out;
}

/** Renders src/_core_generated.ts. */
export function render(bytes: Uint8Array<ArrayBuffer>): string {
  const module = verify(bytes);
  const values = constants(module);
  const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === "function")
    .map((e) => e.name);
  const lines = [
    "// Generated by build.ts from assembly/. Do not edit: run `deno task build`.",
    "",
    "/** Layout offsets, limits and status codes of the core (see assembly/layout.ts). */",
    "export const CORE = {",
    ...Object.entries(values).map(([name, value]) => `  ${name}: ${value},`),
    "} as const;",
    "",
    "/** Names of the functions the core exports. */",
    `export const CORE_FUNCTIONS = ${JSON.stringify(functions)} as const;`,
    "",
    "/** The core module (base64). */",
    `export const CORE_WASM_BASE64 =\n  "${bytes.toBase64()}";`,
    "",
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const text = render(await compile());
  if (Deno.args.includes("--check")) {
    let committed = "";
    try {
      committed = await Deno.readTextFile(OUTPUT);
    } catch {
      // missing: reported below
    }
    if (committed !== text) {
      console.error("src/_core_generated.ts differs from a fresh build: run `deno task build`");
      Deno.exit(1);
    }
    console.log("src/_core_generated.ts matches a fresh build");
  } else {
    await Deno.writeTextFile(OUTPUT, text);
    console.log(`wrote ${OUTPUT.pathname}`);
  }
}
