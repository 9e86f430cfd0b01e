/// <reference lib="deno.worker" />
// A spawned worker for tests/call_test.ts: serves calls, or makes them.
import { type Call, callSync, type Receiver, type Sender, serve } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

const held: unknown[] = [];

export default async function (data: Data): Promise<unknown> {
  switch (data.mode) {
    case "square":
      return await serve(data.requests as Receiver<Call<number, number>>, async (n) => {
        if (n < 0) throw new RangeError(`negative: ${n}`);
        if (data.slow) await new Promise((resolve) => setTimeout(resolve, data.slow));
        return n * n;
      });
    case "stall": {
      // Takes calls and never answers them, until terminated.
      held.push(data.requests);
      (data.ready as Sender<string>).sendSync("stalling");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return "never";
    }
    case "caller": {
      // Calls a server from here, synchronously.
      const to = data.to as Sender<Call<number, number>>;
      const replies: number[] = [];
      for (let i = 0; i < data.count; i++) replies.push(callSync(to, data.base + i));
      to.close();
      return replies;
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
