/**
 * BT.601, limited ("TV") range, in the classic 8-bit fixed-point form: the
 * one home of the colour model for the `rgb` op (ops/color.ts) and the
 * converting formats (formats/convert.ts), so `--op rgb` and a converting
 * sink give identical bytes. It is what ffmpeg uses by default for
 * YUV <-> RGB when nothing else is tagged.
 *
 *   YUV -> RGB   (C = Y - 16, D = U - 128, E = V - 128)
 *     R = clamp((298 C         + 409 E + 128) >> 8)
 *     G = clamp((298 C - 100 D - 208 E + 128) >> 8)
 *     B = clamp((298 C + 516 D         + 128) >> 8)
 *
 *   RGB -> YUV
 *     Y =  16 + (( 66 R + 129 G +  25 B + 128) >> 8)     (16..235)
 *     U = 128 + ((-38 R -  74 G + 112 B + 128) >> 8)     (16..240)
 *     V = 128 + ((112 R -  94 G -  18 B + 128) >> 8)     (16..240)
 *
 * yuv420p chroma is upsampled by replication: pixel (x, y) uses chroma sample
 * (x >> 1, y >> 1), the one covering its 2x2 block (last row/column of odd
 * sizes included).
 */
import { chromaDim } from "./format";

// Lookup tables (built once): the per-sample terms of the YUV -> RGB formula.
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
/** clamp to 0..255 of an index in -CLIP_OFF .. 1023-CLIP_OFF (covers -277..534, the reachable range). */
const CLIP_OFF = 384;
const CLIP = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) CLIP[i] = Math.max(0, Math.min(255, i - CLIP_OFF));

/** yuv420p (w x h, planes at src[0..]) -> rgb24 into dst[0 .. w*h*3). */
export function yuv420pToRgb24(src: Uint8Array, w: number, h: number, dst: Uint8Array): void {
  const cw = chromaDim(w);
  const uOff = w * h;
  const vOff = uOff + cw * chromaDim(h);
  for (let y = 0; y < h; y++) {
    const c0 = (y >> 1) * cw;
    let s = y * w;
    let d = s * 3;
    for (let x = 0; x < w; x++, s++, d += 3) {
      const u = src[uOff + c0 + (x >> 1)]!;
      const v = src[vOff + c0 + (x >> 1)]!;
      const yt = Y_TERM[src[s]!]!;
      dst[d] = CLIP[((yt + RV[v]!) >> 8) + CLIP_OFF]!;
      dst[d + 1] = CLIP[((yt + GU[u]! + GV[v]!) >> 8) + CLIP_OFF]!;
      dst[d + 2] = CLIP[((yt + BU[u]!) >> 8) + CLIP_OFF]!;
    }
  }
}

/** yuv444p (three w x h planes at src[0..]) -> rgb24 into dst[0 .. w*h*3). src and dst must not overlap. */
export function yuv444pToRgb24(src: Uint8Array, w: number, h: number, dst: Uint8Array): void {
  const n = w * h;
  for (let i = 0, d = 0; i < n; i++, d += 3) {
    const yt = Y_TERM[src[i]!]!;
    const u = src[n + i]!;
    const v = src[2 * n + i]!;
    dst[d] = CLIP[((yt + RV[v]!) >> 8) + CLIP_OFF]!;
    dst[d + 1] = CLIP[((yt + GU[u]! + GV[v]!) >> 8) + CLIP_OFF]!;
    dst[d + 2] = CLIP[((yt + BU[u]!) >> 8) + CLIP_OFF]!;
  }
}

/**
 * rgb24 (bpp 3) or rgba32 (bpp 4, alpha dropped) -> yuv444p (three w x h
 * planes) into dst[0 .. 3*w*h).
 */
export function rgbToYuv444p(src: Uint8Array, w: number, h: number, bpp: 3 | 4, dst: Uint8Array): void {
  const n = w * h;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const r = src[s]!;
    const g = src[s + 1]!;
    const b = src[s + 2]!;
    s += bpp;
    dst[i] = 16 + ((66 * r + 129 * g + 25 * b + 128) >> 8);
    dst[n + i] = 128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8);
    dst[2 * n + i] = 128 + ((112 * r - 94 * g - 18 * b + 128) >> 8);
  }
}
