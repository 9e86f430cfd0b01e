// select, selectSync, trySelect. Ports of crossbeam-channel's tests/select.rs cases that apply
// to receives (`smoke1`, `smoke2`, `disconnected`, `default`, `timeout`,
// `default_when_disconnected`, `unblocks`, `both_ready`, `loop_try`, `preflight1`–`3`,
// `duplicate_cases`, `fairness1`, `stress_recv`), with these deviations: threads are spawned
// workers; crossbeam's send cases do not apply (this select waits on receivers only); a closed
// channel is `state: "disconnected"` as in crossbeam's `recv` operations returning `Err`. Then
// Go's select fairness check (runtime/chan_test.go `TestSelectFairness`: each of N ready
// channels chosen ~1/N, here with a χ² bound), cancel safety, and the errors.
import assert from "node:assert/strict";
import {
  channel,
  type Receiver,
  select,
  selectSync,
  spawn,
  syncChannel,
  trySelect,
} from "../mod.ts";

const SENDER = new URL("./select/sender.ts", import.meta.url);

Deno.test("smoke1: the ready one of two", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  s1.sendSync(1);
  assert.deepEqual(selectSync([r1, r2]), { index: 0, state: "ok", value: 1 });
  s2.sendSync(2);
  assert.deepEqual(selectSync([r1, r2]), { index: 1, state: "ok", value: 2 });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("smoke2: the ready one of five", async () => {
  const ends = Array.from({ length: 5 }, () => channel<number>());
  const rxs = ends.map(([, rx]) => rx);
  ends[4][0].sendSync(5);
  assert.deepEqual(selectSync(rxs), { index: 4, state: "ok", value: 5 });
  ends[2][0].sendSync(3);
  assert.deepEqual(await select(rxs), { index: 2, state: "ok", value: 3 });
  for (const [tx, rx] of ends) tx.close(), rx.close();
});

Deno.test("disconnected: a closed, drained channel is ready, and says so", async () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  s1.sendSync(1);
  s1.close();
  assert.deepEqual(selectSync([r1, r2]), { index: 0, state: "ok", value: 1 });
  assert.deepEqual(selectSync([r1, r2]), { index: 0, state: "disconnected" });
  assert.deepEqual(await select([r2, r1]), { index: 1, state: "disconnected" });
  assert.deepEqual(trySelect([r1, r2]), { index: 0, state: "disconnected" });
  s2.close();
  r1.close();
  r2.close();
});

Deno.test("default: trySelect never waits", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  assert.deepEqual(trySelect([r1, r2]), { state: "empty" });
  s2.sendSync(7);
  assert.deepEqual(trySelect([r1, r2]), { index: 1, state: "ok", value: 7 });
  assert.deepEqual(trySelect([r1, r2]), { state: "empty" });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("timeout: nothing ready in time takes nothing; timeout 0 only what is ready", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  assert.throws(() => selectSync([r1, r2], { timeout: 20 }), { name: "TimeoutError" });
  assert.throws(() => selectSync([r1, r2], { timeout: 0 }), { name: "TimeoutError" });
  s1.sendSync(1);
  assert.deepEqual(selectSync([r1, r2], { timeout: 0 }), { index: 0, state: "ok", value: 1 });
  assert.throws(() => selectSync([r1], { timeout: -1 }), RangeError);
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("unblocks: a select blocked in one thread wakes for a message from another", async () => {
  for (const sync of [true, false]) {
    const [s1, r1] = channel<number>();
    const [s2, r2] = channel<number>();
    const job = spawn(SENDER, { txs: [s2], count: 1, delay: 50 });
    const r = sync ? selectSync([r1, r2]) : await select([r1, r2]);
    assert.deepEqual(r, { index: 1, state: "ok", value: 0 });
    await job.join();
    s1.close();
    r1.close();
    r2.close();
  }
});

Deno.test("unblocks: a worker's disconnection wakes a blocked select", async () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  const job = spawn(SENDER, { txs: [s2], count: 0, delay: 50 });
  assert.deepEqual(selectSync([r1, r2], { timeout: 5000 }), { index: 1, state: "disconnected" });
  await job.join();
  s1.close();
  r1.close();
  r2.close();
});

Deno.test("both_ready and loop_try: every message taken once, whichever order", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  s1.sendSync(1);
  s2.sendSync(2);
  const got = [selectSync([r1, r2]), selectSync([r1, r2])]
    .map((r) => r.state === "ok" ? r.value : -1).sort();
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(trySelect([r1, r2]), { state: "empty" });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("preflight: a ready message is taken without waiting, biased in the order given", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  s1.sendSync(1);
  s2.sendSync(2);
  assert.deepEqual(selectSync([r2, r1], { biased: true }), { index: 0, state: "ok", value: 2 });
  assert.deepEqual(selectSync([r2, r1], { biased: true }), { index: 1, state: "ok", value: 1 });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("duplicate_cases: the same receiver twice", () => {
  const [s, r] = channel<number>();
  s.sendSync(1);
  const got = selectSync([r, r]);
  assert.equal(got.state, "ok");
  assert.ok(got.index === 0 || got.index === 1);
  assert.deepEqual(trySelect([r, r]), { state: "empty" });
  s.close();
  r.close();
});

Deno.test("fairness: each of 4 ready receivers chosen ~1/4 over 100k selects (χ²)", () => {
  const N = 4;
  const ends = Array.from({ length: N }, () => channel<number>());
  const rxs = ends.map(([, rx]) => rx);
  const counts = new Array(N).fill(0);
  const SELECTS = 100_000;
  for (const [tx] of ends) tx.sendSync(0);
  for (let i = 0; i < SELECTS; i++) {
    const r = selectSync(rxs);
    assert.equal(r.state, "ok");
    counts[r.index]++;
    ends[r.index][0].sendSync(0); // ready again
  }
  const expected = SELECTS / N;
  const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  // 3 degrees of freedom: P(χ² > 21.1) ≈ 1e-4.
  assert.ok(chi2 < 21.1, `χ² ${chi2.toFixed(1)} for ${counts}`);
  for (const [tx, rx] of ends) tx.close(), rx.close();
});

Deno.test("biased: always the first ready one", () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  for (let i = 0; i < 100; i++) s1.sendSync(i), s2.sendSync(i);
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(trySelect([r1, r2], { biased: true }), { index: 0, state: "ok", value: i });
  }
  assert.deepEqual(trySelect([r1, r2], { biased: true }), { index: 1, state: "ok", value: 0 });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("stress_recv: a worker feeds three channels; select takes every message once", async () => {
  for (const sync of [true, false]) {
    const ends = [channel<number>(), syncChannel<number>(4), syncChannel<number>(0)];
    const COUNT = 3000;
    const job = spawn(SENDER, { txs: ends.map(([tx]) => tx), count: COUNT, delay: 0 });
    let rxs: Receiver<number>[] = ends.map(([, rx]) => rx);
    const seen = new Uint8Array(COUNT);
    while (rxs.length > 0) {
      const r = sync ? selectSync(rxs, { timeout: 10_000 }) : await select(rxs);
      if (r.state === "disconnected") {
        rxs[r.index].close();
        rxs = rxs.filter((_, i) => i !== r.index);
      } else seen[r.value]++;
    }
    assert.equal(await job.join(), COUNT);
    assert.ok(seen.every((n) => n === 1), "each message once");
  }
});

Deno.test("cancel safety: an aborted or timed-out select takes nothing", async () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  const controller = new AbortController();
  const pending = select([r1, r2], { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  await assert.rejects(select([r1], { signal: controller.signal }), /stop/, "aborted already");
  s1.sendSync(1);
  assert.deepEqual(r1.tryRecv(), { state: "ok", value: 1 });
  // Many aborted selects: each leaves, and a later one still works.
  for (let i = 0; i < 1000; i++) {
    const c = new AbortController();
    const p = select([r1, r2], { signal: c.signal });
    c.abort();
    await p.catch(() => {});
  }
  setTimeout(() => s2.sendSync(2), 10);
  assert.deepEqual(await select([r1, r2]), { index: 1, state: "ok", value: 2 });
  for (const end of [s1, s2, r1, r2]) end.close();
});

Deno.test("errors: no receivers, not a receiver, closed, pending recv(), other memories", async () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>({ isolated: true });
  assert.throws(() => selectSync([]), TypeError);
  assert.throws(() => trySelect([]), TypeError);
  await assert.rejects(select([]), TypeError);
  assert.throws(() => trySelect([r1, {} as Receiver<number>]), /receivers\[1\]/);
  assert.throws(() => selectSync([r1, r2], { timeout: 10 }), /another shared memory/);
  setTimeout(() => s2.sendSync(2), 10);
  assert.deepEqual(await select([r1, r2]), { index: 1, state: "ok", value: 2 }, "async: any");
  const pending = r1.recv();
  assert.throws(() => trySelect([r1]), /recv\(\) calls pending/);
  s1.sendSync(1);
  assert.equal(await pending, 1);
  r1.close();
  assert.throws(() => trySelect([r1, r2]), /closed/);
  for (const end of [s1, s2, r2]) end.close();
});

Deno.test("rendezvous: a select waiting on a syncChannel(0) lets its sender through", async () => {
  const [s1, r1] = syncChannel<number>(0);
  const [s2, r2] = channel<number>();
  const job = spawn(SENDER, { txs: [s1], count: 5, delay: 20 });
  const got: number[] = [];
  for (;;) {
    const r = selectSync([r1, r2], { timeout: 10_000 });
    if (r.state === "disconnected") break;
    got.push(r.value);
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  await job.join();
  for (const end of [s2, r1, r2]) end.close();
});

Deno.test("a receiver closed while a select waits on it: the select rejects at once", async () => {
  const [s1, r1] = channel<number>();
  const [s2, r2] = channel<number>();
  const never = new AbortController();
  const pending = select([r1, r2], {
    signal: AbortSignal.any([never.signal, AbortSignal.timeout(500)]),
  });
  setTimeout(() => r1.close(), 5);
  // It was woken only by the pump's 1 s slice before (and looked at counts, not at the end).
  await assert.rejects(pending, /closed/);
  for (const end of [s1, s2, r2]) end.close();
});
