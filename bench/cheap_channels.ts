/**
 * What a channel costs (issue 13, "cheap channels"), in one run:
 *
 * - **cycle**: create a channel, send one number, receive it, close both ends — 100,000 times in
 *   a loop — against one `sendSync` + `recvSync` on a channel that already exists, timed in the
 *   same run (target: a cycle ≤ 20× a send+receive).
 * - **oneshot**: the same cycle with `oneshot()` (send, recvSync; the ends close themselves).
 * - **idle**: 10,000 live channels, nothing sent (and, `used`, one message sent and received on
 *   each): resident memory and address space per channel, from `/proc/self/status` (VmRSS,
 *   VmSize) in a fresh process (targets: ≤ 16 KiB RSS, ≤ 1 MiB address space per channel).
 * - **settle**: a plain worker adopts the receivers of 3,000 channels, then is terminated:
 *   `terminate()` settles the 3,000 ends (the senders see the receivers closed) — one core
 *   instance for the one memory, not one per channel.
 * - **ulimit**: 1,000 live channels in a process limited to 64 GiB of address space
 *   (`ulimit -v 67108864`, in a subshell), which must not crash; and, for comparison, the same
 *   with `{ isolated: true }` channels (a memory of their own each, as every channel had before:
 *   expected to fail).
 *
 *     deno run -A --v8-flags=--expose-gc bench/cheap_channels.ts            # everything
 *     deno run -A --v8-flags=--expose-gc bench/cheap_channels.ts --quick    # smaller counts
 *
 * The child modes (`idle`, `live`) are this file run again, with one JSON line out.
 *
 * @module
 */
import { channel, oneshot } from "@wasmring/mpsc";

const SELF = new URL(import.meta.url).pathname;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** VmRSS and VmSize of this process, in KiB. */
function status(): { rss: number; vm: number } {
  const text = Deno.readTextFileSync("/proc/self/status");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
  return { rss: kib("VmRSS"), vm: kib("VmSize") };
}

function settled(): { rss: number; vm: number } {
  for (let i = 0; i < 3; i++) gc();
  return status();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// ── Child modes

/** `idle N used|fresh`: N live channels; prints RSS and address space per channel. */
function idle(n: number, used: boolean): void {
  const warm = channel<number>(); // the arena is reserved by the first channel
  warm[0].sendSync(0);
  warm[1].recvSync();
  const before = settled();
  const keep: unknown[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const [tx, rx] = channel<number>();
    if (used) {
      tx.sendSync(i);
      if (rx.recvSync() !== i) throw new Error("wrong message");
    }
    keep.push(tx, rx);
  }
  const createMs = performance.now() - t0;
  const after = settled();
  console.log(JSON.stringify({
    n,
    used,
    createMs,
    rssKiBPerChannel: (after.rss - before.rss) / n,
    vmKiBPerChannel: (after.vm - before.vm) / n,
    kept: keep.length,
  }));
}

/** `live N [isolated]`: N live channels, each used once; prints how many were made. */
function live(n: number, isolated: boolean): void {
  const keep: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const [tx, rx] = channel<number>({ isolated });
    tx.sendSync(i);
    if (rx.recvSync() !== i) throw new Error("wrong message");
    keep.push(tx, rx);
  }
  console.log(JSON.stringify({ n, isolated, made: keep.length / 2, ...status() }));
}

// ── The measurements

/** One cycle: a channel created, one message through it, both ends closed. */
function cycles(count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const [tx, rx] = channel<number>();
    tx.sendSync(i);
    if (rx.recvSync() !== i) throw new Error("wrong message");
    tx.close();
    rx.close();
  }
  return (performance.now() - t0) * 1000 / count;
}

/** One oneshot cycle: made, its value sent and received (each end closes itself when done). */
function oneshotCycles(count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const [tx, rx] = oneshot<number>();
    tx.send(i);
    if (rx.recvSync() !== i) throw new Error("wrong value");
  }
  return (performance.now() - t0) * 1000 / count;
}

/** One send and one receive on a channel that exists. */
function roundTrips(count: number): number {
  const [tx, rx] = channel<number>();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    tx.sendSync(i);
    if (rx.recvSync() !== i) throw new Error("wrong message");
  }
  const us = (performance.now() - t0) * 1000 / count;
  tx.close();
  rx.close();
  return us;
}

/** Milliseconds `terminate()` takes to settle `n` receivers a worker adopted (median of 5). */
async function settle(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const pairs = Array.from({ length: n }, () => channel<number>());
    const worker = new Worker(new URL("./workers/adopt_all.ts", import.meta.url), {
      type: "module",
    });
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(pairs.map(([, rx]) => rx.transfer()));
    });
    const t0 = performance.now();
    worker.terminate();
    times.push(performance.now() - t0);
    for (const [tx] of pairs) {
      if (!tx.isDisconnected) throw new Error("a receiver was not settled");
      tx.close();
    }
  }
  return times;
}

async function child(args: string[], ulimitKiB?: number): Promise<Record<string, unknown>> {
  const deno = Deno.execPath();
  const run = [deno, "run", "-A", "--v8-flags=--expose-gc", SELF, ...args];
  const cmd = ulimitKiB === undefined
    ? new Deno.Command(deno, { args: run.slice(1), stdout: "piped", stderr: "piped" })
    : new Deno.Command("bash", {
      args: ["-c", `ulimit -v ${ulimitKiB} && exec "$@"`, "bash", ...run],
      stdout: "piped",
      stderr: "piped",
    });
  const out = await cmd.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    const why = stderr.find((l) => /error|Error|fatal|Fatal/.test(l)) ?? stderr.at(-1) ?? "";
    return { ok: false, code: out.code, signal: out.signal, error: why.slice(0, 160) };
  }
  return { ok: true, ...JSON.parse(stdout.split("\n").at(-1)!) };
}

async function main(): Promise<void> {
  const quick = Deno.args.includes("--quick");
  const count = quick ? 10_000 : 100_000;
  const rounds = quick ? 3 : 5;

  // Cycle vs round trip, alternated, medians.
  cycles(2_000);
  oneshotCycles(2_000);
  roundTrips(20_000);
  const cycle: number[] = [];
  const once: number[] = [];
  const trip: number[] = [];
  for (let r = 0; r < rounds; r++) {
    cycle.push(cycles(count));
    once.push(oneshotCycles(count));
    trip.push(roundTrips(count));
  }
  const c = median(cycle);
  const t = median(trip);
  console.log(
    `cycle (create + send 1 + recv 1 + close both), ${count} in a loop: ${c.toFixed(2)} µs ` +
      `(${(c * count / 1e6).toFixed(2)} s for all), runs ${cycle.map((v) => v.toFixed(2))}`,
  );
  console.log(
    `send+recv on an existing channel: ${t.toFixed(3)} µs, runs ${trip.map((v) => v.toFixed(3))}`,
  );
  console.log(`ratio: ${(c / t).toFixed(1)}× (target ≤ 20×)`);
  const o = median(once);
  console.log(
    `oneshot cycle (oneshot() + send + recvSync), ${count} in a loop: ${o.toFixed(2)} µs ` +
      `(${(o / t).toFixed(1)}× a send+recv), runs ${once.map((v) => v.toFixed(2))}`,
  );

  // Idle channels, each count in a fresh process.
  const n = quick ? 2_000 : 10_000;
  for (const used of [false, true]) {
    const r = await child(["idle", String(n), used ? "used" : "fresh"]);
    console.log(
      `${n} idle channels${used ? " (one message through each)" : ""}: ` +
        (r.ok
          ? `${(r.rssKiBPerChannel as number).toFixed(2)} KiB RSS, ` +
            `${(r.vmKiBPerChannel as number).toFixed(1)} KiB address space per channel ` +
            `(created in ${(r.createMs as number).toFixed(0)} ms)`
          : `failed: ${JSON.stringify(r)}`),
    );
  }

  // Settlement of the ends a terminated worker held.
  const settled = await settle(quick ? 300 : 3000);
  console.log(
    `${quick ? 300 : 3000} receivers settled by terminate(): ${median(settled).toFixed(1)} ms ` +
      `(runs ${settled.map((v) => v.toFixed(1))})`,
  );

  // Live channels under a 64 GiB address-space limit.
  const ulimit = 67108864;
  for (const isolated of [false, true]) {
    const r = await child(["live", "1000", ...(isolated ? ["isolated"] : [])], ulimit);
    console.log(
      `1000 live channels${isolated ? " { isolated: true }" : ""} under ulimit -v ${ulimit}: ` +
        (r.ok
          ? `ok (VmSize ${((r.vm as number) / 1024 / 1024).toFixed(2)} GiB, VmRSS ` +
            `${((r.rss as number) / 1024).toFixed(0)} MiB)`
          : `failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ""}): ${r.error}`),
    );
  }
  console.log(`Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${Deno.build.target}`);
}

const [mode, arg, flag] = Deno.args;
if (mode === "idle") idle(Number(arg), flag === "used");
else if (mode === "live") live(Number(arg), flag === "isolated");
else await main();
