// The programs in examples/: each one is run as a subprocess, with the command its first line
// documents (`// deno run <flags> examples/<name>.ts`), from the repository root so that the
// import map resolves "@wasmring/mpsc". A watchdog kills an example that does not finish, so a
// hang fails its test instead of the whole run.
import assert from "node:assert/strict";
import { runWithin } from "../tools/_watchdog.ts";
import { natsTest } from "./_helpers/nats_server.ts";

const ROOT = new URL("../", import.meta.url);

/** Longest an example may run before it is killed. */
const WATCHDOG_MS = 30_000;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** The permission flags in an example's first line, checked to name the example itself. */
async function documentedFlags(path: string): Promise<string[]> {
  const first = (await Deno.readTextFile(new URL(path, ROOT))).split("\n", 1)[0];
  const match = /^\/\/ deno run ((?:-\S+ )*)(\S+\.ts)\b/.exec(first);
  assert.ok(match, `${path}: the first line should be "// deno run <flags> ${path}": ${first}`);
  assert.equal(match[2], path, `${path}: the first line names another file`);
  return match[1].trim().split(" ").filter((flag) => flag !== "");
}

/** Runs `examples/<name>.ts` with its documented flags and `args`; kills it after the watchdog. */
async function run(name: string, ...args: string[]): Promise<Output> {
  const path = `examples/${name}.ts`;
  const flags = await documentedFlags(path);
  const { output, killed } = await runWithin(WATCHDOG_MS, Deno.execPath(), {
    args: ["run", ...flags, path, ...args],
    cwd: ROOT,
    stdin: "null",
  });
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(!killed, `${path} did not finish within ${WATCHDOG_MS} ms (killed)\n${stdout}`);
  assert.equal(output.code, 0, `${path} exited with ${output.code}\n${stdout}\n${stderr}`);
  return { code: output.code, stdout, stderr, lines: stdout.trimEnd().split("\n") };
}

/** Asserts that `lines` contains each of `expected`, in that order (other lines may come between). */
function assertInOrder(lines: string[], expected: (string | RegExp)[]): void {
  let at = 0;
  for (const want of expected) {
    const found = lines.findIndex((line, i) =>
      i >= at && (typeof want === "string" ? line === want : want.test(line))
    );
    assert.ok(found >= 0, `missing ${want} (in order) in:\n${lines.join("\n")}`);
    at = found + 1;
  }
}

Deno.test("hello.ts prints the worker's greeting and its result", async () => {
  const { stdout } = await run("hello");
  assert.equal(stdout, "Hello from the worker!\nthe worker returned 42\n");
});

Deno.test("stream.ts receives 1 to 4 with for … of, then ends", async () => {
  const { lines } = await run("stream");
  assert.deepEqual(lines, [
    "received 1",
    "received 2",
    "received 3",
    "received 4",
    "the worker closed its sender: done",
  ]);
});

Deno.test("async.ts receives 1 to 4 while a timer keeps ticking", async () => {
  const { lines } = await run("async");
  const received = lines.filter((line) => / received \d$/.test(line)).map((line) => line.at(-1));
  assert.deepEqual(received, ["1", "2", "3", "4"]);
  const firstTick = lines.findIndex((line) => / tick \d+$/.test(line));
  const lastReceived = lines.findIndex((line) => line.endsWith("received 4"));
  assert.ok(firstTick >= 0 && firstTick < lastReceived, "the timer should tick while receiving");
  assert.match(lines.at(-1)!, /^done: the timer ticked [1-9]\d* times while we waited/);
});

Deno.test("producers.ts keeps each producer's order", async () => {
  const { lines } = await run("producers");
  assert.match(lines[0], /^arrival order \(varies from run to run\): ([ABC][1-5] ){14}[ABC][1-5]$/);
  assert.deepEqual(lines.slice(1), [
    "producer A: 1, 2, 3, 4, 5  (in order)",
    "producer B: 1, 2, 3, 4, 5  (in order)",
    "producer C: 1, 2, 3, 4, 5  (in order)",
    "15 messages from 3 producers",
  ]);
});

Deno.test("backpressure.ts holds the producer to the consumer's pace", async () => {
  const { lines } = await run("backpressure");
  assert.equal(lines.length, 9);
  lines.slice(0, 8).forEach((line, i) => {
    assert.match(line, new RegExp(`^took ${i + 1} at \\+\\d+ ms \\(made at \\+\\d+ ms\\); `));
    const [, buffered] = /buffered after the take: (\d) of 2$/.exec(line) ?? [];
    assert.ok(Number(buffered) <= 2, line);
  });
  assert.match(
    lines[8],
    /^the producer made message 8 at \+\d+ ms: held to the consumer's pace ✓$/,
  );
});

Deno.test("tasks.ts: a pool shares one queue; every result comes back through its reply end", async () => {
  const { lines } = await run("tasks");
  assert.deepEqual(lines.slice(0, 9), [
    "task 0: 348513 primes below 5000000",
    "task 1: 25 primes below 100",
    "task 2: 168 primes below 1000",
    "task 3: 283146 primes below 4000000",
    "task 4: 1229 primes below 10000",
    "task 5: 9592 primes below 100000",
    "task 6: 216816 primes below 3000000",
    "task 7: 78498 primes below 1000000",
    "task 8: 148933 primes below 2000000",
  ]);
  // Which worker took which task depends on who was free.
  const last =
    /^9 of 9 tasks done by 3 workers sharing one queue \(each answered (\d+), (\d+), (\d+): as counted\)$/
      .exec(lines[9]);
  assert.ok(last, lines[9]);
  assert.equal(Number(last[1]) + Number(last[2]) + Number(last[3]), 9);
  assert.equal(lines.length, 10);
});

Deno.test("select.ts: the monitor handles readings until shutdown, then stops", async () => {
  const { lines } = await run("select");
  assert.equal(lines.length, 2, lines.join("\n"));
  const handled = /^the monitor handled (\d+) readings \(highest: (\d+)\)$/.exec(lines[0]);
  assert.ok(handled, lines[0]);
  assert.ok(Number(handled[1]) > 0);
  assert.ok(Number(handled[2]) <= 30);
  assert.equal(lines[1], "and stopped: maintenance window");
});

Deno.test("events.ts handles every event and ends on quit", async () => {
  const { lines } = await run("events");
  // The main thread's timer event falls anywhere among the worker's events.
  const timer = 'timer "autosave" fired';
  assert.equal(lines.filter((line) => line === timer).length, 1);
  assert.deepEqual(lines.filter((line) => line !== timer), [
    'key "h": text is now "h"',
    'key "i": text is now "hi"',
    "click at (10, 20)",
    "resize to 80x24",
    'key "!": text is now "hi!"',
    "quit",
    'typed "hi!", 1 click(s), window 80x24; ended by quit event',
  ]);
});

Deno.test("pipeline.ts runs three stages and prints the totals", async () => {
  const { lines } = await run("pipeline");
  assert.deepEqual(lines, [
    "alice: 19.75 EUR",
    "bob: 4.69 EUR",
    "carol: 115.01 EUR",
    "6 orders from 7 lines (the parser dropped the others)",
  ]);
});

Deno.test("demo.ts agrees across channels and postMessage on a small workload", async () => {
  const { lines } = await run("demo", "--records", "20000");
  assertInOrder(lines, [
    "@wasmring/mpsc demo: 20,000 records { id, user, amount, tags }",
    "[1/4] channels, 1 record per call",
    /^ {2}100% {2}20,000 records {2}\d+\.\d\d s$/, // not a terminal: plain progress lines
    /^ {2}20,000 records in \d+\.\d\d s$/,
    "[2/4] channels, 1,000 records per call",
    /^ {2}20,000 records in \d+\.\d\d s$/,
    "[3/4] postMessage, 1 record per message",
    /^ {2}20,000 records in \d+\.\d\d s$/,
    "[4/4] postMessage, 1,000 records per message",
    /^ {2}20,000 records in \d+\.\d\d s$/,
    /^ +records\/s +vs 1 per message +vs 1,000 per message$/,
    /^ {2}channels, 1 record per call +[\d,]+ +\d+\.\d\d× +\d+\.\d\d×$/,
    /^ {2}channels, 1,000 records per call +[\d,]+ +\d+\.\d\d× +\d+\.\d\d×$/,
    /^ {2}postMessage, 1 record per message +[\d,]+ +1\.00× +\d+\.\d\d×$/,
    /^ {2}postMessage, 1,000 records per message +[\d,]+ +\d+\.\d\d× +1\.00×$/,
    /^ {2}20,000 records, total [\d,.]+, [\d,]+ refunds, id sum 199,990,000, 1,000 users /,
    "  ✓ every record arrived exactly once, and all 4 runs agree",
  ]);
});

Deno.test({
  ...natsTest("distributed.ts moves the transform stage to another process through NATS"),
  async fn() {
    // It starts its own nats-server (and stops it): the server is found as the NATS tests find it.
    const { lines } = await run("distributed", "--records", "2000");
    assertInOrder(lines, [
      "@wasmring/mpsc distributed demo: 2,000 records { id, user, amount, tags }",
      /^nats-server: started here, on 127\.0\.0\.1:\d+$/,
      /^ {2}2,000 records in \d+\.\d\d s \([\d,]+ records\/s through two NATS hops\)$/,
      /^ {2}2,000 records, total [\d,.]+, [\d,]+ refunds, id sum 1,999,000, /,
      "  ✓ every record arrived exactly once",
    ]);
  },
});

Deno.test("demo.ts runs one record per call only with --no-batched", async () => {
  const { lines } = await run("demo", "--records", "5001", "--producers", "3", "--no-batched");
  assertInOrder(lines, [
    "@wasmring/mpsc demo: 5,001 records { id, user, amount, tags }",
    "3 producer workers → transform worker → main thread (aggregate)",
    "[1/2] channels, 1 record per call",
    "[2/2] postMessage, 1 record per message",
    /^ +records\/s +vs 1 per message$/,
    /^ {2}channels, 1 record per call +[\d,]+ +\d+\.\d\d×$/,
    "  ✓ every record arrived exactly once, and all 2 runs agree",
  ]);
  assert.ok(!lines.some((line) => line.includes("1,000 records per")), lines.join("\n"));
});
