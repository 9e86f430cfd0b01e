/**
 * One message's path in one thread, for two (or more) trees of the library loaded into the same
 * process and alternated, so that the machine's drift cancels out (separate processes on this
 * shared 2-core VM differ by more than most changes do). Per tree: `sendSync` of numbers into a
 * backlog, `recvSync` draining it, `sendSync`+`recvSync` alternated, and the same with
 * `{ id, body }`; ns per message, min / first quartile / median of 15 rounds.
 *
 *     deno run -A bench/ab.ts ./ /tmp/other-tree/      # each argument: a tree's root, with "/"
 *
 * @module
 */
const trees = Deno.args.length > 0 ? Deno.args : ["./"];
const base = `file://${Deno.cwd()}/`;
// deno-lint-ignore no-explicit-any
const mods: any[] = await Promise.all(trees.map((t) => import(new URL(`${t}mod.ts`, base).href)));
const N = 300_000;
const ROUNDS = 15;
const numbers = mods.map((m) => m.channel());
const objects = mods.map((m) => m.channel());
const results: Record<string, number[]> = {};

function round(k: number): void {
  const [tx, rx] = numbers[k];
  const time = (name: string, n: number, f: () => void) => {
    const t0 = performance.now();
    f();
    (results[`${name}  [${trees[k]}]`] ??= []).push((performance.now() - t0) * 1e6 / n);
  };
  let sink = 0;
  time("sendSync (backlog)     ", N, () => {
    for (let i = 0; i < N; i++) tx.sendSync(i);
  });
  time("recvSync (drain)       ", N, () => {
    for (let i = 0; i < N; i++) sink += rx.recvSync();
  });
  time("sendSync+recvSync      ", N, () => {
    for (let i = 0; i < N; i++) {
      tx.sendSync(i);
      sink += rx.recvSync();
    }
  });
  const [otx, orx] = objects[k];
  time("{ id, body } send+recv ", N / 4, () => {
    for (let i = 0; i < N / 4; i++) otx.sendSync({ id: i, body: "hello world" });
    for (let i = 0; i < N / 4; i++) sink += orx.recvSync().id;
  });
  if (sink < 0) throw new Error("unreachable");
}

for (let r = 0; r < ROUNDS; r++) {
  // Alternate the order too: neither tree always runs first.
  for (let i = 0; i < mods.length; i++) round(r % 2 === 0 ? i : mods.length - 1 - i);
}
for (const key of Object.keys(results).sort()) {
  const v = results[key].sort((a, b) => a - b);
  const q = (f: number) => v[Math.floor((v.length - 1) * f)].toFixed(1).padStart(6);
  console.log(`${key}  min ${q(0)}  q1 ${q(0.25)}  median ${q(0.5)} ns`);
}
