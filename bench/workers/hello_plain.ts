/// <reference lib="deno.worker" />
// bench/spawn_bench.ts: the plain-Worker way to do what tests/spawn/hello.ts does under spawn.
import { Sender, type SenderHandle } from "../../mod.ts";

self.onmessage = (e: MessageEvent<SenderHandle<string>>) => {
  using tx = Sender.from(e.data);
  tx.sendSync("Hello from the worker!");
};
