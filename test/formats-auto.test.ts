/**
 * Formats found, not guessed, and batches of images, end to end through the
 * real executable: --in-format auto sniffing, --out-format chosen by the
 * input or the --output extension, y4m tags carried (checked with ffprobe),
 * image folders (names kept, templates, one file, refused overwrite, mixed
 * sizes) and JPEG both ways against djpeg / ffmpeg.
 *
 * A missing tool skips its tests with a visible reason; with CI=true they fail.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { encode as encodeJpeg } from "jpeg-js";
import { parseNative, ROOT, SHMIMG, shmimg, spawnShmimg, tmp, uniqueName } from "./helpers";

/** Runs a shell line (for pipes between tools). */
function sh(line: string) {
  const r = Bun.spawnSync(["bash", "-o", "pipefail", "-c", line], { stdout: "pipe", stderr: "pipe", cwd: ROOT, timeout: 110_000 });
  return { code: r.exitCode ?? 137, stdout: r.stdout as Buffer, stderr: r.stderr.toString() };
}

const CI = process.env.CI === "true";
function have(...tools: string[]): boolean {
  const missing = tools.filter((t) => !Bun.which(t));
  if (missing.length === 0) return true;
  const why = `missing tool(s): ${missing.join(", ")} (apt-get install ffmpeg libjpeg-turbo-progs)`;
  if (CI) test(`required tools are installed: ${missing.join(", ")}`, () => { throw new Error(why); });
  else console.warn(`formats-auto: skipping tests: ${why}`);
  return false;
}
const FFMPEG = have("ffmpeg", "ffprobe");
const DJPEG = have("djpeg", "cjpeg");
const T = 60_000;
// Every test spawns several processes on a loaded 2-core machine.
setDefaultTimeout(T);

const dirs: string[] = [];
function dir(): string {
  const d = tmp("shmimg-auto-");
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CMD = SHMIMG.map((a) => `"${a}"`).join(" ");
const ok = (r: { code: number; stderr: string; stdout: Buffer }) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
};
const FF = "ffmpeg -v error -nostdin";
const gen = (n: number, size: string, fmt: string) => ok(shmimg(["gen", "--count", String(n), "--size", size, "--format", fmt]));
/** Mean and max absolute difference of two byte arrays of the same length. */
function diff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let s = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > max) max = d;
  }
  return { mean: s / a.length, max };
}
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47];

// ------------------------------------------------------------------ sniffing

describe("--in-format auto (the default) sniffs the input", () => {
  test("native, pnm and rawvideo-with-geometry pass through without --in-format", () => {
    const native = gen(2, "6x4", "rgb24");
    const out = ok(shmimg(["run"], { stdin: native }));
    expect(out).toEqual(native); // native in -> native out
    const d = dir();
    const ppm = ok(shmimg(["run", "--output", join(d, "a.ppm")], { stdin: native }));
    expect(ppm.length).toBe(0);
    const pnm = readFileSync(join(d, "a.ppm"));
    expect(pnm.subarray(0, 2).toString()).toBe("P6");
    // pnm in (sniffed) -> pnm out (the input's format), byte-identical
    expect(ok(shmimg(["run"], { stdin: pnm }))).toEqual(pnm);
    // --size/--pix-fmt without --in-format means rawvideo
    const raw = new Uint8Array(6 * 4 * 3 * 2).map((_, i) => i);
    expect(new Uint8Array(ok(shmimg(["run", "--size", "6x4", "--pix-fmt", "rgb24"], { stdin: Buffer.from(raw) })))).toEqual(raw);
  });

  test("headerless bytes: rawvideo cannot be sniffed, the error names --size and --pix-fmt", () => {
    const r = shmimg(["run"], { stdin: Buffer.from(new Uint8Array(100).fill(7)) });
    expect(r.stderr).toMatch(/^ERROR: cannot tell the format of stdin from its first bytes \(07 07 .*rawvideo has no header to sniff: pass --in-format rawvideo --size WxH --pix-fmt/m);
    expect(r.code).toBe(2);
  });

  test("a native stream that is really y4m or pnm says which --in-format to use", () => {
    const y4m = Buffer.concat([Buffer.from("YUV4MPEG2 W8 H8\nFRAME\n"), Buffer.alloc(96)]);
    let r = shmimg(["run", "--in-format", "native"], { stdin: y4m });
    expect(r.stderr).toContain("it starts like a y4m stream: use --in-format y4m");
    expect(r.code).toBe(2);
    r = shmimg(["run", "--in-format", "native"], { stdin: Buffer.concat([Buffer.from("P6\n4 4\n255\n"), Buffer.alloc(48)]) });
    expect(r.stderr).toContain("it starts like a pnm stream: use --in-format pnm");
    expect(r.code).toBe(2);
  });

  test.skipIf(!FFMPEG)("y4m, one PNG file, one JPEG file, a folder and a glob of images", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24 -frames:v 2 -f yuv4mpegpipe "${d}/in.y4m"`));
    const y4m = readFileSync(join(d, "in.y4m"));
    expect(ok(shmimg(["run"], { stdin: y4m }))).toEqual(y4m); // y4m in -> y4m out, identical
    mkdirSync(join(d, "imgs"));
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24 -frames:v 1 "${d}/imgs/a.png"`));
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24 -frames:v 1 "${d}/imgs/b.jpg"`));
    for (const input of [join(d, "imgs/a.png"), join(d, "imgs/b.jpg")]) {
      const out = ok(shmimg(["run", "--input", input, "--out-format", "native"]));
      expect(parseNative(new Uint8Array(out)).map((f) => [f.w, f.h, f.fmt])).toEqual([[32, 24, 2]]);
    }
    for (const input of [join(d, "imgs"), join(d, "imgs/*")]) {
      const out = ok(shmimg(["run", "--input", input, "--out-format", "native"]));
      expect(parseNative(new Uint8Array(out)).length).toBe(2);
    }
  }, T);

  test.skipIf(!FFMPEG)("PNG and JPEG files back to back on stdin (ffmpeg -f image2pipe) are read file by file", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=48x32:rate=5 -frames:v 4 -f image2pipe -c:v png "${d}/png.pipe"`));
    ok(sh(`${FF} -f lavfi -i testsrc2=size=48x32:rate=5 -frames:v 4 -f image2pipe -c:v mjpeg "${d}/jpg.pipe"`));
    // PNG: pixel-exact with ffmpeg's own decoding of the same stream
    const ours = ok(shmimg(["run", "--out-format", "rawvideo"], { stdin: readFileSync(join(d, "png.pipe")) }));
    expect(ours).toEqual(ok(sh(`${FF} -f image2pipe -c:v png -i "${d}/png.pipe" -pix_fmt rgb24 -f rawvideo -`)));
    const jpg = parseNative(new Uint8Array(ok(shmimg(["run", "--out-format", "native"], { stdin: readFileSync(join(d, "jpg.pipe")) }))));
    expect(jpg.map((f) => [f.w, f.h, f.fmt, f.seq])).toEqual([0, 1, 2, 3].map((i) => [48, 32, 2, i]));
    // PNG in on stdin -> PNG out on stdout (the input's format), which ffmpeg reads back
    const back = ok(sh(`${CMD} run --op invert < "${d}/png.pipe" | ${FF} -f image2pipe -c:v png -i - -pix_fmt rgb24 -f rawvideo -`));
    expect(back.length).toBe(4 * 48 * 32 * 3);
    // cut inside the second file: the first is delivered, exit 3
    const cut = readFileSync(join(d, "jpg.pipe"));
    const r = shmimg(["run", "--out-format", "native"], { stdin: cut.subarray(0, Math.floor(cut.length / 4) + 100) });
    expect(r.stderr).toMatch(/^ERROR: partial frame at seq 1: the input ended inside .* of a JPEG file/m);
    expect(parseNative(new Uint8Array(r.stdout)).length).toBe(1);
    expect(r.code).toBe(3);
  }, T);
});

// ------------------------------------------------------------------ output format

describe("--out-format auto: the --output extension, else the input's format", () => {
  test("extensions choose y4m, pnm (.ppm/.pgm/.pam), rawvideo (.yuv/.rgb), png, jpeg", () => {
    const d = dir();
    const yuv = gen(2, "8x6", "yuv420p");
    const gray = gen(1, "8x6", "gray8");
    const expectHead = (name: string, input: Buffer, head: number[] | string) => {
      ok(shmimg(["run", "--output", join(d, name)], { stdin: input }));
      const b = readFileSync(join(d, name));
      if (typeof head === "string") expect(b.subarray(0, head.length).toString("latin1")).toBe(head);
      else expect([...b.subarray(0, head.length)]).toEqual(head);
      return b;
    };
    expectHead("a.y4m", yuv, "YUV4MPEG2 W8 H6 ");
    expectHead("a.ppm", yuv, "P6\n");
    expectHead("a.pgm", gray, "P5\n");
    expectHead("a.pam", gen(1, "8x6", "rgba32"), "P7\n");
    expect(expectHead("a.yuv", yuv, []).length).toBe(2 * (48 + 24));
    expect(expectHead("a.rgb", gen(1, "8x6", "rgb24"), []).length).toBe(144);
    expectHead("one.png", gray, PNG_SIG);
    expectHead("one.jpg", gray, [0xff, 0xd8, 0xff]);
    expect(expectHead("a.shm", yuv, "SHMF").length).toBe(2 * (32 + 72));
  });

  test("a template 'out/%06d.png' numbers the frames; --output one.png with several frames is refused", () => {
    const d = dir();
    ok(shmimg(["run", "--output", join(d, "out/%06d.png")], { stdin: gen(3, "4x4", "rgb24") }));
    expect(readdirSync(join(d, "out")).sort()).toEqual(["000000.png", "000001.png", "000002.png"]);
    mkdirSync(join(d, "in"));
    for (const n of ["x.png", "y.png"]) writeFileSync(join(d, "in", n), encode({ width: 2, height: 2, data: new Uint8Array(4), channels: 1, depth: 8 }));
    const r = shmimg(["run", "--input", join(d, "in"), "--output", join(d, "one.png")]);
    expect(r.stderr).toContain(`--output ${join(d, "one.png")} is one image file but --input ${join(d, "in")} holds 2 images`);
    expect(r.code).toBe(2);
    expect(existsSync(join(d, "one.png"))).toBe(false);
  });
});

// ------------------------------------------------------------------ y4m metadata

describe.skipIf(!FFMPEG)("y4m metadata is carried through", () => {
  const probe = (file: string) =>
    ok(sh(`ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate,sample_aspect_ratio,field_order,color_range -of default=nw=1 "${file}"`)).toString();

  test("frame rate, aspect, interlacing, chroma siting and colour range: ffprobe sees the input's values", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=64x48:rate=30000/1001 -frames:v 3 -vf setsar=4/3,setfield=tff -color_range pc -chroma_sample_location left -f yuv4mpegpipe -strict -1 "${d}/in.y4m"`));
    const inHead = readFileSync(join(d, "in.y4m")).toString("latin1").split("\n")[0]!;
    expect(inHead).toContain("F30000:1001 It A4:3 C420mpeg2");
    ok(sh(`${CMD} run --op hflip < "${d}/in.y4m" > "${d}/out.y4m"`));
    const outHead = readFileSync(join(d, "out.y4m")).toString("latin1").split("\n")[0]!;
    expect(outHead).toBe(inHead);
    const before = probe(join(d, "in.y4m"));
    expect(before).toContain("r_frame_rate=30000/1001");
    expect(before).toContain("sample_aspect_ratio=4:3");
    expect(probe(join(d, "out.y4m"))).toBe(before);
  }, T);

  test("after a conversion the chroma tag follows the frames (grayscale -> Cmono, rgb -> C444); F, I, A kept", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24:rate=50 -frames:v 2 -vf setsar=16/11,setfield=bff -f yuv4mpegpipe "${d}/in.y4m"`));
    ok(sh(`${CMD} run --op grayscale < "${d}/in.y4m" > "${d}/gray.y4m"`));
    expect(readFileSync(join(d, "gray.y4m")).toString("latin1").split("\n")[0]).toBe("YUV4MPEG2 W32 H24 F50:1 Ib A16:11 Cmono");
    ok(sh(`${CMD} run --op rgb < "${d}/in.y4m" > "${d}/rgb.y4m"`));
    expect(readFileSync(join(d, "rgb.y4m")).toString("latin1").split("\n")[0]).toBe("YUV4MPEG2 W32 H24 F50:1 Ib A16:11 C444 XYSCSS=444 XCOLORRANGE=LIMITED");
    expect(probe(join(d, "gray.y4m"))).toContain("r_frame_rate=50/1");
  }, T);

  test("a quarter turn turns the pixel aspect (A4:3 -> A3:4) and makes interlaced frames progressive", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 2 -vf setsar=4/3,setfield=tff -f yuv4mpegpipe "${d}/in.y4m"`));
    ok(sh(`${CMD} run --op rotate90 < "${d}/in.y4m" > "${d}/r.y4m"`));
    expect(readFileSync(join(d, "r.y4m")).toString("latin1").split("\n")[0]).toBe("YUV4MPEG2 W48 H64 F25:1 Ip A3:4 C420jpeg XYSCSS=420JPEG");
    expect(probe(join(d, "r.y4m"))).toContain("sample_aspect_ratio=3:4");
    // a half turn keeps both
    ok(sh(`${CMD} run --op rotate180 < "${d}/in.y4m" > "${d}/h.y4m"`));
    expect(readFileSync(join(d, "h.y4m")).toString("latin1").split("\n")[0]).toContain("W64 H48 F25:1 It A4:3");
  }, T);

  test("separate shells: a consumer started before the producer still writes the input's tags", async () => {
    const d = dir();
    const name = uniqueName("y4mtags");
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24:rate=24000/1001 -frames:v 4 -vf setsar=2/1 -f yuv4mpegpipe "${d}/in.y4m"`));
    ok(shmimg(["init", "--name", name, "--max-size", "32x24", "--max-format", "yuv420p", "--slots", "4"]));
    try {
      const consumer = spawnShmimg(["consume", "--name", name, "--output", join(d, "out.y4m")]);
      const worker = spawnShmimg(["work", "--name", name, "--op", "vflip"]);
      ok(shmimg(["produce", "--name", name, "--input", join(d, "in.y4m")]));
      expect(await consumer.exited).toBe(0);
      worker.kill("SIGTERM");
      await worker.exited;
      expect(probe(join(d, "out.y4m"))).toBe(probe(join(d, "in.y4m")));
      expect(probe(join(d, "out.y4m"))).toContain("r_frame_rate=24000/1001");
    } finally {
      shmimg(["clean", "--name", name, "--force"]);
    }
  }, T);

  test("y4m 444 through --op identity is refused (exit 2, says what to convert with), not changed", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=32x24 -frames:v 1 -pix_fmt yuv444p -f yuv4mpegpipe "${d}/in.y4m"`));
    const r = shmimg(["run", "--op", "identity", "--input", join(d, "in.y4m")]);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^ERROR: y4m stream header .*field C \(colorspace\) is 444.*-pix_fmt yuv420p.*--convert-444/m);
    expect(r.code).toBe(2);
    // Asked for: the conversion happens
    const c = shmimg(["run", "--convert-444", "--input", join(d, "in.y4m"), "--out-format", "native"]);
    expect(parseNative(new Uint8Array(ok(c))).map((f) => f.fmt)).toEqual([2]);
  }, T);

  test("a y4m header with CR LF line ends is named as such", () => {
    const r = shmimg(["run"], { stdin: Buffer.concat([Buffer.from("YUV4MPEG2 W2 H2 C420jpeg\r\nFRAME\n"), Buffer.alloc(6)]) });
    expect(r.stderr).toContain(`the line ends with CR LF ("\\r\\n"); y4m lines end with LF only`);
    expect(r.stderr).not.toContain("is not supported");
    expect(r.code).toBe(2);
  });
});

// ------------------------------------------------------------------ the chain against the input

test("the chain is checked against the first frame before frames flow: the error names the conversion", () => {
  const r = shmimg(["run", "--op", "invert,sobel"], { stdin: gen(3, "8x8", "rgb24") });
  expect(r.stdout.length).toBe(0);
  expect(r.stderr).toMatch(/^ERROR: op "sobel" does not accept rgb24 input; put "grayscale" before it .*\(--op invert,sobel checked against the first frame, 8x8 rgb24 from native, before any frame was processed\)$/m);
  expect(r.code).toBe(2);
});

// ------------------------------------------------------------------ batches of images

describe("batches of images", () => {
  const png = (w: number, h: number, channels: number, v = 9) => encode({ width: w, height: h, data: new Uint8Array(w * h * channels).fill(v), channels, depth: 8 });

  test("--output DIR keeps the source names; a folder of mixed sizes works without --max-size", () => {
    const d = dir();
    mkdirSync(join(d, "in"));
    // small first, larger later: the rings are sized from every header
    writeFileSync(join(d, "in", "a-small.png"), png(4, 3, 1));
    writeFileSync(join(d, "in", "b-wide.png"), png(40, 5, 3));
    writeFileSync(join(d, "in", "c-tall.png"), png(6, 50, 4));
    writeFileSync(join(d, "in", "notes.txt"), "not an image");
    const r = shmimg(["run", "--input", join(d, "in"), "--op", "hflip", "--output", join(d, "out")]);
    ok(r);
    expect(readdirSync(join(d, "out")).sort()).toEqual(["a-small.png", "b-wide.png", "c-tall.png"]);
    const native = ok(shmimg(["run", "--input", join(d, "out"), "--out-format", "native"]));
    expect(parseNative(new Uint8Array(native)).map((f) => [f.w, f.h, f.fmt])).toEqual([
      [4, 3, 1],
      [40, 5, 2],
      [6, 50, 3],
    ]);
  });

  test("an output folder holding an earlier run's frames is refused unless --overwrite, which replaces them", () => {
    const d = dir();
    ok(shmimg(["run", "--output", join(d, "out/")], { stdin: gen(3, "4x4", "gray8") }));
    expect(readdirSync(join(d, "out")).length).toBe(3);
    const again = shmimg(["run", "--output", join(d, "out/")], { stdin: gen(2, "4x4", "gray8") });
    expect(again.stderr).toMatch(/^ERROR: --output .*out\/ already holds 3 image file\(s\) from an earlier run \(e\.g\. frame-000000\.png\).*--overwrite/m);
    expect(again.code).toBe(2);
    ok(shmimg(["run", "--output", join(d, "out/"), "--overwrite"], { stdin: gen(2, "4x4", "gray8") }));
    expect(readdirSync(join(d, "out")).sort()).toEqual(["frame-000000.png", "frame-000001.png"]);
    // a template is checked the same way
    ok(shmimg(["run", "--output", join(d, "t/%03d.png")], { stdin: gen(1, "4x4", "gray8") }));
    expect(shmimg(["run", "--output", join(d, "t/%03d.png")], { stdin: gen(1, "4x4", "gray8") }).code).toBe(2);
  });

  test("a folder mixing PNG and JPEG stays mixed without --out-format; --out-format png makes every file PNG", () => {
    const d = dir();
    mkdirSync(join(d, "in"));
    writeFileSync(join(d, "in", "a.png"), png(8, 6, 3));
    writeFileSync(join(d, "in", "b.jpeg"), encodeJpeg({ width: 8, height: 6, data: new Uint8Array(8 * 6 * 4).fill(200) }, 90).data);
    ok(shmimg(["run", "--input", join(d, "in"), "--op", "vflip", "--output", join(d, "mixed")]));
    expect(readdirSync(join(d, "mixed")).sort()).toEqual(["a.png", "b.jpeg"]);
    expect([...readFileSync(join(d, "mixed", "b.jpeg")).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    ok(shmimg(["run", "--input", join(d, "in"), "--out-format", "png", "--output", join(d, "allpng")]));
    expect(readdirSync(join(d, "allpng")).sort()).toEqual(["a.png", "b.png"]);
    expect([...readFileSync(join(d, "allpng", "b.png")).subarray(0, 4)]).toEqual(PNG_SIG);
  });

  test("writing into the input folder is refused", () => {
    const d = dir();
    writeFileSync(join(d, "a.png"), png(2, 2, 1));
    const r = shmimg(["run", "--input", d, "--output", `${d}/`, "--overwrite"]);
    expect(r.stderr).toContain("is the input folder");
    expect(r.code).toBe(2);
    expect(readdirSync(d)).toEqual(["a.png"]);
  });
});

// ------------------------------------------------------------------ JPEG

describe.skipIf(!FFMPEG || !DJPEG)("JPEG in and out (jpeg-js, inside the compiled binary)", () => {
  test("JPEG in: within 3 levels of djpeg -nosmooth and of ffmpeg (mean < 0.5); gray JPEG -> gray8", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=160x120 -frames:v 1 -q:v 3 "${d}/a.jpg"`));
    const ours = new Uint8Array(ok(shmimg(["run", "--input", join(d, "a.jpg"), "--out-format", "rawvideo"])));
    expect(ours.length).toBe(160 * 120 * 3);
    // jpeg-js upsamples chroma by replication, like djpeg -nosmooth; djpeg's default
    // "fancy" (triangle) upsampling differs by up to ~150 levels on sharp colour edges.
    const djpeg = new Uint8Array(ok(sh(`djpeg -nosmooth -ppm "${d}/a.jpg" | tail -c ${160 * 120 * 3}`)));
    const a = diff(ours, djpeg);
    expect(a.max).toBeLessThanOrEqual(3);
    expect(a.mean).toBeLessThan(0.5);
    const ff = new Uint8Array(ok(sh(`${FF} -i "${d}/a.jpg" -f rawvideo -pix_fmt rgb24 -`)));
    const b = diff(ours, ff);
    expect(b.max).toBeLessThanOrEqual(3);
    expect(b.mean).toBeLessThan(0.5);
    // a one-component JPEG becomes gray8
    ok(sh(`djpeg -ppm "${d}/a.jpg" | ppmtopgm | cjpeg -grayscale -quality 90 > "${d}/g.jpg"`));
    const g = parseNative(new Uint8Array(ok(shmimg(["run", "--input", join(d, "g.jpg"), "--out-format", "native"]))));
    expect(g.map((f) => [f.w, f.h, f.fmt])).toEqual([[160, 120, 1]]);
    const gref = new Uint8Array(ok(sh(`djpeg -nosmooth -pnm "${d}/g.jpg" | tail -c ${160 * 120}`)));
    expect(diff(g[0]!.payload, gref).max).toBeLessThanOrEqual(3);
  }, T);

  test("JPEG out: djpeg decodes it within the documented error (q90 mean < 2); --quality changes size and error", () => {
    const d = dir();
    ok(sh(`${FF} -f lavfi -i testsrc2=size=160x120 -frames:v 1 -f rawvideo -pix_fmt rgb24 "${d}/src.rgb"`));
    const src = new Uint8Array(readFileSync(join(d, "src.rgb")));
    const enc = (q: string) => {
      ok(shmimg(["run", "--size", "160x120", "--pix-fmt", "rgb24", "--input", join(d, "src.rgb"), "--output", join(d, `q${q}.jpg`), "--quality", q]));
      const back = new Uint8Array(ok(sh(`djpeg -nosmooth -ppm "${d}/q${q}.jpg" | tail -c ${160 * 120 * 3}`)));
      return { size: readFileSync(join(d, `q${q}.jpg`)).length, err: diff(back, src) };
    };
    const q90 = enc("90");
    const q30 = enc("30");
    expect(q90.err.mean).toBeLessThan(2);
    expect(q30.size).toBeLessThan(q90.size);
    expect(q30.err.mean).toBeGreaterThan(q90.err.mean);
    expect(shmimg(["run", "--quality", "0"], { stdin: gen(1, "2x2", "rgb24") }).code).toBe(2);
  }, T);

  test("a folder of JPEGs comes out as JPEGs with the same names", () => {
    const d = dir();
    mkdirSync(join(d, "in"));
    ok(sh(`${FF} -f lavfi -i testsrc2=size=48x32 -frames:v 2 "${d}/in/IMG_%04d.jpg"`));
    ok(shmimg(["run", "--input", join(d, "in"), "--op", "grayscale", "--output", join(d, "out")]));
    expect(readdirSync(join(d, "out")).sort()).toEqual(["IMG_0001.jpg", "IMG_0002.jpg"]);
    expect([...readFileSync(join(d, "out/IMG_0001.jpg")).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
  }, T);
});

