// A worker module that does not import the custom codec its sender uses.
import type { Sender } from "../../mod.ts";

export default function ({ tx }: { tx: Sender<unknown> }): string {
  return `unreachable: ${typeof tx}`;
}
