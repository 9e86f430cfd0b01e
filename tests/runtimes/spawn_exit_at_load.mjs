// A worker module of tests/runtimes/spawn.mjs that exits its worker while it is still loading,
// in a top-level await.
import process from "node:process";

await new Promise((resolve) => setTimeout(resolve, 20));
process.exit(3);

export default function () {
  return "unreachable";
}
