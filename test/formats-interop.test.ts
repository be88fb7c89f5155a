/**
 * Interop of the formats with real tools: ffmpeg writes y4m / ppm / pam / png
 * that our sources parse, and ffmpeg / netpbm read what our sinks write.
 * Pixel data is compared against ffmpeg's own rawvideo output.
 *
 * A missing tool skips its tests with a visible reason; with CI=true the tests
 * fail instead, naming the tool.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Format } from "../src/frame/format";
import { yuv420pToRgb24 } from "../src/formats/convert";
import { have, readFrames, removeTempDirs, tempDir, writeFrames, type Frame } from "./format-io";
import { uniqueName } from "./census";

// ------------------------------------------------------------------ tools

const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;

const FFMPEG = have("ffmpeg");
const NETPBM = have("pamfile", "pnmtopng", "ppmtopgm");

/** Runs a command (stdin optional); returns stdout; throws with stderr on failure. */
function run(cmd: string[], stdin?: Uint8Array, cwd = ROOT): Uint8Array {
  const r = Bun.spawnSync({ cmd, cwd, stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(-2000)}`);
  return new Uint8Array(r.stdout);
}
/** Runs a shell pipeline; returns { code, stdout, stderr }. */
function sh(script: string) {
  const r = Bun.spawnSync({ cmd: ["bash", "-o", "pipefail", "-c", script], cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: new Uint8Array(r.stdout), stderr: r.stderr.toString() };
}
const ff = (...args: string[]) => ["ffmpeg", "-v", "error", "-nostdin", ...args];
const lavfi = (src: string, frames: number) => ["-f", "lavfi", "-i", src, "-frames:v", String(frames)];
/** ffmpeg's framemd5 of a y4m stream: the frame lines plus the dimensions line. */
function framemd5(y4m: Uint8Array): string[] {
  const text = new TextDecoder().decode(run(ff("-f", "yuv4mpegpipe", "-i", "-", "-f", "framemd5", "-"), y4m));
  return text.split("\n").filter((l) => l && (!l.startsWith("#") || l.startsWith("#dimensions")));
}

// ------------------------------------------------------------------ helpers

afterAll(removeTempDirs);

const cat = (frames: Frame[]) => {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.data.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f.data, o);
    o += f.data.length;
  }
  return out;
};
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const T = 60_000;

// ------------------------------------------------------------------ y4m

describe.skipIf(!FFMPEG)("y4m with ffmpeg", () => {
  for (const [label, src] of [
    ["64x48 testsrc2", "testsrc2=size=64x48:rate=25"],
    ["33x17 (odd) testsrc", "testsrc=size=33x17:rate=25"],
  ] as const) {
    test(`${label}: parse ffmpeg's y4m, write it back, same framemd5 (and same bytes)`, () => {
      const y4m = run(ff(...lavfi(src, 5), "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-"));
      const frames = readFrames("y4m", y4m);
      expect(frames.length).toBe(5);
      expect(frames[0]!.info.fmt).toBe(Format.yuv420p);
      const ours = writeFrames("y4m", frames);
      expect(framemd5(ours)).toEqual(framemd5(y4m));
      // Byte-identical after the stream header (ffmpeg may add XCOLORRANGE=..., which the ring does not carry).
      const body = (b: Uint8Array) => b.subarray(b.indexOf(10) + 1);
      expect(body(ours)).toEqual(body(y4m));
      // The payloads equal ffmpeg's rawvideo.
      const raw = run(ff(...lavfi(src, 5), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-"));
      expect(Buffer.from(cat(frames))).toEqual(Buffer.from(raw));
    }, T);
  }

  test("Cmono (gray) in and out", () => {
    const y4m = run(ff(...lavfi("testsrc=size=33x17:rate=25", 3), "-pix_fmt", "gray", "-f", "yuv4mpegpipe", "-"));
    const frames = readFrames("y4m", y4m);
    expect(frames.map((f) => f.info.fmt)).toEqual([Format.gray8, Format.gray8, Format.gray8]);
    expect(framemd5(writeFrames("y4m", frames))).toEqual(framemd5(y4m));
  }, T);

  test("C444 in -> rgb24 close to ffmpeg's own yuv444p -> rgb24", () => {
    const y4m = run(ff(...lavfi("testsrc2=size=64x48:rate=25", 3), "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", "-"));
    const frames = readFrames("y4m", y4m, { convert444: true });
    expect(frames[0]!.info.fmt).toBe(Format.rgb24);
    const ref = run(ff("-f", "yuv4mpegpipe", "-i", "-", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"), y4m);
    const d = maxDiff(cat(frames), ref);
    console.log(`y4m C444 -> rgb24: max difference from ffmpeg ${d}`);
    expect(d).toBeLessThanOrEqual(3);
  }, T);

  test("rgb24 out -> C444 that ffmpeg reads back close to the source pixels", () => {
    const raw = run(ff(...lavfi("testsrc2=size=64x48:rate=25", 2), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"));
    const frames = readFrames("rawvideo", raw, { size: { w: 64, h: 48 }, pixFmt: "rgb24" });
    const y4m = writeFrames("y4m", frames);
    const back = run(ff("-f", "yuv4mpegpipe", "-i", "-", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"), y4m);
    const d = maxDiff(back, raw);
    console.log(`rgb24 -> our C444 -> ffmpeg rgb24: max difference ${d}`);
    expect(d).toBeLessThanOrEqual(4);
  }, T);
});

// ------------------------------------------------------------------ pnm

describe.skipIf(!FFMPEG)("pnm with ffmpeg", () => {
  test("ffmpeg image2pipe ppm / pgm / pam parsed equal to ffmpeg's rawvideo", () => {
    for (const [codec, pix, fmt] of [
      ["ppm", "rgb24", Format.rgb24],
      ["pgm", "gray", Format.gray8],
      ["pam", "rgba", Format.rgba32],
    ] as const) {
      for (const size of ["64x48", "33x17"]) {
        const src = `testsrc=size=${size}:rate=25`;
        const pnm = run(ff(...lavfi(src, 4), "-pix_fmt", pix, "-f", "image2pipe", "-c:v", codec, "-"));
        const raw = run(ff(...lavfi(src, 4), "-pix_fmt", pix, "-f", "rawvideo", "-"));
        const frames = readFrames("pnm", pnm);
        expect(frames.length).toBe(4);
        expect(frames.every((f) => f.info.fmt === fmt)).toBe(true);
        expect(Buffer.from(cat(frames))).toEqual(Buffer.from(raw));
      }
    }
  }, T);

  // Even sizes only: for odd sizes ffmpeg's swscale takes its generic path and
  // stretches the ceil(w/2)-wide chroma plane over w pixels (sample positions
  // drift from x>>1), so colour edges differ by up to 255 there; we use the
  // chroma sample that covers the pixel (x>>1, y>>1). Odd sizes are checked
  // against our own formula through ffmpeg's PNG decoder below.
  test("yuv420p -> P6 conversion is close to ffmpeg's yuv420p -> rgb24 (even sizes)", () => {
    for (const size of ["64x48", "34x18"]) {
      const src = `testsrc=size=${size}:rate=25`; // testsrc2 rounds sizes to even
      const yuv = run(ff(...lavfi(src, 2), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-"));
      const [w, h] = size.split("x").map(Number) as [number, number];
      const frames = readFrames("rawvideo", yuv, { size: { w, h }, pixFmt: "yuv420p" });
      const ppm = writeFrames("pnm", frames);
      const ours = cat(readFrames("pnm", ppm));
      const ref = run(ff("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size, "-i", "-", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"), yuv);
      const d = maxDiff(ours, ref);
      console.log(`yuv420p ${size} -> rgb24: max difference from ffmpeg ${d}`);
      expect(d).toBeLessThanOrEqual(3);
    }
  }, T);
});

describe.skipIf(!FFMPEG || !NETPBM)("pnm with netpbm", () => {
  test("netpbm reads our P5 / P6 / P7 output", () => {
    const raw = run(ff(...lavfi("testsrc=size=33x17:rate=25", 2), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"));
    const rgb = readFrames("rawvideo", raw, { size: { w: 33, h: 17 }, pixFmt: "rgb24" });
    const ppm = writeFrames("pnm", rgb);
    const info = new TextDecoder().decode(run(["pamfile", "-allimages", "-"], ppm));
    expect(info).toContain("Image 0");
    expect(info).toContain("Image 1");
    expect(info).toMatch(/PPM raw, 33 by 17 +maxval 255/);
    // pnmtopng (first image; it may choose a palette PNG) decodes to the same pixels.
    const pngDir = tempDir("netpbm");
    writeFileSync(join(pngDir, "a.png"), run(["pnmtopng"], writeFrames("pnm", [rgb[0]!])));
    expect(readFrames("png", new Uint8Array(0), { path: pngDir })[0]!.data).toEqual(rgb[0]!.data);
    // ppmtopgm of our P6 = P5; our source parses it.
    const pgm = readFrames("pnm", run(["ppmtopgm"], writeFrames("pnm", [rgb[0]!])));
    expect(pgm[0]!.info.fmt).toBe(Format.gray8);
    // P7 RGB_ALPHA
    const rgbaRaw = run(ff(...lavfi("testsrc=size=33x17:rate=25", 1), "-pix_fmt", "rgba", "-f", "rawvideo", "-"));
    const pam = writeFrames("pnm", readFrames("rawvideo", rgbaRaw, { size: { w: 33, h: 17 }, pixFmt: "rgba" }));
    const pinfo = new TextDecoder().decode(run(["pamfile", "-"], pam));
    expect(pinfo).toMatch(/PAM.*33 by 17 by 4 +maxval 255/);
    expect(pinfo).toContain("RGB_ALPHA");
  }, T);
});

// ------------------------------------------------------------------ png

describe.skipIf(!FFMPEG)("png with ffmpeg", () => {
  test("our PNG output read by ffmpeg equals the source pixels (rgb24, gray, rgba; odd size)", () => {
    for (const [pix, fmt] of [["rgb24", "rgb24"], ["gray", "gray"], ["rgba", "rgba"]] as const) {
      const raw = run(ff(...lavfi("testsrc=size=33x17:rate=25", 3), "-pix_fmt", pix, "-f", "rawvideo", "-"));
      const frames = readFrames("rawvideo", raw, { size: { w: 33, h: 17 }, pixFmt: fmt });
      const dir = join(tempDir("pngout"), "frames");
      writeFrames("png", frames, { path: dir, delivered: 0 });
      expect(readdirSync(dir).sort()).toEqual(["frame-000000.png", "frame-000001.png", "frame-000002.png"]);
      const back = run(ff("-i", join(dir, "frame-%06d.png"), "-pix_fmt", pix, "-f", "rawvideo", "-"));
      expect(back).toEqual(raw);
    }
  }, T);

  test("yuv420p PNG output (odd size) equals our conversion, as ffmpeg decodes it", () => {
    const yuv = run(ff(...lavfi("testsrc=size=33x17:rate=25", 1), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-"));
    const frames = readFrames("rawvideo", yuv, { size: { w: 33, h: 17 }, pixFmt: "yuv420p" });
    const dir = tempDir("pngyuv");
    writeFrames("png", frames, { path: dir, delivered: 7 });
    const back = run(ff("-i", join(dir, "frame-000007.png"), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"));
    const ref = new Uint8Array(33 * 17 * 3);
    yuv420pToRgb24(frames[0]!.data, 33, 17, ref);
    expect(back).toEqual(ref);
  }, T);

  test("PNG input written by ffmpeg decodes equal to ffmpeg's rawvideo (rgb24, rgba, gray, pal8, ya8; rgb48 with --depth 8)", () => {
    const src = "testsrc2=size=64x48:rate=25";
    for (const [pix, ref, fmt] of [
      ["rgb24", "rgb24", Format.rgb24],
      ["rgba", "rgba", Format.rgba32],
      ["gray", "gray", Format.gray8],
      ["pal8", "rgb24", Format.rgb24], // palette without tRNS -> rgb24
      ["ya8", "rgba", Format.rgba32], // gray+alpha -> rgba32
    ] as const) {
      const dir = tempDir(`pngin-${pix}`);
      run(ff(...lavfi(src, 3), "-pix_fmt", pix, join(dir, "in-%03d.png")));
      const frames = readFrames("png", new Uint8Array(0), { path: dir });
      expect(frames.length).toBe(3);
      expect(frames.every((f) => f.info.fmt === fmt)).toBe(true);
      const raw = run(ff("-i", join(dir, "in-%03d.png"), "-pix_fmt", ref, "-f", "rawvideo", "-"));
      expect(Buffer.from(cat(frames))).toEqual(Buffer.from(raw));
    }
    // 16-bit (with --depth 8): each sample v becomes round(v * 255 / 65535), as netpbm's pamdepth 255.
    const dir = tempDir("pngin-48");
    mkdirSync(dir, { recursive: true });
    run(ff(...lavfi(src, 2), "-pix_fmt", "rgb48be", join(dir, "in-%03d.png")));
    const frames = readFrames("png", new Uint8Array(0), { path: `${dir}/*.png`, depth: 8 });
    const be16 = run(ff("-i", join(dir, "in-%03d.png"), "-pix_fmt", "rgb48be", "-f", "rawvideo", "-"));
    const scaled = new Uint8Array(be16.length / 2).map((_, i) => Math.floor((((be16[2 * i]! << 8) | be16[2 * i + 1]!) * 255 + 32767) / 65535));
    expect(cat(frames)).toEqual(scaled);
  }, T);
});

// ------------------------------------------------------------------ end to end through `shmimg run`

describe.skipIf(!FFMPEG || !NETPBM)("end to end: shmimg run with real formats", () => {
  /** A run under a name of the suite's (census.ts), one per call. */
  const RUN = () => `"${BUN}" src/cli.ts run --workers 2 --name ${uniqueName("interop")}`;
  const SRC = "-f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 10";
  const FF = "ffmpeg -v error -nostdin";
  const md5Lines = (text: string) => text.split("\n").filter((l) => l && (!l.startsWith("#") || l.startsWith("#dimensions")));
  const ok = (r: ReturnType<typeof sh>) => {
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  };
  const txt = (b: Uint8Array) => new TextDecoder().decode(b);

  test("y4m | run --op hflip | y4m: framemd5 equals ffmpeg -vf hflip", () => {
    const ours = ok(sh(`${FF} ${SRC} -f yuv4mpegpipe - | ${RUN()} --in-format y4m --op hflip --out-format y4m | ${FF} -f yuv4mpegpipe -i - -f framemd5 -`));
    const ref = ok(sh(`${FF} ${SRC} -vf hflip -pix_fmt yuv420p -f framemd5 -`));
    expect(md5Lines(txt(ours)).length).toBe(11);
    expect(md5Lines(txt(ours))).toEqual(md5Lines(txt(ref)));
  }, T);

  test("rgb24 rawvideo | run --op invert equals ffmpeg negate", () => {
    const ours = ok(sh(`${FF} ${SRC} -pix_fmt rgb24 -f rawvideo - | ${RUN()} --in-format rawvideo --size 64x48 --pix-fmt rgb24 --op invert --out-format rawvideo`));
    const ref = ok(sh(`${FF} ${SRC} -vf format=rgb24,negate -pix_fmt rgb24 -f rawvideo -`));
    expect(ours.length).toBe(10 * 64 * 48 * 3);
    expect(ours).toEqual(ref);
  }, T);

  test("PPM stream | run --op grayscale | pnm equals ppmtopgm", () => {
    const dir = tempDir("e2e-pnm");
    writeFileSync(join(dir, "in.ppm"), ok(sh(`${FF} ${SRC} -f image2pipe -c:v ppm -`)));
    const ours = ok(sh(`${RUN()} --in-format pnm --op grayscale --out-format pnm < "${dir}/in.ppm"`));
    const ref = ok(sh(`ppmtopgm < "${dir}/in.ppm"`));
    expect(ours).toEqual(ref);
    expect(readFrames("pnm", ours).length).toBe(10);
  }, T);

  test("PNG folder in and out: names kept, ffmpeg decodes the output equal to the input", () => {
    const dir = tempDir("e2e-png");
    mkdirSync(join(dir, "in"));
    ok(sh(`${FF} ${SRC} "${dir}/in/%03d.png"`));
    ok(sh(`${RUN()} --in-format png --input "${dir}/in" --op identity --out-format png --output "${dir}/out"`));
    expect(readdirSync(join(dir, "out")).sort().slice(0, 2)).toEqual(["001.png", "002.png"]);
    const a = ok(sh(`${FF} -i "${dir}/in/%03d.png" -pix_fmt rgb24 -f rawvideo -`));
    const b = ok(sh(`${FF} -i "${dir}/out/%03d.png" -pix_fmt rgb24 -f rawvideo -`));
    expect(b.length).toBe(10 * 64 * 48 * 3);
    expect(b).toEqual(a);
  }, T);

  test("a short final rawvideo frame exits 3 and says how many bytes came", () => {
    const r = sh(`head -c 20000 /dev/zero | ${RUN()} --in-format rawvideo --size 64x48 --pix-fmt rgb24 --out-format rawvideo`);
    expect(r.code).toBe(3);
    expect(r.stdout.length).toBe(2 * 9216);
    expect(r.stderr).toContain("partial frame at seq 2: expected 9216 bytes, got 1568 (rawvideo payload");
  }, T);
});
