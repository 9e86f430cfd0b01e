// The core's ABI: everything exported here is the Wasm module's export list, and every exported
// constant becomes an exported global that build.ts copies into src/_core_generated.ts.
export * from "./ring";
