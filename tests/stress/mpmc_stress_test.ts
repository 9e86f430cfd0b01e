// MPMC stress and faults (several receivers per channel, `Receiver.clone`): 8 producer workers
// and 4 consumer workers on one channel — unbounded, syncChannel(1), syncChannel(64) and
// rendezvous — each consumer receiving its own way (recvSync, recv, tryRecv, for await). Every
// message must be received exactly once (count, checksum and marks per producer), per-producer
// order must hold within each consumer, every consumer must end with RecvError, and, for a
// meaningful count, none may starve. Then faults: consumers terminated at random moments while
// producers flood; the survivors drain everything, and every message is accounted for — taken
// by a survivor, or logged by a victim as it took it (before anything else), or lost in the
// documented window: taken by a victim core-side but never logged, at most one per victim
// terminated (see "Several receivers" in assembly/consumer.ts). Such a loss is counted and
// printed, split by whether the victim's code saw the message (then only its log send was
// refused: a terminated worker may not send) or not (the receive threw AbortError after the
// core consumed the message, or Deno stopped the worker at an await before the value reached
// its code).
//
//   MPMC_STRESS_COUNT=100000 deno test -A --no-check --unstable-worker-options \
//     tests/stress/mpmc_stress_test.ts        # the issue's size (default 5,000 per producer)
//   MPMC_FAULT_TRIALS=500 MPMC_FAULT_SEED=7 … # more fault trials (default 20), another seed
//
// Other knobs: MPMC_STRESS_RENDEZVOUS_COUNT (default: MPMC_STRESS_COUNT), MPMC_FAULT_COUNT
// (messages per producer in a fault trial, default 1,000). The seed fixes each trial's plan
// (channel, victims, how each consumer receives, when each victim is terminated); where the
// workers are at that moment is up to the scheduler, so a failure names its trial and seed, and
// may need a few runs to reproduce.
//
// Deviations from the single-receiver stress (stress_test.ts): messages are [p, seq, check] or a
// 1 KiB Uint32Array (every 16th, written in place), not the mixed types, so that consumers in
// workers verify them without rebuilding each one; workers are `spawn`ed and start together
// behind a gate (a SharedArrayBuffer), so that a consumer that takes nothing starved.
import assert from "node:assert/strict";
import { channel, type JoinHandle, type Sender, spawn, syncChannel } from "../../mod.ts";
import { prng } from "./_messages.ts";
import { checkOf, GO, type Message, READY, type Took } from "./mpmc_worker.ts";

const WORKER = new URL("./mpmc_worker.ts", import.meta.url);
const PRODUCERS = 8;
/** One consumer per way of receiving. */
const HOWS = ["sync", "async", "try", "iter"];
const COUNT = Number(Deno.env.get("MPMC_STRESS_COUNT") ?? 5000);
/** Rendezvous hands over one message per meeting (as fast here, so the same by default). */
const RENDEZVOUS_COUNT = Number(Deno.env.get("MPMC_STRESS_RENDEZVOUS_COUNT") ?? COUNT);
/**
 * Per producer, the count from which "every consumer took some" is asserted: below it, a run
 * can end before a consumer that is parked gets a message — on a loaded 2-core machine, the
 * consumers that keep spinning can take all of 40,000 in the 230 ms of a CI run (seen: the sync
 * consumer took 0, the others 29,629, 3,149 and 7,222). That is not starvation as the library
 * promises to avoid it (a receiver kept waiting while the others are busy: the bounded-bypass
 * test in tests/mpmc_test.ts); at the full size (MPMC_STRESS_COUNT=100000) it is
 * asserted.
 */
const STARVATION_MIN = 50_000;
const FAULT_TRIALS = Number(Deno.env.get("MPMC_FAULT_TRIALS") ?? 20);
const FAULT_SEED = Number(Deno.env.get("MPMC_FAULT_SEED") ?? 0x3c3c);
/** Messages per producer in a fault trial. */
const FAULT_COUNT = Number(Deno.env.get("MPMC_FAULT_COUNT") ?? 1000);
const FAULT_PRODUCERS = 4;
const FAULT_CONSUMERS = 4;

type Bound = number | undefined;

function nameOf(bound: Bound): string {
  return bound === undefined ? "unbounded" : bound === 0 ? "rendezvous" : `syncChannel(${bound})`;
}

function open(bound: Bound) {
  return bound === undefined ? channel<Message>() : syncChannel<Message>(bound);
}

/**
 * A watchdog: `watch(promise)` rejects once `ms` have passed since the watchdog was made, naming
 * `what` and `state()` — so that a hang fails the test (which then terminates its workers)
 * instead of blocking CI. Should even that not end the run (a worker Deno cannot stop), the
 * process exits 10 s later.
 */
function watchdog(ms: number, what: string, state: () => string) {
  let fire!: (error: Error) => void;
  const fired = new Promise<never>((_, reject) => fire = reject);
  fired.catch(() => {});
  let hard: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    fire(new Error(`${what} hangs after ${ms} ms: ${state()}`));
    const exit = setTimeout(() => {
      console.error(`${what}: still hanging 10 s after its watchdog fired; exiting`);
      Deno.exit(1);
    }, 10_000);
    Deno.unrefTimer(exit);
    hard = exit;
  }, ms);
  return {
    watch: <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, fired]),
    clear: () => {
      clearTimeout(timer);
      clearTimeout(hard);
    },
  };
}

/** Resolves once `n` workers have reached the gate. */
async function allReady(gate: Int32Array, n: number): Promise<void> {
  while (Atomics.load(gate, READY) < n) await new Promise((r) => setTimeout(r, 2));
}

function go(gate: Int32Array): void {
  Atomics.store(gate, GO, 1);
  Atomics.notify(gate, GO);
}

/** Adds up what consumers took: per producer, counts, check sums, and marks per message. */
function total(took: Took[], producers: number, count: number) {
  const counts = new Array<number>(producers).fill(0);
  const sums = new Array<number>(producers).fill(0);
  const marks = Array.from({ length: producers }, () => new Uint8Array(count));
  for (const t of took) {
    for (let p = 0; p < producers; p++) {
      counts[p] += t.counts[p];
      sums[p] = (sums[p] + t.sums[p]) >>> 0;
      for (let seq = 0; seq < count; seq++) marks[p][seq] += t.marks[p][seq];
    }
  }
  return { counts, sums, marks };
}

/** The check-word sum of messages 0 … count - 1 of producer p, modulo 2^32. */
function expectedSum(p: number, count: number): number {
  let sum = 0;
  for (let seq = 0; seq < count; seq++) sum = (sum + checkOf(p, seq)) >>> 0;
  return sum;
}

/** 0 … n - 1 in a random order (Fisher–Yates). */
function shuffled(n: number, r: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Names the first messages whose marks are not 1 (missing or duplicated), for a failure. */
function badMarks(marks: Uint8Array[]): string {
  const bad: string[] = [];
  for (let p = 0; p < marks.length && bad.length < 10; p++) {
    for (let seq = 0; seq < marks[p].length && bad.length < 10; seq++) {
      if (marks[p][seq] !== 1) bad.push(`(${p}, ${seq}) x${marks[p][seq]}`);
    }
  }
  return bad.join(", ");
}

/** `n` producer workers, each with a clone of `tx`, sending `count` messages (odd ones async). */
function spawnProducers(
  tx: Sender<Message>,
  n: number,
  count: number,
  gate: Int32Array,
): JoinHandle<number>[] {
  return Array.from({ length: n }, (_, p) =>
    spawn<number>(WORKER, {
      mode: "produce",
      tx: tx.clone(),
      p,
      count,
      async: p % 2 === 1,
      gate: gate.buffer,
    }));
}

// ── Stress

async function stress(bound: Bound, count: number): Promise<void> {
  const name = nameOf(bound);
  const [tx, rx] = open(bound);
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const consumers = HOWS.map((how, id) =>
    spawn<Took>(WORKER, {
      mode: "consume",
      rx: rx.clone(),
      id,
      how,
      producers: PRODUCERS,
      count,
      gate: gate.buffer,
    })
  );
  const producers = spawnProducers(tx, PRODUCERS, count, gate);
  rx.close();
  tx.close();
  const all: JoinHandle<unknown>[] = [...consumers, ...producers];
  const dog = watchdog(
    60_000 + count * 2,
    `stress ${name}`,
    () => `${Atomics.load(gate, READY)} of ${all.length} workers started`,
  );
  try {
    await dog.watch(allReady(gate, all.length));
    const t0 = performance.now();
    go(gate);
    const [sent, took] = await dog.watch(Promise.all([
      Promise.all(producers.map((h) => h.join())),
      Promise.all(consumers.map((h) => h.join())),
    ]));
    const ms = performance.now() - t0;
    assert.deepEqual(sent, new Array(PRODUCERS).fill(count));
    const sum = total(took, PRODUCERS, count);
    const expected = Array.from({ length: PRODUCERS }, (_, p) => expectedSum(p, count));
    assert.deepEqual(sum.counts, new Array(PRODUCERS).fill(count), `${name}: counts per producer`);
    assert.deepEqual(sum.sums, expected, `${name}: check sums per producer`);
    const bad = badMarks(sum.marks);
    assert.equal(bad, "", `${name}: each message exactly once; not so: ${bad}`);
    assert.deepEqual(
      took.map((t) => t.end),
      HOWS.map(() => "RecvError"),
      "each ends with RecvError",
    );
    const per = took.map((t) => t.counts.reduce((a, b) => a + b, 0));
    console.log(
      `mpmc stress ${name}: ${PRODUCERS} x ${count} in ${ms.toFixed(0)} ms; taken per consumer ` +
        HOWS.map((how, i) => `${how} ${per[i]}`).join(", "),
    );
    if (count >= STARVATION_MIN) {
      for (let i = 0; i < per.length; i++) {
        assert.ok(per[i] > 0, `${name}: the ${HOWS[i]} consumer starved (took 0 of ${count * 8})`);
      }
    }
  } finally {
    dog.clear();
    for (const h of all) h.terminate();
  }
}

for (const bound of [undefined, 1, 64, 0]) {
  const count = bound === 0 ? RENDEZVOUS_COUNT : COUNT;
  Deno.test(
    `mpmc stress: ${PRODUCERS} producers x ${HOWS.length} consumers x ${count}, ${nameOf(bound)}`,
    () => stress(bound, count),
  );
}

// ── Faults

interface TrialResult {
  victims: number;
  terminated: number;
  /** Taken by a victim, never logged nor received by a survivor. */
  lost: number;
  /** Of those, the ones the victim's code saw (then its log send was refused: terminated). */
  lostAtLog: number;
  survived: number;
  logged: number;
}

/**
 * One fault trial: FAULT_PRODUCERS producers flood a channel, FAULT_CONSUMERS consumers take
 * from it, and one or two of them (the victims, logging each message they take) are terminated
 * at a random moment: once they have logged a random number of messages, or a few ms after the
 * start. Survivors drain everything; the accounting is exact up to one message per victim.
 */
async function faultTrial(trial: number, r: () => number): Promise<TrialResult> {
  const bound = [undefined, 1, 16, 0][trial % 4];
  const count = FAULT_COUNT;
  const label = `fault trial ${trial} (${nameOf(bound)}, seed ${FAULT_SEED})`;
  const [tx, rx] = open(bound);
  const [logTx, logRx] = channel<[number, number, number]>();
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const last = new Int32Array(new SharedArrayBuffer(8 * FAULT_CONSUMERS));
  const victimCount = r() < 0.5 ? 1 : 2;
  const order = shuffled(FAULT_CONSUMERS, r);
  const isVictim = (id: number) => order.indexOf(id) < victimCount;
  const hows = Array.from({ length: FAULT_CONSUMERS }, () => HOWS[Math.floor(r() * HOWS.length)]);
  const consumers = hows.map((how, id) =>
    spawn<Took>(WORKER, {
      mode: isVictim(id) ? "victim" : "consume",
      rx: rx.clone(),
      log: isVictim(id) ? logTx.clone() : undefined,
      last: isVictim(id) ? last.buffer : undefined,
      id,
      how,
      producers: FAULT_PRODUCERS,
      count,
      gate: gate.buffer,
    })
  );
  const producers = spawnProducers(tx, FAULT_PRODUCERS, count, gate);
  rx.close();
  tx.close();
  logTx.close();
  const all: JoinHandle<unknown>[] = [...consumers, ...producers];

  // When each victim is terminated: after its k-th logged message, or (k = 0) after a delay.
  const share = (FAULT_PRODUCERS * count) / FAULT_CONSUMERS;
  const plan = consumers.map((_, id) => {
    if (!isVictim(id)) return null;
    // Consumers' shares are uneven (a blocking one may take most): a moment early in its share.
    return r() < 0.25
      ? { after: 0, ms: Math.floor(r() * 8) }
      : { after: 1 + Math.floor(r() * share * 0.4), ms: 0 };
  });
  const stopped: Promise<void>[] = [];
  const stop = (id: number) => stopped.push(consumers[id].terminate());

  // The log: [id, p, seq] per message a victim took, in the order it took them.
  const logged = Array.from({ length: FAULT_PRODUCERS }, () => new Uint8Array(count));
  const loggedBy = new Array<number>(FAULT_CONSUMERS).fill(0);
  const lastLogged = hows.map(() => new Array<number>(FAULT_PRODUCERS).fill(-1));
  const reading = (async () => {
    for await (const [id, p, seq] of logRx) {
      assert.ok(seq > lastLogged[id][p], `${label}: victim ${id} logged (${p}, ${seq}) late`);
      lastLogged[id][p] = seq;
      logged[p][seq]++;
      if (++loggedBy[id] === plan[id]?.after) stop(id);
    }
  })();
  reading.catch(() => {});

  const dog = watchdog(
    20_000,
    label,
    () => `${Atomics.load(gate, READY)} of ${all.length} started; logged ${loggedBy}`,
  );
  try {
    await dog.watch(allReady(gate, all.length));
    go(gate);
    plan.forEach((p, id) => {
      if (p?.after === 0) setTimeout(() => stop(id), p.ms);
    });
    const outcomes = await dog.watch(Promise.allSettled(all.map((h) => h.join())));
    await dog.watch(reading);
    await dog.watch(Promise.all(stopped));
    const survivors: Took[] = [];
    let terminated = 0;
    outcomes.forEach((outcome, i) => {
      const who = i < FAULT_CONSUMERS
        ? `consumer ${i} (${hows[i]})`
        : `producer ${i - FAULT_CONSUMERS}`;
      if (i < FAULT_CONSUMERS && isVictim(i)) {
        // Terminated: AbortError. Finished first (the channel drained before its moment): its log
        // is complete.
        if (outcome.status === "rejected") {
          const error = outcome.reason as Error;
          assert.equal(error?.name, "AbortError", `${label}: ${who} ended with ${error?.stack}`);
          terminated++;
        }
        return;
      }
      if (outcome.status === "rejected") {
        assert.fail(
          `${label}: ${who} failed: ${(outcome.reason as Error)?.stack ?? outcome.reason}`,
        );
      }
      if (i < FAULT_CONSUMERS) {
        const took = outcome.value as Took;
        assert.equal(took.end, "RecvError", `${label}: ${who} ended with RecvError`);
        survivors.push(took);
      } else {
        assert.equal(outcome.value, count, `${label}: ${who} sent everything`);
      }
    });
    // Exactly once among the survivors, never both a survivor's and a victim's; the rest lost
    // in the window, at most one per victim terminated.
    const { marks } = total(survivors, FAULT_PRODUCERS, count);
    let lost = 0;
    let lostAtLog = 0;
    const lostList: string[] = [];
    for (let p = 0; p < FAULT_PRODUCERS; p++) {
      for (let seq = 0; seq < count; seq++) {
        const s = marks[p][seq];
        const v = logged[p][seq];
        assert.ok(s <= 1, `${label}: (${p}, ${seq}) received ${s} times by survivors`);
        assert.ok(v <= 1, `${label}: (${p}, ${seq}) logged ${v} times by victims`);
        assert.ok(s + v <= 1, `${label}: (${p}, ${seq}) taken by a survivor and by a victim`);
        if (s + v === 0) {
          lost++;
          let seen = false;
          for (let id = 0; id < FAULT_CONSUMERS; id++) {
            seen ||= isVictim(id) && last[2 * id] === p && last[2 * id + 1] === seq + 1;
          }
          if (seen) lostAtLog++;
          lostList.push(`(${p}, ${seq})${seen ? " seen by the victim's code" : ""}`);
        }
      }
    }
    assert.ok(
      lost <= terminated,
      `${label}: ${lost} messages lost (${lostList.slice(0, 10)}) for ${terminated} victims`,
    );
    const survived = survivors.reduce((n, t) => n + t.counts.reduce((a, b) => a + b, 0), 0);
    return {
      victims: victimCount,
      terminated,
      lost,
      lostAtLog,
      survived,
      logged: loggedBy.reduce((a, b) => a + b, 0),
    };
  } finally {
    dog.clear();
    for (const h of all) h.terminate();
    logRx.close();
  }
}

Deno.test({
  name: `mpmc faults: ${FAULT_TRIALS} trials of consumers terminated at random moments ` +
    `(seed ${FAULT_SEED})`,
  ignore: FAULT_TRIALS <= 0,
  async fn() {
    const r = prng(FAULT_SEED);
    const sum: TrialResult = {
      victims: 0,
      terminated: 0,
      lost: 0,
      lostAtLog: 0,
      survived: 0,
      logged: 0,
    };
    const t0 = performance.now();
    for (let trial = 0; trial < FAULT_TRIALS; trial++) {
      const result = await faultTrial(trial, r);
      for (const key of Object.keys(sum) as (keyof TrialResult)[]) sum[key] += result[key];
    }
    console.log(
      `mpmc faults: ${FAULT_TRIALS} trials in ${(performance.now() - t0).toFixed(0)} ms; ` +
        `${sum.terminated} of ${sum.victims} victims terminated mid-stream, ` +
        `${sum.survived} messages received by survivors, ${sum.logged} logged by victims, ` +
        `${sum.lost} lost in the window (at most one per victim terminated; ${sum.lostAtLog} ` +
        `of them reached the victim's code, whose log was refused), 0 hangs`,
    );
    assert.ok(sum.terminated > 0, "no victim was terminated mid-stream: the trials proved nothing");
  },
});
