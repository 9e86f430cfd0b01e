/**
 * Claims and lifelines by the table, for the ends a thread that `spawn` started holds because it
 * made them (`channel()`, `oneshot()`) or received them in a message. Internal.
 *
 * Each such end is held under a lifeline the threads above settle if this thread ends (see
 * _settlement.ts). A lifeline (and its claim) of its own, reported by a `postMessage` to every
 * thread above, cost tens of microseconds per end: more than a whole request/reply with a fresh
 * reply end. So they are slots of a shared table instead — TABLE_SLOTS claims and lifelines in
 * one `SharedArrayBuffer` per memory — reported once per table, and a slot whose end is gone is
 * used again. Each slot is a claim (CLAIM_WORDS) then a lifeline (LIFELINE_WORDS); the lifeline's
 * ID word says which kind of end it holds (SLOT_SENDER, SLOT_RECEIVER).
 *
 * A slot is written only inside an uncuttable step of this thread (see `uncut`): taken, with
 * HELD stored last; given back when HELD drops to 0. The threads above read it only after
 * cutting this thread and waiting until it is out of every such step, so they never see one
 * half written; a slot settled by them (HELD = SETTLED) is never used again.
 *
 * @module
 */
import {
  ADOPTED,
  CHANNEL,
  CHANNEL_GEN,
  CLAIM_AT,
  CLAIM_WORDS,
  CUT,
  HELD,
  ID,
  LIFELINE_WORDS,
  type Lifelined,
  OWNER,
  SETTLED,
} from "./_lifeline.ts";
import { reportTable } from "./_thread.ts";

/** Slots per table. */
const TABLE_SLOTS = 256;
const SLOT_WORDS = CLAIM_WORDS + LIFELINE_WORDS;
/** The ID word of a slot's lifeline: the kind of end it holds. */
const SLOT_SENDER = 1;
const SLOT_RECEIVER = 2;

/** A table of slots, as reported to the threads above. */
export interface SlotTable {
  readonly table: Int32Array;
  readonly memory: WebAssembly.Memory;
}

/** A slot: a handle whose kind is whatever its ID word says now. */
class Slot implements Lifelined {
  readonly claim: Int32Array;
  readonly lifeline: Int32Array;
  readonly memory: WebAssembly.Memory;
  constructor(table: Int32Array, i: number, memory: WebAssembly.Memory) {
    this.claim = table.subarray(i * SLOT_WORDS, i * SLOT_WORDS + CLAIM_WORDS);
    this.lifeline = table.subarray(i * SLOT_WORDS + CLAIM_WORDS, (i + 1) * SLOT_WORDS);
    this.memory = memory;
  }
  get kind(): "sender" | "receiver" {
    return this.lifeline[ID] === SLOT_SENDER ? "sender" : "receiver";
  }
}

/** The slots of `table`, as handles to settle (by this thread, or by the threads above). */
export function slotsOf({ table, memory }: SlotTable): Lifelined[] {
  const slots: Lifelined[] = [];
  for (let i = 0; i < table.length / SLOT_WORDS; i++) slots.push(new Slot(table, i, memory));
  return slots;
}

/** Whether a slot was settled (by a thread that ended this one): it is never used again. */
export function isSettled(slot: Lifelined): boolean {
  return Atomics.load(slot.lifeline, HELD) === SETTLED;
}

/** This thread's free slots, by memory. */
const free = new Map<WebAssembly.Memory, Slot[]>();
/** Every slot of this thread's tables (settled with it: see `slotsHere`). */
const all: Slot[] = [];
/** The slot of a lifeline handed out (see `released`). */
const slotOf = new WeakMap<Int32Array, Slot>();

/**
 * A slot for an end of `kind` of the channel at `offset` (of `generation`) in `memory`, whose
 * senders' claims carry `owner`: counted as held (HELD 1). Call inside an uncuttable step.
 * @returns its lifeline (the end's `Held.lifeline`; its claim is beside it).
 */
export function takeSlot(
  kind: "sender" | "receiver",
  memory: WebAssembly.Memory,
  offset: number,
  generation: number,
  owner: number,
): Int32Array {
  let list = free.get(memory);
  if (list === undefined) free.set(memory, list = []);
  if (list.length === 0) newTable(memory, list);
  const slot = list.pop()!;
  const { claim, lifeline } = slot;
  claim[OWNER] = owner;
  claim[CHANNEL] = offset;
  claim[CHANNEL_GEN] = generation;
  Atomics.store(claim, ADOPTED, 1);
  lifeline[CUT] = 0;
  lifeline[ID] = kind === "sender" ? SLOT_SENDER : SLOT_RECEIVER;
  lifeline[CLAIM_AT] = 0;
  Atomics.store(lifeline, HELD, 1);
  return lifeline;
}

/** A new table for `memory`, reported to the threads above; its slots go to `list`. */
function newTable(memory: WebAssembly.Memory, list: Slot[]): void {
  const table = new Int32Array(new SharedArrayBuffer(TABLE_SLOTS * SLOT_WORDS * 4));
  reportTable({ table, memory });
  for (let i = TABLE_SLOTS - 1; i >= 0; i--) {
    const slot = new Slot(table, i, memory);
    slotOf.set(slot.lifeline, slot);
    all.push(slot);
    list.push(slot);
  }
}

/**
 * After the count under `lifeline` dropped: a slot whose ends are all gone (HELD 0) is free for
 * the next end. (A lifeline that is not a slot's is left alone.)
 */
export function released(lifeline: Int32Array): void {
  const slot = slotOf.get(lifeline);
  if (slot === undefined || Atomics.load(lifeline, HELD) !== 0) return;
  free.get(slot.memory)!.push(slot);
}

/** Every slot of this thread's tables (for settling them as it ends: see `settleSlots`). */
export function slotsHere(): Lifelined[] {
  return all;
}

/**
 * For a thread that has ended (cut and out of every uncuttable step, or ending itself): marks
 * its slots that never held an end SETTLED, so that every thread above can forget them, and
 * returns those that may hold ends, to settle (see `cutAll`).
 */
export function settleSlots(slots: Lifelined[]): Lifelined[] {
  const held: Lifelined[] = [];
  for (const slot of slots) {
    if (Atomics.load(slot.claim, ADOPTED) === 0) {
      Atomics.compareExchange(slot.lifeline, HELD, 0, SETTLED);
    } else if (Atomics.load(slot.lifeline, HELD) !== SETTLED) held.push(slot);
  }
  return held;
}
