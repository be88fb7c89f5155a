/**
 * A PNG conformance set made at test time: images written by real encoders
 * (netpbm's pnmtopng / pamtopng, ffmpeg) in every colour type, bit depth and
 * interlacing, plus files crafted at the chunk level (a PLTE hint in a
 * truecolour file, tRNS colour keys, broken CRCs, truncated chunks, bad zlib
 * data, oversized dimensions). Each case says what a conforming decoder does
 * with it, with netpbm's `pngtopam -alphapam` as the reference:
 *   exact    a valid PNG of 8 bits or less: decodes to pngtopam's pixels
 *   deep     a valid 16-bit PNG: refused without --depth 8; with it, decodes
 *            to `pngtopam -alphapam | pamdepth 255`
 *   corrupt  refused (exit 2) with a message naming the file and `expect`
 *
 * Pixel contents come from a seeded generator, so the set is the same on
 * every run.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

export type Kind = "exact" | "deep" | "corrupt";

export interface PngCase {
  /** File name (sorted order = the order `--input DIR` reads them). */
  name: string;
  /** Class for the results table, e.g. "gray 1/2/4-bit, Adam7". */
  cls: string;
  kind: Kind;
  file: string;
  /** For corrupt cases: text the error message must contain. */
  expect?: string;
  /** For corrupt cases netpbm decodes anyway: why we refuse (documented difference). */
  netpbmDecodes?: string;
  /**
   * An RGB tRNS colour key (samples as stored). netpbm 11.1's pngtopam ignores
   * RGB keys (it applies gray ones); ffmpeg, ImageMagick and the PNG spec make
   * such pixels transparent, so the reference applies the key itself.
   */
  rgbKey?: number[];
}

// ------------------------------------------------------------------ tools

/** Runs a tool; returns stdout; throws with its stderr on failure. */
export function tool(cmd: string[], stdin?: Uint8Array): Uint8Array {
  const r = Bun.spawnSync({ cmd, stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(-1000)}`);
  return new Uint8Array(r.stdout);
}

/** Deterministic pseudo-random samples (xorshift32). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** A binary Netpbm image: P5 (depth 1), P6 (depth 3) or P7 (any depth, with tupltype). */
function netpbm(w: number, h: number, depth: number, maxval: number, samples: number[], tupltype?: string): Uint8Array {
  const head =
    tupltype !== undefined
      ? `P7\nWIDTH ${w}\nHEIGHT ${h}\nDEPTH ${depth}\nMAXVAL ${maxval}\nTUPLTYPE ${tupltype}\nENDHDR\n`
      : `${depth === 1 ? "P5" : "P6"}\n${w} ${h}\n${maxval}\n`;
  const bps = maxval > 255 ? 2 : 1;
  const body = new Uint8Array(samples.length * bps);
  samples.forEach((v, i) => {
    if (bps === 2) {
      body[2 * i] = v >> 8;
      body[2 * i + 1] = v & 255;
    } else body[i] = v;
  });
  const out = new Uint8Array(head.length + body.length);
  out.set(new TextEncoder().encode(head));
  out.set(body, head.length);
  return out;
}

/** Samples for w*h pixels of `ch` channels, each in 0..maxval, or drawn from `colours` (whole pixels). */
function pixels(seed: number, w: number, h: number, ch: number, maxval: number, colours?: number[][]): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < w * h; i++) {
    if (colours) out.push(...colours[r(colours.length)]!);
    else for (let c = 0; c < ch; c++) out.push(r(maxval + 1));
  }
  return out;
}

// ------------------------------------------------------------------ chunk-level editing

export interface Chunk {
  type: string;
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

export function crc32(bytes: Uint8Array): number {
  return Bun.hash.crc32(bytes) >>> 0;
}

/** Splits a well-formed PNG into its chunks. */
export function chunks(png: Uint8Array): Chunk[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let p = 8; p + 12 <= png.length; ) {
    const len = dv.getUint32(p);
    out.push({ type: String.fromCharCode(...png.subarray(p + 4, p + 8)), data: png.slice(p + 8, p + 8 + len) });
    p += 12 + len;
  }
  return out;
}

/** One chunk's bytes: length, type, data, CRC (or `crc` as given). */
export function chunkBytes(c: Chunk, crc?: number): Uint8Array {
  const out = new Uint8Array(12 + c.data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, c.data.length);
  out.set(new TextEncoder().encode(c.type), 4);
  out.set(c.data, 8);
  dv.setUint32(8 + c.data.length, crc ?? crc32(out.subarray(4, 8 + c.data.length)));
  return out;
}

/** A PNG file from chunks (correct CRCs unless `badCrc` names a chunk type). */
export function assemble(cs: Chunk[], badCrc?: string): Uint8Array {
  const parts = [SIGNATURE, ...cs.map((c) => chunkBytes(c, c.type === badCrc ? (crc32(new Uint8Array([...new TextEncoder().encode(c.type), ...c.data])) ^ 1) >>> 0 : undefined))];
  return new Uint8Array(Buffer.concat(parts));
}

/** Inserts `c` before the first chunk of type `before`. */
function insertBefore(cs: Chunk[], before: string, c: Chunk): Chunk[] {
  const i = cs.findIndex((x) => x.type === before);
  return [...cs.slice(0, i), c, ...cs.slice(i)];
}

function ihdr(w: number, h: number, depth: number, colourType: number, interlace = 0): Chunk {
  const data = new Uint8Array(13);
  const dv = new DataView(data.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  data.set([depth, colourType, 0, 0, interlace], 8);
  return { type: "IHDR", data };
}

const be16 = (...v: number[]) => Uint8Array.from(v.flatMap((x) => [x >> 8, x & 255]));

// ------------------------------------------------------------------ the set

/** Writes the conformance set into `dir`; returns its cases in name order. */
export function buildCorpus(dir: string): PngCase[] {
  const cases: PngCase[] = [];
  let n = 0;
  const add = (cls: string, kind: Kind, tag: string, bytes: Uint8Array, expect?: string, netpbmDecodes?: string) => {
    const name = `${String(n++).padStart(3, "0")}-${tag}.png`;
    const file = join(dir, name);
    writeFileSync(file, bytes);
    cases.push({ name, cls, kind, file, expect, netpbmDecodes });
    return cases[cases.length - 1]!;
  };
  const pnmtopng = (flags: string[], pnm: Uint8Array, alpha?: Uint8Array) => {
    if (alpha) {
      const a = join(dir, "alpha.tmp.pgm");
      writeFileSync(a, alpha);
      flags = [...flags, `-alpha=${a}`];
    }
    return tool(["pnmtopng", ...flags], pnm);
  };
  const ffpng = (pixFmt: string, srcFmt: string, w: number, h: number, raw: Uint8Array, il: boolean) =>
    tool(["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", srcFmt, "-s", `${w}x${h}`, "-i", "-", "-pix_fmt", pixFmt, ...(il ? ["-flags", "+ildct"] : []), "-f", "image2", "-c:v", "png", "-"], raw);
  const sizes: [number, number][] = [[1, 1], [3, 2], [13, 7], [33, 17]];
  let seed = 1;

  for (const il of [false, true]) {
    const I = il ? ", Adam7" : "";
    const ilf = il ? ["-interlace"] : [];
    // Gray at every depth, written as gray (not palette) by -force.
    for (const bits of [1, 2, 4, 8]) {
      const mv = (1 << bits) - 1;
      for (const [w, h] of sizes) {
        const cls = bits < 8 ? `gray 1/2/4-bit${I}` : `gray 8-bit${I}`;
        add(cls, "exact", `gray${bits}-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 1, mv, pixels(seed++, w, h, 1, mv))));
      }
      // tRNS colour key on gray: pnmtopng -transparent, and a crafted key (the value of pixel 0).
      const [w, h] = [13, 7];
      const px = pixels(seed++, w, h, 1, mv);
      add(`gray/RGB + tRNS key${I}`, "exact", `gray${bits}-key-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf, `-transparent=rgbi:${px[0]! / mv}/${px[0]! / mv}/${px[0]! / mv}`], netpbm(w, h, 1, mv, px)));
      const plain = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 1, mv, px)));
      add(`gray/RGB + tRNS key${I}`, "exact", `gray${bits}-key2-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(plain, "IDAT", { type: "tRNS", data: be16(px[1]!) })));
    }
    // Truecolour 8-bit: RGB, RGBA, gray+alpha.
    for (const [w, h] of sizes) {
      const rgb = pixels(seed++, w, h, 3, 255);
      add(`RGB 8-bit${I}`, "exact", `rgb8-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 255, rgb)));
      const a = netpbm(w, h, 1, 255, pixels(seed++, w, h, 1, 255));
      add(`RGBA 8-bit${I}`, "exact", `rgba8-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 255, rgb), a));
      add(`gray+alpha 8-bit${I}`, "exact", `ga8-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 1, 255, pixels(seed++, w, h, 1, 255)), a));
      // RGB colour key (crafted: the colour of pixel 0, so at least one pixel matches)
      const c = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 255, rgb)));
      add(`gray/RGB + tRNS key${I}`, "exact", `rgb8-key-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(c, "IDAT", { type: "tRNS", data: be16(rgb[0]!, rgb[1]!, rgb[2]!) }))).rgbKey = rgb.slice(0, 3);
    }
    // Palette at 1/2/4/8 bits (pnmtopng picks the depth from the colour count), with and without tRNS.
    for (const count of [2, 4, 16, 200]) {
      const bits = count <= 2 ? 1 : count <= 4 ? 2 : count <= 16 ? 4 : 8;
      const r = rng(seed++);
      const colours = Array.from({ length: count }, () => [r(256), r(256), r(256)]);
      for (const [w, h] of [[13, 7], [33, 17]] as const) {
        add(`palette 1/2/4/8-bit${I}`, "exact", `pal${bits}-${w}x${h}${il ? "-i" : ""}`, pnmtopng(ilf, netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255, colours))));
      }
      // Palette + tRNS: alpha from {0, 128, 255}, colours kept few enough for a palette.
      const [w, h] = [13, 7];
      const few = colours.slice(0, Math.max(1, count >> 2));
      const aa = pixels(seed++, w, h, 1, 255, [[0], [128], [255]]);
      add(`palette + tRNS${I}`, "exact", `pal${bits}-trns-${w}x${h}${il ? "-i" : ""}`, pnmtopng(ilf, netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255, few)), netpbm(w, h, 1, 255, aa)));
    }
    // ffmpeg's PNG encoder, every 8-bit-or-less pixel format it writes.
    for (const [pix, src, ch] of [["rgb24", "rgb24", 3], ["rgba", "rgba", 4], ["gray", "gray", 1], ["ya8", "ya8", 2], ["pal8", "rgba", 4], ["monob", "gray", 1]] as const) {
      const [w, h] = [33, 17];
      const cls = pix === "pal8" ? `palette + tRNS${I}` : pix === "monob" ? `gray 1/2/4-bit${I}` : pix === "gray" ? `gray 8-bit${I}` : pix === "ya8" ? `gray+alpha 8-bit${I}` : pix === "rgba" ? `RGBA 8-bit${I}` : `RGB 8-bit${I}`;
      add(cls, "exact", `ff-${pix}-${w}x${h}${il ? "-i" : ""}`, ffpng(pix, src, w, h, Uint8Array.from(pixels(seed++, w, h, ch, 255)), il));
    }
    // Truecolour with a suggested palette (PLTE is only a hint there).
    {
      const [w, h] = [13, 7];
      const plte: Chunk = { type: "PLTE", data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
      const rgb = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255))));
      add(`truecolour + PLTE hint${I}`, "exact", `rgb8-plte-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(rgb, "IDAT", plte)));
      const rgba = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255)), netpbm(w, h, 1, 255, pixels(seed++, w, h, 1, 255))));
      add(`truecolour + PLTE hint${I}`, "exact", `rgba8-plte-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(rgba, "IDAT", plte)));
    }
    // 16-bit: every colour type that has it, from pnmtopng -force and ffmpeg, and a 16-bit colour key.
    {
      const [w, h] = [13, 7];
      const g = pixels(seed++, w, h, 1, 65535);
      add(`16-bit${I}`, "deep", `gray16-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 1, 65535, g)));
      const rgb = pixels(seed++, w, h, 3, 65535);
      add(`16-bit${I}`, "deep", `rgb16-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 65535, rgb)));
      const a16 = netpbm(w, h, 1, 65535, pixels(seed++, w, h, 1, 65535));
      add(`16-bit${I}`, "deep", `rgba16-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 65535, rgb), a16));
      add(`16-bit${I}`, "deep", `ga16-${w}x${h}${il ? "-i" : ""}`, pnmtopng(["-force", ...ilf], netpbm(w, h, 1, 65535, g), a16));
      const gk = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 1, 65535, g)));
      add(`16-bit${I}`, "deep", `gray16-key-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(gk, "IDAT", { type: "tRNS", data: be16(g[0]!) })));
      const ck = chunks(pnmtopng(["-force", ...ilf], netpbm(w, h, 3, 65535, rgb)));
      add(`16-bit${I}`, "deep", `rgb16-key-${w}x${h}${il ? "-i" : ""}`, assemble(insertBefore(ck, "IDAT", { type: "tRNS", data: be16(rgb[0]!, rgb[1]!, rgb[2]!) }))).rgbKey = rgb.slice(0, 3);
      for (const [pix, ch] of [["gray16be", 1], ["ya16be", 2], ["rgb48be", 3], ["rgba64be", 4]] as const) {
        const raw = new Uint8Array(w * h * ch * 2);
        const r = rng(seed++);
        for (let i = 0; i < raw.length; i++) raw[i] = r(256);
        add(`16-bit${I}`, "deep", `ff-${pix}-${w}x${h}${il ? "-i" : ""}`, ffpng(pix, pix, w, h, raw, il));
      }
    }
  }

  // Ancillary chunks a reader skips (gAMA, tIME from pnmtopng; sBIT, tEXt and a private chunk
  // crafted), and image data split over several IDAT chunks, one of them empty.
  {
    const [w, h] = [33, 17];
    const rgb = netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255));
    add("ancillary chunks, split IDAT", "exact", "rgb8-gama-time", pnmtopng(["-force", "-gamma", "0.45", "-modtime", "2020-01-02 03:04:05"], rgb));
    const c = chunks(pnmtopng(["-force"], rgb));
    const extra: Chunk[] = [
      { type: "sBIT", data: Uint8Array.from([5, 6, 5]) },
      { type: "tEXt", data: new TextEncoder().encode("Title\0conformance") },
      { type: "prVt", data: Uint8Array.from([1, 2, 3]) },
    ];
    add("ancillary chunks, split IDAT", "exact", "rgb8-sbit-text-private", assemble(extra.reduce((cs, x) => insertBefore(cs, "IDAT", x), c)));
    const z = c.find((x) => x.type === "IDAT")!.data;
    const third = Math.floor(z.length / 3);
    const split: Chunk[] = [
      { type: "IDAT", data: z.slice(0, third) },
      { type: "IDAT", data: new Uint8Array(0) },
      { type: "IDAT", data: z.slice(third, 2 * third) },
      { type: "IDAT", data: z.slice(2 * third) },
    ];
    add("ancillary chunks, split IDAT", "exact", "rgb8-split-idat", assemble([...c.filter((x) => x.type !== "IDAT" && x.type !== "IEND"), ...split, { type: "IEND", data: new Uint8Array(0) }]));
    const gi = chunks(pnmtopng(["-force", "-interlace"], netpbm(w, h, 1, 3, pixels(seed++, w, h, 1, 3))));
    const zi = gi.find((x) => x.type === "IDAT")!.data;
    add("ancillary chunks, split IDAT", "exact", "gray2-i-split-idat", assemble([gi[0]!, { type: "IDAT", data: zi.slice(0, 5) }, { type: "IDAT", data: zi.slice(5) }, { type: "IEND", data: new Uint8Array(0) }]));
  }

  // Corrupt and malformed files, cut from a valid 13x7 RGB image (and a palette one).
  const [w, h] = [13, 7];
  const base = pnmtopng(["-force"], netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255)));
  const bc = chunks(base);
  const pal = chunks(pnmtopng([], netpbm(w, h, 3, 255, pixels(seed++, w, h, 3, 255, [[1, 2, 3], [200, 100, 50], [7, 8, 9]]))));
  const rows = (bytesPerRow: number, filter = 0, count = h) => {
    const raw = new Uint8Array((bytesPerRow + 1) * count);
    for (let y = 0; y < count; y++) raw[y * (bytesPerRow + 1)] = filter;
    return new Uint8Array(deflateSync(raw));
  };
  const C = "corrupt or malformed";
  add(C, "corrupt", "bad-idat-crc", assemble(bc, "IDAT"), "IDAT CRC mismatch");
  add(C, "corrupt", "bad-ihdr-crc", assemble(bc, "IHDR"), "IHDR CRC mismatch");
  add(C, "corrupt", "bad-plte-crc", assemble(pal, "PLTE"), "PLTE CRC mismatch");
  add(C, "corrupt", "ihdr-cut", base.slice(0, 8 + 8 + 6), "IHDR truncated");
  add(C, "corrupt", "ihdr-short", assemble([{ type: "IHDR", data: ihdr(w, h, 8, 2).data.slice(0, 10) }, ...bc.slice(1)]), "IHDR truncated");
  add(C, "corrupt", "file-cut-in-idat", base.slice(0, base.length - 12 - 6), "IDAT truncated");
  add(C, "corrupt", "no-iend", base.slice(0, base.length - 12), "IEND");
  add(C, "corrupt", "bad-signature", Uint8Array.from([...base.slice(0, 1), 0x51, ...base.slice(2)]), "signature");
  add(C, "corrupt", "idat-not-zlib", assemble([bc[0]!, { type: "IDAT", data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }, { type: "IEND", data: new Uint8Array(0) }]), "IDAT");
  add(C, "corrupt", "idat-too-short", assemble([bc[0]!, { type: "IDAT", data: rows(w * 3, 0, h - 2) }, { type: "IEND", data: new Uint8Array(0) }]), "IDAT");
  add(C, "corrupt", "bad-filter-type", assemble([bc[0]!, { type: "IDAT", data: rows(w * 3, 7) }, { type: "IEND", data: new Uint8Array(0) }]), "filter");
  add(C, "corrupt", "no-idat", assemble([bc[0]!, { type: "IEND", data: new Uint8Array(0) }]), "IDAT");
  add(C, "corrupt", "palette-without-plte", assemble(pal.filter((c) => c.type !== "PLTE")), "PLTE");
  add(C, "corrupt", "rgb-depth-4", assemble([ihdr(w, h, 4, 2), { type: "IDAT", data: rows(Math.ceil((w * 12) / 8)) }, { type: "IEND", data: new Uint8Array(0) }]), "IHDR");
  add(C, "corrupt", "width-0", assemble([ihdr(0, h, 8, 0), { type: "IDAT", data: rows(0) }, { type: "IEND", data: new Uint8Array(0) }]), "IHDR");
  add(C, "corrupt", "interlace-method-2", assemble([ihdr(w, h, 8, 0, 2), { type: "IDAT", data: rows(w) }, { type: "IEND", data: new Uint8Array(0) }]), "IHDR");
  add(C, "corrupt", "bad-text-crc", assemble(insertBefore(bc, "IDAT", { type: "tEXt", data: new TextEncoder().encode("Title\0x") }), "tEXt"), "tEXt CRC mismatch", "libpng warns about an ancillary chunk's CRC and drops the chunk; dropping a tRNS that way changes pixels, so every CRC mismatch is refused");
  add(C, "corrupt", "unknown-critical-chunk", assemble(insertBefore(bc, "IDAT", { type: "PRVT", data: Uint8Array.from([1]) })), "PRVT: unknown critical chunk");
  const palData = (idx: number) => {
    const raw = new Uint8Array((w + 1) * h);
    for (let y = 0; y < h; y++) raw.fill(idx, y * (w + 1) + 1, (y + 1) * (w + 1));
    return new Uint8Array(deflateSync(raw));
  };
  add(C, "corrupt", "palette-index-out-of-range", assemble([ihdr(w, h, 8, 3), { type: "PLTE", data: Uint8Array.from([1, 2, 3, 4, 5, 6]) }, { type: "IDAT", data: palData(5) }, { type: "IEND", data: new Uint8Array(0) }]), "IDAT: a pixel uses palette index 5, PLTE has 2 colours", "netpbm paints pixels whose palette index is past the palette's end black; PNG forbids such indices, and guessing a colour would change pixels");
  add(C, "corrupt", "idat-too-long", assemble([bc[0]!, { type: "IDAT", data: rows(w * 3, 0, h + 3) }, { type: "IEND", data: new Uint8Array(0) }]), "data past the last row", "libpng warns about image data past the last row and ignores it; pngjs fails on it, so it is refused with a message that says what is wrong");
  // A zlib bomb: 50 KB of IDAT inflating to 50 MB for a 13x7 image; refused without inflating it all.
  add(C, "corrupt", "idat-inflates-to-50MB", assemble([bc[0]!, { type: "IDAT", data: new Uint8Array(deflateSync(new Uint8Array(50 << 20))) }, { type: "IEND", data: new Uint8Array(0) }]), "data past the last row", "libpng warns about image data past the last row and ignores it");
  add("oversized", "corrupt", "20000x20000", assemble([ihdr(20000, 20000, 8, 0), { type: "IDAT", data: rows(20000, 0, 1) }, { type: "IEND", data: new Uint8Array(0) }]), "16384");
  rmSync(join(dir, "alpha.tmp.pgm"), { force: true });
  return cases;
}
