/**
 * Neighbourhood filters: blur (box), gaussian (5x5 binomial), sobel (edges).
 *
 * Edges are clamped everywhere: a sample outside the frame reads the nearest
 * pixel inside it (replicate border), so every window always has its full
 * weight and the normalisation never changes near the border. Colour formats
 * are filtered channel by channel (rgba32: alpha too, like any channel).
 *
 * yuv420p is filtered in place of converting it, per plane as ffmpeg's filters
 * do: blur and gaussian run on Y, U and V alike (the same radius on the
 * half-size chroma planes, as boxblur's default chroma_radius = luma_radius);
 * sobel runs on Y and sets U and V to 128, so the result is a grey edge image
 * (ffmpeg's sobel on chroma planes gives ~0 chroma, a green image).
 */
import { Int32Scratch, LITTLE_ENDIAN, chromaDim, words, yuvPlanes } from "./buffers";
import { Format } from "../frame/format";
import { ALL_FORMATS, channels, intArg, noArg, sameSize, type OpDef } from "./types";

/** Formats the filters accept: gray8 and yuv420p for sobel, every ring format for blur and gaussian. */
const SOBEL_FORMATS = [Format.gray8, Format.yuv420p] as const;

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
  const last = h - 1;
  // V for y = 0: rows -R..-1 clamp to row 0, so row 0 counts R+1 times.
  for (let i = 0; i < row; i++) col[i] = (R + 1) * src[i]!;
  for (let k = 1; k <= R; k++) boxColumns(src, col, (k < last ? k : last) * row, -1, row);
  for (let y = 0; y < h; y++) {
    if (y > 0) boxColumns(src, col, (y + R < last ? y + R : last) * row, (y - R - 1 > 0 ? y - R - 1 : 0) * row, row);
    boxRow(col, dst, y * row, row, C, R);
  }
}

/** col[i] += src[add + i] (- src[sub + i] unless sub < 0) for one row of `row` bytes. */
function boxColumns(src: Uint8Array, col: Int32Array, add: number, sub: number, row: number): void {
  if (sub < 0) for (let i = 0; i < row; i++) col[i] = col[i]! + src[add + i]!;
  else for (let i = 0; i < row; i++) col[i] = col[i]! + src[add + i]! - src[sub + i]!;
}

/** One output row: per channel, a horizontal running sum of `col` over x-R..x+R (clamped), divided with rounding. */
function boxRow(col: Int32Array, dst: Uint8Array, out: number, row: number, C: number, R: number): void {
  const n = (2 * R + 1) * (2 * R + 1);
  const half = n >> 1;
  const lastX = row - C;
  const addOff = (R + 1) * C;
  const subOff = R * C;
  for (let c = 0; c < C; c++) {
    let s = (R + 1) * col[c]!;
    for (let k = 1; k <= R; k++) {
      const xk = k * C;
      s += col[(xk < lastX ? xk : lastX) + c]!;
    }
    const lastC = lastX + c;
    for (let x = c; x < row; x += C) {
      dst[out + x] = ((s + half) / n) | 0; // exact: float division of integers < 2^31, truncated
      const xa = x + addOff;
      const xs = x - subOff;
      s += col[xa <= lastC ? xa : lastC]! - col[xs >= c ? xs : c]!;
    }
  }
}

export const blurDef: OpDef = {
  name: "blur",
  syntax: `blur[:R]  R = 1..${MAX_BLUR_RADIUS}, default 1 (3x3)`,
  formats: ALL_FORMATS,
  formula:
    "box average over the (2R+1)x(2R+1) window, n = (2R+1)^2: out = floor((sum + floor(n/2)) / n) " +
    "(round half up); per channel incl. rgba32 alpha; yuv420p per plane, the same R on Y, U and V " +
    "(interior within 1 of ffmpeg boxblur=R:1, which rounds after each 1D pass); running sums, cost independent of R",
  edges: "clamped (replicate border pixels), so n is constant",
  create(arg) {
    const r = arg === undefined ? 1 : intArg("blur", arg, 1, MAX_BLUR_RADIUS, "the radius R", "blur:2");
    const scratch = new Int32Scratch();
    return sameSize(`blur:${r}`, ALL_FORMATS, (src, g, dst) => {
      if (g.fmt === Format.yuv420p) {
        const col = scratch.get(g.w);
        const s = yuvPlanes(src, g.w, g.h);
        const d = yuvPlanes(dst, g.w, g.h);
        const cw = chromaDim(g.w);
        const ch = chromaDim(g.h);
        boxBlur(s[0], d[0], g.w, g.h, 1, r, col);
        boxBlur(s[1], d[1], cw, ch, 1, r, col);
        boxBlur(s[2], d[2], cw, ch, 1, r, col);
        return;
      }
      const C = channels(g.fmt);
      boxBlur(src, dst, g.w, g.h, C, r, scratch.get(g.w * C));
    });
  },
};

// ---------------------------------------------------------------- gaussian

/**
 * 5x5 binomial Gaussian, kernel k = [1 4 6 4 1]^T [1 4 6 4 1] / 256:
 * out = (sum k(dx,dy) * in(clamp(x+dx), clamp(y+dy)) + 128) >> 8.
 * Separable and exact: the vertical pass writes the integer column sums
 * (1,4,6,4,1 over rows y-2..y+2, clamped) into a row `t` padded by 2 replicated
 * pixels each side; the horizontal pass slides a 5-tap window over `t`.
 * When every row starts on a 4-byte boundary (little-endian host, aligned src,
 * row bytes % 4 == 0) the vertical pass reads 4 bytes per load and sums two
 * 16-bit lanes at a time (max lane value 16 * 255 = 4080, no carry between lanes).
 */
function gaussian5(src: Uint8Array, dst: Uint8Array, w: number, h: number, C: number, t: Int32Array): void {
  const row = w * C;
  const last = h - 1;
  const pad = 2 * C;
  const s32 = LITTLE_ENDIAN && (row & 3) === 0 ? words(src) : null;
  for (let y = 0; y < h; y++) {
    const r0 = (y - 2 > 0 ? y - 2 : 0) * row;
    const r1 = (y - 1 > 0 ? y - 1 : 0) * row;
    const r3 = (y + 1 < last ? y + 1 : last) * row;
    const r4 = (y + 2 < last ? y + 2 : last) * row;
    if (s32 !== null) gaussColumnsWords(s32, t, pad, row >> 2, r0 >> 2, r1 >> 2, (y * row) >> 2, r3 >> 2, r4 >> 2);
    else gaussColumnsBytes(src, t, pad, row, r0, r1, y * row, r3, r4);
    for (let c = 0; c < C; c++) {
      const first = t[pad + c]!;
      const end = t[pad + row - C + c]!;
      t[c] = first;
      t[C + c] = first;
      t[pad + row + c] = end;
      t[pad + row + C + c] = end;
    }
    gaussRow(t, dst, y * row, row, C);
  }
}

/** Vertical pass, bytewise: t[pad + i] = s0 + 4 s1 + 6 s2 + 4 s3 + s4 of the five rows at byte offsets r0..r4. */
function gaussColumnsBytes(src: Uint8Array, t: Int32Array, pad: number, row: number, r0: number, r1: number, r2: number, r3: number, r4: number): void {
  for (let i = 0; i < row; i++) {
    t[pad + i] = src[r0 + i]! + 4 * (src[r1 + i]! + src[r3 + i]!) + 6 * src[r2 + i]! + src[r4 + i]!;
  }
}

/**
 * Vertical pass, 4 bytes per load (rows at word offsets q0..q4): bytes 0 and 2 of
 * each word are summed in the two 16-bit lanes of `ev`, bytes 1 and 3 in `od`.
 */
function gaussColumnsWords(s32: Int32Array, t: Int32Array, pad: number, nw: number, q0: number, q1: number, q2: number, q3: number, q4: number): void {
  for (let k = 0, i = pad; k < nw; k++, i += 4) {
    const a = s32[q0 + k]!;
    const b = s32[q1 + k]!;
    const c = s32[q2 + k]!;
    const d = s32[q3 + k]!;
    const e = s32[q4 + k]!;
    const ev = (a & 0x00ff00ff) + 4 * ((b & 0x00ff00ff) + (d & 0x00ff00ff)) + 6 * (c & 0x00ff00ff) + (e & 0x00ff00ff);
    const od =
      ((a >>> 8) & 0x00ff00ff) + 4 * (((b >>> 8) & 0x00ff00ff) + ((d >>> 8) & 0x00ff00ff)) + 6 * ((c >>> 8) & 0x00ff00ff) + ((e >>> 8) & 0x00ff00ff);
    t[i] = ev & 0xffff;
    t[i + 1] = od & 0xffff;
    t[i + 2] = ev >>> 16;
    t[i + 3] = od >>> 16;
  }
}

/** Horizontal pass over the padded column sums: per channel, a sliding 5-tap window (one load per output byte). */
function gaussRow(t: Int32Array, dst: Uint8Array, r2: number, row: number, C: number): void {
  for (let c = 0; c < C; c++) {
    let p0 = t[c]!;
    let p1 = t[C + c]!;
    let p2 = t[2 * C + c]!;
    let p3 = t[3 * C + c]!;
    for (let i = r2 + c, j = 4 * C + c, end = r2 + row; i < end; i += C, j += C) {
      const p4 = t[j]!;
      dst[i] = (p0 + 4 * (p1 + p3) + 6 * p2 + p4 + 128) >> 8;
      p0 = p1;
      p1 = p2;
      p2 = p3;
      p3 = p4;
    }
  }
}

export const gaussianDef: OpDef = {
  name: "gaussian",
  syntax: "gaussian",
  formats: ALL_FORMATS,
  formula:
    "5x5 kernel [1 4 6 4 1]^T x [1 4 6 4 1] / 256: out = (sum + 128) >> 8 (round half up); per channel incl. rgba32 alpha; " +
    "yuv420p per plane (Y, U, V); = ffmpeg convolution with this kernel and rdiv 1/256 away from the border",
  edges: "clamped (replicate border pixels)",
  create(arg) {
    noArg("gaussian", arg);
    const scratch = new Int32Scratch();
    return sameSize("gaussian", ALL_FORMATS, (src, g, dst) => {
      if (g.fmt === Format.yuv420p) {
        const t = scratch.get(g.w + 4);
        const s = yuvPlanes(src, g.w, g.h);
        const d = yuvPlanes(dst, g.w, g.h);
        const cw = chromaDim(g.w);
        const ch = chromaDim(g.h);
        gaussian5(s[0], d[0], g.w, g.h, 1, t);
        gaussian5(s[1], d[1], cw, ch, 1, t);
        gaussian5(s[2], d[2], cw, ch, 1, t);
        return;
      }
      const C = channels(g.fmt);
      gaussian5(src, dst, g.w, g.h, C, scratch.get((g.w + 4) * C));
    });
  },
};

// ---------------------------------------------------------------- sobel

/**
 * Sobel gradient magnitude, L1 norm: out = min(255, |gx| + |gy|) with
 *   gx = [-1 0 1; -2 0 2; -1 0 1],  gy = [-1 -2 -1; 0 0 0; 1 2 1]
 * (x to the right, y down), coordinates clamped. Interior pixels slide a 3x3
 * window along the row (3 loads per pixel) with branch-free abs/min; the first
 * and last column use clamped neighbours.
 */
function sobel(src: Uint8Array, dst: Uint8Array, w: number, h: number): void {
  const last = h - 1;
  for (let y = 0; y < h; y++) {
    const a = (y > 0 ? y - 1 : 0) * w;
    const b = y * w;
    const c = (y < last ? y + 1 : last) * w;
    sobelAt(src, dst, a, b, c, 0, w);
    if (w > 1) sobelAt(src, dst, a, b, c, w - 1, w);
    if (w > 2) sobelInterior(src, dst, a, b, c, w);
  }
}

/** Columns 1..w-2 of one row (rows above/at/below at byte offsets a, b, c), sliding the 3x3 window. */
function sobelInterior(src: Uint8Array, dst: Uint8Array, a: number, b: number, c: number, w: number): void {
  let t0 = src[a]!;
  let m0 = src[b]!;
  let b0 = src[c]!;
  let t1 = src[a + 1]!;
  let m1 = src[b + 1]!;
  let b1 = src[c + 1]!;
  for (let x = 1; x < w - 1; x++) {
    const t2 = src[a + x + 1]!;
    const m2 = src[b + x + 1]!;
    const b2 = src[c + x + 1]!;
    const gx = t2 + 2 * m2 + b2 - (t0 + 2 * m0 + b0);
    const gy = b0 + 2 * b1 + b2 - (t0 + 2 * t1 + t2);
    const sx = gx >> 31;
    const sy = gy >> 31;
    const m = (gx ^ sx) - sx + ((gy ^ sy) - sy);
    dst[b + x] = m | ((255 - m) >> 31); // m > 255 stores -1, i.e. 255
    t0 = t1;
    t1 = t2;
    m0 = m1;
    m1 = m2;
    b0 = b1;
    b1 = b2;
  }
}

/** One Sobel pixel at column x with clamped columns (used for the first/last column). */
function sobelAt(src: Uint8Array, dst: Uint8Array, a: number, b: number, c: number, x: number, w: number): void {
  const l = x > 0 ? x - 1 : 0;
  const r = x < w - 1 ? x + 1 : w - 1;
  const gx = src[a + r]! + 2 * src[b + r]! + src[c + r]! - src[a + l]! - 2 * src[b + l]! - src[c + l]!;
  const gy = src[c + l]! + 2 * src[c + x]! + src[c + r]! - src[a + l]! - 2 * src[a + x]! - src[a + r]!;
  const m = Math.abs(gx) + Math.abs(gy);
  dst[b + x] = m > 255 ? 255 : m;
}

/** Sets the U and V planes of a yuv420p frame to 128 (no colour). */
export function neutralChroma(dst: Uint8Array, w: number, h: number): void {
  const d = yuvPlanes(dst, w, h);
  d[1].fill(128);
  d[2].fill(128);
}

export const sobelDef: OpDef = {
  name: "sobel",
  syntax: "sobel",
  formats: SOBEL_FORMATS,
  formula:
    "gx = [-1 0 1; -2 0 2; -1 0 1], gy = [-1 -2 -1; 0 0 0; 1 2 1] (x right, y down); " +
    "out = min(255, |gx| + |gy|) (L1 magnitude, integer, no sqrt: between ffmpeg sobel's sqrt(gx^2+gy^2) and sqrt(2) times it); " +
    "yuv420p: on Y, with U = V = 128 (a grey edge image)",
  edges: "clamped (replicate border pixels): a flat border gives 0",
  create(arg) {
    noArg("sobel", arg);
    return sameSize("sobel", SOBEL_FORMATS, (src, g, dst) => {
      sobel(src, dst, g.w, g.h);
      if (g.fmt === Format.yuv420p) neutralChroma(dst, g.w, g.h);
    });
  },
};

