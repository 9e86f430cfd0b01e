// What the fuzz driver's threads share: the watch words the watchdog reads (the trial under way
// and, per thread, the deadline of the call it is in), the corrupter's write log, a trial's
// control words, and the classification of what a call threw.
import { ChannelCorruptedError, RecvError, SendError } from "../../mod.ts";

// ── Watch words (one Int32Array for the driver's lifetime).
/** Index of the trial under way. */
export const W_TRIAL = 0;
/** Its seed (uint32 bits). */
export const W_SEED = 1;
/** When the whole trial must be over (ms since `base`; 0: no trial). */
export const W_TRIAL_DEADLINE = 2;
/** Set to end the watchdog. */
export const W_QUIT = 3;
/**
 * The longest the watchdog's 20 ms sleeps overslept during the trial (ms; the driver resets it):
 * how overloaded the machine was. A call late by no more than LATE_MS + this is put down to the
 * load, not to the library.
 */
export const W_LAG = 4;
/** Per-thread call slots: thread 0 is the consumer, 1 + p producer p. */
export const W_SLOTS = 8;
export const SLOT_WORDS = 4;
export const MAX_PRODUCERS = 3;
const S_DEADLINE = 0;
const S_CALL = 1;
const S_TIMEOUT = 2;
const S_STARTED = 3;
/** The write log: a count, then LOG_ENTRY words per write (see _corrupt.ts). */
export const W_LOG = 32;
export const LOG_ENTRY = 8;
export const MAX_WRITES = 8;
export const WATCH_WORDS = W_LOG + 1 + LOG_ENTRY * MAX_WRITES;

// ── A trial's control words (one Int32Array per trial).
/** Messages the consumer took (corrupter triggers count them). */
export const C_RECEIVED = 0;
/** Set when the consumer has finished: producers stop. */
export const C_STOP = 1;
/** Producers that closed their sender. */
export const C_DONE = 2;
/** Producers that adopted their sender. */
export const C_ADOPTED = 3;
/** Set by the first thread that caught a ChannelCorruptedError. */
export const C_CORRUPT_SEEN = 4;
export const CTL_WORDS = 8;

/** A call slower than its timeout by more than this is reported as late. */
export const LATE_MS = 100;

/** Names of the calls, as recorded in a slot. */
export const CALLS = [
  "none",
  "recvSync",
  "tryRecv",
  "recv",
  "sendSync",
  "trySend",
  "send",
  "Sender.from",
  "close",
  "len",
  "trial",
] as const;
export type Call = typeof CALLS[number];

/** A call that returned more than LATE_MS after its timeout. */
export interface Late {
  call: Call;
  timeout: number;
  ms: number;
}

/**
 * One thread's slot: it announces each call (with its deadline: timeout + `hangMs`) before
 * making it, so that the watchdog can name a call that never returns.
 */
export class Slot {
  readonly late: Late[] = [];
  #watch: Int32Array;
  #at: number;
  #base: number;
  #hangMs: number;
  #started = 0;
  #call: Call = "none";
  #timeout = 0;

  constructor(watch: Int32Array, thread: number, base: number, hangMs: number) {
    this.#watch = watch;
    this.#at = W_SLOTS + thread * SLOT_WORDS;
    this.#base = base;
    this.#hangMs = hangMs;
  }

  begin(call: Call, timeout: number): void {
    const now = Date.now() - this.#base;
    this.#call = call;
    this.#timeout = timeout;
    Atomics.store(this.#watch, this.#at + S_CALL, CALLS.indexOf(call));
    Atomics.store(this.#watch, this.#at + S_TIMEOUT, timeout);
    Atomics.store(this.#watch, this.#at + S_STARTED, now);
    Atomics.store(this.#watch, this.#at + S_DEADLINE, now + timeout + this.#hangMs);
    this.#started = performance.now();
  }

  end(): void {
    const ms = performance.now() - this.#started;
    Atomics.store(this.#watch, this.#at + S_DEADLINE, 0);
    if (ms > this.#timeout + LATE_MS && this.late.length < 8) {
      this.late.push({ call: this.#call, timeout: this.#timeout, ms: Math.round(ms) });
    }
  }
}

/** A call the watchdog found overdue. */
export interface Overdue {
  thread: string;
  call: Call;
  timeout: number;
  runningMs: number;
  /** When the call started (ms since `base`): the same call, if still overdue later. */
  started: number;
}

/** @returns the first overdue call, if any (for the watchdog). */
export function overdue(watch: Int32Array, now: number): Overdue | undefined {
  for (let thread = 0; thread <= MAX_PRODUCERS; thread++) {
    const at = W_SLOTS + thread * SLOT_WORDS;
    const deadline = Atomics.load(watch, at + S_DEADLINE);
    if (deadline !== 0 && now > deadline) {
      return {
        thread: thread === 0 ? "consumer" : `producer ${thread - 1}`,
        call: CALLS[Atomics.load(watch, at + S_CALL)] ?? "none",
        timeout: Atomics.load(watch, at + S_TIMEOUT),
        runningMs: now - Atomics.load(watch, at + S_STARTED),
        started: Atomics.load(watch, at + S_STARTED),
      };
    }
  }
  return undefined;
}

/** How a call ended, when it threw. */
export type Thrown =
  | "corrupted" // ChannelCorruptedError
  | "timeout" // DOMException TimeoutError (a timeout option, or AbortSignal.timeout)
  | "disconnected" // RecvError / SendError
  | "refused" // the library's RangeError for a message that does not fit maxBytes now
  | "trap" // WebAssembly.RuntimeError: the core trapped
  | "range" // any other RangeError (e.g. a typed array out of bounds)
  | "other";

export function classify(error: unknown): Thrown {
  if (error instanceof ChannelCorruptedError) return "corrupted";
  if (error instanceof DOMException && error.name === "TimeoutError") return "timeout";
  if (error instanceof RecvError || error instanceof SendError) return "disconnected";
  if (error instanceof RangeError && error.message.startsWith("Cannot send a message of")) {
    return "refused";
  }
  if (error instanceof WebAssembly.RuntimeError) return "trap";
  if (error instanceof RangeError) return "range";
  return "other";
}

/** A short description of an error for the report. */
export function describe(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) {
    return `${error.name}: ${error.message}`.slice(0, 200);
  }
  return String(error).slice(0, 200);
}

const nobody = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the thread (blocking) for `ms`. */
export function pause(ms: number): void {
  Atomics.wait(nobody, 0, 0, ms);
}
