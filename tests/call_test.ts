// call/callSync/serve (issue 13): request/reply through a worker with a oneshot reply end per
// request; cancel safety; a failing or dying server is an error, never a hang.
import assert from "node:assert/strict";
import { type Call, call, callSync, channel, RecvError, SendError, serve, spawn } from "../mod.ts";

const worker = new URL("./call/worker.ts", import.meta.url);

Deno.test("call a worker 200 times, sequentially and 50 at once", async () => {
  const [requests, incoming] = channel<Call<number, number>>();
  const server = spawn(worker, { mode: "square", requests: incoming });
  for (let n = 0; n < 150; n++) assert.equal(await call(requests, n), n * n);
  const many = await Promise.all(Array.from({ length: 50 }, (_, n) => call(requests, n + 1000)));
  assert.deepEqual(many, Array.from({ length: 50 }, (_, n) => (n + 1000) ** 2));
  requests.close();
  assert.equal(await server.join(), 200);
});

Deno.test("callers in two workers share one channel of requests: each reply finds its caller", async () => {
  const [requests, incoming] = channel<Call<number, number>>();
  const server = spawn(worker, { mode: "square", requests: incoming });
  const a = spawn(worker, { mode: "caller", to: requests.clone(), base: 0, count: 30 });
  const b = spawn(worker, { mode: "caller", to: requests.clone(), base: 100, count: 30 });
  requests.close();
  assert.deepEqual(await a.join(), Array.from({ length: 30 }, (_, i) => i * i));
  assert.deepEqual(await b.join(), Array.from({ length: 30 }, (_, i) => (100 + i) ** 2));
  assert.equal(await server.join(), 60);
});

Deno.test("an abort before the request goes sends nothing; after, the server skips the reply", async () => {
  const [requests, incoming] = channel<Call<number, number>>();
  await assert.rejects(
    call(requests, 1, { signal: AbortSignal.abort(new Error("early")) }),
    /early/,
  );
  assert.deepEqual(incoming.tryRecv(), { state: "empty" });
  const server = spawn(worker, { mode: "square", requests: incoming, slow: 50 });
  const controller = new AbortController();
  const given = call(requests, 2, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("late")), 10);
  await assert.rejects(given, /late/);
  assert.equal(await call(requests, 3), 9, "the server went on");
  requests.close();
  assert.equal(await server.join(), 1, "the abandoned call was not answered");
});

Deno.test("a handler that throws: its caller gets a RecvError, serve rejects with the error", async () => {
  const [requests, incoming] = channel<Call<number, number>>();
  const server = spawn(worker, { mode: "square", requests: incoming });
  assert.equal(await call(requests, 4), 16);
  await assert.rejects(
    call(requests, -1),
    (e: unknown) => e instanceof RecvError && /dropped unanswered/.test(e.message),
  );
  await assert.rejects(
    server.join(),
    (e: unknown) => e instanceof RangeError && /negative/.test(e.message),
  );
  await assert.rejects(call(requests, 5), SendError, "the server is gone");
  requests.close();
});

Deno.test("the serving worker dies with calls in flight: every one fails, none hangs", async () => {
  const [requests, incoming] = channel<Call<number, number>>();
  const [ready, readyRx] = channel<string>();
  const server = spawn(worker, { mode: "stall", requests: incoming, ready });
  assert.equal(await readyRx.recv(), "stalling");
  const calls = Array.from({ length: 10 }, (_, n) => call(requests, n));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await server.terminate();
  for (const pending of calls) await assert.rejects(pending, RecvError);
  await assert.rejects(call(requests, 1), SendError);
  requests.close();
});

Deno.test("callSync: the reply, or a TimeoutError", () => {
  const [requests, incoming] = channel<Call<number, string>>();
  assert.throws(
    () => callSync(requests, 1, { timeout: 10 }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  const { request, reply } = incoming.recvSync();
  assert.equal(request, 1);
  assert.throws(() => reply.send("too late"), SendError, "the caller gave up");
  requests.close();
  incoming.close();
});

Deno.test("serve in one thread (the README's example)", async () => {
  const [requests, incoming] = channel<Call<string, number>>();
  const server = serve(incoming, (s) => s.length);
  assert.equal(await call(requests, "four"), 4);
  requests.close();
  assert.equal(await server, 1);
});
