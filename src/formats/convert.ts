/**
 * Pixel conversions used by formats whose bytes cannot be held as they are in
 * a ring format (y4m C444 input, pnm/png output of yuv420p, y4m output of
 * rgb24/rgba32), plus the scratch memory the converting sinks queue from.
 *
 * Colour model: BT.601, limited ("TV") range, as ffmpeg uses by default for
 * YUV <-> RGB when nothing else is tagged; the classic 8-bit fixed-point form
 * (the same formula as the `rgb` op in src/ops/color.ts, so `--op rgb` and a
 * converting sink give identical bytes):
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
 * sizes included). Known differences from `ffmpeg -pix_fmt rgb24` (measured by
 * test/formats-interop.test.ts): even sizes differ by at most 3 levels (other
 * rounding); for odd sizes swscale takes its generic path and stretches the
 * ceil(w/2)-wide chroma plane over w pixels with interpolation, so colours
 * differ strongly at colour edges there. RGB -> YUV444 -> RGB through ffmpeg
 * stays within 2 levels.
 */
import { ptr } from "bun:ffi";

// Lookup tables (built once): the per-sample terms of the YUV -> RGB formula.
const Y_TAB = new Int32Array(256);
const RV = new Int32Array(256);
const GU = new Int32Array(256);
const GV = new Int32Array(256);
const BU = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  Y_TAB[i] = 298 * (i - 16) + 128;
  RV[i] = 409 * (i - 128);
  GU[i] = -100 * (i - 128);
  GV[i] = -208 * (i - 128);
  BU[i] = 516 * (i - 128);
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
      dst[o] = clamp8((c + RV[v]!) >> 8);
      dst[o + 1] = clamp8((c + GU[u]! + GV[v]!) >> 8);
      dst[o + 2] = clamp8((c + BU[u]!) >> 8);
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
    dst[o] = clamp8((c + RV[v]!) >> 8);
    dst[o + 1] = clamp8((c + GU[u]! + GV[v]!) >> 8);
    dst[o + 2] = clamp8((c + BU[u]!) >> 8);
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
    dst[i] = 16 + ((66 * r + 129 * g + 25 * b + 128) >> 8);
    dst[n + i] = 128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8);
    dst[2 * n + i] = 128 + ((112 * r - 94 * g - 18 * b + 128) >> 8);
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
