/**
 * Byte-exact comparison of the op library with the reference tools, on raw
 * frames (no pipeline): ffmpeg (negate, hflip, vflip, transpose, crop, pixel
 * format conversions) and netpbm (ppmtopgm).
 *
 * A missing tool skips its tests with a visible warning, except when CI=true,
 * where the tests run and fail saying which tool is missing.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Format, payloadBytes } from "../src/frame/format";
import { applyOpByOp } from "./helpers";

const CI = process.env.CI === "true";
const FFMPEG = Bun.which("ffmpeg");
const PPMTOPGM = Bun.which("ppmtopgm");

function skipWithout(tool: string, path: string | null, pkg: string): boolean {
  if (path !== null) return false;
  if (CI) return false; // run, and fail in need()
  console.warn(`ops-reference: SKIPPING the ${tool} comparisons: "${tool}" not found on PATH (apt-get install ${pkg}; with CI=true they fail instead)`);
  return true;
}
const NO_FFMPEG = skipWithout("ffmpeg", FFMPEG, "ffmpeg");
const NO_PPMTOPGM = skipWithout("ppmtopgm", PPMTOPGM, "netpbm");

function need(tool: string, path: string | null, pkg: string): string {
  if (path === null) throw new Error(`reference tool "${tool}" is missing on this machine (install the "${pkg}" package); CI=true requires it`);
  return path;
}

const SLOW = 60_000;
const SIZES: [number, number][] = [
  [1, 1],
  [7, 5],
  [33, 17],
  [64, 48],
];
const FORMATS: [Format, string][] = [
  [Format.gray8, "gray"],
  [Format.rgb24, "rgb24"],
  [Format.rgba32, "rgba"],
  [Format.yuv420p, "yuv420p"],
];

/** Deterministic PRNG (mulberry32) bytes. */
function randomBytes(n: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 255;
  }
  return out;
}

function frame(w: number, h: number, fmt: Format, seed: number): Uint8Array {
  return randomBytes(payloadBytes(w, h, fmt), seed * 7919 + w * 131 + h);
}

/** ffmpeg on one raw frame: -f rawvideo in, filter graph `vf` (or none), raw `outPix` out. */
function ffmpeg(inPix: string, w: number, h: number, vf: string | null, outPix: string, input: Uint8Array): Uint8Array {
  const bin = need("ffmpeg", FFMPEG, "ffmpeg");
  const args = [bin, "-hide_banner", "-v", "error", "-f", "rawvideo", "-pix_fmt", inPix, "-s", `${w}x${h}`, "-i", "-"];
  if (vf !== null) args.push("-vf", vf);
  args.push("-f", "rawvideo", "-pix_fmt", outPix, "-");
  const r = Bun.spawnSync(args, { stdin: input, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/**
 * One ffmpeg run, several outputs: the same raw input frame through each filter
 * graph of `vfs` (one output file each, in a fresh temp dir). Much faster than one
 * process per comparison.
 */
function ffmpegMany(pix: string, w: number, h: number, vfs: string[], input: Uint8Array): Uint8Array[] {
  const bin = need("ffmpeg", FFMPEG, "ffmpeg");
  const dir = mkdtempSync(join(tmpdir(), "shmimg-ops-ref-"));
  try {
    const args = [bin, "-hide_banner", "-v", "error", "-f", "rawvideo", "-pix_fmt", pix, "-s", `${w}x${h}`, "-i", "-"];
    vfs.forEach((vf, i) => args.push("-vf", vf, "-f", "rawvideo", "-pix_fmt", pix, join(dir, `${i}.raw`)));
    const r = Bun.spawnSync(args, { stdin: input, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${args.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
    return vfs.map((_, i) => new Uint8Array(readFileSync(join(dir, `${i}.raw`))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a one-op (or multi-op) spec with the library; returns the output payload and geometry. */
function mine(spec: string, w: number, h: number, fmt: Format, input: Uint8Array): [Uint8Array, { w: number; h: number }] {
  return applyOpByOp(spec, { w, h, fmt }, input);
}

/** Compares bytes and, on mismatch, reports the first differing offset (toEqual on big arrays is unreadable). */
function expectSame(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let first = -1;
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++)
    if (actual[i] !== expected[i]) {
      first = i;
      break;
    }
  const msg =
    first < 0 ? "" : `${what}: first difference at byte ${first} (ours ${actual[first]}, reference ${expected[first]}); lengths ${actual.length} / ${expected.length}`;
  expect(msg).toBe("");
}

// ------------------------------------------------------------------ ffmpeg: byte-exact ops

const FF_EQUIVALENT: [string, string][] = [
  ["invert", "negate"],
  ["hflip", "hflip"],
  ["vflip", "vflip"],
  ["rotate90", "transpose=1"],
  ["rotate180", "hflip,vflip"],
  ["rotate270", "transpose=2"],
];

/** Crop rectangles [W, H, X, Y] per frame size; odd offsets are only used for packed formats. */
const CROPS: Record<string, [number, number, number, number][]> = {
  "1x1": [[1, 1, 0, 0]],
  "7x5": [
    [3, 3, 2, 2],
    [4, 2, 2, 2],
    [7, 5, 0, 0],
    [5, 3, 1, 1],
    [1, 5, 6, 0],
  ],
  "33x17": [
    [13, 9, 4, 2],
    [32, 16, 0, 0],
    [20, 16, 13, 1],
  ],
  "64x48": [
    [31, 17, 10, 6],
    [64, 48, 0, 0],
    [1, 1, 63, 47],
    [2, 2, 62, 46],
  ],
};

describe.skipIf(NO_FFMPEG)("ffmpeg equivalents", () => {
  for (const [fmt, pix] of FORMATS)
    for (const [w, h] of SIZES) {
      const cases: [string, string][] = [...FF_EQUIVALENT];
      for (const [cw, ch, cx, cy] of CROPS[`${w}x${h}`] ?? []) {
        if (fmt === Format.yuv420p && (cx % 2 !== 0 || cy % 2 !== 0)) continue; // refused by design (unit tests)
        const spec = `crop:${cw}x${ch}+${cx}+${cy}`;
        // exact=1 keeps odd W/H for yuv420p; for packed formats it changes nothing
        cases.push([spec, `crop=${cw}:${ch}:${cx}:${cy}:exact=1`]);
        if (fmt !== Format.yuv420p || (cw % 2 === 0 && ch % 2 === 0)) cases.push([spec, `crop=${cw}:${ch}:${cx}:${cy}`]);
      }
      test(
        `${pix} ${w}x${h}: ${[...new Set(cases.map(([spec]) => spec.split(":")[0]))].join(", ")}`,
        () => {
          const input = frame(w, h, fmt, fmt);
          const refs = ffmpegMany(
            pix,
            w,
            h,
            cases.map(([, vf]) => vf),
            input,
          );
          cases.forEach(([spec, vf], i) => {
            const [ours, g] = mine(spec, w, h, fmt, input);
            expectSame(ours, refs[i]!, `${spec} vs -vf ${vf} on ${pix} ${w}x${h} (-> ${g.w}x${g.h})`);
          });
        },
        SLOW,
      );
    }

  test("documented difference: plain ffmpeg crop on yuv420p rounds W, H, X, Y down to even (we refuse odd X/Y, keep odd W/H)", () => {
    const input = frame(7, 5, Format.yuv420p, 3);
    // crop=3:3:1:1 in ffmpeg is really 2x2 at (0,0)
    const [rounded] = mine("crop:2x2+0+0", 7, 5, Format.yuv420p, input);
    expectSame(ffmpeg("yuv420p", 7, 5, "crop=3:3:1:1", "yuv420p", input), rounded, "ffmpeg crop=3:3:1:1 vs crop:2x2+0+0");
    // crop=5:3:2:2 in ffmpeg is 4x2 at (2,2); ours keeps 5x3 (= exact=1)
    const [ours53] = mine("crop:5x3+2+2", 7, 5, Format.yuv420p, input);
    const [ours42] = mine("crop:4x2+2+2", 7, 5, Format.yuv420p, input);
    expectSame(ffmpeg("yuv420p", 7, 5, "crop=5:3:2:2", "yuv420p", input), ours42, "ffmpeg crop=5:3:2:2 vs crop:4x2+2+2");
    expectSame(ffmpeg("yuv420p", 7, 5, "crop=5:3:2:2:exact=1", "yuv420p", input), ours53, "exact=1 vs crop:5x3+2+2");
  });

  test("rgb from gray8 and rgba32 = ffmpeg -pix_fmt rgb24", () => {
    for (const [w, h] of SIZES) {
      for (const [fmt, pix] of [
        [Format.gray8, "gray"],
        [Format.rgba32, "rgba"],
      ] as const) {
        const input = frame(w, h, fmt, 77);
        expectSame(mine("rgb", w, h, fmt, input)[0], ffmpeg(pix, w, h, null, "rgb24", input), `rgb ${pix} ${w}x${h}`);
      }
    }
  });

  test("documented difference: rgb from yuv420p is within 3 of ffmpeg's default swscale (even sizes)", () => {
    // ffmpeg's yuv420p->rgb24 is CPU-dependent (SIMD and C table converters differ by up to 2) and,
    // for odd heights, goes through the scaler with interpolated chroma; ours is the documented
    // integer BT.601 formula with nearest chroma, checked by hand in ops.test.ts.
    for (const [w, h] of [
      [8, 6],
      [64, 48],
      [32, 18],
    ] as [number, number][]) {
      const input = frame(w, h, Format.yuv420p, 5);
      const [ours] = mine("rgb", w, h, Format.yuv420p, input);
      const ref = ffmpeg("yuv420p", w, h, null, "rgb24", input);
      expect(ref.length).toBe(ours.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
      expect(worst).toBeLessThanOrEqual(3);
    }
  });

  test("documented difference: grayscale of yuv420p is the Y plane; ffmpeg -pix_fmt gray expands it to full range", () => {
    for (const [w, h] of SIZES) {
      const input = frame(w, h, Format.yuv420p, 9);
      const [ours] = mine("grayscale", w, h, Format.yuv420p, input);
      expectSame(ours, input.subarray(0, w * h), "grayscale = Y plane");
      const expanded = ours.map((y) => Math.max(0, Math.min(255, Math.round(((y - 16) * 255) / 219))));
      expectSame(ffmpeg("yuv420p", w, h, null, "gray", input), expanded, "ffmpeg gray = clip(round((Y-16)*255/219))");
    }
  });
});

// ------------------------------------------------------------------ ffmpeg: filters on yuv420p, per plane

/**
 * blur, gaussian, brightness, contrast, threshold and sobel run on yuv420p
 * directly, per plane, as ffmpeg's filters do. Documented tolerances (also in
 * `shmimg ops`): borders differ by design (ffmpeg mirrors, we clamp), so the
 * window filters are compared at least their radius away from each plane's border.
 */
describe.skipIf(NO_FFMPEG)("ffmpeg equivalents on yuv420p, per plane", () => {
  const KERNEL = "1 4 6 4 1 4 16 24 16 4 6 24 36 24 6 4 16 24 16 4 1 4 6 4 1";
  /** Per plane (Y, U, V): max |ours - ref| over the pixels at least `margin[k]` from that plane's border. */
  function planeMax(ours: Uint8Array, ref: Uint8Array, w: number, h: number, margin: number[], cmp = (o: number, r: number) => Math.abs(o - r)): number[] {
    const cw = (w + 1) >> 1;
    const ch = (h + 1) >> 1;
    const planes: [number, number, number][] = [
      [0, w, h],
      [w * h, cw, ch],
      [w * h + cw * ch, cw, ch],
    ];
    expect(ours.length).toBe(ref.length);
    return planes.map(([off, pw, ph], k) => {
      let worst = 0;
      const m = margin[k]!;
      for (let y = m; y < ph - m; y++) for (let x = m; x < pw - m; x++) worst = Math.max(worst, cmp(ours[off + y * pw + x]!, ref[off + y * pw + x]!));
      return worst;
    });
  }
  const SIZES_YUV: [number, number][] = [
    [64, 48],
    [33, 17],
  ];

  for (const [w, h] of SIZES_YUV)
    test(
      `${w}x${h}: gaussian = convolution 5x5 binomial, threshold/brightness = lutyuv (byte-exact); blur within 1 of boxblur`,
      () => {
        const input = frame(w, h, Format.yuv420p, 31);
        const cases: [string, string, number[], number][] = [
          ["gaussian", `convolution=0m='${KERNEL}':1m='${KERNEL}':2m='${KERNEL}':0rdiv=1/256:1rdiv=1/256:2rdiv=1/256`, [2, 2, 2], 0],
          ["threshold:100", "lutyuv=y='if(gte(val,100),255,0)':u=128:v=128", [0, 0, 0], 0],
          ["brightness:+20", "lutyuv=y='clip(val+20,0,255)':u=val:v=val", [0, 0, 0], 0],
          ["brightness:-37", "lutyuv=y='clip(val-37,0,255)':u=val:v=val", [0, 0, 0], 0],
          // boxblur averages rows then columns, rounding after each 1D pass (16-bit fixed point)
          ["blur:1", "boxblur=1:1:1:1", [1, 1, 1], 1],
          ["blur:2", "boxblur=2:1:2:1", [2, 2, 2], 1],
          // eq quantizes brightness to 1/100 and scales it by 511/200; contrast in 12-bit fixed point
          ["brightness:+20", "eq=brightness=20/255", [0, 0, 0], 3],
          ["contrast:1.5", "eq=contrast=1.5", [0, 0, 0], 2],
          ["contrast:0.5", "eq=contrast=0.5", [0, 0, 0], 2],
        ];
        const refs = ffmpegMany("yuv420p", w, h, cases.map(([, vf]) => vf), input);
        cases.forEach(([spec, vf, margin, tol], i) => {
          const [ours] = mine(spec, w, h, Format.yuv420p, input);
          const worst = planeMax(ours, refs[i]!, w, h, margin);
          // brightness and contrast leave U and V untouched, like eq and lutyuv
          if (spec.startsWith("brightness") || spec.startsWith("contrast")) expect(`${spec} U,V ${worst.slice(1)}`).toBe(`${spec} U,V 0,0`);
          expect(`${spec} vs ${vf}: worst ${Math.max(...worst)}`).toBe(`${spec} vs ${vf}: worst ${Math.max(...worst) <= tol ? Math.max(...worst) : `> ${tol}`}`);
        });
      },
      SLOW,
    );

  test(
    "sobel on yuv420p: Y between ffmpeg sobel's L2 magnitude and sqrt(2) times it (ours is L1); U = V = 128",
    () => {
      const [w, h] = [64, 48];
      const input = frame(w, h, Format.yuv420p, 32);
      const [ref] = ffmpegMany("yuv420p", w, h, ["sobel=planes=1"], input);
      const [ours] = mine("sobel", w, h, Format.yuv420p, input);
      // 0 when L2 <= L1 <= min(255, sqrt(2) L2) holds up to rounding, else how far off
      const off = (o: number, r: number) => Math.max(0, r - 1 - o, o - Math.min(255, Math.ceil(Math.SQRT2 * r) + 1));
      expect(planeMax(ours, ref!, w, h, [1, 0, 0], off)[0]).toBe(0);
      expect([...ours.subarray(w * h)].every((v) => v === 128)).toBe(true);
    },
    SLOW,
  );
});

// ------------------------------------------------------------------ netpbm ppmtopgm

/** Runs ppmtopgm on a P6 image and returns the P5 raster. */
function ppmtopgm(w: number, h: number, rgb: Uint8Array): Uint8Array {
  const bin = need("ppmtopgm", PPMTOPGM, "netpbm");
  const header = new TextEncoder().encode(`P6\n${w} ${h}\n255\n`);
  const ppm = new Uint8Array(header.length + rgb.length);
  ppm.set(header);
  ppm.set(rgb, header.length);
  const r = Bun.spawnSync([bin], { stdin: ppm, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ppmtopgm failed (${r.exitCode}): ${r.stderr.toString()}`);
  return parseP5(new Uint8Array(r.stdout), w, h);
}

/** Parses a binary PGM (P5, maxval 255): magic, width, height, maxval (with # comments), one whitespace, raster. */
function parseP5(pgm: Uint8Array, w: number, h: number): Uint8Array {
  let i = 0;
  const token = (): string => {
    for (;;) {
      while (i < pgm.length && /\s/.test(String.fromCharCode(pgm[i]!))) i++;
      if (pgm[i] === 0x23) while (i < pgm.length && pgm[i] !== 0x0a) i++;
      else break;
    }
    let s = "";
    while (i < pgm.length && !/\s/.test(String.fromCharCode(pgm[i]!))) s += String.fromCharCode(pgm[i++]!);
    return s;
  };
  expect(token()).toBe("P5");
  expect([Number(token()), Number(token()), Number(token())]).toEqual([w, h, 255]);
  i++; // the single whitespace after maxval
  const raster = pgm.subarray(i);
  expect(raster.length).toBe(w * h);
  return raster;
}

describe.skipIf(NO_PPMTOPGM)("netpbm ppmtopgm", () => {
  test(
    "grayscale of rgb24 = ppmtopgm",
    () => {
      for (const [w, h] of [...SIZES, [256, 3] as [number, number]]) {
        const input = frame(w, h, Format.rgb24, 21);
        if (w === 256) {
          // every value on every channel, plus primaries / extremes
          for (let x = 0; x < 256; x++) {
            input.set([x, x, x], x * 3);
            input.set([x, 255 - x, (x * 7) & 255], (256 + x) * 3);
          }
        }
        expectSame(mine("grayscale", w, h, Format.rgb24, input)[0], ppmtopgm(w, h, input), `grayscale rgb24 ${w}x${h}`);
      }
    },
    SLOW,
  );

  test(
    "grayscale of rgba32 = ppmtopgm of its RGB",
    () => {
      for (const [w, h] of SIZES) {
        const input = frame(w, h, Format.rgba32, 22);
        const rgb = new Uint8Array(w * h * 3);
        for (let p = 0; p < w * h; p++) rgb.set(input.subarray(p * 4, p * 4 + 3), p * 3);
        expectSame(mine("grayscale", w, h, Format.rgba32, input)[0], ppmtopgm(w, h, rgb), `grayscale rgba32 ${w}x${h}`);
      }
    },
    SLOW,
  );
});
