/**
 * Moving the channel ends found in a value to another thread, as `spawn` moves its data and a
 * spawned worker its result: each end becomes a handle marked `moved`, which the receiving
 * thread adopts in place. Internal.
 *
 * @module
 */
import { foreignVersion, moverOf } from "./_brand.ts";
import { VERSION } from "./_version.ts";
import type { Lifelined } from "./_lifeline.ts";
import { abandon } from "./_settlement.ts";
import { droppedProblem, find, substitute } from "./_walk.ts";
import { disarm, DOWN, type EndHandle, UP, type Way } from "./handle.ts";

export { DOWN, UP, type Way };
import { Receiver } from "./receiver.ts";
import { Sender } from "./sender.ts";
import { OneshotReceiver, OneshotSender } from "./oneshot.ts";

/** `data` ready to post, and what to do once it was posted (`commit`) or could not be (`abort`). */
export interface Prepared {
  data: unknown;
  /** The handles the ends were moved into. */
  handles: Lifelined[];
  commit(): void;
  abort(): void;
}

/**
 * `data` with every end in it replaced by a handle marked `moved` (the receiving thread adopts
 * those: see `adoptMoved`), and
 * a function that marks the ends moved, to call once the data is posted: if posting throws,
 * `abort` forgets the handles and nothing has moved.
 * @throws {TypeError} an end cannot move, or an end or a handle is where `structuredClone`
 * drops it (see _walk.ts): it would never arrive.
 */
export function prepareEnds(data: unknown, action: string, way: Way): Prepared {
  const found = find(data);
  if (found !== null && found.dropped.length > 0) {
    throw new TypeError(`${action}: ${droppedProblem(found.dropped[0])}`);
  }
  if (found === null || found.ends.length === 0) {
    return { data, handles: [], commit: () => {}, abort: () => {} };
  }
  const movers = found.ends.map((end) => {
    const mover = moverOf(end);
    if (mover !== null) return mover;
    throw new TypeError(
      `${action}: a channel end in it comes from another copy of @wasmring/mpsc ` +
        `(${foreignVersion(end)}; this one is ${VERSION}): use one copy in every module`,
    );
  });
  for (const mover of movers) {
    const why = mover.blocker();
    if (why !== null) throw new TypeError(`${action}: ${why}`);
  }
  const handles = new Map<object, unknown>();
  found.ends.forEach((end, i) => {
    const handle = movers[i].prepare() as { moved?: Way };
    handle.moved = way;
    handles.set(end, handle);
  });
  return {
    data: substitute(data, handles),
    handles: [...handles.values()] as Lifelined[],
    commit: () => {
      // Every end is marked moved, even if one of them was settled by a terminator meanwhile.
      let failure: unknown = null;
      found.ends.forEach((end, i) => {
        try {
          movers[i].commit(handles.get(end) as object);
        } catch (error) {
          failure ??= error;
        }
      });
      if (failure !== null) throw failure;
    },
    // The ends stay here: their handles must not close them when collected.
    abort: () => handles.forEach((handle) => disarm(handle as object)),
  };
}

/** `data` (as received) with every moved end in it adopted in this thread. */
export function adoptMoved(data: unknown): unknown {
  const moved = movedIn(data);
  if (moved.length === 0) return data;
  const adopted = new Map<object, unknown>();
  for (const handle of moved) {
    const oneshot = (handle as { oneshot?: unknown }).oneshot === true;
    const h = handle as never;
    adopted.set(
      handle,
      handle.kind === "sender"
        ? (oneshot ? OneshotSender.from(h) : Sender.from(h))
        : (oneshot ? OneshotReceiver.from(h) : Receiver.from(h)),
    );
  }
  return substitute(data, adopted);
}

/** Closes the ends moved in `data` that nobody adopted (their peers hear a death). */
export function abandonMoved(data: unknown): void {
  for (const handle of movedIn(data)) {
    if (handle.claim instanceof Int32Array) abandon(handle as Lifelined, true);
  }
}

/** The handles of moved ends in `data` (a handle put there by hand is not one). */
function movedIn(data: unknown): (EndHandle & { kind: string })[] {
  const moved: (EndHandle & { kind: string })[] = [];
  for (const value of find(data)?.handles ?? []) {
    const handle = value as EndHandle & { kind: string; moved?: unknown };
    if (handle.moved === DOWN || handle.moved === UP) moved.push(handle);
  }
  return moved;
}
