// Knowing who is still there (issue 14): tx.closed() resolves once every receiver is gone (closed,
// or its worker died); rx.senders and tx.receivers count the ends (racy, informational).
import assert from "node:assert/strict";
import { channel, type OneshotSender, spawn } from "../mod.ts";

const worker = new URL("./ends/worker.ts", import.meta.url);

Deno.test("tx.closed() resolves once the receiver goes; rx.senders and tx.receivers count", async () => {
  const [tx, rx] = channel<number>();
  const tx2 = tx.clone();
  assert.equal(rx.senders, 2);
  assert.equal(tx.receivers, 1);
  tx2.close();
  assert.equal(rx.senders, 1);
  let closed = false;
  const waiting = tx.closed().then(() => closed = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(closed, false, "the receiver is still there");
  assert.throws(() => tx.transfer(), /send\(\) or closed\(\) calls are pending/);
  rx.close();
  await waiting;
  assert.equal(tx.receivers, 0);
  await tx.closed(); // at once now
  // Aborted, and this sender closed while waiting.
  const [t2, r2] = channel<number>();
  await assert.rejects(
    t2.closed({ signal: AbortSignal.timeout(10) }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  const pending = t2.closed();
  t2.close();
  await assert.rejects(pending, /sender was closed while it waited/);
  r2.close();
  tx.close();
});

Deno.test("tx.closed() resolves when the receiver's worker dies", async () => {
  const [jobs, jobsRx] = channel<{ reply: OneshotSender<number> }>();
  const [ready, readyRx] = channel<string>();
  const job = spawn(worker, { mode: "stuck", jobs: jobsRx, ready });
  assert.equal(await readyRx.recv(), "stuck");
  const gone = jobs.closed();
  await job.terminate();
  await gone;
  jobs.close();
});
