/**
 * Unit tests of the op library: hand-computed small images for every op and
 * every claimed format, odd sizes and 1x1, argument/format errors, chains, and
 * the buffer contract (oversized, misaligned src/dst; bytes past the payload untouched).
 */
import { describe, expect, test } from "bun:test";
import { InvalidInput } from "../src/errors";
import { Format, payloadBytes, type Geometry } from "../src/frame/format";
import { Chain, parseChain } from "../src/ops/chain";
import { applyOpByOp } from "./helpers";
import { OP_DOCS, renderOpsTable } from "../src/ops/docs";
import { OP_DEFS, OPS } from "../src/ops/registry";
import type { Step } from "../src/ops/types";

const { gray8, rgb24, rgba32, yuv420p } = Format;
const ALL: Format[] = [gray8, rgb24, rgba32, yuv420p];
type Size = [number, number];

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) & 255;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
}

function randomFrame(w: number, h: number, fmt: Format, seed: number): Uint8Array {
  return randomBytes(payloadBytes(w, h, fmt), seed);
}

function op1(spec: string): Step {
  const ops = parseChain(spec);
  expect(ops.length).toBe(1);
  return ops[0]!;
}

/**
 * Applies `op` to `input` three times, with src/dst views that are longer than
 * the payload, filled with garbage, at byte offsets 0/0, 1/3 and 4/8 (aligned and
 * misaligned). Checks that the three results agree, that src is not modified and
 * that dst bytes outside the payload are untouched. Returns [output, geometry].
 */
function run(op: Step, g: Geometry, input: Uint8Array | number[]): [number[], Geometry] {
  const inBytes = Uint8Array.from(input);
  const og = op.out(g);
  const inN = payloadBytes(g.w, g.h, g.fmt);
  const outN = payloadBytes(og.w, og.h, og.fmt);
  expect(inBytes.length).toBe(inN);
  let first: number[] | null = null;
  for (const [so, dOff] of [
    [0, 0],
    [1, 3],
    [4, 8],
  ] as Size[]) {
    const srcBuf = randomBytes(so + inN + 37, 7 + so);
    srcBuf.set(inBytes, so);
    const srcCopy = srcBuf.slice();
    const dstBuf = randomBytes(dOff + outN + 41, 99 + dOff);
    const dstCopy = dstBuf.slice();
    op.apply(srcBuf.subarray(so, so + inN + 29), g, dstBuf.subarray(dOff), og);
    expect(srcBuf).toEqual(srcCopy);
    expect(dstBuf.subarray(0, dOff)).toEqual(dstCopy.subarray(0, dOff));
    expect(dstBuf.subarray(dOff + outN)).toEqual(dstCopy.subarray(dOff + outN));
    const out = Array.from(dstBuf.subarray(dOff, dOff + outN));
    if (first === null) first = out;
    else expect(out).toEqual(first);
  }
  return [first!, og];
}

/** Output bytes of a one-op spec on a w x h frame of `fmt`. */
function apply(spec: string, w: number, h: number, fmt: Format, input: Uint8Array | number[]): number[] {
  return run(op1(spec), { w, h, fmt }, input)[0];
}

/** Packs gray test values into `C` channels: channel c of a pixel is v + 50c (mod 256). */
function expand(gray: number[], C: number): number[] {
  const out: number[] = [];
  for (const v of gray) for (let c = 0; c < C; c++) out.push((v + 50 * c) & 255);
  return out;
}

function expectInvalid(fn: () => unknown, msg: RegExp | string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidInput);
  expect((err as InvalidInput).code).toBe(2);
  if (typeof msg === "string") expect((err as Error).message).toBe(msg);
  else expect((err as Error).message).toMatch(msg);
}

// ------------------------------------------------------------------ references used by the filter tests

const clampI = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Direct 2D (2R+1)^2 box average, clamped edges, (sum + n/2) / n. */
function naiveBox(src: Uint8Array, w: number, h: number, C: number, R: number): number[] {
  const n = (2 * R + 1) ** 2;
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let dy = -R; dy <= R; dy++)
          for (let dx = -R; dx <= R; dx++) s += src[(clampI(y + dy, 0, h - 1) * w + clampI(x + dx, 0, w - 1)) * C + c]!;
        out.push(Math.floor((s + Math.floor(n / 2)) / n));
      }
  return out;
}

const K5 = [1, 4, 6, 4, 1];
function naiveGauss(src: Uint8Array, w: number, h: number, C: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++)
            s += K5[dy + 2]! * K5[dx + 2]! * src[(clampI(y + dy, 0, h - 1) * w + clampI(x + dx, 0, w - 1)) * C + c]!;
        out.push((s + 128) >> 8);
      }
  return out;
}

/** The planes of a yuv420p frame as gray8 images: [data, w, h] for Y, U, V. */
function yuvPlanesOf(f: Uint8Array | number[], w: number, h: number): [Uint8Array, number, number][] {
  const a = Uint8Array.from(f);
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  return [
    [a.subarray(0, w * h), w, h],
    [a.subarray(w * h, w * h + cw * ch), cw, ch],
    [a.subarray(w * h + cw * ch, w * h + 2 * cw * ch), cw, ch],
  ];
}

function naiveSobel(src: Uint8Array, w: number, h: number): number[] {
  const p = (x: number, y: number) => src[clampI(y, 0, h - 1) * w + clampI(x, 0, w - 1)]!;
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const gx = p(x + 1, y - 1) + 2 * p(x + 1, y) + p(x + 1, y + 1) - p(x - 1, y - 1) - 2 * p(x - 1, y) - p(x - 1, y + 1);
      const gy = p(x - 1, y + 1) + 2 * p(x, y + 1) + p(x + 1, y + 1) - p(x - 1, y - 1) - 2 * p(x, y - 1) - p(x + 1, y - 1);
      out.push(Math.min(255, Math.abs(gx) + Math.abs(gy)));
    }
  return out;
}

// ------------------------------------------------------------------ point ops

describe("identity", () => {
  test("copies every format, odd sizes and 1x1", () => {
    for (const fmt of ALL)
      for (const [w, h] of [
        [1, 1],
        [3, 2],
        [7, 5],
      ] as Size[]) {
        const f = randomFrame(w, h, fmt, w * 10 + fmt);
        expect(apply("identity", w, h, fmt, f)).toEqual(Array.from(f));
      }
  });
});

describe("invert", () => {
  test("gray8 3x2", () => {
    expect(apply("invert", 3, 2, gray8, [0, 1, 2, 253, 254, 255])).toEqual([255, 254, 253, 2, 1, 0]);
  });
  test("rgb24 3x2 (18 bytes: 4 words + 2 tail bytes)", () => {
    const src = Array.from({ length: 18 }, (_, i) => i * 14);
    expect(apply("invert", 3, 2, rgb24, src)).toEqual(src.map((v) => 255 - v));
  });
  test("rgba32 keeps alpha", () => {
    expect(apply("invert", 2, 1, rgba32, [10, 20, 30, 40, 0, 255, 128, 7])).toEqual([245, 235, 225, 40, 255, 0, 127, 7]);
  });
  test("yuv420p 3x3: every byte of Y, U and V, full range", () => {
    const src = Array.from({ length: 17 }, (_, i) => i * 15);
    expect(apply("invert", 3, 3, yuv420p, src)).toEqual(src.map((v) => 255 - v));
  });
  test("1x1 in every format", () => {
    expect(apply("invert", 1, 1, gray8, [9])).toEqual([246]);
    expect(apply("invert", 1, 1, rgb24, [0, 100, 255])).toEqual([255, 155, 0]);
    expect(apply("invert", 1, 1, rgba32, [0, 100, 255, 33])).toEqual([255, 155, 0, 33]);
    expect(apply("invert", 1, 1, yuv420p, [16, 128, 240])).toEqual([239, 127, 15]);
  });
  test("negate is an alias", () => {
    expect(op1("negate").name).toBe("invert");
  });
});

describe("threshold", () => {
  const src = [0, 127, 128, 129, 200, 255];
  test("v >= T ? 255 : 0", () => {
    expect(apply("threshold:128", 3, 2, gray8, src)).toEqual([0, 0, 255, 255, 255, 255]);
    expect(apply("threshold", 3, 2, gray8, src)).toEqual([0, 0, 255, 255, 255, 255]);
    expect(apply("threshold=0", 3, 2, gray8, src)).toEqual([255, 255, 255, 255, 255, 255]);
    expect(apply("threshold:255", 3, 2, gray8, src)).toEqual([0, 0, 0, 0, 0, 255]);
    expect(apply("threshold:1", 1, 1, gray8, [0])).toEqual([0]);
  });
  test("canonical name", () => {
    expect(op1("threshold").name).toBe("threshold:128");
    expect(op1("THRESHOLD = 7").name).toBe("threshold:7");
  });
  test("refuses colour, pointing at grayscale", () => {
    expectInvalid(() => op1("threshold:9").out({ w: 2, h: 2, fmt: rgb24 }), /does not accept rgb24 input; put "grayscale" before it/);
  });
  test("yuv420p: Y thresholded, U and V set to 128 (a black and white image)", () => {
    const f = randomFrame(5, 3, yuv420p, 11);
    const out = apply("threshold:100", 5, 3, yuv420p, f);
    expect(out.slice(0, 15)).toEqual([...f.subarray(0, 15)].map((v) => (v >= 100 ? 255 : 0)));
    expect(out.slice(15)).toEqual(new Array(12).fill(128));
  });
});

describe("brightness", () => {
  test("saturating add", () => {
    expect(apply("brightness:+20", 2, 2, gray8, [0, 100, 240, 255])).toEqual([20, 120, 255, 255]);
    expect(apply("brightness:-20", 2, 2, gray8, [0, 100, 240, 255])).toEqual([0, 80, 220, 235]);
    expect(apply("brightness=20", 1, 1, rgb24, [0, 250, 3])).toEqual([20, 255, 23]);
  });
  test("rgba32 alpha untouched", () => {
    expect(apply("brightness:20", 2, 1, rgba32, [10, 20, 30, 40, 250, 0, 1, 255])).toEqual([30, 40, 50, 40, 255, 20, 21, 255]);
  });
  test("canonical name keeps the sign", () => {
    expect(op1("brightness:20").name).toBe("brightness:+20");
    expect(op1("brightness:-5").name).toBe("brightness:-5");
  });
  test("yuv420p: Y only, U and V kept (as ffmpeg eq maps luma)", () => {
    const f = randomFrame(5, 3, yuv420p, 12);
    const out = apply("brightness:+30", 5, 3, yuv420p, f);
    expect(out.slice(0, 15)).toEqual([...f.subarray(0, 15)].map((v) => Math.min(255, v + 30)));
    expect(out.slice(15)).toEqual([...f.subarray(15)]);
    const c = apply("contrast:2", 5, 3, yuv420p, f);
    expect(c.slice(15)).toEqual([...f.subarray(15)]);
  });
});

describe("contrast", () => {
  test("((v - 128) * F + 128) rounded half up, clamped", () => {
    expect(apply("contrast:2", 7, 1, gray8, [0, 64, 127, 128, 129, 200, 255])).toEqual([0, 0, 126, 128, 130, 255, 255]);
    // 129 -> 129.5 -> 130, 127 -> 126.5 -> 127 (half up), 126 -> 125
    expect(apply("contrast:1.5", 3, 1, gray8, [129, 127, 126])).toEqual([130, 127, 125]);
    // 0 -> 64, 255 -> 191.5 -> 192, 1 -> 64.5 -> 65
    expect(apply("contrast=0.5", 3, 1, gray8, [0, 255, 1])).toEqual([64, 192, 65]);
    expect(apply("contrast:0", 1, 1, rgb24, [0, 77, 255])).toEqual([128, 128, 128]);
    expect(apply("contrast:1", 1, 1, rgba32, [0, 77, 255, 5])).toEqual([0, 77, 255, 5]);
  });
  test("rgba32 alpha untouched", () => {
    expect(apply("contrast:2", 1, 1, rgba32, [100, 150, 128, 100])).toEqual([72, 172, 128, 100]);
  });
});

// ------------------------------------------------------------------ colour

describe("grayscale", () => {
  // (77R + 150G + 29B + 128) >> 8: red 77, green 149, blue 29, white 255, (10,20,30) 18
  const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30, 0, 0, 0];
  const gray = [77, 149, 29, 255, 18, 0];
  test("rgb24 3x2", () => {
    const [out, g] = run(op1("grayscale"), { w: 3, h: 2, fmt: rgb24 }, rgb);
    expect(out).toEqual(gray);
    expect(g).toEqual({ w: 3, h: 2, fmt: gray8 });
  });
  test("rgba32 ignores alpha", () => {
    const rgba: number[] = [];
    for (let i = 0; i < 6; i++) rgba.push(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, i * 40);
    expect(apply("grayscale", 3, 2, rgba32, rgba)).toEqual(gray);
  });
  test("gray8 copies, yuv420p takes the Y plane as is", () => {
    expect(apply("grayscale", 3, 1, gray8, [1, 2, 3])).toEqual([1, 2, 3]);
    const yuv = Array.from({ length: 17 }, (_, i) => i + 16);
    const [out, g] = run(op1("grayscale"), { w: 3, h: 3, fmt: yuv420p }, yuv);
    expect(out).toEqual(yuv.slice(0, 9));
    expect(g).toEqual({ w: 3, h: 3, fmt: gray8 });
  });
  test("1x1", () => {
    expect(apply("gray", 1, 1, rgb24, [10, 20, 30])).toEqual([18]);
    expect(apply("grayscale", 1, 1, yuv420p, [99, 1, 2])).toEqual([99]);
  });
});

describe("rgb", () => {
  test("gray8 replicates", () => {
    expect(apply("rgb", 2, 1, gray8, [7, 200])).toEqual([7, 7, 7, 200, 200, 200]);
  });
  test("rgb24 copies, rgba32 drops alpha", () => {
    expect(apply("rgb", 1, 1, rgb24, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(apply("rgb", 2, 1, rgba32, [1, 2, 3, 4, 5, 6, 7, 8])).toEqual([1, 2, 3, 5, 6, 7]);
  });
  test("yuv420p grays: Y 16 -> 0, 235 -> 255, 126 -> 128, 81 -> 76", () => {
    const [out, g] = run(op1("rgb"), { w: 2, h: 2, fmt: yuv420p }, [16, 235, 126, 81, 128, 128]);
    expect(out).toEqual([0, 0, 0, 255, 255, 255, 128, 128, 128, 76, 76, 76]);
    expect(g).toEqual({ w: 2, h: 2, fmt: rgb24 });
  });
  test("yuv420p BT.601 red (81, 90, 240) -> (255, 0, 0)", () => {
    expect(apply("rgb", 1, 1, yuv420p, [81, 90, 240])).toEqual([255, 0, 0]);
  });
  test("yuv420p 3x3: nearest chroma per 2x2 block, odd last row/column", () => {
    // Y all 126 (298*110 = 32780); U plane [128 128; 16 128], V plane [128 240; 128 16]
    const src = [...Array(9).fill(126), 128, 128, 16, 128, 128, 240, 128, 16];
    const grey = [128, 128, 128];
    const vHigh = [255, 37, 128]; // E=112: R=(32780+45808+128)>>8 clipped, G=(32780-23296+128)>>8=37
    const uLow = [128, 172, 0]; // D=-112: G=(32780+11200+128)>>8=172, B<0
    const vLow = [0, 219, 128]; // E=-112: R<0, G=(32780+23296+128)>>8=219
    expect(apply("rgb", 3, 3, yuv420p, src)).toEqual([
      ...grey, ...grey, ...vHigh,
      ...grey, ...grey, ...vHigh,
      ...uLow, ...uLow, ...vLow,
    ]);
  });
});

// ------------------------------------------------------------------ geometry

describe("flips and rotations", () => {
  // 3x2 gray:  1 2 3 / 4 5 6
  const g32 = [1, 2, 3, 4, 5, 6];
  const cases: [string, number[], number, number][] = [
    ["hflip", [3, 2, 1, 6, 5, 4], 3, 2],
    ["vflip", [4, 5, 6, 1, 2, 3], 3, 2],
    ["rotate180", [6, 5, 4, 3, 2, 1], 3, 2],
    ["rotate90", [4, 1, 5, 2, 6, 3], 2, 3],
    ["rotate270", [3, 6, 2, 5, 1, 4], 2, 3],
  ];
  for (const [spec, want, ow, oh] of cases) {
    test(`${spec} on 3x2 gray8/rgb24/rgba32`, () => {
      for (const fmt of [gray8, rgb24, rgba32]) {
        const C = fmt === gray8 ? 1 : fmt === rgb24 ? 3 : 4;
        const [out, g] = run(op1(spec), { w: 3, h: 2, fmt }, expand(g32, C));
        expect(out).toEqual(expand(want, C));
        expect(g).toEqual({ w: ow, h: oh, fmt });
      }
    });
  }
  test("rotate:90 / rotate=270 spell rotate90 / rotate270", () => {
    expect(op1("rotate:90").name).toBe("rotate90");
    expect(op1("rotate=270").name).toBe("rotate270");
    expect(op1("rotate:180").name).toBe("rotate180");
  });

  // yuv420p 3x3: Y 1..9 (1 2 3 / 4 5 6 / 7 8 9), U 2x2 10 11 / 12 13, V 14 15 / 16 17
  const yuv33 = Array.from({ length: 17 }, (_, i) => i + 1);
  const yuvCases: [string, number[]][] = [
    ["hflip", [3, 2, 1, 6, 5, 4, 9, 8, 7, 11, 10, 13, 12, 15, 14, 17, 16]],
    ["vflip", [7, 8, 9, 4, 5, 6, 1, 2, 3, 12, 13, 10, 11, 16, 17, 14, 15]],
    ["rotate180", [9, 8, 7, 6, 5, 4, 3, 2, 1, 13, 12, 11, 10, 17, 16, 15, 14]],
    ["rotate90", [7, 4, 1, 8, 5, 2, 9, 6, 3, 12, 10, 13, 11, 16, 14, 17, 15]],
    ["rotate270", [3, 6, 9, 2, 5, 8, 1, 4, 7, 11, 13, 10, 12, 15, 17, 14, 16]],
  ];
  for (const [spec, want] of yuvCases) {
    test(`${spec} on yuv420p 3x3 (planes independently)`, () => {
      expect(apply(spec, 3, 3, yuv420p, yuv33)).toEqual(want);
    });
  }
  test("rotate90 / rotate270 on non-square yuv420p 4x2", () => {
    // Y 1 2 3 4 / 5 6 7 8, U [10 11], V [12 13] -> 2x4, chroma 1x2
    const src = [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13];
    const [out, g] = run(op1("rotate90"), { w: 4, h: 2, fmt: yuv420p }, src);
    expect(out).toEqual([5, 1, 6, 2, 7, 3, 8, 4, 10, 11, 12, 13]);
    expect(g).toEqual({ w: 2, h: 4, fmt: yuv420p });
    expect(apply("rotate270", 4, 2, yuv420p, src)).toEqual([4, 8, 3, 7, 2, 6, 1, 5, 11, 10, 13, 12]);
  });
  test("1x1 is unchanged by every flip/rotation in every format", () => {
    for (const spec of ["hflip", "vflip", "rotate90", "rotate180", "rotate270"])
      for (const fmt of ALL) {
        const f = randomFrame(1, 1, fmt, fmt);
        expect(apply(spec, 1, 1, fmt, f)).toEqual(Array.from(f));
      }
  });
  test("large odd frames (several 64x64 tiles): rotations compose to the identity, agree with flips", () => {
    for (const fmt of ALL) {
      const [w, h] = [131, 77];
      const f = randomFrame(w, h, fmt, 5);
      const chain = (spec: string) => {
        const c = new Chain(parseChain(spec));
        const og = c.out({ w, h, fmt });
        const dst = new Uint8Array(payloadBytes(og.w, og.h, og.fmt));
        c.apply(f, { w, h, fmt }, dst);
        return Array.from(dst);
      };
      const id = Array.from(f);
      expect(chain("rotate90,rotate270")).toEqual(id);
      expect(chain("rotate90,rotate90,rotate90,rotate90")).toEqual(id);
      expect(chain("rotate90,rotate90")).toEqual(chain("rotate180"));
      expect(chain("rotate180")).toEqual(chain("hflip,vflip"));
      expect(chain("hflip,hflip")).toEqual(id);
      expect(chain("vflip,vflip")).toEqual(id);
    }
  });
});

describe("crop", () => {
  // 4x3 gray: 0 1 2 3 / 4 5 6 7 / 8 9 10 11
  const g43 = Array.from({ length: 12 }, (_, i) => i);
  test("gray8/rgb24/rgba32", () => {
    for (const fmt of [gray8, rgb24, rgba32]) {
      const C = fmt === gray8 ? 1 : fmt === rgb24 ? 3 : 4;
      const src = expand(g43, C);
      const [out, g] = run(op1("crop:2x2+1+1"), { w: 4, h: 3, fmt }, src);
      expect(out).toEqual(expand([5, 6, 9, 10], C));
      expect(g).toEqual({ w: 2, h: 2, fmt });
      expect(apply("crop=4x3+0+0", 4, 3, fmt, src)).toEqual(src);
      expect(apply("crop:1x1+3+2", 4, 3, fmt, src)).toEqual(expand([11], C));
      expect(apply("crop:2x2", 4, 3, fmt, src)).toEqual(expand([0, 1, 4, 5], C));
      expect(apply("crop:3x1+1+0", 4, 3, fmt, src)).toEqual(expand([1, 2, 3], C));
    }
  });
  test("yuv420p, even offsets, even and odd sizes", () => {
    // 4x4: Y 0..15, U 16..19 (2x2), V 20..23
    const y44 = Array.from({ length: 24 }, (_, i) => i);
    expect(apply("crop:2x1+2+2", 4, 4, yuv420p, y44)).toEqual([10, 11, 19, 23]);
    // 5x3: Y 0..14, U 15..20 (3x2), V 21..26; crop 3x3 at (2,0): chroma 2x2 at (1,0)
    const y53 = Array.from({ length: 27 }, (_, i) => i);
    const [out, g] = run(op1("crop:3x3+2+0"), { w: 5, h: 3, fmt: yuv420p }, y53);
    expect(out).toEqual([2, 3, 4, 7, 8, 9, 12, 13, 14, 16, 17, 19, 20, 22, 23, 25, 26]);
    expect(g).toEqual({ w: 3, h: 3, fmt: yuv420p });
  });
  test("1x1", () => {
    for (const fmt of ALL) {
      const f = randomFrame(1, 1, fmt, 3);
      expect(apply("crop:1x1+0+0", 1, 1, fmt, f)).toEqual(Array.from(f));
    }
  });
  test("canonical name", () => {
    expect(op1("crop=2x2").name).toBe("crop:2x2+0+0");
    expect(op1("crop: 640x480+10+20").name).toBe("crop:640x480+10+20");
  });
  test("errors: outside the frame, odd yuv offset, malformed", () => {
    expectInvalid(() => op1("crop:3x3+2+0").out({ w: 4, h: 3, fmt: gray8 }), /outside the 4x3 frame/);
    expectInvalid(() => op1("crop:1x1+0+3").out({ w: 4, h: 3, fmt: gray8 }), /outside/);
    expectInvalid(() => op1("crop:2x2+1+0").out({ w: 4, h: 4, fmt: yuv420p }), /X and Y must be even \(e\.g\. crop:2x2\+0\+0\)/);
    expectInvalid(() => op1("crop:2x2+0+1").out({ w: 4, h: 4, fmt: yuv420p }), /must be even/);
    expectInvalid(() => op1("crop:0x2"), /at least 1/);
    expectInvalid(() => op1("crop"), /needs a rectangle WxH\+X\+Y/);
    expectInvalid(() => op1("crop:2x"), /needs a rectangle/);
    expectInvalid(() => op1("crop:2x2+1"), /needs a rectangle/);
  });
});

// ------------------------------------------------------------------ filters

describe("blur", () => {
  test("3x3 box on 3x2 by hand (clamped edges, (sum+4)/9)", () => {
    // sums: 21 27 33 / 30 36 42 -> 2 3 4 / 3 4 5
    expect(apply("blur", 3, 2, gray8, [1, 2, 3, 4, 5, 6])).toEqual([2, 3, 4, 3, 4, 5]);
    expect(apply("blur:1", 3, 2, rgb24, expand([1, 2, 3, 4, 5, 6], 3))).toEqual(expand([2, 3, 4, 3, 4, 5], 3));
  });
  test("rounding: (sum + n/2) / n", () => {
    // 1x1 of value 0 with a neighbour: 2x1 [0, 1]: window for x=0: 0,0,1 per row x3 -> 3 -> (3+4)/9 = 0; x=1: 0,1,1 -> 6 -> 10/9 = 1
    expect(apply("blur", 2, 1, gray8, [0, 1])).toEqual([0, 1]);
    // 5x5 radius 2 (n=25): single 255 at the centre -> (255 + 12)/25 = 10 everywhere the window covers it
    const img = Array(25).fill(0);
    img[12] = 255;
    expect(apply("blur:2", 5, 5, gray8, img)).toEqual(Array(25).fill(10));
  });
  test("1x1 is unchanged for any radius", () => {
    for (const r of [1, 2, 10]) expect(apply(`blur:${r}`, 1, 1, rgba32, [9, 99, 199, 255])).toEqual([9, 99, 199, 255]);
  });
  test("equals the direct 2D box average (odd sizes, R up to and beyond the frame size)", () => {
    for (const fmt of [gray8, rgb24, rgba32])
      for (const [w, h] of [
        [1, 7],
        [7, 1],
        [7, 5],
        [33, 17],
      ] as Size[])
        for (const r of [1, 2, 3, 7, 40]) {
          const C = fmt === gray8 ? 1 : fmt === rgb24 ? 3 : 4;
          const f = randomFrame(w, h, fmt, w + h + r);
          expect(apply(`blur:${r}`, w, h, fmt, f)).toEqual(naiveBox(f, w, h, C, r));
        }
  });
  test("bad radius", () => {
    expectInvalid(() => op1("blur:0"), /the radius R must be 1\.\.1000 \(got 0\)/);
    expectInvalid(() => op1("blur:1001"), /must be 1\.\.1000/);
    expectInvalid(() => op1("blur:x"), /e\.g\. "blur:2"/);
    expectInvalid(() => op1("blur:1.5"), /integer/);
  });
});

describe("gaussian", () => {
  test("impulse response is the kernel", () => {
    const img = Array(25).fill(0);
    img[12] = 255;
    expect(apply("gaussian", 5, 5, gray8, img)).toEqual([1, 4, 6, 4, 1, 4, 16, 24, 16, 4, 6, 24, 36, 24, 6, 4, 16, 24, 16, 4, 1, 4, 6, 4, 1]);
  });
  test("clamped edges on 2x1: [0, 255] -> [80, 175]", () => {
    // x=0 samples cols 0,0,0,1,1 -> weight 5 on 255: 16*5*255 = 20400 -> (20400+128)>>8 = 80
    // x=1 samples cols 0,0,1,1,1 -> weight 11:        16*11*255 = 44880 -> 175
    expect(apply("gaussian", 2, 1, gray8, [0, 255])).toEqual([80, 175]);
  });
  test("1x1 unchanged, every packed format", () => {
    expect(apply("gaussian", 1, 1, gray8, [77])).toEqual([77]);
    expect(apply("gaussian", 1, 1, rgb24, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(apply("gaussian", 1, 1, rgba32, [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });
  test("equals the direct 5x5 convolution", () => {
    for (const fmt of [gray8, rgb24, rgba32])
      for (const [w, h] of [
        [1, 6],
        [6, 1],
        [2, 3],
        [7, 5],
        [33, 17],
        [4, 1], // rows of a multiple of 4 bytes take the 32-bit vertical pass
        [8, 5],
        [12, 3],
      ] as Size[]) {
        const C = fmt === gray8 ? 1 : fmt === rgb24 ? 3 : 4;
        const f = randomFrame(w, h, fmt, 3 * w + h);
        expect(apply("gaussian", w, h, fmt, f)).toEqual(naiveGauss(f, w, h, C));
      }
  });
  test("yuv420p: each plane filtered as a gray8 image (gaussian and blur, odd sizes too)", () => {
    for (const [w, h] of [
      [6, 4],
      [7, 5],
      [1, 3],
    ] as Size[]) {
      const f = randomFrame(w, h, yuv420p, 5 * w + h);
      expect(apply("gaussian", w, h, yuv420p, f)).toEqual(yuvPlanesOf(f, w, h).flatMap(([p, pw, ph]) => naiveGauss(p, pw, ph, 1)));
      expect(apply("blur:2", w, h, yuv420p, f)).toEqual(yuvPlanesOf(f, w, h).flatMap(([p, pw, ph]) => naiveBox(p, pw, ph, 1, 2)));
    }
  });
});

describe("sobel", () => {
  test("vertical edge: |gx| = 160", () => {
    const img = [10, 10, 50, 10, 10, 50, 10, 10, 50];
    expect(apply("sobel", 3, 3, gray8, img)).toEqual([0, 160, 160, 0, 160, 160, 0, 160, 160]);
  });
  test("horizontal edge: |gy| = 120", () => {
    expect(apply("sobel", 3, 2, gray8, [0, 0, 0, 30, 30, 30])).toEqual([120, 120, 120, 120, 120, 120]);
  });
  test("saturates at 255", () => {
    expect(apply("sobel", 2, 2, gray8, [0, 255, 0, 255])).toEqual([255, 255, 255, 255]);
  });
  test("flat and 1x1 give 0", () => {
    expect(apply("sobel", 1, 1, gray8, [200])).toEqual([0]);
    expect(apply("sobel", 3, 1, gray8, [5, 5, 5])).toEqual([0, 0, 0]);
  });
  test("equals the direct computation", () => {
    for (const [w, h] of [
      [1, 5],
      [5, 1],
      [2, 2],
      [7, 5],
      [33, 17],
    ] as Size[]) {
      const f = randomFrame(w, h, gray8, w * h);
      expect(apply("sobel", w, h, gray8, f)).toEqual(naiveSobel(f, w, h));
    }
  });
  test("refuses colour with the documented message", () => {
    expectInvalid(() => op1("sobel").out({ w: 2, h: 2, fmt: rgba32 }), /^op "sobel" does not accept rgba32 input; put "grayscale" before it/);
  });
  test("yuv420p: sobel of Y, U and V set to 128 (a grey edge image)", () => {
    const f = randomFrame(7, 5, yuv420p, 13);
    const out = apply("sobel", 7, 5, yuv420p, f);
    expect(out.slice(0, 35)).toEqual(naiveSobel(f.subarray(0, 35), 7, 5));
    expect(out.slice(35)).toEqual(new Array(24).fill(128));
  });
});

// ------------------------------------------------------------------ scale

describe("downscale2x", () => {
  test("3x3 -> 2x2, odd column/row average what exists", () => {
    // (1+2+4+5+2)>>2 = 3, (3+6+1)>>1 = 5, (7+8+1)>>1 = 8, 9
    const [out, g] = run(op1("downscale2x"), { w: 3, h: 3, fmt: gray8 }, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(out).toEqual([3, 5, 8, 9]);
    expect(g).toEqual({ w: 2, h: 2, fmt: gray8 });
  });
  test("rounding half up", () => {
    expect(apply("downscale2x", 2, 2, gray8, [1, 2, 2, 2])).toEqual([2]); // 1.75
    expect(apply("downscale2x", 2, 2, gray8, [1, 1, 1, 2])).toEqual([1]); // 1.25
    expect(apply("downscale2x", 2, 2, gray8, [1, 1, 2, 2])).toEqual([2]); // 1.5
    expect(apply("downscale2x", 2, 1, gray8, [1, 2])).toEqual([2]); // (1+2+1)>>1
  });
  test("rgb24 / rgba32 per channel incl. alpha", () => {
    expect(apply("downscale2x", 3, 3, rgb24, expand([1, 2, 3, 4, 5, 6, 7, 8, 9], 3))).toEqual(expand([3, 5, 8, 9], 3));
    expect(apply("downscale2x", 2, 1, rgba32, [0, 10, 255, 0, 1, 20, 255, 255])).toEqual([1, 15, 255, 128]);
  });
  test("yuv420p 3x3 -> 2x2 (chroma 2x2 -> 1x1)", () => {
    const src = Array.from({ length: 17 }, (_, i) => i + 1);
    const [out, g] = run(op1("downscale2x"), { w: 3, h: 3, fmt: yuv420p }, src);
    expect(out).toEqual([3, 5, 8, 9, 12, 16]);
    expect(g).toEqual({ w: 2, h: 2, fmt: yuv420p });
  });
  test("1x1 stays 1x1", () => {
    for (const fmt of ALL) {
      const f = randomFrame(1, 1, fmt, 11);
      const [out, g] = run(op1("downscale2x"), { w: 1, h: 1, fmt }, f);
      expect(out).toEqual(Array.from(f));
      expect(g).toEqual({ w: 1, h: 1, fmt });
    }
  });
});

// ------------------------------------------------------------------ every op x every format

/** A valid argument for ops that need one (crop must fit in 1x1). */
const SAMPLE_ARG: Record<string, string> = { crop: "1x1+0+0", brightness: "+9", contrast: "1.3" };

describe("format contract", () => {
  for (const def of OP_DEFS) {
    const spec = SAMPLE_ARG[def.name] ? `${def.name}:${SAMPLE_ARG[def.name]}` : def.name;
    test(`${spec}: runs on every claimed format and size, refuses the others`, () => {
      const op = op1(spec);
      for (const fmt of ALL) {
        if (!def.formats.includes(fmt)) {
          expectInvalid(() => op.out({ w: 4, h: 4, fmt }), new RegExp(`^op "${def.name}[^"]*" does not accept \\w+ input; put "(grayscale|rgb)"`));
          continue;
        }
        for (const [w, h] of [
          [1, 1],
          [2, 2],
          [3, 3],
          [7, 5],
          [5, 7],
          [16, 9],
        ] as Size[]) {
          run(op, { w, h, fmt }, randomFrame(w, h, fmt, w * 31 + h + fmt));
        }
      }
    });
  }
  test("invalid geometry", () => {
    expectInvalid(() => op1("invert").out({ w: 0, h: 2, fmt: gray8 }), /invalid frame size 0x2/);
    expectInvalid(() => op1("invert").out({ w: 2, h: 16385, fmt: gray8 }), /invalid frame size/);
    expectInvalid(() => op1("invert").out({ w: 2.5, h: 2, fmt: gray8 }), /invalid frame size/);
    expectInvalid(() => op1("invert").out({ w: 2, h: 2, fmt: 9 as Format }), /unknown pixel format/);
  });
});

// ------------------------------------------------------------------ parsing

describe("parseChain", () => {
  test("names, both argument separators, whitespace, case", () => {
    expect(parseChain("grayscale,blur,threshold:128").map((o) => o.name)).toEqual(["grayscale", "blur:1", "threshold:128"]);
    expect(parseChain(" Grayscale , blur=2 ,threshold = 9").map((o) => o.name)).toEqual(["grayscale", "blur:2", "threshold:9"]);
    expect(parseChain("")).toEqual([]);
    expect(parseChain("   ")).toEqual([]);
  });
  test("canonical spec round-trips", () => {
    const c = new Chain(parseChain("negate,crop=2x2,brightness=3,contrast:1.50,rotate:90,blur,gray"));
    expect(c.spec).toBe("invert,crop:2x2+0+0,brightness:+3,contrast:1.5,rotate90,blur:1,grayscale");
    expect(new Chain(parseChain(c.spec)).spec).toBe(c.spec);
  });
  test("bad specs name the bad element", () => {
    expectInvalid(() => parseChain("grayscale,blurr"), /^unknown op "blurr" \(element 2 of "grayscale,blurr"\); did you mean "blur"\?/);
    expectInvalid(() => parseChain("frobnicate"), /unknown op "frobnicate"; known ops: identity, invert/);
    expectInvalid(() => parseChain("grayscale,,blur"), 'empty op (element 2 of "grayscale,,blur"); remove the extra comma');
    expectInvalid(() => parseChain("blur,"), /empty op \(element 2/);
    expectInvalid(() => parseChain("invert,threshold:300"), /threshold.*0\.\.255.*\(element 2 of "invert,threshold:300"\)/);
    expectInvalid(() => parseChain("sobel:3"), /op "sobel" takes no argument/);
    expectInvalid(() => parseChain("invert:"), /takes no argument/);
    expectInvalid(() => parseChain("brightness"), /needs the offset N as an integer -255\.\.255, e\.g\. "brightness:\+20" \(got no argument\)/);
    expectInvalid(() => parseChain("brightness:256"), /-255\.\.255/);
    expectInvalid(() => parseChain("contrast:-1"), /contrast.*decimal 0\.\.100/);
    expectInvalid(() => parseChain("contrast:1e3"), /contrast/);
    expectInvalid(() => parseChain("contrast"), /got no argument/);
    expectInvalid(() => parseChain("rotate:45"), /rotate takes 90, 180 or 270/);
    expectInvalid(() => parseChain("9lives"), /malformed op "9lives"/);
    expectInvalid(() => parseChain("blur:2:3"), /blur/);
  });
});

// ------------------------------------------------------------------ chains

function chainRun(c: Chain, g: Geometry, f: Uint8Array): [number[], Geometry] {
  const og = c.out(g);
  const outN = payloadBytes(og.w, og.h, og.fmt);
  const dst = randomBytes(outN + 50, 1);
  const tail = dst.slice(outN);
  const srcBuf = new Uint8Array(f.length + 20).fill(0xcc);
  srcBuf.set(f);
  const rg = c.apply(srcBuf, g, dst);
  expect(rg).toEqual(og);
  expect(dst.subarray(outN)).toEqual(tail);
  return [Array.from(dst.subarray(0, outN)), og];
}

/** The same ops applied one at a time through fresh exact-size buffers. */
function oneByOne(spec: string, g: Geometry, f: Uint8Array): [number[], Geometry] {
  const [out, og] = applyOpByOp(spec, g, f);
  return [Array.from(out), og];
}

describe("Chain", () => {
  test("geometry through the chain", () => {
    const c = new Chain(parseChain("rotate90,crop:2x3+1+0,downscale2x,rgb"));
    expect(c.out({ w: 5, h: 7, fmt: gray8 })).toEqual({ w: 1, h: 2, fmt: rgb24 });
    expect(new Chain(parseChain("grayscale,rgb")).out({ w: 3, h: 3, fmt: yuv420p })).toEqual({ w: 3, h: 3, fmt: rgb24 });
  });
  test("validates every step", () => {
    expectInvalid(() => new Chain(parseChain("rgb,sobel")).out({ w: 4, h: 4, fmt: gray8 }), /op "sobel" does not accept rgb24 input; put "grayscale" before it/);
    expectInvalid(() => new Chain(parseChain("rotate90,crop:2x6")).out({ w: 5, h: 7, fmt: gray8 }), /outside the 7x5 frame/);
    expectInvalid(() => new Chain(parseChain("identity")).out({ w: 0, h: 1, fmt: gray8 }), /invalid frame size/);
    expectInvalid(() => new Chain([]).out({ w: 1, h: 0, fmt: gray8 }), /invalid frame size/);
  });
  test("empty chain and identity chain copy", () => {
    for (const spec of ["", "identity", "identity,identity"]) {
      const c = new Chain(parseChain(spec));
      const f = randomFrame(7, 5, yuv420p, 8);
      const [out, g] = chainRun(c, { w: 7, h: 5, fmt: yuv420p }, f);
      expect(out).toEqual(Array.from(f));
      expect(g).toEqual({ w: 7, h: 5, fmt: yuv420p });
    }
    expect(new Chain([]).spec).toBe("");
  });
  const chains: [string, Format][] = [
    ["invert", rgb24],
    ["grayscale,blur:2,threshold:100", rgb24],
    ["grayscale,blur:2,identity,threshold:100,sobel", rgba32],
    ["invert,hflip,rotate90,crop:3x4+1+1,downscale2x", rgba32],
    ["rgb,contrast:1.5,brightness:-10,gaussian,grayscale,sobel", yuv420p],
    ["downscale2x,rgb,rotate270,vflip,invert,gaussian", gray8],
    ["crop:4x4+2+2,rotate180,invert,downscale2x,grayscale,rgb,blur:3", yuv420p],
  ];
  for (const [spec, fmt] of chains) {
    test(`"${spec}" equals applying the ops one by one, across changing geometries`, () => {
      const c = new Chain(parseChain(spec));
      // big, small, big again, then a new larger size: the ping-pong buffers grow and are reused
      for (const [w, h] of [
        [33, 17],
        [7, 9],
        [33, 17],
        [64, 48],
        [7, 9],
      ] as Size[]) {
        const g = { w, h, fmt };
        const f = randomFrame(w, h, fmt, w * h + fmt);
        expect(chainRun(c, g, f)).toEqual(oneByOne(spec, g, f));
      }
    });
  }
  test("returned geometry is frozen", () => {
    const c = new Chain(parseChain("grayscale,invert"));
    const g = c.apply(new Uint8Array(12), { w: 2, h: 2, fmt: rgb24 }, new Uint8Array(4));
    expect(Object.isFrozen(g)).toBe(true);
    expect(g).toEqual({ w: 2, h: 2, fmt: gray8 });
  });
});

// ------------------------------------------------------------------ docs

describe("OP_DOCS / renderOpsTable", () => {
  test("one complete entry per op, formats matching the code", () => {
    expect(OP_DOCS.map((d) => d.name)).toEqual(OPS.map((d) => d.name));
    for (const d of OP_DOCS) {
      for (const k of ["name", "syntax", "formula", "edges", "formats"] as const) expect(d[k].length).toBeGreaterThan(0);
    }
    expect(OP_DOCS.find((d) => d.name === "sobel")!.formats).toBe("gray8, yuv420p");
    expect(OP_DOCS.find((d) => d.name === "invert")!.formats).toBe("gray8, rgb24, rgba32, yuv420p");
  });
  test("table lists every op", () => {
    const t = renderOpsTable();
    for (const d of OP_DOCS) expect(t).toMatch(new RegExp(`^${d.name} `, "m"));
    expect(t.split("\n").every((l) => l.length <= 100)).toBe(true);
  });
});
