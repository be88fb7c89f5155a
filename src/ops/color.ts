/**
 * Colour conversions: grayscale (-> gray8) and rgb (-> rgb24).
 */
import { Format, type Geometry } from "../frame/format";
import { LITTLE_ENDIAN, chromaDim, copyBytes, u32 } from "./buffers";
import { ALL_FORMATS, checkInput, noArg, type Op, type OpDef } from "./types";

/** An op converting any accepted format to `outFmt` at the same size. */
function convertOp(name: string, outFmt: Format, apply: Op["apply"]): Op {
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

/** rgb24 -> gray8: Y = (77 R + 150 G + 29 B + 128) >> 8 (= netpbm ppmtopgm for maxval 255). */
function grayFromRgb(src: Uint8Array, dst: Uint8Array, px: number): void {
  for (let i = 0, s = 0; i < px; i++, s += 3) dst[i] = (77 * src[s] + 150 * src[s + 1] + 29 * src[s + 2] + 128) >> 8;
}

/** rgba32 -> gray8: same weights, alpha ignored; one 32-bit read per pixel when aligned. */
function grayFromRgba(src: Uint8Array, dst: Uint8Array, px: number): void {
  const s32 = LITTLE_ENDIAN ? u32(src) : null;
  if (s32 !== null) {
    for (let i = 0; i < px; i++) {
      const v = s32[i];
      dst[i] = (77 * (v & 255) + 150 * ((v >>> 8) & 255) + 29 * ((v >>> 16) & 255) + 128) >> 8;
    }
    return;
  }
  for (let i = 0, s = 0; i < px; i++, s += 4) dst[i] = (77 * src[s] + 150 * src[s + 1] + 29 * src[s + 2] + 128) >> 8;
}

export const grayscaleDef: OpDef = {
  name: "grayscale",
  syntax: "grayscale",
  formats: ALL_FORMATS,
  formula:
    "rgb24/rgba32: Y = (77 R + 150 G + 29 B + 128) >> 8 (= netpbm ppmtopgm; alpha ignored); " +
    "gray8: copy; yuv420p: the Y plane as is (limited range 16..235 is NOT expanded, U/V dropped)",
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
    const v = src[i];
    dst[d] = v;
    dst[d + 1] = v;
    dst[d + 2] = v;
  }
}

/** rgba32 -> rgb24: alpha dropped (not composited). */
function rgbFromRgba(src: Uint8Array, dst: Uint8Array, px: number): void {
  for (let i = 0, s = 0, d = 0; i < px; i++, s += 4, d += 3) {
    dst[d] = src[s];
    dst[d + 1] = src[s + 1];
    dst[d + 2] = src[s + 2];
  }
}

// BT.601 limited-range integer tables (the classic 8-bit fixed-point form):
//   C = Y - 16, D = U - 128, E = V - 128
//   R = clip((298 C + 409 E + 128) >> 8)
//   G = clip((298 C - 100 D - 208 E + 128) >> 8)
//   B = clip((298 C + 516 D + 128) >> 8)
const Y_TERM = new Int32Array(256);
const RV = new Int32Array(256);
const GU = new Int32Array(256);
const GV = new Int32Array(256);
const BU = new Int32Array(256);
for (let v = 0; v < 256; v++) {
  Y_TERM[v] = 298 * (v - 16) + 128;
  RV[v] = 409 * (v - 128);
  GU[v] = -100 * (v - 128);
  GV[v] = -208 * (v - 128);
  BU[v] = 516 * (v - 128);
}
/** clip to 0..255 of an index in -CLIP_OFF .. 1023-CLIP_OFF (covers -277..534, the reachable range). */
const CLIP_OFF = 384;
const CLIP = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) CLIP[i] = Math.max(0, Math.min(255, i - CLIP_OFF));

/** yuv420p -> rgb24, chroma sample (x>>1, y>>1) used as is for its 2x2 block (no interpolation). */
function rgbFromYuv(src: Uint8Array, dst: Uint8Array, w: number, h: number): void {
  const cw = chromaDim(w);
  const uOff = w * h;
  const vOff = uOff + cw * chromaDim(h);
  for (let y = 0; y < h; y++) {
    const c0 = (y >> 1) * cw;
    let s = y * w;
    let d = s * 3;
    for (let x = 0; x < w; x++, s++, d += 3) {
      const u = src[uOff + c0 + (x >> 1)];
      const v = src[vOff + c0 + (x >> 1)];
      const yt = Y_TERM[src[s]];
      dst[d] = CLIP[((yt + RV[v]) >> 8) + CLIP_OFF];
      dst[d + 1] = CLIP[((yt + GU[u] + GV[v]) >> 8) + CLIP_OFF];
      dst[d + 2] = CLIP[((yt + BU[u]) >> 8) + CLIP_OFF];
    }
  }
}

export const rgbDef: OpDef = {
  name: "rgb",
  syntax: "rgb",
  formats: ALL_FORMATS,
  formula:
    "-> rgb24. gray8: R=G=B=v; rgb24: copy; rgba32: alpha dropped; yuv420p: BT.601 limited range, " +
    "C=Y-16 D=U-128 E=V-128, R=clip((298C+409E+128)>>8), G=clip((298C-100D-208E+128)>>8), " +
    "B=clip((298C+516D+128)>>8). Not byte-exact with ffmpeg, whose result depends on the CPU " +
    "(its SIMD and C converters differ by up to 2); for even heights ffmpeg is 0..3 below this",
  edges: "yuv420p chroma: nearest (sample (x>>1, y>>1) for its whole 2x2 block; last odd row/column uses its own sample)",
  create(arg) {
    noArg("rgb", arg);
    return convertOp("rgb", Format.rgb24, (src, g, dst) => {
      const px = g.w * g.h;
      if (g.fmt === Format.gray8) rgbFromGray(src, dst, px);
      else if (g.fmt === Format.rgba32) rgbFromRgba(src, dst, px);
      else if (g.fmt === Format.yuv420p) rgbFromYuv(src, dst, g.w, g.h);
      else copyBytes(src, dst, px * 3);
    });
  },
};
