/**
 * Neighbourhood filters: blur (box), gaussian (5x5 binomial), sobel (edges).
 *
 * Edges are clamped everywhere: a sample outside the frame reads the nearest
 * pixel inside it (replicate border), so every window always has its full
 * weight and the normalisation never changes near the border. Colour formats
 * are filtered channel by channel (rgba32: alpha too, like any channel).
 */
import { Int32Scratch } from "./buffers";
import { GRAY_ONLY, PACKED_FORMATS, channels, intArg, noArg, sameSize, type OpDef } from "./types";

// ---------------------------------------------------------------- blur

export const MAX_BLUR_RADIUS = 1000;

/**
 * Box blur of radius R: out = floor((S + floor(n/2)) / n), S = sum of the
 * (2R+1) x (2R+1) window around the pixel with clamped coordinates, n = (2R+1)^2.
 *
 * Computed with running sums, O(1) per pixel whatever R: `col` holds, for the
 * current output row y, the vertical window sums V(x) = sum_{dy=-R..R} in(x, clamp(y+dy)),
 * updated row to row by adding the entering row and removing the leaving one;
 * each output row is then a horizontal running sum of V with clamped x. The sum
 * is exact integer arithmetic, so the result equals the direct 2D average.
 */
function boxBlur(src: Uint8Array, dst: Uint8Array, w: number, h: number, C: number, R: number, col: Int32Array): void {
  const row = w * C;
  const n = (2 * R + 1) * (2 * R + 1);
  const half = n >> 1;
  const last = h - 1;
  // V for y = 0: rows -R..-1 clamp to row 0, so row 0 counts R+1 times.
  for (let i = 0; i < row; i++) col[i] = (R + 1) * src[i];
  for (let k = 1; k <= R; k++) {
    const r = (k < last ? k : last) * row;
    for (let i = 0; i < row; i++) col[i] += src[r + i];
  }
  const lastX = (w - 1) * C;
  for (let y = 0; y < h; y++) {
    if (y > 0) {
      const add = (y + R < last ? y + R : last) * row;
      const sub = (y - R - 1 > 0 ? y - R - 1 : 0) * row;
      for (let i = 0; i < row; i++) col[i] += src[add + i] - src[sub + i];
    }
    const out = y * row;
    for (let c = 0; c < C; c++) {
      let s = (R + 1) * col[c];
      for (let k = 1; k <= R; k++) {
        const xk = k * C;
        s += col[(xk < lastX ? xk : lastX) + c];
      }
      const addOff = (R + 1) * C;
      const subOff = R * C;
      for (let x = c; x < row; x += C) {
        dst[out + x] = ((s + half) / n) | 0;
        const xa = x + addOff;
        const xs = x - subOff;
        s += col[xa <= lastX + c ? xa : lastX + c] - col[xs >= c ? xs : c];
      }
    }
  }
}

export const blurDef: OpDef = {
  name: "blur",
  syntax: `blur[:R]  R = 1..${MAX_BLUR_RADIUS}, default 1 (3x3)`,
  formats: PACKED_FORMATS,
  formula:
    "box average over the (2R+1)x(2R+1) window, n = (2R+1)^2: out = floor((sum + floor(n/2)) / n) " +
    "(round half up); per channel incl. rgba32 alpha; running sums, cost independent of R",
  edges: "clamped (replicate border pixels), so n is constant",
  create(arg) {
    const r = arg === undefined ? 1 : intArg("blur", arg, 1, MAX_BLUR_RADIUS, "the radius R", "blur:2");
    const scratch = new Int32Scratch();
    return sameSize(`blur:${r}`, PACKED_FORMATS, (src, g, dst) => {
      const C = channels(g.fmt);
      boxBlur(src, dst, g.w, g.h, C, r, scratch.get(g.w * C));
    });
  },
};

// ---------------------------------------------------------------- gaussian

/**
 * 5x5 binomial Gaussian, kernel k = [1 4 6 4 1]^T [1 4 6 4 1] / 256:
 * out = (sum k(dx,dy) * in(clamp(x+dx), clamp(y+dy)) + 128) >> 8.
 * Separable and exact: the vertical pass writes integer column sums into a row
 * padded by 2 replicated pixels each side (`t`), the horizontal pass combines them.
 */
function gaussian5(src: Uint8Array, dst: Uint8Array, w: number, h: number, C: number, t: Int32Array): void {
  const row = w * C;
  const last = h - 1;
  const pad = 2 * C;
  for (let y = 0; y < h; y++) {
    const r0 = (y - 2 > 0 ? y - 2 : 0) * row;
    const r1 = (y - 1 > 0 ? y - 1 : 0) * row;
    const r2 = y * row;
    const r3 = (y + 1 < last ? y + 1 : last) * row;
    const r4 = (y + 2 < last ? y + 2 : last) * row;
    for (let i = 0; i < row; i++) {
      t[pad + i] = src[r0 + i] + 4 * (src[r1 + i] + src[r3 + i]) + 6 * src[r2 + i] + src[r4 + i];
    }
    for (let c = 0; c < C; c++) {
      const first = t[pad + c];
      const end = t[pad + row - C + c];
      t[c] = first;
      t[C + c] = first;
      t[pad + row + c] = end;
      t[pad + row + C + c] = end;
    }
    const C2 = 2 * C;
    const C3 = 3 * C;
    const C4 = 4 * C;
    for (let i = 0; i < row; i++) {
      dst[r2 + i] = (t[i] + 4 * (t[i + C] + t[i + C3]) + 6 * t[i + C2] + t[i + C4] + 128) >> 8;
    }
  }
}

export const gaussianDef: OpDef = {
  name: "gaussian",
  syntax: "gaussian",
  formats: PACKED_FORMATS,
  formula: "5x5 kernel [1 4 6 4 1]^T x [1 4 6 4 1] / 256: out = (sum + 128) >> 8 (round half up); per channel incl. rgba32 alpha",
  edges: "clamped (replicate border pixels)",
  create(arg) {
    noArg("gaussian", arg);
    const scratch = new Int32Scratch();
    return sameSize("gaussian", PACKED_FORMATS, (src, g, dst) => {
      const C = channels(g.fmt);
      gaussian5(src, dst, g.w, g.h, C, scratch.get((g.w + 4) * C));
    });
  },
};

// ---------------------------------------------------------------- sobel

/**
 * Sobel gradient magnitude, L1 norm: out = min(255, |gx| + |gy|) with
 *   gx = [-1 0 1; -2 0 2; -1 0 1],  gy = [-1 -2 -1; 0 0 0; 1 2 1]
 * (x to the right, y down), coordinates clamped. Interior pixels take the fast
 * path; the first and last column use clamped neighbours.
 */
function sobel(src: Uint8Array, dst: Uint8Array, w: number, h: number): void {
  const last = h - 1;
  for (let y = 0; y < h; y++) {
    const a = (y > 0 ? y - 1 : 0) * w;
    const b = y * w;
    const c = (y < last ? y + 1 : last) * w;
    sobelAt(src, dst, a, b, c, 0, w);
    if (w > 1) sobelAt(src, dst, a, b, c, w - 1, w);
    for (let x = 1; x < w - 1; x++) {
      const tl = src[a + x - 1];
      const tr = src[a + x + 1];
      const bl = src[c + x - 1];
      const br = src[c + x + 1];
      const gx = tr + 2 * src[b + x + 1] + br - tl - 2 * src[b + x - 1] - bl;
      const gy = bl + 2 * src[c + x] + br - tl - 2 * src[a + x] - tr;
      const m = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
      dst[b + x] = m > 255 ? 255 : m;
    }
  }
}

/** One Sobel pixel at column x with clamped columns (used for the first/last column). */
function sobelAt(src: Uint8Array, dst: Uint8Array, a: number, b: number, c: number, x: number, w: number): void {
  const l = x > 0 ? x - 1 : 0;
  const r = x < w - 1 ? x + 1 : w - 1;
  const gx = src[a + r] + 2 * src[b + r] + src[c + r] - src[a + l] - 2 * src[b + l] - src[c + l];
  const gy = src[c + l] + 2 * src[c + x] + src[c + r] - src[a + l] - 2 * src[a + x] - src[a + r];
  const m = Math.abs(gx) + Math.abs(gy);
  dst[b + x] = m > 255 ? 255 : m;
}

export const sobelDef: OpDef = {
  name: "sobel",
  syntax: "sobel",
  formats: GRAY_ONLY,
  formula:
    "gx = [-1 0 1; -2 0 2; -1 0 1], gy = [-1 -2 -1; 0 0 0; 1 2 1] (x right, y down); " +
    "out = min(255, |gx| + |gy|) (L1 magnitude, integer, no sqrt)",
  edges: "clamped (replicate border pixels): a flat border gives 0",
  create(arg) {
    noArg("sobel", arg);
    return sameSize("sobel", GRAY_ONLY, (src, g, dst) => sobel(src, dst, g.w, g.h));
  },
};

