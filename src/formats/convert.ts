/**
 * Pixel conversions used by formats whose bytes cannot be held as they are in
 * a ring format (y4m C444 input, pnm/png output of yuv420p, y4m output of
 * rgb24/rgba32), plus the scratch memory the converting sinks queue from.
 *
 * Colour model: BT.601, limited ("TV") range, as ffmpeg uses by default for
 * YUV <-> RGB when nothing else is tagged. 16-bit fixed point, rounded:
 *
 *   YUV -> RGB   (C = Y - 16, D = U - 128, E = V - 128)
 *     R = clamp((76309 C             + 104597 E + 32768) >> 16)
 *     G = clamp((76309 C -  25675 D  -  53279 E + 32768) >> 16)
 *     B = clamp((76309 C + 132201 D             + 32768) >> 16)
 *     (= 1.164383 C + 1.596027 E,  1.164383 C - 0.391762 D - 0.812968 E,  1.164383 C + 2.017232 D)
 *
 *   RGB -> YUV
 *     Y =  16 + ((16829 R + 33039 G +  6416 B + 32768) >> 16)
 *     U = 128 + ((-9714 R - 19071 G + 28784 B + 32768) >> 16)
 *     V = 128 + ((28784 R - 24103 G -  4681 B + 32768) >> 16)
 *     (= 0.256788 R + 0.504129 G + 0.097906 B, ...; Y in 16..235, U/V in 16..240)
 *
 * yuv420p chroma is upsampled by replication (each U/V sample covers its 2x2
 * block, last row/column of odd sizes included). ffmpeg's swscale uses other
 * rounding/dither paths, so results can differ from `ffmpeg -pix_fmt rgb24`
 * by a few levels per channel (measured by test/formats-interop.test.ts).
 */
import { ptr } from "bun:ffi";

// Lookup tables (built once): the per-sample products of the formulas above.
const Y_TAB = new Int32Array(256);
const RV = new Int32Array(256);
const GU = new Int32Array(256);
const GV = new Int32Array(256);
const BU = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  Y_TAB[i] = 76309 * (i - 16) + 32768;
  RV[i] = 104597 * (i - 128);
  GU[i] = -25675 * (i - 128);
  GV[i] = -53279 * (i - 128);
  BU[i] = 132201 * (i - 128);
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** yuv420p (w x h, planes at src[0..]) -> rgb24 into dst[0 .. w*h*3). */
export function yuv420pToRgb24(src: Uint8Array, w: number, h: number, dst: Uint8Array): void {
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  const uOff = w * h;
  const vOff = uOff + cw * ch;
  let o = 0;
  for (let y = 0; y < h; y++) {
    const yRow = y * w;
    const cRow = (y >> 1) * cw;
    for (let x = 0; x < w; x++) {
      const c = Y_TAB[src[yRow + x]!]!;
      const u = src[uOff + cRow + (x >> 1)]!;
      const v = src[vOff + cRow + (x >> 1)]!;
      dst[o] = clamp8((c + RV[v]!) >> 16);
      dst[o + 1] = clamp8((c + GU[u]! + GV[v]!) >> 16);
      dst[o + 2] = clamp8((c + BU[u]!) >> 16);
      o += 3;
    }
  }
}

/** yuv444p (three w x h planes at src[0..]) -> rgb24 into dst[0 .. w*h*3). src and dst must not overlap. */
export function yuv444pToRgb24(src: Uint8Array, w: number, h: number, dst: Uint8Array): void {
  const n = w * h;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = Y_TAB[src[i]!]!;
    const u = src[n + i]!;
    const v = src[2 * n + i]!;
    dst[o] = clamp8((c + RV[v]!) >> 16);
    dst[o + 1] = clamp8((c + GU[u]! + GV[v]!) >> 16);
    dst[o + 2] = clamp8((c + BU[u]!) >> 16);
    o += 3;
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
    dst[i] = 16 + ((16829 * r + 33039 * g + 6416 * b + 32768) >> 16);
    dst[n + i] = 128 + ((-9714 * r - 19071 * g + 28784 * b + 32768) >> 16);
    dst[2 * n + i] = 128 + ((28784 * r - 24103 * g - 4681 * b + 32768) >> 16);
  }
}

/**
 * Scratch buffers for converting sinks. A converted frame's bytes must stay
 * valid until the Output is flushed, so every frame of a batch gets its own
 * buffer: take() hands out the next one (allocated on first use, regrown only
 * when a larger frame comes), reset() after flushed() makes them all reusable.
 * A batch never holds more frames than the ring has slots (the consumer keeps
 * a frame's slot until the batch is written), so the pool stays bounded by
 * the ring's size and is allocated once in the steady state.
 */
export class ScratchPool {
  private bufs: Uint8Array[] = [];
  private addrs: number[] = [];
  private used = 0;
  /** The buffer taken last (valid until reset()). */
  view: Uint8Array = new Uint8Array(0);
  /** Its address. */
  addr = 0;

  /** Takes a buffer of at least n bytes; sets view/addr. */
  take(n: number): void {
    const i = this.used++;
    let b = this.bufs[i];
    if (b === undefined || b.length < n) {
      // Round up so slightly larger frames do not regrow every time.
      b = new Uint8Array(Math.max(n, 64) + (n >> 4));
      this.bufs[i] = b;
      this.addrs[i] = ptr(b);
    }
    this.view = b;
    this.addr = this.addrs[i]!;
  }

  reset(): void {
    this.used = 0;
  }
}
