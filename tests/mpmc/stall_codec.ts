// A codec whose decode of `-1` stalls the thread for `stall.ms` where `stall.here` is set: a
// receiver stopped between taking a message and handing it to user code. Registered at the top
// level of a module both threads import.
import { type Codec, registerCodec } from "../../mod.ts";

export const stall = { here: false, ms: 0 };

export const stalling: Codec<number> = registerCodec({
  name: "test-stalling",
  encode: (n: number) => new Uint8Array(new Float64Array([n]).buffer),
  decode: (bytes: Uint8Array) => {
    const n = new Float64Array(bytes.slice().buffer)[0];
    if (n === -1 && stall.here) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stall.ms);
    }
    return n;
  },
});
