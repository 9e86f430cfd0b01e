/**
 * Codecs: how values become bytes on a channel and back.
 *
 * A channel carries bytes through shared memory. Its codec turns each message into bytes on the
 * sending thread ({@linkcode Codec.encode}) and back into a value on the receiving thread
 * ({@linkcode Codec.decode}). Four codecs are built in:
 *
 * - {@linkcode structured} (the default): anything `structuredClone` accepts, with its exact
 *   semantics, several times faster.
 * - {@linkcode json}: JSON's semantics, for values that are JSON anyway.
 * - {@linkcode bytes}: `Uint8Array` messages, one copy each way.
 * - {@linkcode string}: strings, every code unit kept.
 *
 * Three built-in codecs write messages straight into the channel's ring: the sender reserves an
 * upper bound of the encoded size, the codec writes in place, and only what it wrote is
 * published: `structured` for strings, typed arrays and DataViews from 512 bytes to 16 MiB,
 * `string` for strings of that size, `json` for every text. Other values, and every value of
 * `bytes` and of a custom codec, are encoded first and copied into the ring once: an object's
 * getters may run while it is encoded, and no user code may run while space in the ring is held
 * (the receiver waits on it).
 *
 * ## Writing a codec
 *
 * A codec is an object with a `name`, an `encode` and a `decode`:
 *
 * - `name` identifies the codec. A handle records it so that the thread that adopts the handle
 *   can check it decodes with the same codec; the built-in names are taken.
 * - `encode(value)` returns a `Uint8Array`. It may be a view of a scratch buffer the codec reuses:
 *   the channel copies the bytes into shared memory before it calls `encode` again. Throw (a
 *   `TypeError`, or a `DOMException` named `"DataCloneError"`) for values the codec cannot carry;
 *   the message is then not sent.
 * - `decode(bytes)` receives a view of *shared* memory that is reused as soon as it returns: copy
 *   out everything the result keeps (`bytes.slice()` gives a fresh, non-shared copy), never
 *   return `bytes` or a view on its buffer. `TextDecoder` works on shared views but is slow on
 *   them; copy first.
 *
 * Both sides of a channel need the codec, so define it in a module that both the sending and the
 * receiving worker import, check it with {@linkcode validateCodec}, and register it with
 * {@linkcode registerCodec} at the top level of that module: an end that arrives in a worker
 * finds its codec by the name it carries.
 *
 * ```ts
 * import { type Codec, validateCodec } from "./mod.ts";
 *
 * // Points as two float64 values.
 * const point: Codec<{ x: number; y: number }> = validateCodec({
 *   name: "point",
 *   encode(p: { x: number; y: number }) {
 *     return new Uint8Array(new Float64Array([p.x, p.y]).buffer);
 *   },
 *   decode(bytes: Uint8Array) {
 *     const f = new Float64Array(bytes.slice().buffer); // copy out of shared memory
 *     return { x: f[0], y: f[1] };
 *   },
 * });
 * if (point.decode(point.encode({ x: 1, y: 2 })).y !== 2) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import type { Codec } from "./types.ts";
import { structured } from "./structured/mod.ts";
import { json } from "./json.ts";
import { bytes } from "./bytes.ts";
import { string } from "./string.ts";

export type { Codec } from "./types.ts";
export { structured } from "./structured/mod.ts";
export { json } from "./json.ts";
export { bytes } from "./bytes.ts";
export { string } from "./string.ts";

/**
 * The built-in codecs by name, so that a thread can restore a codec from the name a handle
 * carries.
 *
 * @returns A read-only map from `"structured"`, `"json"`, `"bytes"` and `"string"` to the codec.
 * @throws Never.
 * @example
 * ```ts
 * import { builtinCodecs, structured } from "./mod.ts";
 *
 * if (builtinCodecs.get("structured") !== structured) throw new Error("unexpected");
 * ```
 */
export const builtinCodecs: ReadonlyMap<string, Codec<unknown>> = new Map<string, Codec<unknown>>(
  [structured, json, bytes, string].map((c) => [c.name, c as Codec<unknown>]),
);

/**
 * Checks that `codec` has the shape of a {@linkcode Codec}: a non-empty string `name` and
 * `encode` and `decode` functions.
 *
 * @typeParam T The type of value the codec carries.
 * @param codec The candidate codec.
 * @returns `codec` itself, typed as a codec.
 * @throws {TypeError} `"Invalid codec: missing name"` (or `encode`, `decode`) when a member is
 * missing or of the wrong type, and `"Invalid codec: not an object"` for non-objects.
 * @example
 * ```ts
 * import { validateCodec } from "./mod.ts";
 *
 * try {
 *   validateCodec({ name: "broken", encode: () => new Uint8Array() });
 * } catch (e) {
 *   if (!(e instanceof TypeError) || e.message !== "Invalid codec: missing decode") throw e;
 * }
 * ```
 */
export function validateCodec<T = unknown>(codec: unknown): Codec<T> {
  if (codec === null || (typeof codec !== "object" && typeof codec !== "function")) {
    throw new TypeError("Invalid codec: not an object");
  }
  const c = codec as Partial<Codec<T>>;
  if (typeof c.name !== "string" || c.name === "") {
    throw new TypeError("Invalid codec: missing name");
  }
  if (typeof c.encode !== "function") throw new TypeError("Invalid codec: missing encode");
  if (typeof c.decode !== "function") throw new TypeError("Invalid codec: missing decode");
  return codec as Codec<T>;
}

/** Every codec this thread knows by name: the built-in ones and the registered ones. */
const registry = new Map<string, Codec<unknown>>(builtinCodecs);

/**
 * Registers a custom codec in this thread under its name, so that channel ends that use it can
 * arrive here (in `spawn` data, or adopted with `Sender.from`/`Receiver.from` without the
 * `codec` option) and so that `channel({ codec: name })` finds it. Call it at the top level of
 * the module that defines the codec, and import that module in every worker that uses it:
 * registration is per thread. Registering the same codec again does nothing.
 *
 * @typeParam T The type of value the codec carries.
 * @param codec The codec (checked with {@linkcode validateCodec}).
 * @returns `codec` itself.
 * @throws {TypeError} The codec is invalid, or its name is taken by a built-in codec or by
 * another codec registered here.
 * @example
 * ```ts
 * import { channel, type Codec, registerCodec } from "@wasmring/mpsc";
 *
 * const upper: Codec<string> = registerCodec({
 *   name: "upper",
 *   encode: (s: string) => new TextEncoder().encode(s.toUpperCase()),
 *   decode: (bytes: Uint8Array) => new TextDecoder().decode(bytes.slice()),
 * });
 * using tx = channel<string>({ codec: "upper" })[0];
 * if (tx.isDisconnected) throw new Error("unexpected");
 * if (registerCodec(upper) !== upper) throw new Error("unexpected");
 * ```
 */
export function registerCodec<T>(codec: Codec<T>): Codec<T> {
  const c = validateCodec<T>(codec);
  const known = registry.get(c.name);
  if (known === c) return c;
  if (known !== undefined) {
    throw new TypeError(
      `Cannot register codec "${c.name}": ${
        builtinCodecs.has(c.name) ? "a built-in codec has that name" : "another codec has that name"
      }`,
    );
  }
  registry.set(c.name, c as Codec<unknown>);
  return c;
}

/**
 * The codec `codec` names (built-in or registered in this thread), or `codec` itself checked.
 * @throws {TypeError} for an unknown name or an invalid codec; `action` begins the message.
 */
export function resolveCodec<T>(codec: Codec<T> | string, action: string): Codec<T> {
  if (typeof codec !== "string") return validateCodec<T>(codec);
  const found = registry.get(codec);
  if (found === undefined) {
    throw new TypeError(
      `${action}: no codec named "${codec}" in this thread; register it with registerCodec()`,
    );
  }
  return found as Codec<T>;
}

/** The codec registered (or built in) under `name` in this thread, if any. */
export function codecNamed(name: string): Codec<unknown> | undefined {
  return registry.get(name);
}
