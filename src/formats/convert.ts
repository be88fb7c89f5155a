/**
 * Pixel conversions used by formats whose bytes cannot be held as they are in
 * a ring format (y4m C444 input, pnm/png output of yuv420p, y4m output of
 * rgb24/rgba32), plus the scratch memory the converting sinks queue from.
 *
 * Colour model: BT.601 limited range (src/frame/bt601.ts, shared with the
 * `rgb` op, so `--op rgb` and a converting sink give identical bytes). Known
 * differences from `ffmpeg -pix_fmt rgb24` (measured by
 * test/formats-interop.test.ts): even sizes differ by at most 3 levels (other
 * rounding); for odd sizes swscale takes its generic path and stretches the
 * ceil(w/2)-wide chroma plane over w pixels with interpolation, so colours
 * differ strongly at colour edges there. RGB -> YUV444 -> RGB through ffmpeg
 * stays within 2 levels.
 */
import { ptr } from "bun:ffi";

export { rgbToYuv444p, yuv420pToRgb24, yuv444pToRgb24 } from "../frame/bt601";

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
