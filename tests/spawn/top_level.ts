/// <reference lib="deno.worker" />
// A spawned worker whose module makes a channel at its top level, before its function runs.
import { channel, type Sender } from "../../mod.ts";

const [tx, rx] = channel<number>();

export default function ({ up }: { up: Sender<unknown> }): string {
  tx.sendSync(1);
  // Its receiver travels up in a message of the parent's channel (one arena), and its sender
  // stays here, referenced by the module, until this worker ends.
  up.sendSync({ rx });
  return "made at the top level";
}
