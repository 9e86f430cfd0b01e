// Rust's `std::sync::mpsc::channel` tests, ported to `channel()`.
//
// Source: rust-lang/rust library/std/src/sync/mpsc/tests.rs (the `channel` tests), as copied
// into crossbeam-rs/crossbeam crossbeam-channel/tests/mpsc.rs (`mod channel_tests`), which
// joins every spawned thread. Test names are Rust's. The bounded (`sync_channel`) tests are in
// tests/sync_channel_test.ts; the async API has its own suite in tests/async_test.ts.
//
// Deviations:
// - A thread is a Web Worker running a script of steps (tests/workers/mpsc_steps.ts, the
//   thread's body written as data next to the test); ends move into it with `transfer()` and
//   are adopted there with `Sender.from()`/`Receiver.from()`. A worker closes every end it still
//   holds when its script ends (Rust drops them when the thread ends). A panic in a thread is a
//   failed step: the worker reports it and the test fails. Every worker is joined (as in
//   crossbeam's copy) or, if the test fails first, terminated.
// - `drop(x)` is `x.close()`; `send` is `sendSync`; `recv` is `recvSync`; `recv_timeout(d)` is
//   `recvSync({ timeout: ms })`; `try_recv` is `tryRecv()`; `rx.iter()`/`into_iter()` is the
//   receiver's (blocking) iterator; `try_iter()` is `tryIter()`. `Err(SendError(v))` is a thrown
//   `SendError` whose `value` is `v`; `Err(RecvError)` a thrown `RecvError`;
//   `Err(RecvTimeoutError::Timeout)` a thrown `DOMException` named `TimeoutError`.
// - Main-thread blocking calls carry a 30 s timeout and every await a 30 s watchdog, so a lost
//   wake-up fails a test instead of hanging the run.
// - `Box<T>`/`()` messages are plain numbers/`null`: there is nothing to leak or double-free
//   in JS, so the tests that checked that (`drop_full`, `oneshot_single_thread_send_port_close`,
//   …) check only that nothing throws and what the calls return.
// - Stress counts are scaled to run in seconds; env `MPSC_STRESS` (default 1) multiplies them,
//   like `RUST_TEST_STRESS`. `stress_factor()` tests run 4 × MPSC_STRESS rounds (Rust: 1);
//   tests spawning `stress_factor() + 100` threads spawn 16 × MPSC_STRESS workers
//   (`shared_chan_stress`) or 10 × MPSC_STRESS (`stress_recv_timeout_shared`, whose
//   sleeps are i × 10 ms as in Rust); `stress_recv_timeout_two_threads` sends 20 × MPSC_STRESS
//   messages (Rust: 101), sleeping 10 ms and waiting 5 ms where Rust sleeps 200 ms and waits
//   100 ms. The message-count stress tests send
//   `[producer, seq]` pairs instead of `1` and check per-producer order as well as the count.
// - Where Rust gives a thread time to block (`thread::yield_now()` × 5000, `thread::sleep`), the
//   test sleeps a few milliseconds; like Rust's, these tests pass whichever side comes first.
// - `port_gone_concurrent(_shared)`: the worker first reports it is running (over a second
//   channel) before the main thread starts its unbounded send loop, which would otherwise fill
//   the channel's `maxBytes` while the worker starts (~40 ms here, seconds when it is
//   type-checked) and fail with a RangeError; Rust's channel has no storage limit.
// - `stream_send_recv_stress`: Rust's thread i sends (receives) i and spawns thread i + 1 with
//   the end moved into it. Here each link gives its end back to the main thread, which spawns
//   the next link with it: a worker spawned by a worker takes ~0.5–1 s to start on Deno 2.9.6
//   (nested workers are used once, in `oneshot_multi_thread_recv_close_stress`).
// - `issue_39364`: the thread hands its sender back to the parent, as in Rust, with
//   `giveBack`/`Sender.from`; sleeps and timeouts are 30/50 ms (Rust: 300/500 ms), and both
//   `recv_timeout` results, ignored by Rust, are checked to be timeouts.
//
// Dropped (Rust-specific machinery, no meaning here):
// - crossbeam's `mod select_tests` (`smoke`, `smoke2`, `closed`, `unblocks`, `both_ready`,
//   `stress`, `cloning`, `cloning2`, `cloning3`, `preflight1`–`preflight9`,
//   `oneshot_data_waiting`, `stream_data_waiting`, `shared_data_waiting`, `sync1`–`sync3`): they
//   test `select!` over several receivers, which this API does not have (std removed `Select`).
// Kept although their names refer to Rust machinery (the scenario survives):
// `send_from_outside_runtime`, `recv_from_outside_runtime`, `no_runtime` (libgreen's runtime),
// `recv_timeout_upgrade`, `destroy_upgraded_shared_port_when_sender_still_active` (the
// oneshot → stream → shared flavor upgrades of the old implementation: here, a clone made while
// the receiver waits).
import assert from "node:assert/strict";
import { channel, RecvError, Sender, type SenderHandle } from "@wasmring/mpsc";
import {
  assertRecvError,
  assertSendError,
  assertTimeout,
  recvTimeoutCount,
  recvUntilDisconnected,
  relay,
  type Step,
  STRESS,
  Threads,
  WAIT,
} from "./workers/mpsc_harness.ts";

/** Rounds of the `stress_factor()` tests. */
const ROUNDS = 4 * STRESS;

Deno.test("smoke", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
});

Deno.test("drop_full", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(1);
  tx.close();
  rx.close();
});

Deno.test("drop_full_shared", () => {
  const [tx, rx] = channel<number>();
  tx.clone().close();
  tx.clone().close();
  tx.sendSync(1);
  tx.close();
  rx.close();
});

Deno.test("smoke_shared", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
  const tx2 = tx.clone();
  tx2.sendSync(1);
  assert.equal(rx.recvSync(), 1);
});

Deno.test("smoke_threads", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  threads.spawn({ tx: tx.transfer() }, [["send", "tx", 1]]);
  assert.equal(rx.recvSync(WAIT), 1);
  await threads.join();
});

Deno.test("smoke_port_gone", () => {
  const [tx, rx] = channel<number>();
  rx.close();
  assertSendError(() => tx.sendSync(1), 1);
});

Deno.test("smoke_shared_port_gone", () => {
  const [tx, rx] = channel<number>();
  rx.close();
  assertSendError(() => tx.sendSync(1), 1);
});

Deno.test("smoke_shared_port_gone2", () => {
  const [tx, rx] = channel<number>();
  rx.close();
  const tx2 = tx.clone();
  tx.close();
  assertSendError(() => tx2.sendSync(1), 1);
});

/** Sends `1` from `senders` until one fails, like `while tx.send(1).is_ok() && … {}`. */
function sendUntilDisconnected(senders: Sender<number>[]): void {
  for (;;) {
    for (const tx of senders) {
      try {
        tx.sendSync(1);
      } catch (e) {
        assert.ok(e instanceof Error && e.name === "SendError", `expected a SendError: ${e}`);
        return;
      }
    }
  }
}

Deno.test("port_gone_concurrent", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  const [readyTx, readyRx] = channel<null>();
  threads.spawn({ rx: rx.transfer(), ready: readyTx.transfer() }, [
    ["send", "ready", null],
    ["recv", "rx", 1],
  ]);
  readyRx.recvSync(WAIT);
  sendUntilDisconnected([tx]);
  await threads.join();
});

Deno.test("port_gone_concurrent_shared", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  const tx2 = tx.clone();
  const [readyTx, readyRx] = channel<null>();
  threads.spawn({ rx: rx.transfer(), ready: readyTx.transfer() }, [
    ["send", "ready", null],
    ["recv", "rx", 1],
  ]);
  readyRx.recvSync(WAIT);
  sendUntilDisconnected([tx, tx2]);
  await threads.join();
});

Deno.test("smoke_chan_gone", () => {
  const [tx, rx] = channel<number>();
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("smoke_chan_gone_shared", () => {
  const [tx, rx] = channel<null>();
  const tx2 = tx.clone();
  tx.close();
  tx2.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("chan_gone_concurrent", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  threads.spawn({ tx: tx.transfer() }, [["send", "tx", 1, 2]]);
  assert.equal(recvUntilDisconnected(rx), 2);
  await threads.join();
});

Deno.test("stress", async () => {
  const count = 10_000 * STRESS;
  await using threads = new Threads();
  const [tx, rx] = channel<[number, number]>();
  threads.spawn({ tx: tx.transfer() }, [["sendSeq", "tx", 0, count]]);
  for (let i = 0; i < count; i++) assert.deepEqual(rx.recvSync(WAIT), [0, i]);
  await threads.join();
});

Deno.test("stress_shared", async () => {
  const amt = 10_000 * STRESS;
  const nthreads = 8;
  await using threads = new Threads();
  const [tx, rx] = channel<[number, number]>();
  threads.spawn({ rx: rx.transfer() }, [
    ["recvSeq", "rx", nthreads, amt],
    ["tryRecvNotOk", "rx"],
  ]);
  for (let id = 0; id < nthreads; id++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["sendSeq", "tx", id, amt]]);
  }
  tx.close();
  await threads.join();
});

Deno.test("send_from_outside_runtime", async () => {
  await using threads = new Threads();
  const [tx1, rx1] = channel<null>();
  const [tx2, rx2] = channel<number>();
  threads.spawn({ tx1: tx1.transfer(), rx2: rx2.transfer() }, [
    ["send", "tx1", null],
    ["recv", "rx2", 1, 40],
  ]);
  rx1.recvSync(WAIT);
  threads.spawn({ tx2: tx2.transfer() }, [["send", "tx2", 1, 40]]);
  await threads.join();
});

Deno.test("recv_from_outside_runtime", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 1, 40]]);
  for (let i = 0; i < 40; i++) tx.sendSync(1);
  await threads.join();
});

Deno.test("no_runtime", async () => {
  await using threads = new Threads();
  const [tx1, rx1] = channel<number>();
  const [tx2, rx2] = channel<number>();
  threads.spawn({ rx1: rx1.transfer(), tx2: tx2.transfer() }, [
    ["recv", "rx1", 1],
    ["send", "tx2", 2],
  ]);
  threads.spawn({ tx1: tx1.transfer(), rx2: rx2.transfer() }, [
    ["send", "tx1", 1],
    ["recv", "rx2", 2],
  ]);
  await threads.join();
});

Deno.test("oneshot_single_thread_close_port_first", () => {
  // Simple test of closing without sending
  const [_tx, rx] = channel<number>();
  rx.close();
});

Deno.test("oneshot_single_thread_close_chan_first", () => {
  // Simple test of closing without sending
  const [tx, _rx] = channel<number>();
  tx.close();
});

Deno.test("oneshot_single_thread_send_port_close", () => {
  // Testing that the sender cleans up the payload if receiver is closed
  const [tx, rx] = channel<number>();
  rx.close();
  assertSendError(() => tx.sendSync(0), 0);
});

Deno.test("oneshot_single_thread_recv_chan_close", () => {
  const [tx, rx] = channel<number>();
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("oneshot_single_thread_send_then_recv", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(10);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_send_open", () => {
  const [tx, rx] = channel<number>();
  assert.equal(tx.trySend(10), true);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_send_closed", () => {
  const [tx, rx] = channel<number>();
  rx.close();
  assertSendError(() => tx.trySend(10), 10);
});

Deno.test("oneshot_single_thread_try_recv_open", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(10);
  assert.equal(rx.recvSync(), 10);
});

Deno.test("oneshot_single_thread_try_recv_closed", () => {
  const [tx, rx] = channel<number>();
  tx.close();
  assertRecvError(() => rx.recvSync());
});

Deno.test("oneshot_single_thread_peek_data", () => {
  const [tx, rx] = channel<number>();
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  tx.sendSync(10);
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 10 });
});

Deno.test("oneshot_single_thread_peek_close", () => {
  const [tx, rx] = channel<number>();
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("oneshot_single_thread_peek_open", () => {
  const [_tx, rx] = channel<number>();
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
});

Deno.test("oneshot_multi_task_recv_then_send", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  threads.spawn({ rx: rx.transfer() }, [["recv", "rx", 10]]);
  tx.sendSync(10);
  await threads.join();
});

Deno.test("oneshot_multi_task_recv_then_close", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  threads.spawn({ tx: tx.transfer() }, [["close", "tx"]]);
  await threads.joinOne(threads.spawn({ rx: rx.transfer() }, [["recvErr", "rx"]]));
  await threads.join();
});

Deno.test("oneshot_multi_thread_close_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = channel<number>();
    threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
    tx.close();
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_send_close_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = channel<number>();
    threads.spawn({ rx: rx.transfer() }, [["close", "rx"]]);
    await threads.joinOne(threads.spawn({ tx: tx.transfer() }, [["sendIgnore", "tx", 1]]));
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_recv_close_stress", async () => {
  await using threads = new Threads();
  // Nested workers start slowly on Deno (see the header): a quarter of the rounds.
  for (let i = 0; i < Math.ceil(ROUNDS / 4); i++) {
    const [tx, rx] = channel<number>();
    threads.spawn({ rx: rx.transfer() }, [
      ["spawn", ["rx"], [["recvErr", "rx"]]],
      ["join"],
    ]);
    threads.spawn({ tx: tx.transfer() }, [
      ["spawn", ["tx"], [["close", "tx"]]],
      ["join"],
    ]);
  }
  await threads.join();
});

Deno.test("oneshot_multi_thread_send_recv_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = channel<number>();
    threads.spawn({ tx: tx.transfer() }, [["send", "tx", 10]]);
    assert.equal(rx.recvSync(WAIT), 10);
  }
  await threads.join();
});

Deno.test("stream_send_recv_stress", async () => {
  await using threads = new Threads();
  for (let i = 0; i < ROUNDS; i++) {
    const [tx, rx] = channel<number>();
    await Promise.all([
      relay(threads, "tx", tx.transfer(), (i) => ["send", "tx", i]),
      relay(threads, "rx", rx.transfer(), (i) => ["recv", "rx", i]),
    ]);
  }
  await threads.join();
});

Deno.test("oneshot_single_thread_recv_timeout", () => {
  const [tx, rx] = channel<null>();
  tx.sendSync(null);
  assert.equal(rx.recvSync({ timeout: 1 }), null);
  assertTimeout(() => rx.recvSync({ timeout: 1 }));
  tx.sendSync(null);
  assert.equal(rx.recvSync({ timeout: 1 }), null);
});

Deno.test("stress_recv_timeout_two_threads", async () => {
  const stress = 20 * STRESS;
  const timeout = 5;
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  const steps: Step[] = [];
  for (let i = 0; i < stress; i++) {
    if (i % 2 === 0) steps.push(["sleep", timeout * 2]);
    steps.push(["send", "tx", 1]);
  }
  threads.spawn({ tx: tx.transfer() }, steps);
  assert.equal(recvTimeoutCount(rx, timeout, 1), stress);
  await threads.join();
});

Deno.test("recv_timeout_upgrade", () => {
  const [tx, rx] = channel<null>();
  const timeout = 1;
  const _txClone = tx.clone();
  const start = performance.now();
  assertTimeout(() => rx.recvSync({ timeout }));
  assert.ok(performance.now() >= start + timeout);
});

Deno.test("stress_recv_timeout_shared", async () => {
  const stress = 10 * STRESS;
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  for (let i = 0; i < stress; i++) {
    threads.spawn({ tx: tx.clone().transfer() }, [
      ["sleep", i * 10],
      ["send", "tx", 1],
    ]);
  }
  tx.close();
  assert.equal(recvTimeoutCount(rx, 10, 1), stress);
  await threads.join();
});

Deno.test("very_long_recv_timeout_wont_panic", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<null>();
  // Rust: Duration::from_secs(u64::MAX). Here the largest finite timeout there is.
  threads.spawn({ rx: rx.transfer() }, [["recvTimeout", "rx", Number.MAX_VALUE, null]]);
  await new Promise((resolve) => setTimeout(resolve, 100)); // Rust: 1 s
  tx.sendSync(null);
  await threads.join();
});

Deno.test("recv_a_lot", () => {
  const count = 10_000;
  // Regression test that we don't run out of stack in scheduler context
  const [tx, rx] = channel<null>();
  for (let i = 0; i < count; i++) tx.sendSync(null);
  for (let i = 0; i < count; i++) rx.recvSync();
});

Deno.test("shared_recv_timeout", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<null>();
  const total = 5;
  for (let i = 0; i < total; i++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["send", "tx", null]]);
  }
  for (let i = 0; i < total; i++) rx.recvSync(WAIT);
  assertTimeout(() => rx.recvSync({ timeout: 1 }));
  tx.sendSync(null);
  assert.equal(rx.recvSync({ timeout: 1 }), null);
  await threads.join();
});

Deno.test("shared_chan_stress", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<null>();
  const total = 16 * STRESS;
  for (let i = 0; i < total; i++) {
    threads.spawn({ tx: tx.clone().transfer() }, [["send", "tx", null]]);
  }
  for (let i = 0; i < total; i++) rx.recvSync(WAIT);
  await threads.join();
});

Deno.test("test_nested_recv_iter", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  const [totalTx, totalRx] = channel<number>();
  threads.spawn({ rx: rx.transfer(), total_tx: totalTx.transfer() }, [
    ["iterSum", "rx", "total_tx", Infinity],
  ]);
  tx.sendSync(3);
  tx.sendSync(1);
  tx.sendSync(2);
  tx.close();
  assert.equal(totalRx.recvSync(WAIT), 6);
  await threads.join();
});

Deno.test("test_recv_iter_break", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<number>();
  const [countTx, countRx] = channel<number>();
  threads.spawn({ rx: rx.transfer(), count_tx: countTx.transfer() }, [
    ["iterSum", "rx", "count_tx", 3],
  ]);
  tx.sendSync(2);
  tx.sendSync(2);
  tx.sendSync(2);
  try {
    tx.sendSync(2);
  } catch { /* let _ = tx.send(2); */ }
  tx.close();
  assert.equal(countRx.recvSync(WAIT), 4);
  await threads.join();
});

Deno.test("test_recv_try_iter", async () => {
  await using threads = new Threads();
  const [requestTx, requestRx] = channel<null>();
  const [responseTx, responseRx] = channel<number>();
  // Request `x`s until we have `6`.
  const t = threads.spawn({ response: responseRx.transfer(), request: requestTx.transfer() }, [
    ["tryIterRequests", "response", "request", 6],
  ]);
  for (;;) {
    try {
      requestRx.recvSync(WAIT);
    } catch (e) {
      if (e instanceof RecvError) break;
      throw e;
    }
    try {
      responseTx.sendSync(2);
    } catch (e) {
      if (e instanceof Error && e.name === "SendError") break;
      throw e;
    }
  }
  assert.deepEqual((await threads.joinOne(t)).results, [6]);
  await threads.join();
});

Deno.test("test_recv_into_iter_owned", () => {
  const iter = (() => {
    const [tx, rx] = channel<number>();
    tx.sendSync(1);
    tx.sendSync(2);
    tx.close(); // tx is dropped at the end of Rust's block
    return rx[Symbol.iterator]();
  })();
  assert.deepEqual(iter.next(), { done: false, value: 1 });
  assert.deepEqual(iter.next(), { done: false, value: 2 });
  assert.equal(iter.next().done, true);
});

Deno.test("test_recv_into_iter_borrowed", () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(1);
  tx.sendSync(2);
  tx.close();
  const iter = rx[Symbol.iterator]();
  assert.deepEqual(iter.next(), { done: false, value: 1 });
  assert.deepEqual(iter.next(), { done: false, value: 2 });
  assert.equal(iter.next().done, true);
});

Deno.test("try_recv_states", async () => {
  await using threads = new Threads();
  const [tx1, rx1] = channel<number>();
  const [tx2, rx2] = channel<null>();
  const [tx3, rx3] = channel<null>();
  threads.spawn({ rx2: rx2.transfer(), tx1: tx1.transfer(), tx3: tx3.transfer() }, [
    ["recv", "rx2", null],
    ["send", "tx1", 1],
    ["send", "tx3", null],
    ["recv", "rx2", null],
    ["close", "tx1"],
    ["send", "tx3", null],
  ]);
  assert.deepEqual(rx1.tryRecv(), { state: "empty" });
  tx2.sendSync(null);
  rx3.recvSync(WAIT);
  assert.deepEqual(rx1.tryRecv(), { state: "ok", value: 1 });
  assert.deepEqual(rx1.tryRecv(), { state: "empty" });
  tx2.sendSync(null);
  rx3.recvSync(WAIT);
  assert.deepEqual(rx1.tryRecv(), { state: "disconnected" });
  await threads.join();
});

// This bug used to end up in a livelock inside of the Receiver destructor
// because the internal state of the Shared packet was corrupted
Deno.test("destroy_upgraded_shared_port_when_sender_still_active", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<null>();
  const [tx2, rx2] = channel<null>();
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
  t.sendSync(null);
  // wait for the child thread to exit before we exit
  rx2.recvSync(WAIT);
  await threads.join();
});

Deno.test("issue_32114", () => {
  const [tx, rx] = channel<number>();
  rx.close(); // `let (tx, _) = channel();` drops the receiver at once
  try {
    tx.sendSync(123);
  } catch { /* let _ = tx.send(123); */ }
  assertSendError(() => tx.sendSync(123), 123);
});

Deno.test("issue_39364", async () => {
  await using threads = new Threads();
  const [tx, rx] = channel<null>();
  const t = threads.spawn({ tx: tx.transfer() }, [
    ["sleep", 30],
    ["clone", "tx", "clone"],
    ["close", "clone"],
    // Don't drop; hand back to caller.
    ["giveBack", "tx"],
  ]);
  assertTimeout(() => rx.recvSync({ timeout: 50 }));
  const done = await threads.joinOne(t);
  // delay dropping until end of test
  using _tx = Sender.from(done.handles.tx as SenderHandle<null>);
  assertTimeout(() => rx.recvSync({ timeout: 50 }));
  await threads.join();
});

Deno.test("lone primitives arrive exactly (the sender's fast path for them): -0, NaN, ±Infinity", () => {
  const [tx, rx] = channel<unknown>();
  const values = [
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    2 ** 31,
    -(2 ** 31),
    1.5,
    true,
    false,
    null,
    undefined,
  ];
  for (const v of values) tx.sendSync(v);
  for (const v of values) assert.ok(Object.is(rx.recvSync(), v), `${String(v)}`);
  tx.close();
  rx.close();
});
