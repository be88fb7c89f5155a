/**
 * Colour conversions: grayscale (-> gray8) and rgb (-> rgb24).
 */
import { Format, type Geometry } from "../frame/format";
import { yuv420pToRgb24 } from "../frame/bt601";
import { LITTLE_ENDIAN, copyBytes, words } from "./buffers";
import { ALL_FORMATS, checkInput, noArg, type Step, type OpDef } from "./types";

/** An op converting any accepted format to `outFmt` at the same size. */
function convertOp(name: string, outFmt: Format, apply: Step["apply"]): Step {
  return {
    name,
    out(g: Geometry): Geometry {
      checkInput(name, g, ALL_FORMATS);
      return { w: g.w, h: g.h, fmt: outFmt };
    },
    apply,
  };
}

// ---------------------------------------------------------------- grayscale

/** Y = (77 R + 150 G + 29 B + 128) >> 8 (= netpbm ppmtopgm for maxval 255). */
function luma(r: number, g: number, b: number): number {
  return (77 * r + 150 * g + 29 * b + 128) >> 8;
}

/**
 * rgb24 -> gray8. Fast path (little-endian, src and dst 4-byte aligned): 4 pixels
 * = 3 source words in, 1 destination word out. Pixels 0 and 2 (then 1 and 3) are
 * computed together in the two 16-bit halves of one int: 77 R + 150 G + 29 B + 128
 * is at most 65408, so the lanes never carry into each other and the 32-bit
 * wrap-around of Math.imul / `| 0` leaves both lanes exact. Leftover pixels bytewise.
 */
function grayFromRgb(src: Uint8Array, dst: Uint8Array, px: number): void {
  const s32 = LITTLE_ENDIAN ? words(src) : null;
  const d32 = s32 !== null ? words(dst) : null;
  let i = 0;
  if (s32 !== null && d32 !== null) {
    const groups = px >> 2;
    for (let k = 0, q = 0; k < groups; k++, q += 3) {
      // bytes: w0 = R0 G0 B0 R1, w1 = G1 B1 R2 G2, w2 = B2 R3 G3 B3 (low byte first)
      const w0 = s32[q]!;
      const w1 = s32[q + 1]!;
      const w2 = s32[q + 2]!;
      const r02 = (w0 & 0xff) | (w1 & 0xff0000);
      const g02 = ((w0 >>> 8) & 0xff) | ((w1 >>> 8) & 0xff0000);
      const b02 = ((w0 >>> 16) & 0xff) | ((w2 & 0xff) << 16);
      const r13 = (w0 >>> 24) | ((w2 << 8) & 0xff0000);
      const g13 = (w1 & 0xff) | (w2 & 0xff0000);
      const b13 = ((w1 >>> 8) & 0xff) | ((w2 >>> 8) & 0xff0000);
      const s02 = (((Math.imul(77, r02) + Math.imul(150, g02)) | 0) + ((Math.imul(29, b02) + 0x00800080) | 0)) | 0;
      const s13 = (((Math.imul(77, r13) + Math.imul(150, g13)) | 0) + ((Math.imul(29, b13) + 0x00800080) | 0)) | 0;
      d32[k] = ((s02 >>> 8) & 0x00ff00ff) | (((s13 >>> 8) & 0x00ff00ff) << 8);
    }
    i = groups << 2;
  }
  for (let s = i * 3; i < px; i++, s += 3) dst[i] = luma(src[s]!, src[s + 1]!, src[s + 2]!);
}

/**
 * rgba32 -> gray8: same weights, alpha ignored. Fast path: 4 pixels = 4 words in,
 * 1 word out, pixels (0, 2) and (1, 3) paired in 16-bit lanes as in grayFromRgb.
 */
function grayFromRgba(src: Uint8Array, dst: Uint8Array, px: number): void {
  const s32 = LITTLE_ENDIAN ? words(src) : null;
  const d32 = s32 !== null ? words(dst) : null;
  let i = 0;
  if (s32 !== null && d32 !== null) {
    const groups = px >> 2;
    for (let k = 0, q = 0; k < groups; k++, q += 4) {
      const w0 = s32[q]!;
      const w1 = s32[q + 1]!;
      const w2 = s32[q + 2]!;
      const w3 = s32[q + 3]!;
      const r02 = (w0 & 0xff) | ((w2 & 0xff) << 16);
      const g02 = ((w0 >>> 8) & 0xff) | ((w2 << 8) & 0xff0000);
      const b02 = ((w0 >>> 16) & 0xff) | (w2 & 0xff0000);
      const r13 = (w1 & 0xff) | ((w3 & 0xff) << 16);
      const g13 = ((w1 >>> 8) & 0xff) | ((w3 << 8) & 0xff0000);
      const b13 = ((w1 >>> 16) & 0xff) | (w3 & 0xff0000);
      const s02 = (((Math.imul(77, r02) + Math.imul(150, g02)) | 0) + ((Math.imul(29, b02) + 0x00800080) | 0)) | 0;
      const s13 = (((Math.imul(77, r13) + Math.imul(150, g13)) | 0) + ((Math.imul(29, b13) + 0x00800080) | 0)) | 0;
      d32[k] = ((s02 >>> 8) & 0x00ff00ff) | (((s13 >>> 8) & 0x00ff00ff) << 8);
    }
    i = groups << 2;
  }
  for (let s = i * 4; i < px; i++, s += 4) dst[i] = luma(src[s]!, src[s + 1]!, src[s + 2]!);
}

export const grayscaleDef: OpDef = {
  name: "grayscale",
  syntax: "grayscale",
  formats: ALL_FORMATS,
  formula:
    "rgb24/rgba32: Y = (77 R + 150 G + 29 B + 128) >> 8 (= netpbm ppmtopgm; alpha ignored); " +
    "gray8: copy; yuv420p: the Y plane as is, U/V dropped (limited range 16..235 is NOT expanded; " +
    "ffmpeg -pix_fmt gray would give clip(round((Y-16)*255/219)))",
  edges: "none (per pixel)",
  create(arg) {
    noArg("grayscale", arg);
    return convertOp("grayscale", Format.gray8, (src, g, dst) => {
      const px = g.w * g.h;
      if (g.fmt === Format.rgb24) grayFromRgb(src, dst, px);
      else if (g.fmt === Format.rgba32) grayFromRgba(src, dst, px);
      else copyBytes(src, dst, px); // gray8, or the Y plane of yuv420p (it comes first)
    });
  },
};

// ---------------------------------------------------------------- rgb

/** gray8 -> rgb24: R = G = B = v. */
function rgbFromGray(src: Uint8Array, dst: Uint8Array, px: number): void {
  for (let i = 0, d = 0; i < px; i++, d += 3) {
    const v = src[i]!;
    dst[d] = v;
    dst[d + 1] = v;
    dst[d + 2] = v;
  }
}

/** rgba32 -> rgb24: alpha dropped (not composited). */
function rgbFromRgba(src: Uint8Array, dst: Uint8Array, px: number): void {
  for (let i = 0, s = 0, d = 0; i < px; i++, s += 4, d += 3) {
    dst[d] = src[s]!;
    dst[d + 1] = src[s + 1]!;
    dst[d + 2] = src[s + 2]!;
  }
}

export const rgbDef: OpDef = {
  name: "rgb",
  syntax: "rgb",
  formats: ALL_FORMATS,
  formula:
    "-> rgb24. gray8: R=G=B=v; rgb24: copy; rgba32: alpha dropped; yuv420p: BT.601 limited range, " +
    "C=Y-16 D=U-128 E=V-128, R=clip((298C+409E+128)>>8), G=clip((298C-100D-208E+128)>>8), " +
    "B=clip((298C+516D+128)>>8). Not byte-exact with ffmpeg: its output depends on the CPU (its SIMD " +
    "and C converters differ by up to 2) and odd heights go through its scaler with interpolated chroma; " +
    "for even sizes ffmpeg's default result is 0..3 below this formula",
  edges: "yuv420p chroma: nearest (sample (x>>1, y>>1) for its whole 2x2 block; last odd row/column uses its own sample)",
  create(arg) {
    noArg("rgb", arg);
    return convertOp("rgb", Format.rgb24, (src, g, dst) => {
      const px = g.w * g.h;
      if (g.fmt === Format.gray8) rgbFromGray(src, dst, px);
      else if (g.fmt === Format.rgba32) rgbFromRgba(src, dst, px);
      else if (g.fmt === Format.yuv420p) yuv420pToRgb24(src, g.w, g.h, dst);
      else copyBytes(src, dst, px * 3);
    });
  },
};
