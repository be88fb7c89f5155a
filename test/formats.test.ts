/**
 * Format tests without external tools: sources over a real Input (temp-file
 * fd), sinks into a real Output (temp-file fd), slot-like buffers longer than
 * the payload; round trips, conversions and every malformed case's message.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { Input } from "../src/io/input";
import { Format } from "../src/frame/format";
import { IN_FORMATS, OUT_FORMATS, formatHelp } from "../src/formats";
import { rgbToYuv444p, yuv420pToRgb24 } from "../src/formats/convert";
import { rgbDef } from "../src/ops/color";
import type { FrameInfo } from "../src/formats/types";
import { readFrames, removeTempDirs, tempDir, writeFrames, type Frame } from "./format-io";

const fi = (w: number, h: number, fmt: Format, seq = 0): FrameInfo => {
  const len = fmt === Format.gray8 ? w * h : fmt === Format.rgb24 ? w * h * 3 : fmt === Format.rgba32 ? w * h * 4 : w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);
  return { w, h, fmt, seq, len };
};
const frame = (w: number, h: number, fmt: Format, seed = 1, seq = 0): Frame => {
  const info = fi(w, h, fmt, seq);
  return { info, data: pattern(info.len, seed) };
};

// ------------------------------------------------------------------ helpers
afterAll(removeTempDirs);

const enc = (s: string) => new TextEncoder().encode(s);

function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const bs = parts.map((p) => (typeof p === "string" ? enc(p) : p));
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes. */
function pattern(n: number, seed = 1): Uint8Array {
  const a = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    a[i] = x >>> 24;
  }
  return a;
}

/** Runs fn and returns the thrown error (fails when nothing is thrown). */
function thrown(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: number; message: string };
  }
  throw new Error("expected an error, none was thrown");
}

// ------------------------------------------------------------------ pnm
describe("pnm", () => {
  test("P5 + P6 + P7 stream with comments parses into gray8 / rgb24 / rgba32", () => {
    const g = pattern(4 * 3, 1), c = pattern(5 * 2 * 3, 2), a = pattern(2 * 2 * 4, 3);
    const bytes = concat(
      "P5\n# a comment\n4 # width\n 3\n#x\n255\n", g,
      "\n", // whitespace between images is skipped
      "P6 5\t2\r255 ", c,
      "P7\n# pam\nWIDTH 2\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", a,
      "\n",
    );
    const f = readFrames("pnm", bytes);
    expect(f.map((x) => [x.info.w, x.info.h, x.info.fmt, x.info.seq, x.info.len])).toEqual([
      [4, 3, Format.gray8, 0, 12],
      [5, 2, Format.rgb24, 1, 30],
      [2, 2, Format.rgba32, 2, 16],
    ]);
    expect(f[0]!.data).toEqual(g);
    expect(f[1]!.data).toEqual(c);
    expect(f[2]!.data).toEqual(a);
  });

  test("P7 GRAYSCALE and RGB, TUPLTYPE optional", () => {
    const g = pattern(6, 4), c = pattern(9, 5);
    const f = readFrames("pnm", concat("P7\nWIDTH 3\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n", g, "P7\nHEIGHT 1\nWIDTH 3\nMAXVAL 255\nDEPTH 3\nENDHDR\n", c));
    expect(f.map((x) => x.info.fmt)).toEqual([Format.gray8, Format.rgb24]);
    expect(f[0]!.data).toEqual(g);
    expect(f[1]!.data).toEqual(c);
  });

  test("round trip gray8/rgb24/rgba32 through the sink gives canonical headers and the same frames", () => {
    const frames = [frame(4, 3, Format.gray8, 1), frame(5, 2, Format.rgb24, 2), frame(3, 3, Format.rgba32, 3)];
    const out = writeFrames("pnm", frames);
    const expected = concat(
      "P5\n4 3\n255\n", frames[0]!.data,
      "P6\n5 2\n255\n", frames[1]!.data,
      "P7\nWIDTH 3\nHEIGHT 3\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", frames[2]!.data,
    );
    expect(out).toEqual(expected);
    const back = readFrames("pnm", out);
    expect(back.map((b) => b.data)).toEqual(frames.map((f) => f.data));
  });

  test("many frames over several batches (header memory reused after flushed())", () => {
    const frames = Array.from({ length: 150 }, (_, i) => frame(3 + (i % 5), 2 + (i % 3), i % 2 ? Format.rgb24 : Format.gray8, i + 1, i));
    const back = readFrames("pnm", writeFrames("pnm", frames, {}, 40));
    expect(back.length).toBe(150);
    for (let i = 0; i < 150; i++) expect(back[i]!.data).toEqual(frames[i]!.data);
  });

  test("yuv420p output becomes P6 with the BT.601 limited-range conversion", () => {
    // 3x3 (odd): Y plane 9, U/V planes 2x2.
    const y = [16, 235, 81, 41, 128, 16, 145, 235, 81];
    const u = [128, 90, 54, 128]; // chroma (0,0) (1,0) (0,1) (1,1)
    const v = [128, 240, 34, 128];
    const f: Frame = { info: fi(3, 3, Format.yuv420p), data: Uint8Array.from([...y, ...u, ...v]) };
    const out = writeFrames("pnm", [f]);
    const hdr = "P6\n3 3\n255\n";
    expect(new TextDecoder().decode(out.subarray(0, hdr.length))).toBe(hdr);
    const rgb = out.subarray(hdr.length);
    expect(rgb.length).toBe(27);
    expect([...rgb.subarray(0, 3)]).toEqual([0, 0, 0]); // Y16 -> black
    expect([...rgb.subarray(3, 6)]).toEqual([255, 255, 255]); // Y235 -> white
    // (2,0): Y81 U90 V240 is BT.601 red
    expect(Math.abs(rgb[6]! - 255)).toBeLessThanOrEqual(1);
    expect(rgb[7]!).toBeLessThanOrEqual(1);
    expect(rgb[8]!).toBeLessThanOrEqual(1);
    // (0,2): Y145 with chroma (0,1) U54 V34 is green
    expect([...rgb.subarray(18, 21)].map((c, i) => Math.abs(c - [0, 255, 0][i]!) <= 1)).toEqual([true, true, true]);
    const ref = new Uint8Array(27);
    yuv420pToRgb24(f.data, 3, 3, ref);
    expect(rgb).toEqual(ref);
  });

  test("yuv420p frames in one batch each keep their own converted bytes until flushed()", () => {
    const frames = Array.from({ length: 20 }, (_, i) => frame(5 + (i % 3), 3 + (i % 2), Format.yuv420p, i + 1, i));
    const back = readFrames("pnm", writeFrames("pnm", frames, {}, 64));
    expect(back.length).toBe(20);
    frames.forEach((f, i) => {
      const ref = new Uint8Array(f.info.w * f.info.h * 3);
      yuv420pToRgb24(f.data, f.info.w, f.info.h, ref);
      expect(back[i]!.info.fmt).toBe(Format.rgb24);
      expect(back[i]!.data).toEqual(ref);
    });
  });

  test("the yuv420p -> rgb24 conversion equals the rgb op (one formula in the project)", () => {
    const op = rgbDef.create(undefined);
    for (const [w, h] of [[64, 48], [33, 17], [1, 1]] as const) {
      const f = frame(w, h, Format.yuv420p, w);
      const g = { w, h, fmt: Format.yuv420p };
      const viaOp = new Uint8Array(w * h * 3);
      op.apply(f.data, g, viaOp, op.out(g));
      const viaSink = new Uint8Array(w * h * 3);
      yuv420pToRgb24(f.data, w, h, viaSink);
      expect(viaSink).toEqual(viaOp);
    }
  });

  test("malformed pnm: errors name format, frame and field", () => {
    const ok = concat("P5\n2 2\n255\n", pattern(4));
    let e = thrown(() => readFrames("pnm", enc("P6\n4 3")));
    expect(e.code).toBe(3);
    expect(e.message).toContain("partial frame at seq 0");
    expect(e.message).toContain("pnm header");
    expect(e.message).toContain("height");

    e = thrown(() => readFrames("pnm", concat(ok, "P6\n4 3\n65535\n", pattern(72))));
    expect(e.code).toBe(2);
    expect(e.message).toContain("pnm frame #1");
    expect(e.message).toContain("maxval 65535 is not supported (only 255");
    expect(e.message).toContain("pnmdepth 255");

    e = thrown(() => readFrames("pnm", concat(ok, ok, "P6\n4 3\n255\n", pattern(10))));
    expect(e.code).toBe(3);
    expect(e.message).toBe("partial frame at seq 2: expected 36 bytes, got 10 (pnm payload of 4x3 rgb24)");

    e = thrown(() => readFrames("pnm", enc("P3\n1 1\n255\n0 0 0\n")));
    expect(e.code).toBe(2);
    expect(e.message).toContain("pnm frame #0: field magic");

    e = thrown(() => readFrames("pnm", enc("P5\n1 1\n255x")));
    expect(e.code).toBe(2);
    expect(e.message).toContain("field maxval: expected one whitespace byte");

    e = thrown(() => readFrames("pnm", enc("P5\n0 1\n255\n")));
    expect(e.message).toContain("field width");

    e = thrown(() => readFrames("pnm", enc("P5\nx 1\n255\n")));
    expect(e.message).toContain("field width: expected a decimal number");

    e = thrown(() => readFrames("pnm", enc("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\nab")));
    expect(e.code).toBe(2);
    expect(e.message).toContain("field TUPLTYPE");

    e = thrown(() => readFrames("pnm", enc("P7\nWIDTH 1\nHEIGHT 1\nMAXVAL 255\nENDHDR\na")));
    expect(e.message).toContain("field DEPTH: missing");

    e = thrown(() => readFrames("pnm", enc("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\nabc")));
    expect(e.message).toContain("TUPLTYPE does not match DEPTH 3");

    e = thrown(() => readFrames("pnm", enc("P7\nWIDTH 1\nFOO 2\nENDHDR\n")));
    expect(e.message).toContain('unknown PAM header keyword "FOO"');

    e = thrown(() => readFrames("pnm", enc("P7\nWIDTH 1\nHEIG")));
    expect(e.code).toBe(3);
  });

  test("empty input and trailing whitespace are a clean end", () => {
    expect(readFrames("pnm", new Uint8Array(0))).toEqual([]);
    expect(readFrames("pnm", enc("\n\n")).length).toBe(0);
  });
});

// ------------------------------------------------------------------ y4m
describe("y4m", () => {
  const yuv = (w: number, h: number, seed: number) => pattern(w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2), seed);

  test("header tags in any order, unknown tags ignored, X tags kept, FRAME parameters", () => {
    const a = yuv(5, 3, 1), b = yuv(5, 3, 2);
    const bytes = concat("YUV4MPEG2 C420mpeg2 Zfoo H3 XYSCSS=420MPEG2 A1:1 W5 F30000:1001 It XCOLORRANGE=LIMITED\n", "FRAME Ixyz Xfoo=bar\n", a, "FRAME\n", b);
    const f = readFrames("y4m", bytes);
    expect(f.map((x) => [x.info.w, x.info.h, x.info.fmt, x.info.seq, x.info.len])).toEqual([
      [5, 3, Format.yuv420p, 0, a.length],
      [5, 3, Format.yuv420p, 1, b.length],
    ]);
    expect(f[0]!.data).toEqual(a);
    expect(f[1]!.data).toEqual(b);
  });

  test("X tags and F/I/A are kept on the source", async () => {
    const { Y4mSource } = await import("../src/formats/y4m");
    const dir = tempDir("y4m");
    writeFileSync(join(dir, "f"), concat("YUV4MPEG2 W2 H2 F25:1 Ip A1:1 XYSCSS=420JPEG XFOO\nFRAME\n", yuv(2, 2, 1)));
    const fd = openSync(join(dir, "f"), "r");
    const s = new Y4mSource(new Input(fd));
    expect(s.next()?.w).toBe(2);
    expect(s.params).toEqual({ w: 2, h: 2, colorspace: "420jpeg", rate: "25:1", interlace: "p", aspect: "1:1", xtags: ["YSCSS=420JPEG", "FOO"], text: "W2 H2 F25:1 Ip A1:1 XYSCSS=420JPEG XFOO" });
    closeSync(fd);
  });

  for (const c of ["C420jpeg", "C420mpeg2", "C420paldv", "C420", ""]) {
    test(`colorspace ${c || "(none)"} -> yuv420p`, () => {
      const a = yuv(7, 5, 3);
      const f = readFrames("y4m", concat(`YUV4MPEG2 W7 H5 F25:1 ${c}\nFRAME\n`, a));
      expect(f[0]!.info.fmt).toBe(Format.yuv420p);
      expect(f[0]!.data).toEqual(a);
    });
  }

  test("Cmono -> gray8", () => {
    const a = pattern(15, 4);
    const f = readFrames("y4m", concat("YUV4MPEG2 W5 H3 Cmono\nFRAME\n", a, "FRAME\n", a));
    expect(f.map((x) => x.info.fmt)).toEqual([Format.gray8, Format.gray8]);
    expect(f[1]!.data).toEqual(a);
  });

  test("C444 is refused (it cannot be carried exactly) unless --convert-444 asks for rgb24", () => {
    const planes = Uint8Array.from([16, 235, 81, /*U*/ 128, 128, 90, /*V*/ 128, 128, 240]);
    const e = thrown(() => readFrames("y4m", concat("YUV4MPEG2 W3 H1 C444\nFRAME\n", planes)));
    expect(e.message).toContain("field C (colorspace) is 444");
    expect(e.message).toContain("ffmpeg -i in.y4m -pix_fmt yuv420p");
    expect(e.message).toContain("--convert-444");
    expect(e.code).toBe(2);
  });

  test("C444 -> rgb24 with --convert-444 (BT.601 limited range)", () => {
    const planes = Uint8Array.from([16, 235, 81, /*U*/ 128, 128, 90, /*V*/ 128, 128, 240]);
    const f = readFrames("y4m", concat("YUV4MPEG2 W3 H1 C444\nFRAME\n", planes), { convert444: true });
    expect(f[0]!.info.fmt).toBe(Format.rgb24);
    expect(f[0]!.info.len).toBe(9);
    const px = [...f[0]!.data];
    expect(px.slice(0, 6)).toEqual([0, 0, 0, 255, 255, 255]);
    expect(px[6]!).toBeGreaterThanOrEqual(254);
    expect(px[7]!).toBeLessThanOrEqual(1);
    expect(px[8]!).toBeLessThanOrEqual(1);
  });

  test("sink: yuv420p -> C420jpeg stream, byte exact, readable by the source", () => {
    const frames = [frame(7, 5, Format.yuv420p, 1, 0), frame(7, 5, Format.yuv420p, 2, 1)];
    const out = writeFrames("y4m", frames);
    const expected = concat("YUV4MPEG2 W7 H5 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n", "FRAME\n", frames[0]!.data, "FRAME\n", frames[1]!.data);
    expect(out).toEqual(expected);
    expect(readFrames("y4m", out).map((f) => f.data)).toEqual(frames.map((f) => f.data));
  });

  test("sink: gray8 -> Cmono; rgb24 and rgba32 -> C444 (alpha dropped) and back within 2 levels", () => {
    const g = frame(4, 2, Format.gray8, 5);
    expect(writeFrames("y4m", [g])).toEqual(concat("YUV4MPEG2 W4 H2 F25:1 Ip A1:1 Cmono\nFRAME\n", g.data));
    for (const fmt of [Format.rgb24, Format.rgba32]) {
      const bpp = fmt === Format.rgb24 ? 3 : 4;
      // Colours inside the limited-range gamut round-trip to within +-2.
      const f = frame(6, 4, fmt, 6);
      const out = writeFrames("y4m", [f, f]);
      const text = new TextDecoder().decode(out.subarray(0, 80));
      expect(text.startsWith("YUV4MPEG2 W6 H4 F25:1 Ip A1:1 C444 XYSCSS=444 XCOLORRANGE=LIMITED\nFRAME\n")).toBe(true);
      const back = readFrames("y4m", out, { convert444: true });
      expect(back.length).toBe(2);
      expect(back[0]!.info.fmt).toBe(Format.rgb24);
      for (let i = 0; i < 24; i++)
        for (let k = 0; k < 3; k++) expect(Math.abs(back[1]!.data[i * 3 + k]! - f.data[i * bpp + k]!)).toBeLessThanOrEqual(2);
    }
  });

  test("sink: resumeOffset > 0 does not write the stream header again", () => {
    const f = frame(2, 2, Format.yuv420p, 1);
    expect(writeFrames("y4m", [f], { resumeOffset: 1234, delivered: 10 })).toEqual(concat("FRAME\n", f.data));
  });

  test("sink: a frame of another size or format is refused", () => {
    let e = thrown(() => writeFrames("y4m", [frame(4, 4, Format.yuv420p), frame(4, 2, Format.yuv420p, 2, 7)]));
    expect(e.code).toBe(2);
    expect(e.message).toContain("y4m output frame #1 (seq 7)");
    expect(e.message).toContain("4x2 yuv420p differs from the stream's 4x4 yuv420p");
    e = thrown(() => writeFrames("y4m", [frame(4, 4, Format.yuv420p), frame(4, 4, Format.gray8, 2, 1)]));
    expect(e.message).toContain("field geometry");
  });

  test("malformed y4m: errors name format, frame and field", () => {
    const hdr = "YUV4MPEG2 W4 H2 C420jpeg\n";
    const a = yuv(4, 2, 1); // 12 bytes
    let e = thrown(() => readFrames("y4m", concat(hdr, "FRAME\n", a, "FRAME\n", a, "FRAMX\n", a)));
    expect(e.code).toBe(2);
    expect(e.message).toContain('y4m frame #2: bad FRAME line "FRAMX"');

    e = thrown(() => readFrames("y4m", concat(hdr, "FRAME\n", a, "FRAME\n", a.subarray(0, 5))));
    expect(e.code).toBe(3);
    expect(e.message).toBe("partial frame at seq 1: expected 12 bytes, got 5 (y4m payload of 4x2 C420jpeg)");

    e = thrown(() => readFrames("y4m", enc("YUV4MPEG2 W4 H2 C422\nFRAME\n")));
    expect(e.code).toBe(2);
    expect(e.message).toContain("field C (colorspace) \"422\" is not supported");

    e = thrown(() => readFrames("y4m", enc("YUV4MPEG2 W4 H2")));
    expect(e.code).toBe(3);
    expect(e.message).toContain("y4m stream header");

    e = thrown(() => readFrames("y4m", enc("YUV4MPEG2 H2 C420\n")));
    expect(e.code).toBe(2);
    expect(e.message).toContain("field W (width) is missing");

    e = thrown(() => readFrames("y4m", enc("YUV4MPEG2 W0 H2\n")));
    expect(e.message).toContain("field W is \"0\"");

    e = thrown(() => readFrames("y4m", enc("P6\n1 1\n255\n...")));
    expect(e.message).toContain("field magic");

    e = thrown(() => readFrames("y4m", concat(hdr, "FRAME\n", a, "FRA")));
    expect(e.code).toBe(3);
    expect(e.message).toContain("partial frame at seq 1");
    expect(e.message).toContain("FRAME line");
  });

  test("clean ends: empty input, header without frames", () => {
    expect(readFrames("y4m", new Uint8Array(0))).toEqual([]);
    expect(readFrames("y4m", enc("YUV4MPEG2 W4 H2\n"))).toEqual([]);
  });
});

// ------------------------------------------------------------------ rawvideo
describe("rawvideo", () => {
  const cases: [string, Format][] = [["gray", Format.gray8], ["rgb24", Format.rgb24], ["rgba", Format.rgba32], ["yuv420p", Format.yuv420p]];
  for (const [name, fmt] of cases) {
    test(`${name}: frames of the right byte count, written back unchanged`, () => {
      const frames = [frame(5, 3, fmt, 1, 0), frame(5, 3, fmt, 2, 1), frame(5, 3, fmt, 3, 2)];
      const bytes = concat(...frames.map((f) => f.data));
      const back = readFrames("rawvideo", bytes, { size: { w: 5, h: 3 }, pixFmt: name });
      expect(back.map((f) => [f.info.fmt, f.info.seq, f.info.len])).toEqual(frames.map((f) => [fmt, f.info.seq, f.info.len]));
      expect(writeFrames("rawvideo", back)).toEqual(bytes);
    });
  }

  test("a short final frame is a PartialFrame saying expected and got bytes", () => {
    const bytes = pattern(45 * 2 + 20);
    const e = thrown(() => readFrames("rawvideo", bytes, { size: { w: 5, h: 3 }, pixFmt: "rgb24" }));
    expect(e.code).toBe(3);
    expect(e.message).toContain("partial frame at seq 2: expected 45 bytes, got 20 (rawvideo payload: --size 5x3 --pix-fmt rgb24");
  });

  test("missing --size / --pix-fmt or an unknown pix-fmt is InvalidInput", () => {
    let e = thrown(() => readFrames("rawvideo", pattern(4), { pixFmt: "gray" }));
    expect(e.code).toBe(2);
    expect(e.message).toContain("--size WxH --pix-fmt F");
    e = thrown(() => readFrames("rawvideo", pattern(4), { size: { w: 2, h: 2 } }));
    expect(e.message).toContain("field pix-fmt is missing");
    e = thrown(() => readFrames("rawvideo", pattern(4), { size: { w: 2, h: 2 }, pixFmt: "nv12" }));
    expect(e.message).toContain('"nv12" is not supported');
  });
});

// ------------------------------------------------------------------ png
describe("png", () => {
  const writePngs = (frames: Frame[], delivered = 0) => {
    const dir = join(tempDir("png"), "sub", "out"); // created by the sink
    writeFrames("png", frames, { path: dir, delivered });
    return dir;
  };

  test("round trip gray8 / rgb24 / rgba32 through a folder; files numbered from delivered", () => {
    const frames = [frame(5, 3, Format.gray8, 1), frame(4, 4, Format.rgb24, 2), frame(3, 2, Format.rgba32, 3)];
    const dir = writePngs(frames, 5);
    expect(readdirSync(dir).sort()).toEqual(["frame-000005.png", "frame-000006.png", "frame-000007.png"]);
    const back = readFrames("png", new Uint8Array(0), { path: dir });
    expect(back.map((f) => [f.info.w, f.info.h, f.info.fmt, f.info.seq])).toEqual([
      [5, 3, Format.gray8, 0],
      [4, 4, Format.rgb24, 1],
      [3, 2, Format.rgba32, 2],
    ]);
    expect(back.map((f) => f.data)).toEqual(frames.map((f) => f.data));
  });

  test("yuv420p is written as RGB after conversion; glob input", () => {
    const f = frame(5, 3, Format.yuv420p, 4);
    const dir = writePngs([f]);
    const back = readFrames("png", new Uint8Array(0), { path: `${dir}/*.png` });
    expect(back[0]!.info.fmt).toBe(Format.rgb24);
    const ref = new Uint8Array(45);
    yuv420pToRgb24(f.data, 5, 3, ref);
    expect(back[0]!.data).toEqual(ref);
  });

  test("decodes palette, gray+alpha and 1-bit PNGs; 16-bit ones only with --depth 8", () => {
    const dir = tempDir("pngin");
    // palette 2x1 with tRNS -> rgba32
    // (fast-png writes tRNS for the non-opaque entries only, so the transparent entry comes first)
    const pal = [[10, 20, 30, 128], [40, 50, 60, 255]];
    writeFileSync(join(dir, "a.png"), encode({ width: 2, height: 1, data: Uint8Array.from([0, 1]), channels: 1, depth: 8, palette: pal }));
    // gray + alpha -> rgba32
    writeFileSync(join(dir, "b.png"), encode({ width: 2, height: 1, data: Uint8Array.from([7, 200, 9, 100]), channels: 2, depth: 8 }));
    // 16-bit RGB -> v * 255 / 65535 rounded (pamdepth 255), with --depth 8
    writeFileSync(join(dir, "c.png"), encode({ width: 1, height: 1, data: Uint16Array.from([0x1234, 0xabcd, 0xff01]), channels: 3, depth: 16 }));
    // 1-bit gray, 10 pixels (row padded to 2 bytes) -> 0/255
    writeFileSync(join(dir, "d.png"), encode({ width: 10, height: 1, data: Uint8Array.from([0b10110000, 0b01000000]), channels: 1, depth: 1 }));
    writeFileSync(join(dir, "ignored.txt"), "x");
    const e = thrown(() => readFrames("png", new Uint8Array(0), { path: dir }));
    expect(e.code).toBe(2);
    expect(e.message).toContain(`png frame #2 (file "${join(dir, "c.png")}"): IHDR: bit depth 16 (RGB)`);
    expect(e.message).toContain("pass --depth 8");
    const f = readFrames("png", new Uint8Array(0), { path: dir, depth: 8 });
    expect(f.map((x) => x.info.fmt)).toEqual([Format.rgba32, Format.rgba32, Format.rgb24, Format.gray8]);
    expect([...f[0]!.data]).toEqual([10, 20, 30, 128, 40, 50, 60, 255]);
    expect([...f[1]!.data]).toEqual([7, 7, 7, 200, 9, 9, 9, 100]);
    expect([...f[2]!.data]).toEqual([0x12, 0xab, 0xfe]); // 0x1234 = 4660 -> 18.1; 0xabcd = 43981 -> 171.1; 0xff01 = 65281 -> 254.0
    expect([...f[3]!.data]).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  });

  test("errors: empty folder, not a PNG, missing paths", () => {
    const empty = tempDir("empty");
    let e = thrown(() => readFrames("png", new Uint8Array(0), { path: empty }));
    expect(e.code).toBe(2);
    expect(e.message).toContain(`png input: directory "${empty}" holds no *.png file`);

    const dir = tempDir("bad");
    writeFileSync(join(dir, "a.png"), encode({ width: 1, height: 1, data: Uint8Array.from([1]), channels: 1, depth: 8 }));
    writeFileSync(join(dir, "b.png"), "this is not a png");
    e = thrown(() => readFrames("png", new Uint8Array(0), { path: dir }));
    expect(e.code).toBe(2);
    expect(e.message).toContain(`png frame #1 (file "${join(dir, "b.png")}")`);
    expect(e.message).toContain("not a PNG file: the first 8 bytes are not the PNG signature");

    e = thrown(() => readFrames("png", new Uint8Array(0), { path: join(empty, "*.png") }));
    expect(e.message).toContain("matches no file");
    e = thrown(() => readFrames("png", new Uint8Array(0), { path: join(empty, "nope") }));
    expect(e.message).toContain("does not exist");
    // Without a path: PNG files back to back on the stream; an empty stream has no frame.
    expect(readFrames("png", new Uint8Array(0), {})).toEqual([]);
    e = thrown(() => readFrames("png", new TextEncoder().encode("this is not a png"), {}));
    expect(e.message).toContain("png frame #0 (stream): field signature: no PNG signature");
    expect(e.code).toBe(2);
    // Without --output, PNG files go back to back on the output (ffmpeg -f image2pipe reads them).
    const piped = writeFrames("png", [frame(1, 1, Format.gray8), frame(2, 1, Format.gray8)], {});
    expect([...piped.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(new TextDecoder("latin1").decode(piped).split("IEND").length).toBe(3);
  });
});

// ------------------------------------------------------------------ registry and conversions
describe("registry", () => {
  test("all formats are listed and documented", () => {
    for (const f of ["native", "pnm", "y4m", "rawvideo", "png", "jpeg"]) {
      expect(IN_FORMATS as readonly string[]).toContain(f);
      expect(OUT_FORMATS as readonly string[]).toContain(f);
      expect(formatHelp()).toContain(`  ${f} `);
    }
    expect(thrown(() => readFrames("gif", new Uint8Array(0))).code).toBe(2);
  });

  test("RGB -> YUV -> RGB stays within 2 levels inside the gamut", () => {
    const n = 4096;
    const rgb = pattern(n * 3, 9);
    const yuv = new Uint8Array(n * 3);
    rgbToYuv444p(rgb, n, 1, 3, yuv);
    for (let i = 0; i < n; i++) {
      expect(yuv[i]!).toBeGreaterThanOrEqual(16);
      expect(yuv[i]!).toBeLessThanOrEqual(235);
    }
    const back = readFrames("y4m", concat(`YUV4MPEG2 W${n} H1 C444\nFRAME\n`, yuv), { convert444: true })[0]!.data;
    let max = 0;
    for (let i = 0; i < n * 3; i++) max = Math.max(max, Math.abs(back[i]! - rgb[i]!));
    expect(max).toBeLessThanOrEqual(2);
  });
});
