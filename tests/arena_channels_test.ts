// Many channels in one arena (issue 13, deliverable 1): channels of one thread share its
// default arena, their ends travel to workers and come back, whichever thread closes the last
// end gives the channel's memory back; `isolated` channels keep a memory of their own; the
// channel's quota and the arena's cap are told apart; settlement closes each end on its own
// channel of the arena; and the workloads of bench/cheap_channels.ts run (never timed).
import assert from "node:assert/strict";
import {
  ArenaFullError,
  channel,
  ChannelCorruptedError,
  type Receiver,
  type ReceiverHandle,
  RecvError,
  Sender,
  SendError,
  syncChannel,
} from "../mod.ts";
import { CORE } from "../src/_core.ts";
import { ARENA, createArena, defaultMapped, inUse, Mapped, mapped } from "../src/_arena.ts";
import { SharedChannel } from "../src/_shared_channel.ts";
import { newSender } from "../src/sender.ts";
import { newReceiver } from "../src/receiver.ts";
import { structured } from "../src/codec/mod.ts";
import { messagesOf, type Report, type Start } from "./workers/arena_peer.ts";

function worker(url: string): Worker {
  return new Worker(new URL(url, import.meta.url), { type: "module" });
}

function next(w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
  });
}

Deno.test("channels of one thread share its arena; each is at its own offset", () => {
  const [a, ra] = channel<number>();
  const [b, rb] = syncChannel<number>(3);
  const ha = a.transfer();
  const hb = b.transfer();
  assert.equal(mapped(ha.memory), mapped(hb.memory), "one memory, one core instance");
  assert.equal(mapped(ha.memory), defaultMapped());
  assert.notEqual(ha.offset, hb.offset);
  const tx = Sender.from(ha);
  const ty = Sender.from(hb);
  tx.sendSync(1);
  ty.sendSync(2);
  assert.equal(ra.recvSync(), 1);
  assert.equal(rb.recvSync(), 2);
  for (const end of [tx, ty, ra, rb]) end.close();
});

Deno.test("a memory that arrives again (a new object) is mapped once per thread", () => {
  const memory = defaultMapped().memory;
  const copy = structuredClone(memory);
  assert.notEqual(copy, memory);
  assert.equal(mapped(copy), defaultMapped());
  // Another arena's memory is not taken for it, even with the same identity written in it.
  const other = createArena(4 * CORE.PAGE);
  const id = new Int32Array(memory.buffer, ARENA + CORE.ARENA_ID, 2);
  new Int32Array(other.memory.buffer, ARENA + CORE.ARENA_ID, 2).set(id);
  assert.notEqual(mapped(structuredClone(other.memory)), defaultMapped());
});

Deno.test("closing both ends gives the channel's memory back to the arena", () => {
  const view = defaultMapped();
  const before = inUse(view);
  const ends = Array.from({ length: 100 }, (_, i) => channel<number>({ maxBytes: 65536 + i }));
  assert.ok(inUse(view) > before);
  for (const [tx, rx] of ends) {
    tx.sendSync(1);
    assert.equal(rx.recvSync(), 1);
  }
  for (const [tx, rx] of ends) {
    tx.close();
    assert.ok(inUse(view) > before, "the receiver is open");
    rx.close();
  }
  assert.equal(inUse(view), before);
  // A grown channel's rings go back too.
  const [tx, rx] = channel<Uint8Array>();
  for (let i = 0; i < 100; i++) tx.sendSync(new Uint8Array(10_000));
  rx.close(); // its messages are dropped with it
  tx.close();
  assert.equal(inUse(view), before);
});

Deno.test("8 workers create, use and drop channels across threads: every message counted", async () => {
  const WORKERS = 8;
  const ROUNDS = Number(Deno.env.get("ARENA_CHANNELS_ROUNDS") ?? 60);
  const before = inUse(defaultMapped());
  const [report, reports] = channel<Report>();
  const workers = Array.from({ length: WORKERS }, () => worker("./workers/arena_peer.ts"));
  const ports = Array.from({ length: WORKERS }, () => new MessageChannel());
  const done = workers.map(next);
  try {
    workers.forEach((w, id) => {
      // Worker id sends on ports[id].port1, worker id + 1 receives on ports[id].port2.
      const start: Start = {
        id,
        rounds: ROUNDS,
        report: report.clone().transfer(),
        next: ports[id].port1,
        prev: ports[(id + WORKERS - 1) % WORKERS].port2,
      };
      w.postMessage(start, [start.next, start.prev]);
    });
    report.close();
    const counted = new Map<string, number>();
    for await (const r of reports) {
      assert.equal(r.wrong, undefined, `channel ${r.creator}/${r.round}: ${r.wrong}`);
      const key = `${r.creator}/${r.round}`;
      assert.ok(!counted.has(key), `${key} reported twice`);
      counted.set(key, r.count);
    }
    reports.close();
    await Promise.all(done);
    assert.equal(counted.size, WORKERS * ROUNDS, "every channel received to the end");
    for (let creator = 0; creator < WORKERS; creator++) {
      for (let round = 0; round < ROUNDS; round++) {
        assert.equal(counted.get(`${creator}/${round}`), messagesOf(creator, round));
      }
    }
    // Every channel's blocks went back to its creator's arena, whoever closed last.
    for (const w of workers) {
      const answer = next(w);
      w.postMessage("check");
      assert.deepEqual(await answer, { inUse: 0 });
    }
    assert.equal(inUse(defaultMapped()), before, "the report channel's too");
  } finally {
    for (const w of workers) w.terminate();
  }
});

Deno.test("channels of this arena used by workers, ends coming and going: all counted, all freed", async () => {
  const before = inUse(defaultMapped());
  const w = worker("./workers/echo.ts");
  try {
    // 50 channel pairs, each echoed through the worker and closed.
    for (let i = 0; i < 50; i++) {
      const [toWorker, fromMain] = i % 2 === 0 ? channel<number>() : syncChannel<number>(2);
      const [toMain, fromWorker] = channel<number>();
      const finished = next(w);
      w.postMessage({ rx: fromMain.transfer(), tx: toMain.transfer() });
      for (let k = 0; k < i; k++) toWorker.sendSync(k);
      toWorker.close();
      const got = [...fromWorker];
      assert.deepEqual(got, Array.from({ length: i }, (_, k) => k));
      fromWorker.close();
      await finished;
    }
    // The worker closes its ends as its handler's `using` scope ends, just after saying "done".
    for (let i = 0; i < 500 && inUse(defaultMapped()) !== before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(inUse(defaultMapped()), before);
  } finally {
    w.terminate();
  }
});

Deno.test("a worker holding receivers of 20 channels of one arena is terminated: each settled, no other", async () => {
  const w = worker("./workers/dead_peer.ts");
  const pairs = Array.from({ length: 20 }, () => channel<number>());
  const [keepTx, keepRx] = channel<number>();
  try {
    for (const [, rx] of pairs) {
      const ready = next(w);
      w.postMessage({ mode: "receive", handle: rx.transfer() as ReceiverHandle<number> });
      await ready;
    }
    w.terminate();
    for (const [tx] of pairs) {
      assert.throws(() => tx.sendSync(1), (e: unknown) => {
        assert.ok(e instanceof SendError, String(e));
        assert.equal(e.reason, "died");
        return true;
      });
      tx.close();
    }
    keepTx.sendSync(7); // a channel whose ends the worker never held is untouched
    assert.equal(keepRx.recvSync(), 7);
  } finally {
    w.terminate();
    keepTx.close();
    keepRx.close();
  }
});

Deno.test("a handle names its channel's offset and generation; a wrong one is refused", () => {
  const [tx, rx] = channel<number>();
  const handle = tx.clone().transfer();
  assert.equal(typeof handle.offset, "number");
  assert.equal(typeof handle.generation, "number");
  const moved = { ...handle, generation: handle.generation + 1 };
  assert.throws(() => Sender.from(moved), TypeError, "a later generation: no such channel");
  const elsewhere = { ...handle, offset: handle.offset + 64 };
  assert.throws(() => Sender.from(elsewhere), TypeError, "the claim names the channel too");
  const adopted = Sender.from(handle);
  adopted.sendSync(3);
  assert.equal(rx.recvSync(), 3);
  for (const end of [adopted, tx, rx]) end.close();
});

Deno.test("isolated: a memory of its own, as before arenas", async () => {
  const [tx, rx] = channel<string>({ isolated: true, maxBytes: 1 << 20 });
  const [btx, brx] = syncChannel<string>(2, { isolated: true });
  const h = tx.transfer();
  const hb = btx.transfer();
  assert.notEqual(mapped(h.memory), defaultMapped());
  assert.notEqual(mapped(h.memory), mapped(hb.memory));
  // Its arena holds this one channel: its quota and a few bookkeeping bytes.
  assert.ok(h.memory.buffer.byteLength <= (1 << 20) + 2 * CORE.PAGE);
  assert.throws(
    () => channel({ isolated: "yes" as unknown as boolean }),
    (e: unknown) => e instanceof TypeError && /isolated must be a boolean/.test(e.message),
  );
  // It works across workers like any channel.
  const w = worker("./workers/echo.ts");
  const [back, fromWorker] = channel<string>({ isolated: true });
  try {
    const finished = next(w);
    w.postMessage({ rx: rx.transfer(), tx: back.transfer() });
    const toWorker = Sender.from(h);
    toWorker.sendSync("isolated");
    toWorker.close();
    assert.equal(fromWorker.recvSync(), "isolated");
    assert.throws(() => fromWorker.recvSync({ timeout: 5_000 }), RecvError);
    await finished;
  } finally {
    w.terminate();
    fromWorker.close();
  }
  const b = Sender.from(hb);
  b.sendSync("b");
  assert.equal(brx.recvSync(), "b");
  b.close();
  brx.close();
});

/** A channel in an arena of `capPages` pages (for the arena's limits). */
function inArena(view: Mapped, maxBytes: number) {
  const chan = SharedChannel.create(CORE.UNBOUNDED, maxBytes, { arena: view });
  return [newSender(chan, structured), newReceiver(chan, structured)] as const;
}

Deno.test("the channel's quota is a RangeError; the arena's cap an ArenaFullError saying so", () => {
  // The quota: maxBytes 65536 in an arena with room to spare.
  const [qtx, qrx] = channel<Uint8Array>({ maxBytes: 65536 });
  let error: unknown;
  try {
    for (let i = 0; i < 1000; i++) qtx.sendSync(new Uint8Array(1000));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof RangeError && !(error instanceof ArenaFullError), String(error));
  assert.match((error as Error).message, /maxBytes/);
  qtx.close();
  qrx.close();
  // The cap: a channel well within its quota in an arena of 256 KiB.
  const view = createArena(4 * CORE.PAGE);
  const [tx, rx] = inArena(view, 64 << 20);
  let sent = 0;
  error = undefined;
  try {
    for (; sent < 10_000; sent++) tx.sendSync(new Uint8Array(1000));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ArenaFullError, String(error));
  assert.equal(error.limit, "cap");
  assert.equal(error.cap, 4 * CORE.PAGE);
  assert.match(error.message, /^Cannot send a message of \d+ bytes: the arena of channels is full/);
  assert.ok(sent > 100, `${sent} sent first`);
  for (let i = 0; i < sent; i++) rx.recvSync();
  tx.sendSync(new Uint8Array(1000)); // drained, it goes on in the rings it has
  assert.equal(rx.recvSync().length, 1000);
  // Creating a channel in a full arena: the same error.
  const full: (readonly [Sender<unknown>, Receiver<unknown>])[] = [];
  assert.throws(
    () => {
      for (;;) full.push(inArena(view, 65536));
    },
    (e: unknown) =>
      e instanceof ArenaFullError && e.limit === "cap" &&
      /^Cannot create a channel/.test(e.message),
  );
  assert.ok(full.length > 0);
  for (const [t, r] of full) {
    t.close();
    r.close();
  }
  inArena(view, 65536)[0].close(); // room again
  tx.close();
  rx.close();
});

Deno.test("an arena whose memory cannot grow below its cap: ArenaFullError, limit memory", () => {
  // A memory whose maximum is below the arena's cap: `memory.grow` fails, as it does when the
  // process has no address space left.
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  const view = new Mapped(memory);
  assert.equal(view.core.arenaInit(ARENA, 64 * CORE.PAGE), CORE.OK);
  const [tx, rx] = inArena(view, 64 << 20);
  assert.throws(
    () => {
      for (let i = 0; i < 10_000; i++) tx.sendSync(new Uint8Array(1000));
    },
    (e: unknown) =>
      e instanceof ArenaFullError && e.limit === "memory" && /could not grow/.test(e.message),
  );
  tx.close();
  rx.close();
});

Deno.test("growth waits on no word another thread could leave behind: stray header words", () => {
  // Layout 2 reserved pages in a header word before growing; a thread stopped between the two
  // (or a stray write to the word) left every later grower waiting for ever.
  const view = createArena(256 * CORE.PAGE);
  const i32 = new Int32Array(view.memory.buffer);
  for (let at = CORE.ARENA_BUMP + 4; at < CORE.ARENA_HEADS; at += 4) i32[at >> 2] += 1;
  const [tx, rx] = inArena(view, 64 << 20);
  const body = "y".repeat(4000);
  for (let i = 0; i < 500; i++) tx.sendSync(body, { timeout: 2000 }); // ~2 MB: grows 32 pages
  for (let i = 0; i < 500; i++) assert.equal(rx.recvSync({ timeout: 0 }), body);
  assert.ok(view.memory.buffer.byteLength > 32 * CORE.PAGE);
  assert.equal(view.core.arenaCorrupted(ARENA), 0);
  tx.close();
  rx.close();
});

Deno.test("an arena found corrupted: every channel in it is, and says so; other arenas work", () => {
  const view = createArena(64 * CORE.PAGE);
  const [tx, rx] = inArena(view, 1 << 20);
  const [tx2, rx2] = inArena(view, 1 << 20);
  tx.sendSync(1);
  view.core.arenaCorrupt(ARENA); // as a check of the arena's own bookkeeping does
  for (const call of [() => rx.recvSync(), () => tx2.sendSync(2), () => rx2.tryRecv()]) {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof ChannelCorruptedError, String(e));
      assert.match(e.message, /the arena of channels it lives in was overwritten/);
      return true;
    });
  }
  for (const end of [tx, rx, tx2, rx2]) end.close(); // close() never throws
  const [ok, okRx] = channel<number>();
  ok.sendSync(3);
  assert.equal(okRx.recvSync(), 3);
  ok.close();
  okRx.close();
});

// ── The workloads of bench/cheap_channels.ts, small, never timed.

Deno.test("smoke: 1,000 cycles of create + send + recv + close leave the arena as it was", () => {
  const view = defaultMapped();
  const before = inUse(view);
  for (let i = 0; i < 1000; i++) {
    const [tx, rx] = i % 2 === 0 ? channel<number>() : syncChannel<number>(1);
    tx.sendSync(i);
    assert.equal(rx.recvSync(), i);
    if (i % 3 === 0) rx.close();
    tx.close();
    rx.close();
  }
  assert.equal(inUse(view), before);
});

Deno.test("smoke: 2,000 live idle channels, then closed", () => {
  const view = defaultMapped();
  const before = inUse(view);
  const live = Array.from({ length: 2000 }, () => channel<number>());
  for (const [tx, rx] of live) {
    tx.sendSync(1);
    rx.recvSync();
  }
  for (const [tx, rx] of live) {
    tx.close();
    rx.close();
  }
  assert.equal(inUse(view), before);
});

Deno.test("smoke: 1,000 live channels under ulimit -v 67108864 (64 GiB), no crash", async () => {
  const bench = new URL("../bench/cheap_channels.ts", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -v 67108864 && exec "$@"`,
      "bash",
      Deno.execPath(),
      "run",
      "-A",
      bench,
      "live",
      "1000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `exit ${out.code}: ${stderr.slice(-400)}`);
  const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert.equal(result.made, 1000);
});
