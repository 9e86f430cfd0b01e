// A fuzz trial's configuration, derived from its seed alone: the channel, the producers and their
// message counts, the consumer's habits, and the corrupter's planned writes. The seed fixes all
// of this; thread timing does not repeat, so a rerun of a seed repeats the plan, and with the
// inline corrupter also the moments of the writes (in received messages), not the interleaving.
import { prng, type SizeProfile } from "./_messages.ts";
import { MAX_PRODUCERS, MAX_WRITES } from "./_shared.ts";
import type { Target } from "./_corrupt.ts";

/**
 * How the writes are made: none (a control trial: everything must arrive), `inline` (by the
 * consumer thread between two of its calls: no receive is running, so a record between HEAD and
 * TAIL is one not yet consumed), `concurrent` (by a corrupter worker, at moments that race with
 * every thread's calls).
 */
export type Mode = "none" | "inline" | "concurrent";

export interface PlannedWrite {
  /** Made once the consumer has taken this many messages (and every producer has adopted). */
  after: number;
  /** Further delay of a concurrent write, in ms. */
  delayMs: number;
  target: Target;
}

export interface Plan {
  seed: number;
  /** -1 unbounded, 0 rendezvous, else the bound. */
  bound: number;
  maxBytes?: number;
  counts: number[];
  profile: SizeProfile;
  /** Chance that the consumer pauses (2–15 ms) before a call: backlog, ring growth. */
  pauseChance: number;
  mode: Mode;
  writes: PlannedWrite[];
}

export function plan(seed: number): Plan {
  const r = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)];
  const kind = r();
  const bound = kind < 0.45 ? -1 : kind < 0.85 ? pick([1, 2, 3, 5, 8, 32]) : 0;
  const maxBytes = pick([undefined, undefined, 65536, 131072, 262144]);
  const producers = Math.min(MAX_PRODUCERS, pick([1, 2, 2, 3, 3]));
  const total = Math.floor((bound === 0 ? 100 : 300) + r() * (bound === 0 ? 300 : 1200));
  const counts = Array.from(
    { length: producers },
    () => Math.max(1, Math.floor((total / producers) * (0.5 + r()))),
  );
  const profile = pick(["small", "mixed", "mixed", "large"] as const);
  const pauseChance = pick([0, 0.002, 0.008]);
  const roll = r();
  const mode: Mode = roll < 0.1 ? "none" : roll < 0.55 ? "inline" : "concurrent";
  const n = mode === "none" ? 0 : pick([1, 1, 1, 2, 2, 3, 4]);
  const sum = counts.reduce((a, b) => a + b);
  const writes: PlannedWrite[] = [];
  for (let i = 0; i < Math.min(n, MAX_WRITES); i++) {
    writes.push({
      after: Math.floor(r() * r() * sum * 0.9),
      delayMs: r() < 0.5 ? 0 : r() * 3,
      target: pick(["control", "control", "ring", "ring", "record", "record", "record"] as const),
    });
  }
  writes.sort((a, b) => a.after - b.after);
  return { seed, bound, maxBytes, counts, profile, pauseChance, mode, writes };
}

/** e.g. `syncChannel(3) maxBytes 65536, 2 producers, mixed sizes`. */
export function describePlan(plan: Plan): string {
  const kind = plan.bound < 0 ? "channel()" : `syncChannel(${plan.bound})`;
  const producers = `${plan.counts.length} producer${plan.counts.length > 1 ? "s" : ""}`;
  return `${kind}${plan.maxBytes ? ` maxBytes ${plan.maxBytes}` : ""}, ${producers}, ` +
    `${plan.profile} sizes`;
}
