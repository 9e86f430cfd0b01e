// The workload of examples/demo.ts, shared by the main thread and its workers: the records,
// how a producer makes them, what the transform stage does to them, and the aggregate the main
// thread computes. Everything is integer arithmetic, so the aggregate does not depend on the
// order in which records arrive.

/** A record as a producer makes it. */
export interface RawRecord {
  id: number;
  user: string;
  /** In cents. */
  amount: number;
  tags: string[];
}

/** A record after the transform stage. */
export interface Enriched {
  id: number;
  user: string;
  /** `amount` plus tax, in cents. */
  cents: number;
  flagged: boolean;
}

const USERS = Array.from({ length: 1000 }, (_, i) => `user${String(i).padStart(4, "0")}`);
const TAG_SETS = [
  ["web"],
  ["mobile"],
  ["web", "promo"],
  ["mobile", "promo"],
  ["web", "refund"],
  ["api", "bulk", "promo"],
  ["api"],
  ["mobile", "refund", "promo"],
];
const TAX_PERMILLE = 200;

/** Makes record `id`: the same record in every run and every thread (a hash of `id`). */
export function makeRecord(id: number): RawRecord {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return {
    id,
    user: USERS[h % USERS.length],
    amount: h % 100_000,
    tags: TAG_SETS[(h >>> 20) % TAG_SETS.length],
  };
}

/** The transform stage: adds tax, flags refunds. */
export function enrich(record: RawRecord): Enriched {
  return {
    id: record.id,
    user: record.user,
    cents: record.amount + Math.round((record.amount * TAX_PERMILLE) / 1000),
    flagged: record.tags.includes("refund"),
  };
}

/** The main thread's aggregate of the enriched records. */
export class Aggregate {
  records = 0;
  cents = 0;
  flagged = 0;
  /** Sum of the ids: with `records`, shows that each record arrived exactly once. */
  idSum = 0;
  byUser = new Map<string, number>();

  add(e: Enriched): void {
    this.records++;
    this.cents += e.cents;
    if (e.flagged) this.flagged++;
    this.idSum += e.id;
    this.byUser.set(e.user, (this.byUser.get(e.user) ?? 0) + e.cents);
  }

  /** The user with the largest total (the first by name on a tie). */
  top(): [string, number] {
    let best: [string, number] = ["", -1];
    for (const [user, cents] of this.byUser) {
      if (cents > best[1] || (cents === best[1] && user < best[0])) best = [user, cents];
    }
    return best;
  }

  /** A one-line summary; two aggregates are equal when their summaries are. */
  summary(): string {
    const [user, cents] = this.top();
    const perUser = [...this.byUser].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c);
    const count = (n: number) => n.toLocaleString("en-US");
    return `${count(this.records)} records, total ${money(this.cents)}, ` +
      `${count(this.flagged)} refunds, id sum ${count(this.idSum)}, ` +
      `${count(this.byUser.size)} users (top ${user}: ${money(cents)}), ` +
      `per-user checksum ${checksum(perUser)}`;
  }
}

function money(cents: number): string {
  return (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2 });
}

function checksum(values: number[]): string {
  let h = 0;
  for (const v of values) h = (Math.imul(h, 31) + (v % 0x7fffffff)) | 0;
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * How records travel in a run: on channels one record per call (`channel`) or a batch per call
 * (`channelBatched`), over postMessage one record per message (`post`) or a batch per message
 * (`batched`).
 */
export type Transport = "channel" | "channelBatched" | "post" | "batched";

/** Records per call in the batched channel run, and per message in the batched postMessage run. */
export const BATCH = 1000;
