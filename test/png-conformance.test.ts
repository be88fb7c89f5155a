/**
 * PNG conformance: the set test/png-corpus.ts makes (real encoders plus
 * crafted chunks) goes through `shmimg run --op identity --in-format png
 * --out-format pnm` and is compared pixel by pixel with netpbm's
 * `pngtopam -alphapam` (16-bit files: `| pamdepth 255`, with --depth 8).
 * Refusals are checked for exit 2, no pixels on stdout, and one ERROR line
 * naming the file and the chunk. The per-class results table is printed at
 * the end (it is the table in the closing note).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Format, payloadBytes } from "../src/frame/format";
import { have, readFrames, removeTempDirs, tempDir } from "./format-io";
import { shmimg } from "./spawning";
import { assemble, buildCorpus, chunks, tool, type PngCase } from "./png-corpus";
import { decodePng, PngError } from "../src/formats/png-decode";

const TOOLS = have("pngtopam", "pnmtopng", "pamdepth", "ffmpeg");
const T = 240_000;

/** Canonical RGBA (8 bits) of a PAM with any tuple type and maxval (low maxvals scale exactly). */
function pamRgba(b: Uint8Array): { w: number; h: number; rgba: Uint8Array } {
  const head = new TextDecoder("latin1").decode(b.subarray(0, 256));
  const end = head.indexOf("ENDHDR\n") + 7;
  const field = (k: string) => Number(new RegExp(`${k} (\\d+)`).exec(head)?.[1]);
  const [w, h, d, mv] = [field("WIDTH"), field("HEIGHT"), field("DEPTH"), field("MAXVAL")];
  if (end < 7 || mv > 255) throw new Error(`not an 8-bit PAM: ${head.slice(0, 80)}`);
  const body = b.subarray(end);
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const s = (c: number) => (body[i * d + c]! * 255) / mv;
    const [r, g, bl] = d <= 2 ? [s(0), s(0), s(0)] : [s(0), s(1), s(2)];
    rgba.set([r, g, bl, d === 2 ? s(1) : d === 4 ? s(3) : 255], 4 * i);
  }
  return { w, h, rgba };
}

/** Canonical RGBA of one of our ring-format frames. */
function frameRgba(fmt: Format, data: Uint8Array): Uint8Array {
  const ch = fmt === Format.gray8 ? 1 : fmt === Format.rgb24 ? 3 : 4;
  const n = data.length / ch;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const p = data.subarray(i * ch, i * ch + ch);
    out.set(ch === 1 ? [p[0]!, p[0]!, p[0]!, 255] : ch === 3 ? [p[0]!, p[1]!, p[2]!, 255] : p, 4 * i);
  }
  return out;
}

/**
 * netpbm's reading of a file, 8 bits per sample. For an RGB colour key (which
 * netpbm 11.1 ignores, see PngCase.rgbKey) the pixels whose stored colour is
 * the key get alpha 0, found in pngtopam's output at the file's own depth.
 */
function reference(file: string, rgbKey?: number[]): { w: number; h: number; rgba: Uint8Array } {
  const ref = pamRgba(tool(["bash", "-o", "pipefail", "-c", `pngtopam -alphapam "${file}" | pamdepth 255`]));
  if (rgbKey) {
    const ppm = tool(["pngtopam", file]); // P6 at the file's depth
    const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(new TextDecoder("latin1").decode(ppm.subarray(0, 64)))!;
    const bps = Number(m[3]) > 255 ? 2 : 1;
    const body = ppm.subarray(m[0].length);
    const at = (i: number) => (bps === 2 ? (body[2 * i]! << 8) | body[2 * i + 1]! : body[i]!);
    for (let p = 0; p < ref.w * ref.h; p++) if ([0, 1, 2].every((c) => at(3 * p + c) === rgbKey[c])) ref.rgba[4 * p + 3] = 0;
  }
  return ref;
}

type Outcome = "exact" | "refused" | "wrong";
const results: { c: PngCase; outcome: Outcome; with8?: Outcome }[] = [];

/** Decodes a folder of PNGs in one `run`; compares each frame with pngtopam; records outcomes. */
function compareFolder(cases: PngCase[], dir: string, extra: string[] = []): string[] {
  const r = shmimg(["run", "--op", "identity", "--in-format", "png", "--input", dir, "--out-format", "pnm", "--max-size", "64x64", ...extra]);
  if (r.code !== 0) throw new Error(`run over ${dir} exited ${r.code}: ${r.stderr}`);
  const frames = readFrames("pnm", new Uint8Array(r.stdout));
  expect(frames.length).toBe(cases.length);
  const bad: string[] = [];
  cases.forEach((c, i) => {
    const ref = reference(c.file, c.rgbKey);
    const f = frames[i]!;
    const ok = f.info.w === ref.w && f.info.h === ref.h && Buffer.from(frameRgba(f.info.fmt, f.data)).equals(Buffer.from(ref.rgba));
    if (!ok) bad.push(`${c.name} (${c.cls}): ${f.info.w}x${f.info.h} fmt ${f.info.fmt} differs from pngtopam's ${ref.w}x${ref.h}`);
    // Gray files stay gray (one byte per pixel on the ring).
    if (ok && /^gray (1\/2\/4|8)-bit/.test(c.cls) && f.info.fmt !== Format.gray8) bad.push(`${c.name}: gray file decoded as format ${f.info.fmt}`);
    const rec = results.find((x) => x.c === c);
    if (extra.includes("--depth")) rec!.with8 = ok ? "exact" : "wrong";
    else results.push({ c, outcome: ok ? "exact" : "wrong" });
  });
  return bad;
}

/** Runs one file; expects exit 2, nothing on stdout, one ERROR line naming the file and `what`. */
function refused(c: PngCase, what: string): string | null {
  const r = shmimg(["run", "--op", "identity", "--in-format", "png", "--input", c.file, "--out-format", "pnm"]);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR:"));
  if (r.code === 2 && r.stdout.length === 0 && errors.length === 1 && errors[0]!.includes(`"${c.file}"`) && errors[0]!.includes(what)) return null;
  return `${c.name}: exit ${r.code}, ${r.stdout.length} bytes out, stderr: ${r.stderr.trim()}`;
}

describe.skipIf(!TOOLS)("PNG conformance against netpbm's pngtopam -alphapam", () => {
  let cases: PngCase[] = [];
  const dirOf: Record<string, string> = {};

  beforeAll(() => {
    const dir = tempDir("pngsuite");
    cases = buildCorpus(dir);
    // One folder per kind, so one `run` reads a whole kind in name order.
    for (const c of cases) {
      dirOf[c.kind] ??= join(dir, c.kind);
      mkdirSync(dirOf[c.kind]!, { recursive: true });
      const to = join(dirOf[c.kind]!, c.name);
      renameSync(c.file, to);
      c.file = to;
    }
  }, T); // ~170 encoder runs: seconds on a loaded machine

  afterAll(() => {
    // The per-class table (Markdown), for the closing note.
    const classes = [...new Set(results.map((r) => r.c.cls))];
    const lines = ["| class | images | decoded exact | refused correctly | --depth 8 exact |", "| --- | ---: | ---: | ---: | ---: |"];
    for (const cls of classes) {
      const rs = results.filter((r) => r.c.cls === cls);
      const count = (o: Outcome) => rs.filter((r) => r.outcome === o).length;
      const deep = rs.filter((r) => r.c.kind === "deep");
      lines.push(`| ${cls} | ${rs.length} | ${count("exact")} | ${count("refused")} | ${deep.length ? deep.filter((r) => r.with8 === "exact").length : "-"} |`);
    }
    if (results.length) console.log(`PNG conformance, ${results.length} images:\n${lines.join("\n")}`);
    removeTempDirs();
  });

  test("every valid PNG of 8 bits or less decodes as pngtopam does: gray, RGB, palette, alpha at 1/2/4/8 bits, Adam7, tRNS, PLTE hints", () => {
    const exact = cases.filter((c) => c.kind === "exact");
    expect(exact.length).toBeGreaterThan(100);
    expect(compareFolder(exact, dirOf.exact!)).toEqual([]);
  }, T);

  test("16-bit PNGs are refused with exit 2, naming the bit depth and --depth 8", () => {
    const deep = cases.filter((c) => c.kind === "deep");
    expect(deep.length).toBeGreaterThanOrEqual(20);
    const bad: string[] = [];
    for (const c of deep) {
      const why = refused(c, "bit depth 16") ?? refused(c, "--depth 8");
      if (why) bad.push(why);
      results.push({ c, outcome: why ? "wrong" : "refused" });
    }
    // probe reads PNGs through the same source, so it refuses and accepts alike.
    const probe = (...extra: string[]) => shmimg(["probe", "--in-format", "png", ...extra, deep[0]!.file]);
    const without = probe();
    expect(without.stdout.toString()).toContain("pass --depth 8");
    expect(without.code).toBe(2);
    const with8 = probe("--depth", "8");
    expect(with8.stdout.toString()).toContain("frames: 1,");
    expect(with8.code).toBe(0);
    expect(bad).toEqual([]);
  }, T);

  test("with --depth 8, 16-bit PNGs decode as pngtopam | pamdepth 255 (colour keys matched on 16 bits)", () => {
    const deep = cases.filter((c) => c.kind === "deep");
    expect(compareFolder(deep, dirOf.deep!, ["--depth", "8"])).toEqual([]);
  }, T);

  test("--depth 8 scales all 65536 sample values exactly as pamdepth 255", () => {
    const dir = tempDir("all16");
    const head = new TextEncoder().encode("P5\n256 256\n65535\n");
    const body = new Uint8Array(65536 * 2);
    for (let v = 0; v < 65536; v++) [body[2 * v], body[2 * v + 1]] = [v >> 8, v & 255];
    const src = new Uint8Array([...head, ...body]);
    writeFileSync(join(dir, "all.png"), tool(["pnmtopng", "-force"], src));
    const r = shmimg(["run", "--op", "identity", "--in-format", "png", "--input", join(dir, "all.png"), "--depth", "8", "--out-format", "pnm"]);
    const ours = readFrames("pnm", new Uint8Array(r.stdout));
    const ref = readFrames("pnm", tool(["pamdepth", "255"], src));
    expect(ours.length).toBe(1);
    expect(ours[0]!.info.fmt).toBe(Format.gray8);
    expect(Buffer.from(ours[0]!.data).equals(Buffer.from(ref[0]!.data))).toBe(true);
    expect(r.code).toBe(0);
  }, T);

  test("corrupt files and oversized dimensions exit 2 naming the file and the chunk, with no pixels", () => {
    const corrupt = cases.filter((c) => c.kind === "corrupt");
    const bad: string[] = [];
    for (const c of corrupt) {
      // Each is broken in netpbm's eyes too, unless the case documents why we are stricter.
      const netpbm = Bun.spawnSync(["pngtopam", "-alphapam", c.file], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
      if (netpbm !== (c.netpbmDecodes !== undefined)) bad.push(`${c.name}: pngtopam ${netpbm ? "decodes" : "refuses"} it`);
      const why = refused(c, c.expect!);
      if (why) bad.push(why);
      results.push({ c, outcome: why ? "wrong" : "refused" });
    }
    expect(bad).toEqual([]);
  }, T);

  test("PNG output is 8-bit and pngtopam reads it back as the input's pixels", () => {
    const exact = cases.filter((c) => c.kind === "exact").slice(0, 60);
    const dir = tempDir("pngrt");
    const inDir = join(dir, "in");
    mkdirSync(inDir);
    for (const c of exact) copyFileSync(c.file, join(inDir, c.name));
    const out = join(dir, "out");
    const r = shmimg(["run", "--op", "identity", "--in-format", "png", "--input", inDir, "--out-format", "png", "--output", out, "--max-size", "64x64"]);
    expect(r.stderr).not.toContain("ERROR");
    const written = readdirSync(out).sort();
    expect(written.length).toBe(exact.length);
    const bad: string[] = [];
    written.forEach((name, i) => {
      const file = join(out, name);
      const depth = readFileSync(file)[24]; // IHDR bit depth
      if (depth !== 8) bad.push(`${name}: bit depth ${depth}`);
      const a = reference(file);
      const b = reference(exact[i]!.file, exact[i]!.rgbKey);
      if (!Buffer.from(a.rgba).equals(Buffer.from(b.rgba))) bad.push(`${name} (from ${exact[i]!.name}) reads back different`);
    });
    expect(bad).toEqual([]);
    expect(r.code).toBe(0);
  }, T);

  test("--depth other than 8 is refused before anything starts", () => {
    const r = shmimg(["run", "--in-format", "png", "--input", dirOf.exact!, "--depth", "16", "--out-format", "pnm"]);
    expect(r.stderr).toContain("--depth 16 is not 8");
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(2);
  }, T);
});

describe.skipIf(!TOOLS)("PNG fuzz", () => {
  test("mutated PNGs with their CRCs recomputed decode or are refused with a PngError naming a chunk, never another exception", () => {
    const dir = tempDir("pngfuzz");
    const seeds = buildCorpus(dir).filter((c) => c.kind === "exact");
    let s = 12345;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const counts = { decoded: 0, refused: 0 };
    const escaped: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const seed = seeds[rnd(seeds.length)]!;
      const cs = chunks(new Uint8Array(readFileSync(seed.file)));
      const c = cs[rnd(cs.length - 1)]!; // any chunk but IEND
      const data = Uint8Array.from(c.data);
      for (let k = 1 + rnd(4); k > 0 && data.length; k--) data[rnd(data.length)] = rnd(4) === 0 ? data[rnd(data.length)]! ^ (1 << rnd(8)) : rnd(256);
      c.data = rnd(8) === 0 ? data.subarray(0, rnd(data.length + 1)) : data;
      const bytes = assemble(cs);
      try {
        const png = decodePng(bytes, { depth8: true });
        png.fill(new Uint8Array(payloadBytes(png.w, png.h, png.fmt)));
        counts.decoded++;
      } catch (e) {
        // Refused by the structure check (or the palette index rule), not by pngjs tripping over something.
        if (e instanceof PngError && /^[A-Za-z]{4}\b|^not a PNG/.test(e.message) && !e.message.includes("pngjs")) counts.refused++;
        else escaped.push(`${seed.name} ${c.type}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    console.log(`PNG fuzz: 3000 mutations, ${counts.decoded} decoded, ${counts.refused} refused`);
    expect(escaped.slice(0, 5)).toEqual([]);
    expect(counts.refused).toBeGreaterThan(500);
  }, T);
});
