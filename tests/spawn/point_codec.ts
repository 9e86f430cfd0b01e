// A custom codec, registered at the top level of a module that both threads import.
import { type Codec, registerCodec } from "../../mod.ts";

export interface Point {
  x: number;
  y: number;
}

export const point: Codec<Point> = registerCodec({
  name: "test-point",
  encode: (p: Point) => new Uint8Array(new Float64Array([p.x, p.y]).buffer),
  decode: (bytes: Uint8Array) => {
    const f = new Float64Array(bytes.slice().buffer);
    return { x: f[0], y: f[1] };
  },
});
