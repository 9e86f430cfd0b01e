import type { Sender } from "../../mod.ts";

export default function ({ tx }: { tx: Sender<string> }) {
  tx.sendSync("Hello from the worker!");
  return 42;
}
