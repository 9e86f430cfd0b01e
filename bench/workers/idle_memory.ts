/**
 * W6, memory: the resident memory of `n` idle channels (both ends kept alive, nothing sent),
 * measured in a fresh process so that nothing else moves its RSS. Run by `bench/run.ts`:
 * `deno run -A --v8-flags=--expose-gc bench/workers/idle_memory.ts <kind> <n>` with kind
 * `channel`, `syncChannel` or `MessageChannel`. Prints one JSON line.
 *
 * @module
 */
import { channel, syncChannel } from "@wasmring/mpsc";
import { BOUND } from "../workloads.ts";

const [kind, nArg] = Deno.args;
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function vmSizeKiB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    return Number(/VmSize:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

function settle(): { rss: number; vm: number } {
  for (let i = 0; i < 3; i++) gc();
  return { rss: Deno.memoryUsage().rss, vm: vmSizeKiB() };
}

// Warm the code paths (module compiled, first instance made) before the baseline.
const warm = kind === "MessageChannel" ? new MessageChannel() : channel<number>();
const before = settle();
const keep: unknown[] = [];
for (let i = 0; i < n; i++) {
  if (kind === "channel") keep.push(channel<number>());
  else if (kind === "syncChannel") keep.push(syncChannel<number>(BOUND));
  else if (kind === "MessageChannel") keep.push(new MessageChannel());
  else throw new TypeError(`idle_memory: unknown kind ${kind}`);
}
const after = settle();
console.log(JSON.stringify({
  kind,
  n,
  rssPerChannel: (after.rss - before.rss) / n,
  vmKiBPerChannel: (after.vm - before.vm) / n,
  kept: keep.length + (warm ? 1 : 0),
}));
