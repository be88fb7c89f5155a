/**
 * Resampling: downscale2x (2x2 box average).
 */
import { Format, type Geometry } from "../frame/format";
import { forEachPlane } from "./buffers";
import { ALL_FORMATS, channels, checkInput, noArg, type OpDef } from "./types";

/**
 * out(x, y) = (in(2x, 2y) + in(2x+1, 2y) + in(2x, 2y+1) + in(2x+1, 2y+1) + 2) >> 2
 * per channel, with coordinates clamped to the frame. For an odd width/height the
 * last column/row therefore averages what exists with the same rounding:
 * two pixels a, b -> (2a + 2b + 2) >> 2 = (a + b + 1) >> 1; one pixel a -> a.
 * `C` bytes per pixel, plane at byte offsets so (source) and d0 (destination).
 */
function halve(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number, C: number): void {
  const ow = (w + 1) >> 1;
  const oh = (h + 1) >> 1;
  const row = w * C;
  const full = w >> 1;
  for (let oy = 0; oy < oh; oy++) {
    const r0 = so + 2 * oy * row;
    const r1 = 2 * oy + 1 < h ? r0 + row : r0;
    let d = d0 + oy * ow * C;
    if (C === 1) {
      for (let x = 0, i = 0; x < full; x++, i += 2, d++) dst[d] = (src[r0 + i]! + src[r0 + i + 1]! + src[r1 + i]! + src[r1 + i + 1]! + 2) >> 2;
    } else {
      for (let x = 0; x < full; x++) {
        const i = 2 * x * C;
        for (let c = 0; c < C; c++, d++) {
          dst[d] = (src[r0 + i + c]! + src[r0 + i + C + c]! + src[r1 + i + c]! + src[r1 + i + C + c]! + 2) >> 2;
        }
      }
    }
    if (w & 1) {
      const i = (w - 1) * C;
      for (let c = 0; c < C; c++, d++) dst[d] = (2 * (src[r0 + i + c]! + src[r1 + i + c]!) + 2) >> 2;
    }
  }
}

function halvePlane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  halve(src, dst, so, d0, w, h, 1);
}

export const downscale2xDef: OpDef = {
  name: "downscale2x",
  syntax: "downscale2x",
  formats: ALL_FORMATS,
  formula:
    "out is ceil(w/2) x ceil(h/2); out = (a + b + c + d + 2) >> 2 over the 2x2 block (round half up), " +
    "per channel incl. rgba32 alpha; yuv420p: each plane halved the same way",
  edges:
    "odd width/height: the last column/row averages what exists, same rounding: 2 pixels (a + b + 1) >> 1, 1 pixel copied " +
    "(= clamped coordinates)",
  create(arg) {
    noArg("downscale2x", arg);
    return {
      name: "downscale2x",
      out(g: Geometry): Geometry {
        checkInput("downscale2x", g, ALL_FORMATS);
        return { w: (g.w + 1) >> 1, h: (g.h + 1) >> 1, fmt: g.fmt };
      },
      apply(src, g, dst) {
        if (g.fmt === Format.yuv420p) {
          return forEachPlane(src, dst, g.w, g.h, (g.w + 1) >> 1, (g.h + 1) >> 1, halvePlane);
        }
        halve(src, dst, 0, 0, g.w, g.h, channels(g.fmt));
      },
    };
  },
};
