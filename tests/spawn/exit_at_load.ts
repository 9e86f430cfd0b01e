/// <reference lib="deno.worker" />
// A worker module that exits its worker while it is still loading. Its URL's query says how:
// `how` = "deno" (Deno.exit) or "process" (process.exit of node:process), `code` = the exit code,
// `when` = "top" (in its top-level code) or "await" (after a top-level await).
import process from "node:process";

const query = new URL(import.meta.url).searchParams;
const code = Number(query.get("code") ?? 0);
if (query.get("when") === "await") await new Promise((resolve) => setTimeout(resolve, 20));
if (query.get("how") === "deno") Deno.exit(code);
else process.exit(code);

export default function (): string {
  return "unreachable";
}
