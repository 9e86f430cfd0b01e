/**
 * The entry of the single-file build for Node, Bun and browsers (`deno task bundle`): everything
 * `mod.ts` exports, plus the function a spawned worker's entry calls in the bundle it was started
 * from (see spawn.ts). Internal.
 *
 * @module
 */
export * from "../mod.ts";
export { serveSpawned } from "./spawn.ts";
