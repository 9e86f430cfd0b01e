/**
 * The whole path of one message in one thread — `sendSync` then `recvSync`, a number and a
 * `{ id, body }` — in ns per message, three rounds of 1 M after a warm-up; and the raw core's
 * reserve+write+commit+peek+release. For comparing two trees of the library (the module path of
 * each as the argument), alternated, on a quiet machine:
 *
 *     deno run -A bench/one_thread.ts ./mod.ts
 *     deno run -A bench/one_thread.ts /tmp/other-tree/mod.ts
 *
 * @module
 */
const path = new URL(Deno.args[0] ?? "../mod.ts", `file://${Deno.cwd()}/`).href;
const { channel } = await import(path) as typeof import("../mod.ts");
const { SharedChannel } = await import(new URL("src/_shared_channel.ts", path).href);
const { CORE } = await import(new URL("src/_core.ts", path).href);

const [tx, rx] = channel<number>();
const [tx2, rx2] = channel<{ id: number; body: string }>();
function library(n: number): [number, number] {
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    tx.sendSync(i);
    rx.recvSync();
  }
  const numbers = (performance.now() - t0) * 1e6 / n;
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    tx2.sendSync({ id: i, body: "hello world" });
    rx2.recvSync();
  }
  return [numbers, (performance.now() - t0) * 1e6 / n];
}

const chan = SharedChannel.create(CORE.UNBOUNDED, 1 << 24);
const core = chan.mapped.core;
const { offset: ch, generation: gen } = chan;
function raw(n: number): number {
  const u8 = chan.mapped.u8(chan.mapped.memory.buffer.byteLength);
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const at = core.reserve(ch, gen, 8, 1);
    u8[at] = i;
    core.commit(ch, gen, at, 1, 8);
    const p = core.peek(ch, gen, CORE.FIRST_TOKEN);
    sink += u8[p];
    core.release(ch, gen, CORE.FIRST_TOKEN);
  }
  if (sink < 0) throw new Error("unreachable");
  return (performance.now() - t0) * 1e6 / n;
}

library(200_000);
raw(200_000);
const rounds = [0, 1, 2].map(() => [...library(1_000_000), raw(2_000_000)]);
const f = (x: number) => x.toFixed(0).padStart(4);
for (const [numbers, objects, core] of rounds) {
  console.log(`numbers ${f(numbers)} ns   { id, body } ${f(objects)} ns   core ${f(core)} ns`);
}
