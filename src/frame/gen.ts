/**
 * Deterministic synthetic frames: a seeded noise-and-gradient image, shifted
 * by a frame-dependent offset, so every frame differs and the stream is
 * byte-identical for the same (count, size, format, seed).
 */
import { payloadBytes, type Format } from "./format";

/** xorshift32 PRNG. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Base image twice over, so frame i is a window at offset (i * 4099) % len. */
export function makePattern(w: number, h: number, fmt: Format, seed: number): Uint8Array {
  const len = payloadBytes(w, h, fmt);
  const buf = new Uint8Array(len * 2);
  const rnd = prng(seed);
  for (let k = 0; k < len; k++) {
    const px = k % Math.max(1, w);
    buf[k] = ((px * 255) / Math.max(1, w - 1) + (rnd() & 63)) & 255;
  }
  buf.copyWithin(len, 0, len);
  return buf;
}

export function frameOffset(i: number, len: number): number {
  return (i * 4099) % len;
}
