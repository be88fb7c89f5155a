/**
 * Resampling: downscale2x (2x2 box average) and scale:WxH[:method].
 */
import { InvalidInput } from "../errors";
import { Format, MAX_DIMENSION, type Geometry } from "../frame/format";
import { chromaDim, forEachPlane } from "./buffers";
import type { Op } from "./contract";
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

// ---------------------------------------------------------------- scale:WxH[:method]

export type ScaleMethod = "nearest" | "bilinear" | "area";

/** scale's parsed parameters: target size (-1 = keep aspect from the other side) and method. */
export interface ScaleParams {
  readonly w: number;
  readonly h: number;
  readonly method: ScaleMethod;
}

function parseScale(text: string | undefined): ScaleParams {
  const m = /^\s*(-1|\d{1,5})x(-1|\d{1,5})\s*(?::\s*(nearest|bilinear|area)\s*)?$/.exec(text ?? "");
  const bad = (why: string): never => {
    throw new InvalidInput(`op "scale" ${why}, e.g. "scale:640x360", "scale:640x-1:area" (got ${text === undefined ? "no argument" : `"scale:${text}"`})`);
  };
  if (m === null) return bad("needs WIDTHxHEIGHT[:nearest|bilinear|area] with -1 for one side to keep the aspect ratio");
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w === -1 && h === -1) return bad("can keep the aspect ratio (-1) for one side only");
  if (w === 0 || h === 0 || w > MAX_DIMENSION || h > MAX_DIMENSION) return bad(`needs each side in 1..${MAX_DIMENSION} or -1`);
  return { w, h, method: (m[3] as ScaleMethod | undefined) ?? "bilinear" };
}

/** Output size: -1 keeps the aspect ratio, rounded to nearest (as ffmpeg's scale=W:-1), at least 1. */
export function scaleSize(p: ScaleParams, w: number, h: number): { w: number; h: number } {
  const ow = p.w === -1 ? Math.max(1, Math.round((w * p.h) / h)) : p.w;
  const oh = p.h === -1 ? Math.max(1, Math.round((h * p.w) / w)) : p.h;
  return { w: Math.min(ow, MAX_DIMENSION), h: Math.min(oh, MAX_DIMENSION) };
}

/** Fixed-point weights: 14 fractional bits, each output's weights summing to exactly 1 << 14. */
const WBITS = 14;
const ONE = 1 << WBITS;

/** Per-output source taps: first index, count, and weights (count each), for one axis of n -> m samples. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  stride: number;
}

/**
 * Taps for one axis. Sample centres are aligned (output x maps to input
 * (x + 0.5) * n / m - 0.5). nearest: the one pixel at floor((x + 0.5) * n / m).
 * bilinear: a triangle filter of radius max(1, n / m) (interpolation when
 * enlarging, a proper low-pass when shrinking, as swscale's SWS_BILINEAR).
 * area: each output averages the input interval it covers, weighted by
 * overlap (when enlarging, bilinear, as swscale's SWS_AREA).
 */
function taps(n: number, m: number, method: ScaleMethod): Taps {
  const scale = n / m;
  const area = method === "area" && scale > 1;
  const radius = method === "nearest" ? 0.5 : area ? scale / 2 + 1 : Math.max(1, scale);
  const stride = Math.ceil(2 * radius) + 2;
  const first = new Int32Array(m);
  const count = new Int32Array(m);
  const weights = new Int32Array(m * stride);
  const wf = new Float64Array(stride);
  for (let x = 0; x < m; x++) {
    if (method === "nearest") {
      first[x] = Math.min(n - 1, Math.floor(((2 * x + 1) * n) / (2 * m)));
      count[x] = 1;
      weights[x * stride] = ONE;
      continue;
    }
    const centre = (x + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.floor(centre - radius));
    const hi = Math.min(n - 1, Math.ceil(centre + radius));
    let k = 0;
    let sum = 0;
    for (let i = lo; i <= hi && k < stride; i++, k++) {
      let wgt: number;
      if (area) {
        // overlap of [i, i + 1) with the output's interval [x * scale, (x + 1) * scale)
        wgt = Math.max(0, Math.min(i + 1, (x + 1) * scale) - Math.max(i, x * scale));
      } else {
        wgt = Math.max(0, 1 - Math.abs(i - centre) / radius);
      }
      wf[k] = wgt;
      sum += wgt;
    }
    // Integer weights summing to exactly ONE; the rounding remainder goes to the largest.
    let isum = 0;
    let big = 0;
    for (let j = 0; j < k; j++) {
      const v = Math.round((wf[j]! / sum) * ONE);
      weights[x * stride + j] = v;
      isum += v;
      if (v > weights[x * stride + big]!) big = j;
    }
    weights[x * stride + big]! += ONE - isum;
    first[x] = lo;
    count[x] = k;
  }
  return { first, count, weights, stride };
}

/** Scratch kept across frames: taps per (n, m, method) of the last geometry, and the row buffer. */
class Scaler {
  private key = "";
  private tx!: Taps;
  private ty!: Taps;
  private tmp = new Int32Array(0);

  /**
   * Scales one plane of C interleaved channels: src at so (w x h) -> dst at
   * d0 (ow x oh). Horizontal pass into 14-bit fixed point, then vertical;
   * result = (sum + 2^27) >> 28, i.e. rounded half up, clamped to 0..255.
   */
  plane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number, ow: number, oh: number, C: number, method: ScaleMethod): void {
    const key = `${w},${h},${ow},${oh},${method}`;
    if (key !== this.key) {
      this.tx = taps(w, ow, method);
      this.ty = taps(h, oh, method);
      this.key = key;
    }
    const { tx, ty } = this;
    const rowLen = ow * C;
    if (this.tmp.length < rowLen * h) this.tmp = new Int32Array(rowLen * h);
    const tmp = this.tmp;
    for (let y = 0; y < h; y++) {
      const srow = so + y * w * C;
      const trow = y * rowLen;
      for (let x = 0; x < ow; x++) {
        const f = tx.first[x]!;
        const cnt = tx.count[x]!;
        const wb = x * tx.stride;
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let k = 0; k < cnt; k++) acc += tx.weights[wb + k]! * src[srow + (f + k) * C + c]!;
          tmp[trow + x * C + c] = acc;
        }
      }
    }
    for (let y = 0; y < oh; y++) {
      const f = ty.first[y]!;
      const cnt = ty.count[y]!;
      const wb = y * ty.stride;
      const drow = d0 + y * rowLen;
      for (let i = 0; i < rowLen; i++) {
        let acc = 0;
        for (let k = 0; k < cnt; k++) acc += ty.weights[wb + k]! * tmp[(f + k) * rowLen + i]!;
        const v = Math.floor((acc + 134217728) / 268435456);
        dst[drow + i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
}

/** `scale:WxH[:nearest|bilinear|area]`, a built-in written directly against the op contract. */
export const scaleOp: Op<ScaleParams & { scaler: Scaler }> = {
  name: "scale",
  formats: ["gray8", "rgb24", "rgba32", "yuv420p"],
  syntax: "scale:WxH[:nearest|bilinear|area]  W or H -1 = keep aspect",
  formula:
    "out is W x H (a -1 side = the other side times the aspect ratio, rounded, as ffmpeg scale=W:-1); default bilinear. Separable resampling with aligned pixel centres (out x samples in (x + 0.5) * w / ow - 0.5). nearest: in pixel " +
    "floor((x + 0.5) * w / ow). bilinear: triangle filter of radius max(1, w / ow) (interpolates when enlarging, low-pass " +
    "when shrinking, like ffmpeg -sws_flags bilinear). area: each output averages the input area it covers (bilinear when " +
    "enlarging, like -sws_flags area). Weights in 14-bit fixed point, horizontal then vertical, rounded half up; per channel " +
    "incl. alpha; yuv420p: each plane on its own (chroma ceil(ow/2) x ceil(oh/2))",
  edges: "taps beyond the frame are dropped and the remaining weights renormalised (= edge pixels weigh more)",
  parse: (text) => ({ ...parseScale(text), scaler: new Scaler() }),
  spec: (p) => `scale:${p.w}x${p.h}:${p.method}`,
  out(g, p) {
    const s = scaleSize(p, g.w, g.h);
    return { w: s.w, h: s.h, format: g.format };
  },
  apply(src, dst, g, og, p) {
    if (g.fmt === Format.yuv420p) {
      const s = p.scaler;
      s.plane(src, dst, 0, 0, g.w, g.h, og.w, og.h, 1, p.method);
      const cw = chromaDim(g.w), ch = chromaDim(g.h), ocw = chromaDim(og.w), och = chromaDim(og.h);
      s.plane(src, dst, g.w * g.h, og.w * og.h, cw, ch, ocw, och, 1, p.method);
      s.plane(src, dst, g.w * g.h + cw * ch, og.w * og.h + ocw * och, cw, ch, ocw, och, 1, p.method);
      return;
    }
    p.scaler.plane(src, dst, 0, 0, g.w, g.h, og.w, og.h, channels(g.fmt as Format), p.method);
  },
};
