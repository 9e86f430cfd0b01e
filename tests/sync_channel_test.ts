// Rust's `std::sync::mpsc::sync_channel` tests, ported to `syncChannel(bound)`.
//
// Source: rust-lang/rust library/std/src/sync/mpsc/sync_tests.rs, as copied into
// crossbeam-rs/crossbeam crossbeam-channel/tests/mpsc.rs (`mod sync_channel_tests`), which joins
// every spawned thread. Test names are Rust's (the module, `sync_tests`, is this file). Most use
// a rendezvous channel (`sync_channel(0)` → `syncChannel(0)`), as in Rust.
//
// Deviations — the same as in tests/mpsc_test.ts (threads are scripted Web Workers, drop is
// `close()`, `send`/`recv`/`recv_timeout`/`try_recv` are `sendSync`/`recvSync`/
// `recvSync({ timeout })`/`tryRecv()`, main-thread waits carry a 30 s timeout and awaits a 30 s
// watchdog, `Box`/`()` messages are numbers/`null`, stress counts scaled by `MPSC_STRESS`,
// `stream_send_recv_stress` relays the ends through the main thread), plus:
// - `try_send` returns `true`/`false` (`Err(TrySendError::Full(v))` is `false`; the caller still
//   has `v`) and throws `SendError` carrying `v` for `Err(TrySendError::Disconnected(v))`.
// - `send_timeout(v, d)` is `sendSync(v, { timeout: ms })`; `Err(SendTimeoutError::Timeout(v))`
//   is a thrown `TimeoutError` (the caller still has `v`); the test also checks that the
//   timed-out message was not enqueued.
// - std's `oneshot_single_thread_recv_chan_close`, `oneshot_multi_task_recv_then_close` and
//   `oneshot_multi_thread_recv_close_stress` check that `rx.recv().unwrap()` panics in a thread;
//   here the `recvSync` must throw `RecvError` (on the main thread for the first).
//   `oneshot_multi_thread_send_close_stress` ignores the thread's panic as in Rust (the send may
//   fail or not).
// - Counts: `stress` and `stress_recv_timeout_two_threads` 2 000 × MPSC_STRESS rendezvous
//   messages (Rust: 10 000); `stress_shared` and `stress_recv_timeout_shared` 8 workers ×
//   250 × MPSC_STRESS (Rust: 8 × 1 000); `shared_chan_stress` 16 × MPSC_STRESS workers
//   (Rust: `stress_factor() + 100` threads); `issue_15761` 20 × MPSC_STRESS rounds (Rust: 100,
//   each spawning a thread); `stress_factor()` tests 4 × MPSC_STRESS rounds (Rust: 1).
//   `stress_shared` sends `[producer, seq]` and checks per-producer order.
// - `test_recv_iter_break`: Rust ignores the result of the last `try_send`; here it may also
//   throw `SendError` (the receiver may be gone), which is ignored too.
//
// Dropped:
// - `drop_unreceived`: it checks with `Rc`/`Weak` that unreceived messages are destroyed as
//   soon as the receiver is; a message here is a copy of bytes in shared memory, with no
//   destructor to observe.
// - crossbeam's `select_tests` (see tests/mpsc_test.ts).
import assert from "node:assert/strict";
import { channel, syncChannel } from "@wasmring/mpsc";
import {
  assertRecvError,
  assertSendError,
  assertTimeout,
  recvTimeoutCount,
  recvUntilDisconnected,
  relay,
  STRESS,
  Threads,
  WAIT,
} from "./workers/mpsc_harness.ts";

/** Rounds of the `stress_factor()` tests. */
const ROUNDS = 4 * STRESS;

Deno.test("smoke", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
});

Deno.test("drop_full", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(1);
  tx.close();
  rx.close();
});

Deno.test("smoke_shared", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
  const tx2 = tx.clone();
  tx2.sendSync(1);
  assert.equal(rx.recvSync(), 1);
});

Deno.test("recv_timeout", () => {
  const [tx, rx] = syncChannel<number>(1);
  assertTimeout(() => rx.recvSync({ timeout: 1 }));
  tx.sendSync(1);
  assert.equal(rx.recvSync({ timeout: 1 }), 1);
});

Deno.test("send_timeout", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(1, { timeout: 1 });
  assertTimeout(() => tx.sendSync(2, { timeout: 1 }));
  // The timed-out message was not enqueued.
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 1 });
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
});

Deno.test("smoke_threads", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ tx: tx.transfer() }, [["send", "tx", 1]]);
  assert.equal(rx.recvSync(WAIT), 1);
  await threads.join();
});

Deno.test("smoke_port_gone", () => {
  const [tx, rx] = syncChannel<number>(0);
  rx.close();
  assertSendError(() => tx.sendSync(1), 1);
});

Deno.test("smoke_shared_port_gone2", () => {
  const [tx, rx] = syncChannel<number>(0);
  rx.close();
  const tx2 = tx.clone();
  tx.close();
  assertSendError(() => tx2.sendSync(1), 1);
});

Deno.test("port_gone_concurrent", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 1]]);
  // while tx.send(1).is_ok() {}
  let sent = 0;
  assert.throws(() => {
    for (;;) {
      tx.sendSync(1, WAIT);
      sent++;
    }
  }, (e: unknown) => e instanceof Error && e.name === "SendError");
  assert.equal(sent, 1); // a rendezvous: only the one the worker received got through
  await threads.join();
});

Deno.test("port_gone_concurrent_shared", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  const tx2 = tx.clone();
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 1]]);
  // while tx.send(1).is_ok() && tx2.send(1).is_ok() {}
  assert.throws(() => {
    for (;;) {
      tx.sendSync(1, WAIT);
      tx2.sendSync(1, WAIT);
    }
  }, (e: unknown) => e instanceof Error && e.name === "SendError");
  await threads.join();
});

Deno.test("smoke_chan_gone", () => {
  const [tx, rx] = syncChannel<number>(0);
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("smoke_chan_gone_shared", () => {
  const [tx, rx] = syncChannel<null>(0);
  const tx2 = tx.clone();
  tx.close();
  tx2.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("chan_gone_concurrent", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ tx: tx.transfer() }, [["send", "tx", 1, 2]]);
  assert.equal(recvUntilDisconnected(rx), 2);
  await threads.join();
});

Deno.test("stress", async () => {
  const count = 10_000 * STRESS;
  await using threads = new Threads();
  const [tx, rx] = syncChannel<[number, number]>(0);
  threads.spawn({ tx: tx.transfer() }, [["sendSeq", "tx", 0, count]]);
  for (let i = 0; i < count; i++) assert.deepEqual(rx.recvSync(WAIT), [0, i]);
  await threads.join();
});

Deno.test("stress_recv_timeout_two_threads", async () => {
  const count = 10_000 * STRESS;
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ tx: tx.transfer() }, [["send", "tx", 1, count]]);
  assert.equal(recvTimeoutCount(rx, 1, 1), count);
  await threads.join();
});

Deno.test("stress_recv_timeout_shared", async () => {
  const amt = 1_000 * STRESS;
  const nthreads = 8;
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  const [dtx, drx] = syncChannel<null>(0);
  threads.spawn({ rx: rx.transfer(), dtx: dtx.transfer() }, [
    ["recvTimeoutCount", "rx", 10, 1, amt * nthreads],
    ["tryRecvNotOk", "rx"],
    ["send", "dtx", null],
  ]);
  for (let i = 0; i < nthreads; i++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["send", "tx", 1, amt]]);
  }
  tx.close();
  drx.recvSync(WAIT);
  await threads.join();
});

Deno.test("stress_shared", async () => {
  const amt = 1_000 * STRESS;
  const nthreads = 8;
  await using threads = new Threads();
  const [tx, rx] = syncChannel<[number, number]>(0);
  const [dtx, drx] = syncChannel<null>(0);
  threads.spawn({ rx: rx.transfer(), dtx: dtx.transfer() }, [
    ["recvSeq", "rx", nthreads, amt],
    ["tryRecvNotOk", "rx"],
    ["send", "dtx", null],
  ]);
  for (let id = 0; id < nthreads; id++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["sendSeq", "tx", id, amt]]);
  }
  tx.close();
  drx.recvSync(WAIT);
  await threads.join();
});

Deno.test("oneshot_single_thread_close_port_first", () => {
  // Simple test of closing without sending
  const [_tx, rx] = syncChannel<number>(0);
  rx.close();
});

Deno.test("oneshot_single_thread_close_chan_first", () => {
  // Simple test of closing without sending
  const [tx, _rx] = syncChannel<number>(0);
  tx.close();
});

Deno.test("oneshot_single_thread_send_port_close", () => {
  // Testing that the sender cleans up the payload if receiver is closed
  const [tx, rx] = syncChannel<number>(0);
  rx.close();
  assertSendError(() => tx.sendSync(0), 0);
});

Deno.test("oneshot_single_thread_recv_chan_close", () => {
  // Receiving on a closed chan will panic (here: throw)
  const [tx, rx] = syncChannel<number>(0);
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("oneshot_single_thread_send_then_recv", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(10);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_send_open", () => {
  const [tx, rx] = syncChannel<number>(1);
  assert.equal(tx.trySend(10), true);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_send_closed", () => {
  const [tx, rx] = syncChannel<number>(0);
  rx.close();
  assertSendError(() => tx.trySend(10), 10);
});

Deno.test("oneshot_single_thread_try_send_closed2", () => {
  const [tx, _rx] = syncChannel<number>(0);
  assert.equal(tx.trySend(10), false);
});

Deno.test("oneshot_single_thread_try_recv_open", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(10);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_recv_closed", () => {
  const [tx, rx] = syncChannel<number>(0);
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("oneshot_single_thread_try_recv_closed_with_data", () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(10);
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 10 });
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("oneshot_single_thread_peek_data", () => {
  const [tx, rx] = syncChannel<number>(1);
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  tx.sendSync(10);
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 10 });
});

Deno.test("oneshot_single_thread_peek_close", () => {
  const [tx, rx] = syncChannel<number>(0);
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("oneshot_single_thread_peek_open", () => {
  const [_tx, rx] = syncChannel<number>(0);
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
});

Deno.test("oneshot_multi_task_recv_then_send", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 10]]);
  tx.sendSync(10, WAIT);
  await threads.join();
});

Deno.test("oneshot_multi_task_recv_then_close", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ tx: tx.transfer() }, [["close", "tx"]]);
  await threads.joinOne(threads.spawn({ rx: rx.transfer() }, [["recvErr", "rx"]]));
  await threads.join();
});

Deno.test("oneshot_multi_thread_close_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = syncChannel<number>(0);
    threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
    tx.close();
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_send_close_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = syncChannel<number>(0);
    threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
    await threads.joinOne(threads.spawn({ tx: tx.transfer() }, [["sendIgnore", "tx", 1]]));
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_recv_close_stress", async () => {
  await using threads = new Threads();
  // Nested workers start slowly on Deno (see tests/mpsc_test.ts): a quarter of the rounds.
  for (let i = 0; i < Math.ceil(ROUNDS / 4); i++) {
    const [tx, rx] = syncChannel<number>(0);
    threads.spawn({ rx: rx.transfer() }, [
      ["spawn", ["rx"], [["recvErr", "rx"]]],
      ["join"],
    ]);
    // Rust does not join this inner thread; the worker joins it when its script ends.
    threads.spawn({ tx: tx.transfer() }, [["spawn", ["tx"], [["close", "tx"]]]]);
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_send_recv_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = syncChannel<number>(0);
    threads.spawn({ tx: tx.transfer() }, [["send", "tx", 10]]);
    assert.equal(rx.recvSync(WAIT), 10);
  }
  await threads.join();
});

Deno.test("stream_send_recv_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = syncChannel<number>(0);
    await Promise.all([
      relay(threads, "tx", tx.transfer(), (i) => ["send", "tx", i]),
      relay(threads, "rx", rx.transfer(), (i) => ["recv", "rx", i]),
    ]);
  }
  await threads.join();
});

Deno.test("recv_a_lot", () => {
  const count = 10_000;
  // Regression test that we don't run out of stack in scheduler context
  const [tx, rx] = syncChannel<null>(count);
  for (let i = 0; i < count; i++) tx.sendSync(null);
  for (let i = 0; i < count; i++) rx.recvSync();
});

Deno.test("shared_chan_stress", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<null>(0);
  const total = 16 * STRESS;
  for (let i = 0; i < total; i++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["send", "tx", null]]);
  }
  for (let i = 0; i < total; i++) rx.recvSync(WAIT);
  await threads.join();
});

Deno.test("test_nested_recv_iter", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  const [totalTx, totalRx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer(), total_tx: totalTx.transfer() }, [
    ["iterSum", "rx", "total_tx", Infinity],
  ]);
  tx.sendSync(3, WAIT);
  tx.sendSync(1, WAIT);
  tx.sendSync(2, WAIT);
  tx.close();
  assert.equal(totalRx.recvSync(WAIT), 6);
  await threads.join();
});

Deno.test("test_recv_iter_break", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  const [countTx, countRx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer(), count_tx: countTx.transfer() }, [
    ["iterSum", "rx", "count_tx", 3],
  ]);
  tx.sendSync(2, WAIT);
  tx.sendSync(2, WAIT);
  tx.sendSync(2, WAIT);
  try {
    tx.trySend(2); // let _ = tx.try_send(2);
  } catch (e) {
    if (!(e instanceof Error && e.name === "SendError")) throw e;
  }
  tx.close();
  assert.equal(countRx.recvSync(WAIT), 4);
  await threads.join();
});

Deno.test("try_recv_states", async () => {
  await using threads = new Threads();
  const [tx1, rx1] = syncChannel<number>(1);
  const [tx2, rx2] = syncChannel<null>(1);
  const [tx3, rx3] = syncChannel<null>(1);
  threads.spawn({ rx2: rx2.transfer(), tx1: tx1.transfer(), tx3: tx3.transfer() }, [
    ["recv", "rx2", null],
    ["send", "tx1", 1],
    ["send", "tx3", null],
    ["recv", "rx2", null],
    ["close", "tx1"],
    ["send", "tx3", null],
  ]);
  assert.deepEqual(rx1.tryRecv(), { state: "empty" });
  tx2.sendSync(null, WAIT);
  rx3.recvSync(WAIT);
  assert.deepEqual(rx1.tryRecv(), { state: "ok", value: 1 });
  assert.deepEqual(rx1.tryRecv(), { state: "empty" });
  tx2.sendSync(null, WAIT);
  rx3.recvSync(WAIT);
  assert.deepEqual(rx1.tryRecv(), { state: "disconnected" });
  await threads.join();
});

// This bug used to end up in a livelock inside of the Receiver destructor
// because the internal state of the Shared packet was corrupted
Deno.test("destroy_upgraded_shared_port_when_sender_still_active", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<null>(0);
  const [tx2, rx2] = syncChannel<null>(0);
  threads.spawn({ rx: rx.transfer(), tx2: tx2.transfer() }, [
    ["recv", "rx", null], // wait on a oneshot
    ["close", "rx"], // destroy a shared
    ["send", "tx2", null],
  ]);
  // make sure the other thread has gone to sleep
  await new Promise((resolve) => setTimeout(resolve, 50));
  // upgrade to a shared chan and send a message
  const t = tx.clone();
  tx.close();
  t.sendSync(null, WAIT);
  // wait for the child thread to exit before we exit
  rx2.recvSync(WAIT);
  await threads.join();
});

Deno.test("send1", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 1]]);
  tx.sendSync(1, WAIT);
  await threads.join();
});

Deno.test("send2", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
  assertSendError(() => tx.sendSync(1, WAIT), 1);
  await threads.join();
});

Deno.test("send3", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(1);
  threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
  assertSendError(() => tx.sendSync(1, WAIT), 1);
  await threads.join();
});

Deno.test("send4", async () => {
  await using threads = new Threads();
  const [tx, rx] = syncChannel<number>(0);
  const tx2 = tx.clone();
  const [done, donerx] = channel<null>();
  const done2 = done.clone();
  threads.spawn({ tx: tx.transfer(), done: done.transfer() }, [
    ["sendErr", "tx", 1],
    ["send", "done", null],
  ]);
  threads.spawn({ tx2: tx2.transfer(), done2: done2.transfer() }, [
    ["sendErr", "tx2", 2],
    ["send", "done2", null],
  ]);
  rx.close();
  donerx.recvSync(WAIT);
  donerx.recvSync(WAIT);
  await threads.join();
});

Deno.test("try_send1", () => {
  const [tx, _rx] = syncChannel<number>(0);
  assert.equal(tx.trySend(1), false);
});

Deno.test("try_send2", () => {
  const [tx, _rx] = syncChannel<number>(1);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(1), false);
});

Deno.test("try_send3", () => {
  const [tx, rx] = syncChannel<number>(1);
  assert.equal(tx.trySend(1), true);
  rx.close();
  assertSendError(() => tx.trySend(1), 1);
});

Deno.test("issue_15761", async () => {
  await using threads = new Threads();
  const repro = () => {
    const [tx1, rx1] = syncChannel<null>(3);
    const [tx2, rx2] = syncChannel<null>(3);
    threads.spawn({ rx1: rx1.transfer(), tx2: tx2.transfer() }, [
      ["recv", "rx1", null],
      ["trySend", "tx2", null, true],
    ]);
    assert.equal(tx1.trySend(null), true);
    rx2.recvSync(WAIT);
  };
  for (let i = 0; i < 20 * STRESS; i++) repro();
  await threads.join();
});
