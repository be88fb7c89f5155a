/**
 * Small buffer helpers shared by the ops: payload copies, cached 32-bit views,
 * grow-only scratch arrays and yuv420p plane arithmetic.
 */
import { chromaDim } from "../frame/format";

/** True on little-endian hosts (every platform Bun ships on); word-wise ops use it to place the alpha byte. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Copies src[0..n) to dst[0..n). */
export function copyBytes(src: Uint8Array, dst: Uint8Array, n: number): void {
  if (n === 0) return;
  dst.set(n === src.length ? src : src.subarray(0, n));
}

const wordCache = new WeakMap<Uint8Array, Int32Array>();

/**
 * An Int32Array over the same bytes as `u8` (covering floor(len/4) words), or
 * null when u8 does not start on a 4-byte boundary. Signed on purpose: JSC keeps
 * Int32Array loads in integer registers, while Uint32Array loads >= 2^31 become
 * doubles. Cached per view object, so a slot view reused frame after frame costs
 * no allocation.
 */
export function words(u8: Uint8Array): Int32Array | null {
  if ((u8.byteOffset & 3) !== 0) return null;
  let v = wordCache.get(u8);
  if (v === undefined) {
    v = new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
    wordCache.set(u8, v);
  }
  return v;
}

/** A grow-only Int32Array scratch buffer (allocated on first use, grown only when a larger size is asked). */
export class Int32Scratch {
  private buf = new Int32Array(0);
  get(n: number): Int32Array {
    if (this.buf.length < n) this.buf = new Int32Array(n);
    return this.buf;
  }
}

/** Width of a yuv420p chroma plane (ffmpeg's AV_CEIL_RSHIFT(w, 1)); defined with the formats. */
export { chromaDim };

/** Per-plane worker: treats one plane as a gray8 image (srcOff/dstOff are byte offsets of the plane). */
export type PlaneFn = (
  src: Uint8Array,
  dst: Uint8Array,
  srcOff: number,
  dstOff: number,
  w: number,
  h: number,
  ow: number,
  oh: number,
) => void;

/**
 * Runs `fn` on the Y, U and V planes of a yuv420p frame: input planes w x h then
 * 2 x ceil(w/2) x ceil(h/2); output planes ow x oh then 2 x ceil(ow/2) x ceil(oh/2).
 * `fn` should be a module-level function so that no closure is allocated per frame.
 */
export function forEachPlane(src: Uint8Array, dst: Uint8Array, w: number, h: number, ow: number, oh: number, fn: PlaneFn): void {
  const cw = chromaDim(w);
  const ch = chromaDim(h);
  const ocw = chromaDim(ow);
  const och = chromaDim(oh);
  fn(src, dst, 0, 0, w, h, ow, oh);
  fn(src, dst, w * h, ow * oh, cw, ch, ocw, och);
  fn(src, dst, w * h + cw * ch, ow * oh + ocw * och, cw, ch, ocw, och);
}

const planeCache = new WeakMap<Uint8Array, { w: number; h: number; planes: [Uint8Array, Uint8Array, Uint8Array] }>();

/**
 * The Y, U and V planes of a yuv420p frame of w x h in `u8`, as views (Y w x h,
 * then U and V ceil(w/2) x ceil(h/2)). Cached per view object and geometry,
 * so a slot view reused frame after frame costs no allocation.
 */
export function yuvPlanes(u8: Uint8Array, w: number, h: number): [Uint8Array, Uint8Array, Uint8Array] {
  const c = planeCache.get(u8);
  if (c !== undefined && c.w === w && c.h === h) return c.planes;
  const y = w * h;
  const uv = chromaDim(w) * chromaDim(h);
  const planes: [Uint8Array, Uint8Array, Uint8Array] = [u8.subarray(0, y), u8.subarray(y, y + uv), u8.subarray(y + uv, y + 2 * uv)];
  planeCache.set(u8, { w, h, planes });
  return planes;
}
