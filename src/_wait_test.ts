// The wait drivers on their own, over a fake park: the order register → look again → sleep, the
// spin policy, deadlines, and the async queue's call order, aborts and errors.
import assert from "node:assert/strict";
import {
  block,
  deadlineOf,
  DONE,
  type Park,
  PENDING,
  type Progress,
  RETRY,
  SPIN,
  WAIT,
  type Waiter,
  WaitQueue,
} from "./_wait.ts";

/** A park that records what is done to it; `sleep` runs `onSleep` (a "producer" acting). */
class FakePark implements Park {
  log: string[] = [];
  waiters = 0;
  seq = 0;
  onSleep: () => void = () => {};
  begin(): number {
    this.waiters++;
    this.log.push("begin");
    return this.seq;
  }
  end(): void {
    this.waiters--;
    this.log.push("end");
  }
  sleep(_seq: number, _deadline: number): void {
    this.log.push("sleep");
    this.onSleep();
  }
  async sleepAsync(_seq: number, _ms: number): Promise<boolean> {
    this.log.push("sleepAsync");
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.onSleep();
    return true;
  }
  wake(): void {
    this.seq++;
    this.log.push("wake");
  }
}

Deno.test("block: a ready attempt returns at once, without registering", () => {
  const park = new FakePark();
  assert.equal(block(park, Infinity, "Testing", () => 7, undefined), 7);
  assert.deepEqual(park.log, []);
});

Deno.test("block: spins SPIN.sync attempts, then registers and looks again before sleeping", () => {
  const park = new FakePark();
  let attempts = 0;
  let ready = false;
  park.onSleep = () => (ready = true);
  const result = block(park, Infinity, "Testing", () => {
    attempts++;
    return ready ? "done" : PENDING;
  }, undefined);
  assert.equal(result, "done");
  // 1 + SPIN.sync spins + 1 look once registered, then (after the sleep) 1 more.
  assert.equal(attempts, SPIN.sync + 3);
  assert.deepEqual(park.log, ["begin", "sleep", "end"]);
  assert.equal(park.waiters, 0);
});

Deno.test("block: once woken without progress, it parks again without spinning", () => {
  const park = new FakePark();
  let attempts = 0;
  let sleeps = 0;
  park.onSleep = () => sleeps++;
  const result = block(park, Infinity, "Testing", () => {
    attempts++;
    return sleeps === 3 ? "done" : PENDING;
  }, undefined);
  assert.equal(result, "done");
  // The first round: 1 + SPIN.sync + 1; each of the next two rounds: 1 + 1; then 1.
  assert.equal(attempts, SPIN.sync + 2 + 2 * 2 + 1);
  assert.deepEqual(park.log, [
    "begin",
    "sleep",
    "end",
    "begin",
    "sleep",
    "end",
    "begin",
    "sleep",
    "end",
  ]);
});

Deno.test("block: a poll spins instead of attempts, and a true poll attempts again", () => {
  const park = new FakePark();
  let attempts = 0;
  let polls = 0;
  const result = block(
    park,
    Infinity,
    "Testing",
    () => ++attempts === 2 ? "ok" : PENDING,
    0,
    () => {
      return ++polls === 5;
    },
  );
  assert.equal(result, "ok");
  assert.equal(polls, 5);
  assert.deepEqual(park.log, []);
});

Deno.test("block: timeout 0 looks twice, never spins, and throws TimeoutError", () => {
  const park = new FakePark();
  let attempts = 0;
  assert.throws(
    () => block(park, deadlineOf(0), "Testing", () => (attempts++, PENDING), undefined),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.equal(attempts, 2);
  assert.deepEqual(park.log, ["begin", "end"]);
});

Deno.test("block: what attempt throws propagates, and the waiter is unregistered", () => {
  const park = new FakePark();
  let attempts = 0;
  assert.throws(
    () =>
      block(park, Infinity, "Testing", () => {
        if (++attempts === SPIN.sync + 2) throw new RangeError("boom");
        return PENDING;
      }, undefined),
    RangeError,
  );
  assert.equal(park.waiters, 0);
});

Deno.test("deadlineOf: validates timeouts", () => {
  assert.equal(deadlineOf(undefined), Infinity);
  assert.equal(deadlineOf(0), -Infinity);
  for (const bad of [-1, NaN, "5" as unknown as number]) {
    assert.throws(() => deadlineOf(bad), RangeError);
  }
});

interface Job extends Waiter {
  id: number;
  resolve(id: number): void;
}

function queue(park: FakePark, attempt: (job: Job) => Progress, open = () => true) {
  let idle = 0;
  const q = new WaitQueue<Job>(park, { attempt, open, idle: () => idle++ });
  const add = (id: number, signal?: AbortSignal) =>
    new Promise<number>((resolve, reject) => q.add({ id, resolve, reject, signal }));
  return { q, add, idle: () => idle };
}

Deno.test("WaitQueue: serves waiters in call order, parking while they cannot complete", async () => {
  const park = new FakePark();
  let budget = 0; // how many jobs may complete
  park.onSleep = () => budget++;
  const served: number[] = [];
  const { q, add, idle } = queue(park, (job) => {
    if (budget === 0) return WAIT;
    budget--;
    served.push(job.id);
    job.resolve(job.id);
    return DONE;
  });
  const all = Promise.all([add(1), add(2), add(3)]);
  assert.equal(q.length, 3);
  assert.deepEqual(await all, [1, 2, 3]);
  assert.deepEqual(served, [1, 2, 3]);
  assert.equal(q.length, 0);
  assert.ok(park.log.includes("sleepAsync"));
  assert.equal(park.waiters, 0);
  assert.ok(idle() >= 1, "idle once the queue is empty");
});

Deno.test("WaitQueue: an aborted waiter leaves at once and wakes the park; the rest go on", async () => {
  const park = new FakePark();
  let open = false;
  const { add } = queue(park, (job) => {
    if (!open) return WAIT;
    job.resolve(job.id);
    return DONE;
  });
  const controller = new AbortController();
  const first = add(1, controller.signal);
  const second = add(2);
  controller.abort(new Error("stop"));
  await assert.rejects(first, /stop/);
  assert.ok(park.log.includes("wake"));
  open = true;
  park.onSleep = () => {};
  assert.equal(await second, 2);
});

Deno.test("WaitQueue: a throwing attempt rejects that waiter only; RETRY sleeps briefly", async () => {
  const park = new FakePark();
  let calls = 0;
  const { add } = queue(park, (job) => {
    calls++;
    if (job.id === 1) throw new TypeError("bad message");
    if (calls === 2) return RETRY;
    job.resolve(job.id);
    return DONE;
  });
  const first = add(1);
  const second = add(2);
  await assert.rejects(first, TypeError);
  assert.equal(await second, 2);
  assert.ok(park.log.includes("sleepAsync"));
});

Deno.test("WaitQueue: rejectAll empties it; a closed end's queue stops serving", async () => {
  const park = new FakePark();
  let open = true;
  const { q, add } = queue(park, () => WAIT, () => open);
  const a = add(1);
  const b = add(2);
  open = false;
  q.rejectAll(() => new Error("closed"));
  await assert.rejects(a, /closed/);
  await assert.rejects(b, /closed/);
  assert.equal(q.length, 0);
});

Deno.test("WaitQueue: an abort during the waiter's own attempt counts only if it did not complete", async () => {
  const park = new FakePark();
  const a = new AbortController();
  const b = new AbortController();
  const { add } = queue(park, (job) => {
    if (job.id === 1) {
      a.abort(new Error("late")); // completes all the same: the abort came too late
      job.resolve(job.id);
      return DONE;
    }
    if (job.id === 2) {
      b.abort(new Error("in time")); // does not complete: the abort wins
      return WAIT;
    }
    job.resolve(job.id);
    return DONE;
  });
  const first = add(1, a.signal);
  const second = add(2, b.signal);
  const third = add(3);
  assert.equal(await first, 1);
  await assert.rejects(second, /in time/);
  assert.equal(await third, 3);
});

Deno.test("block: a poll that keeps saying ready while attempts fail spins one budget, then parks", () => {
  // Another receiver at the head: the header is committed, the attempt finds the lock held.
  // (This spun for ever, past its deadline, before the budget was one per call.)
  const park = new FakePark();
  let attempts = 0;
  let polls = 0;
  park.onSleep = () => {
    throw new DOMException("stop", "TimeoutError");
  };
  assert.throws(
    () =>
      block(
        park,
        Infinity,
        "Receiving",
        () => {
          attempts++;
          return PENDING;
        },
        undefined,
        () => {
          polls++;
          return true;
        },
      ),
    { name: "TimeoutError" },
  );
  assert.ok(attempts + polls <= 2 * SPIN.sync + 2, `${attempts} attempts, ${polls} polls`);
  assert.deepEqual(park.log, ["begin", "sleep", "end"]);
});

Deno.test("WaitQueue: a poll that keeps saying ready earns one more attempt, then a park", async () => {
  const park = new FakePark();
  let attempts = 0;
  const queue = new WaitQueue<Waiter & { resolve(): void }>(park, {
    attempt: (waiter) => {
      if (++attempts === 50) {
        waiter.resolve();
        return DONE;
      }
      return WAIT;
    },
    poll: () => true,
    open: () => true,
  });
  await new Promise<void>((resolve, reject) => queue.add({ resolve, reject }));
  // Before: it attempted 50 times without yielding once to the event loop.
  assert.ok(park.log.filter((e) => e === "sleepAsync").length >= 10, park.log.join(" "));
});
