/**
 * scale:WxH[:nearest|bilinear|area]: nearest equals an independent reference
 * byte for byte; bilinear and area stay within the README's tolerance of
 * ffmpeg's scale filter (-sws_flags bilinear|area +accurate_rnd); -1 keeps
 * the aspect ratio as ffmpeg's scale=W:-1 does; under run the processed ring
 * is sized for an enlarging scale.
 */
import { describe, expect, test } from "bun:test";
import { Chain, parseChain } from "../src/ops/chain";
import { payloadBytes, type Format } from "../src/frame/format";
import { applyInProcess, parseNative, shmimg } from "./helpers";

function randomFrame(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = s & 255;
  }
  return a;
}

/** The source index whose interval [i, i + 1) holds the output sample's centre (x + 1/2) * n / m, by search in integers. */
function nearestIndex(x: number, n: number, m: number): number {
  let i = 0;
  while (i + 1 < n && 2 * m * (i + 1) <= (2 * x + 1) * n) i++;
  return i;
}

/** Independent nearest-neighbour reference for one plane of C channels. */
function nearestPlane(src: Uint8Array, so: number, w: number, h: number, dst: Uint8Array, d0: number, ow: number, oh: number, C: number): void {
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < C; c++) dst[d0 + (y * ow + x) * C + c] = src[so + (nearestIndex(y, h, oh) * w + nearestIndex(x, w, ow)) * C + c]!;
}

function nearestRef(src: Uint8Array, w: number, h: number, fmt: Format, ow: number, oh: number): Uint8Array {
  const out = new Uint8Array(payloadBytes(ow, oh, fmt));
  if (fmt === 4) {
    const cw = (w + 1) >> 1, ch = (h + 1) >> 1, ocw = (ow + 1) >> 1, och = (oh + 1) >> 1;
    nearestPlane(src, 0, w, h, out, 0, ow, oh, 1);
    nearestPlane(src, w * h, cw, ch, out, ow * oh, ocw, och, 1);
    nearestPlane(src, w * h + cw * ch, cw, ch, out, ow * oh + ocw * och, ocw, och, 1);
  } else nearestPlane(src, 0, w, h, out, 0, ow, oh, fmt === 1 ? 1 : fmt === 2 ? 3 : 4);
  return out;
}

function scaleInProcess(spec: string, src: Uint8Array, w: number, h: number, fmt: Format): { out: Uint8Array; w: number; h: number } {
  const c = new Chain(parseChain(spec));
  const g = c.out({ w, h, fmt });
  const out = new Uint8Array(payloadBytes(g.w, g.h, g.fmt));
  c.apply(src, { w, h, fmt }, out);
  return { out, w: g.w, h: g.h };
}

describe("scale", () => {
  const cases: [number, number, number, number][] = [
    [37, 23, 16, 40],
    [16, 16, 16, 16],
    [100, 60, 33, 7],
    [5, 3, 17, 11],
    [64, 48, 1, 1],
    [31, 33, 62, 15],
  ];
  for (const fmt of [1, 2, 3, 4] as Format[])
    test(`nearest equals the independent reference byte for byte (format ${fmt})`, () => {
      for (const [w, h, ow, oh] of cases) {
        const src = randomFrame(payloadBytes(w, h, fmt), w * 1000 + h + fmt);
        const r = scaleInProcess(`scale:${ow}x${oh}:nearest`, src, w, h, fmt);
        expect([r.w, r.h]).toEqual([ow, oh]);
        expect(Buffer.compare(Buffer.from(r.out), Buffer.from(nearestRef(src, w, h, fmt, ow, oh)))).toBe(0);
      }
    });

  test("-1 keeps the aspect ratio, rounded (ffmpeg scale=W:-1)", () => {
    const c = (spec: string, w: number, h: number) => new Chain(parseChain(spec)).out({ w, h, fmt: 1 });
    expect(c("scale:640x-1", 1920, 1080)).toEqual({ w: 640, h: 360, fmt: 1 });
    expect(c("scale:-1x100", 1920, 1080)).toEqual({ w: 178, h: 100, fmt: 1 });
    expect(c("scale:10x-1", 33, 20)).toEqual({ w: 10, h: 6, fmt: 1 });
    expect(new Chain(parseChain("scale:8x6")).spec).toBe("scale:8x6:bilinear");
    for (const bad of ["scale", "scale:-1x-1", "scale:0x5", "scale:5x5:cubic", "scale:20000x5"]) expect(() => parseChain(bad)).toThrow(/op "scale"/);
  });

  /** A smooth test picture (what a tolerance against another scaler means something on). */
  function smooth(w: number, h: number, C: number): Uint8Array {
    const a = new Uint8Array(w * h * C);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < C; c++) a[(y * w + x) * C + c] = Math.round(127.5 + 127.5 * Math.sin((x * (c + 1)) / 9 + y / 13) * Math.cos((y * (c + 2)) / 17 - x / 29));
    return a;
  }

  // Documented in README (scale): gray8 within 5 levels (mean 0.25), rgb24 within 10 (mean 1.5): ffmpeg
  // resamples packed RGB through its own intermediate format.
  const tolerance = { gray: { max: 5, mean: 0.25 }, rgb24: { max: 10, mean: 1.5 } };
  for (const method of ["bilinear", "area"])
    for (const pf of ["gray", "rgb24"] as const)
      test(`${method} stays within the documented tolerance of ffmpeg -sws_flags ${method} (${pf})`, () => {
        const [w, h] = [160, 120];
        const C = pf === "gray" ? 1 : 3;
        const src = smooth(w, h, C);
        for (const [ow, oh] of [[80, 60], [53, 37], [320, 240], [211, 97], [40, 30]] as const) {
          const ff = Bun.spawnSync(
            ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", pf, "-s", `${w}x${h}`, "-i", "-", "-vf", `scale=${ow}:${oh}`, "-sws_flags", `${method}+accurate_rnd+full_chroma_int`, "-f", "rawvideo", "-pix_fmt", pf, "-"],
            { stdin: src },
          );
          expect(ff.exitCode).toBe(0);
          const ours = scaleInProcess(`scale:${ow}x${oh}:${method}`, src, w, h, C === 1 ? 1 : 2).out;
          expect(ours.length).toBe(ff.stdout.length);
          let max = 0;
          let sum = 0;
          for (let i = 0; i < ours.length; i++) {
            const d = Math.abs(ours[i]! - ff.stdout[i]!);
            max = Math.max(max, d);
            sum += d;
          }
          expect({ size: `${ow}x${oh}`, max: max <= tolerance[pf].max, mean: sum / ours.length <= tolerance[pf].mean }).toEqual({ size: `${ow}x${oh}`, max: true, mean: true });
        }
      });

  test("under run, an enlarging scale gets a processed ring large enough", () => {
    const input = shmimg(["gen", "--count", "6", "--size", "32x24", "--format", "rgb24"]).stdout;
    const r = shmimg(["run", "--workers", "2", "--op", "scale:96x-1:area"], { stdin: input });
    expect(parseNative(r.stdout).map((f) => `${f.w}x${f.h}`)).toEqual(Array(6).fill("96x72"));
    expect(Buffer.compare(r.stdout, applyInProcess(input, "scale:96x-1:area"))).toBe(0);
    expect(r.code).toBe(0);
  });
});
