/**
 * Per-pixel ops: identity, invert, threshold, brightness, contrast.
 * Every value-mapping op is a 256-entry lookup table built once at parse time;
 * invert is word-wise (32 bits at a time) over the 4-byte-aligned part.
 */
import { InvalidInput } from "../errors";
import { Format, payloadBytes } from "../frame/format";
import { LITTLE_ENDIAN, copyBytes, words } from "./buffers";
import { ALL_FORMATS, intArg, noArg, sameSize, type Step, type OpDef } from "./types";

// ---------------------------------------------------------------- identity

/** identity: dst = src (payloadBytes bytes). */
export const identityDef: OpDef = {
  name: "identity",
  syntax: "identity",
  formats: ALL_FORMATS,
  formula: "copy: out = in",
  edges: "none",
  create(arg) {
    noArg("identity", arg);
    return sameSize("identity", ALL_FORMATS, (src, g, dst) => copyBytes(src, dst, payloadBytes(g.w, g.h, g.fmt)));
  },
};

// ---------------------------------------------------------------- invert

/** out = 255 - v for every byte: `~word` over whole 32-bit words, then the 0..3 tail bytes. */
function invertBytes(src: Uint8Array, dst: Uint8Array, n: number): void {
  const s32 = words(src);
  const d32 = words(dst);
  let i = 0;
  if (s32 !== null && d32 !== null) {
    const nw = n >>> 2;
    for (let k = 0; k < nw; k++) d32[k] = ~s32[k]!;
    i = nw << 2;
  }
  for (; i < n; i++) dst[i] = 255 - src[i]!;
}

/** XOR mask that flips R, G, B and keeps A of one little/big-endian RGBA word. */
const RGB_MASK = LITTLE_ENDIAN ? 0x00ffffff : 0xffffff00;

/** rgba32: R,G,B = 255 - v, A kept: `word ^ RGB_MASK` per pixel (byte loop when unaligned). */
function invertRgba(src: Uint8Array, dst: Uint8Array, n: number): void {
  const s32 = words(src);
  const d32 = words(dst);
  if (s32 !== null && d32 !== null) {
    const px = n >>> 2;
    for (let k = 0; k < px; k++) d32[k] = s32[k]! ^ RGB_MASK;
    return;
  }
  for (let i = 0; i < n; i += 4) {
    dst[i] = 255 - src[i]!;
    dst[i + 1] = 255 - src[i + 1]!;
    dst[i + 2] = 255 - src[i + 2]!;
    dst[i + 3] = src[i + 3]!;
  }
}

/**
 * invert: out = 255 - v on every channel and every plane (full range, also Y, U
 * and V of yuv420p); the alpha of rgba32 is kept. Byte-exact with ffmpeg 5.x
 * `-vf negate` (vf_negate.c, checked against 5.1 in ops-reference.test.ts). Older
 * ffmpeg's lut-based negate kept yuv in limited range instead
 * (Y' = 251 - clip(Y,16,235), C' = 256 - clip(C,16,240)).
 */
export const invertDef: OpDef = {
  name: "invert",
  syntax: "invert",
  formats: ALL_FORMATS,
  formula:
    "out = 255 - v on every channel, full range, including Y, U and V of yuv420p (no limited-range clipping); " +
    "rgba32 alpha kept. Byte-exact with ffmpeg 5.x -vf negate (vf_negate); older ffmpeg's lut-based negate " +
    "kept yuv in limited range instead (Y' = 251 - clip(Y,16,235), C' = 256 - clip(C,16,240))",
  edges: "none (per pixel)",
  create(arg) {
    noArg("invert", arg);
    return sameSize("invert", ALL_FORMATS, (src, g, dst) => {
      const n = payloadBytes(g.w, g.h, g.fmt);
      if (g.fmt === Format.rgba32) invertRgba(src, dst, n);
      else invertBytes(src, dst, n);
    });
  },
};

// ---------------------------------------------------------------- lookup-table ops

/** dst[i] = lut[src[i]] for i < n; 4 bytes per load/store over the aligned words, then the tail. */
function lutAll(lut: Uint8Array, src: Uint8Array, dst: Uint8Array, n: number): void {
  const s32 = words(src);
  const d32 = words(dst);
  let i = 0;
  if (s32 !== null && d32 !== null) {
    const nw = n >>> 2;
    for (let k = 0; k < nw; k++) {
      const v = s32[k]!;
      d32[k] = lut[v & 255]! | (lut[(v >>> 8) & 255]! << 8) | (lut[(v >>> 16) & 255]! << 16) | (lut[v >>> 24]! << 24);
    }
    i = nw << 2;
  }
  for (; i < n; i++) dst[i] = lut[src[i]!]!;
}

/** rgba32: R,G,B through the lut, alpha copied (one word per pixel on little-endian aligned buffers). */
function lutRgba(lut: Uint8Array, src: Uint8Array, dst: Uint8Array, n: number): void {
  const s32 = LITTLE_ENDIAN ? words(src) : null;
  const d32 = s32 !== null ? words(dst) : null;
  if (s32 !== null && d32 !== null) {
    const px = n >>> 2;
    for (let k = 0; k < px; k++) {
      const v = s32[k]!;
      d32[k] = lut[v & 255]! | (lut[(v >>> 8) & 255]! << 8) | (lut[(v >>> 16) & 255]! << 16) | (v & 0xff000000);
    }
    return;
  }
  for (let i = 0; i < n; i += 4) {
    dst[i] = lut[src[i]!]!;
    dst[i + 1] = lut[src[i + 1]!]!;
    dst[i + 2] = lut[src[i + 2]!]!;
    dst[i + 3] = src[i + 3]!;
  }
}

/**
 * An op applying `lut` to every colour channel of a packed format (alpha of
 * rgba32 kept). yuv420p: the lut maps the Y plane (as ffmpeg's eq and lutyuv
 * map luma); U and V are copied, or set to `chroma` when given (128: no colour).
 */
function lutOp(name: string, formats: readonly Format[], lut: Uint8Array, chroma?: number): Step {
  return sameSize(name, formats, (src, g, dst) => {
    const n = payloadBytes(g.w, g.h, g.fmt);
    if (g.fmt === Format.rgba32) lutRgba(lut, src, dst, n);
    else if (g.fmt === Format.yuv420p) {
      const y = g.w * g.h;
      lutAll(lut, src, dst, y);
      if (chroma === undefined) dst.set(src.subarray(y, n), y);
      else dst.fill(chroma, y, n);
    } else lutAll(lut, src, dst, n);
  });
}

/** Formats of the luma-only point ops (threshold): gray8, and yuv420p by its Y plane. */
const LUMA_FORMATS: readonly Format[] = [Format.gray8, Format.yuv420p];

function buildLut(f: (v: number) => number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, f(v)));
  return lut;
}

/** threshold:T (gray8 only): out = v >= T ? 255 : 0. */
export const thresholdDef: OpDef = {
  name: "threshold",
  syntax: "threshold[:T]  T = 0..255, default 128",
  formats: LUMA_FORMATS,
  formula:
    "out = (v >= T) ? 255 : 0  (T = 0 gives all 255); yuv420p: on Y, with U = V = 128 (= ffmpeg lutyuv=y='if(gte(val,T),255,0)':u=128:v=128). " +
    "rgb input is refused: binarize luma, not channels",
  edges: "none (per pixel)",
  create(arg) {
    const t = arg === undefined ? 128 : intArg("threshold", arg, 0, 255, "the threshold T", "threshold:128");
    return lutOp(`threshold:${t}`, LUMA_FORMATS, buildLut((v) => (v >= t ? 255 : 0)), 128);
  },
};

/** brightness:N: out = clamp(v + N, 0, 255) per colour channel. */
export const brightnessDef: OpDef = {
  name: "brightness",
  syntax: "brightness:N  N = -255..+255",
  formats: ALL_FORMATS,
  formula:
    "out = clamp(v + N, 0, 255) per colour channel (saturating); rgba32 alpha kept; " +
    "yuv420p: Y only, U and V kept (= ffmpeg lutyuv=y='clip(val+N,0,255)':u=val:v=val; within 3 of eq=brightness=N/255, " +
      "which quantizes brightness to 1/100 and scales it by 511/200)",
  edges: "none (per pixel)",
  create(arg) {
    const n = intArg("brightness", arg, -255, 255, "the offset N", "brightness:+20");
    return lutOp(`brightness:${n >= 0 ? "+" : ""}${n}`, ALL_FORMATS, buildLut((v) => v + n));
  },
};

/** contrast:F: out = clamp(floor((v - 128) * F + 128 + 0.5), 0, 255) per colour channel. */
export const contrastDef: OpDef = {
  name: "contrast",
  syntax: "contrast:F  F = 0..100 (decimal, 1 = unchanged)",
  formats: ALL_FORMATS,
  formula:
    "out = clamp(floor((v - 128) * F + 128 + 0.5), 0, 255) per colour channel: pivot 128, " +
    "rounded half up (in double precision), saturating; rgba32 alpha kept",
  edges: "none (per pixel)",
  create(arg) {
    const s = arg?.trim() ?? "";
    const f = Number(s);
    if (s === "" || !/^\+?(\d+\.?\d*|\.\d+)$/.test(s) || !(f >= 0 && f <= 100)) {
      const got = arg === undefined ? "no argument" : `"contrast:${arg}"`;
      throw new InvalidInput(`op "contrast" needs a factor F as a decimal 0..100, e.g. "contrast:1.5" (got ${got})`);
    }
    return lutOp(`contrast:${f}`, ALL_FORMATS, buildLut((v) => Math.floor((v - 128) * f + 128 + 0.5)));
  },
};
