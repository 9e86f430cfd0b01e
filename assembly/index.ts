// The channel's queue: a multi-producer, single-consumer ring of variable-length records in a
// shared WebAssembly.Memory, with the channel's counters, flags and wait words beside it.
//
// Every thread that holds a channel end runs its own instance of this module over the same
// memory. Instances share nothing but that memory, so this code never allocates: only loads,
// stores and atomics at offsets derived from the control block address `ch` that the caller
// passes. Its globals are per-instance caches and out-parameters (see "This thread's view" in
// channel.ts), by design. All atomics are sequentially consistent (Wasm threads).
//
// This file is the core's ABI: everything exported here is the Wasm module's export list, in
// this order, and every exported constant becomes an exported global that build.ts copies into
// src/_core_generated.ts. The code is in
//   layout.ts    the memory layout: diagrams, offsets, limits, status codes, check words
//   channel.ts   this thread's view of a channel: config, validated rings, the corruption gate
//   ring.ts      the protocol; rings sealed, grown, retired and reused
//   producer.ts  admission, claims, commits
//   consumer.ts  peek, release, realign
//   ends.ts      senders, receiver, owners, dead claims
//   wait.ts      the wait words and rendezvous tokens
//   life.ts      a channel's life in its arena: created, entered and left by every call, destroyed
//   arena.ts     many channels in one memory: the arena's blocks
// Each name is exported here explicitly: the modules export more to each other than the ABI.

export {
  // Status codes
  OK, EMPTY, BUSY, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, INVALID, CLAIMED, CORRUPTED, MISMATCH,
  ARENA_FULL, GROW_FAILED, STALE, LOCKED, FIRST_OFFSET,
  // Control block
  MAGIC_VALUE, LAYOUT_VERSION, MAGIC, VERSION, BOUND, MAX_BYTES, STORAGE, FREE_RINGS, ID, CORRUPT,
  CONFIG_CHECK, LARGE_RING, ARENA, FIRST_RING, RINGS, PROD_RING, ADMITTED, RECEIVED_CACHE, SEALING,
  SEAL_GEN, PROD_CALLS, CONS_RING, RECEIVED, REALIGN, CONS_CHECK, CONS_CALLS, SENDERS, RECEIVER,
  CONS_HOLDER, CONS_LAST, HOLDER_DEAD, TOKEN_MASK, FIRST_TOKEN, NEXT_TOKEN, RECV_WAITING, DIED, DIED_SENDER, DIED_RECEIVER,
  DATA_SEQ, DATA_WAITERS, SELECTORS, SPACE_SEQ, SPACE_WAITERS, NEXT_OWNER, OWNER_MASK, CONTROL_SIZE,
  // Ring descriptor
  RING_CAPACITY, RING_NEXT, RING_FREE_NEXT, RING_CHECK, RING_PREV, RING_START, RING_OWNER, RING_GEN,
  RING_ALL, RING_TAIL, RING_HEAD, RING_DATA, RING_REALIGNS, REALIGNING,
  // Records
  HEADER, RECORD_SIZE, RECORD_META, RECORD_MESSAGE, RECORD_PADDING, RECORD_GAP, RECORD_DEAD,
  RECORD_ENDS, MAX_TRIM, ALIGN,
  // Ends table
  ENDS_COUNT, ENDS_ENTRIES, ENTRY_SIZE, ENTRY_STATE, ENTRY_CH, ENTRY_GEN, ENTRY_META,
  ENTRY_IN_FLIGHT, ENTRY_ADOPTED, ENTRY_DROPPED, END_SENDER, END_RECEIVER, MAX_ENDS, SCAN_DEPTH,
  // Limits
  UNBOUNDED, MIN_CAPACITY, MAX_INITIAL_CAPACITY, MAX_STORAGE, MAX_LENGTH, PEEK_ENDS, PAGE, SPIN_LIMIT,
  SEAL_SPINS,
} from "./layout";

export { create, corrupt, corrupted, condemn, usable, largestPayload } from "./life";
export { newToken, settleHolder, holderDead } from "./life";
export { validate } from "./channel";
export { reserve, commit, commitLength, commitEnds, commitBatch, cancel } from "./producer";
export {
  peek, peekDead, unpeek, poll, peekLength, release, releaseNext, peekEnds, takeEntry, takenEnd, takenEndGen,
} from "./consumer";
export { writeEntry } from "./ends";
export {
  addSender, dropSender, addReceiver, closeReceiver, newOwner, markDead, headDead, unblock,
} from "./ends";
export { channelBound, channelId, channelMaxBytes } from "./life";
export { senderCount, receiverOpen, markDied, diedEnds } from "./ends";
export { length } from "./producer";
export { storageBytes, ringCapacity } from "./ring";
export {
  waitDataBegin, waitDataEnd, waitSpaceBegin, waitSpaceEnd, wakeAll, recvWaitBegin, recvWaitEnd,
  selectBegin, selectEnd,
} from "./wait";
export {
  // Arena header and block header
  ARENA_BASE, ARENA_MAGIC_VALUE, ARENA_LAYOUT_VERSION, ARENA_MAGIC, ARENA_VERSION, ARENA_CAP,
  ARENA_CHECK, ARENA_CORRUPT, ARENA_ID, ARENA_ISOLATED, ARENA_PROBE, ARENA_SELECT, ARENA_BUMP, ARENA_HEADS, ARENA_HEADER_SIZE,
  ARENA_CLASSES, ARENA_CONTROL_CLASS, ARENA_GROW_PAGES, ARENA_MAX_END, BLOCK_HEADER, BLOCK_CHECK,
  BLOCK_CLASS, BLOCK_LIFE, BLOCK_OWNER, BLOCK_NEXT, BLOCK_IN_USE, CONTROL_OWNER,
  // Blocks
  arenaInit, arenaAlloc, arenaFree, arenaCheck, arenaHolds, arenaGeneration, arenaOwner, arenaClassOf,
  arenaClassBytes, arenaRingClass, arenaCorrupt, arenaCorrupted, arenaCarved, arenaFreeCount,
} from "./arena";
