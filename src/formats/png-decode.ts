/**
 * Reading one PNG file into a ring frame: a structure check of our own, then
 * pngjs for the pixels. (Folders, globs and file naming are images.ts's.)
 *
 * Ring formats, pixel-exact with netpbm's `pngtopam -alphapam`:
 *   gray 1/2/4/8-bit           -> gray8 (1/2/4-bit scaled v * 255 / (2^bits - 1))
 *   RGB, palette               -> rgb24
 *   gray+alpha, RGBA, or gray/RGB/palette with a tRNS chunk -> rgba32
 *   16-bit samples             -> refused, unless --depth 8: then scaled as
 *                                 netpbm's pamdepth 255 (v * 255 / 65535, rounded)
 *
 * Which library, and why a check in front of it. pngjs (7.0.0, pure JS, works
 * inside the `bun build --compile` binary) decodes every colour type, bit depth
 * and Adam7 interlacing pixel-exact with netpbm's `pngtopam -alphapam`
 * (test/png-conformance.test.ts holds the evidence). fast-png 8.0.0, the newest
 * release, does not: it mis-decodes Adam7 images of 1, 2 and 4 bits ("Unsupported
 * filter: 192"), refuses a truecolour file that carries a suggested palette
 * (PLTE), and misreads an RGB tRNS colour key; it is still used for writing,
 * where it is correct. UPNG (2.1.0) scales 1/2/4-bit gray wrongly and checks no CRC.
 *
 * pngjs's synchronous reader, though, reports broken files badly under Bun (a
 * wrong CRC comes out as "unrecognised content at end of stream", a truncated
 * IHDR as "read requests waiting on finished stream") and accepts too little
 * image data (the missing rows decode as zeros, so a 20000x20000 header with
 * one row of data "decodes"). So before pngjs sees a file, checkPng() walks it
 * and refuses, naming the chunk:
 *   - the signature; every chunk's framing (length within the file) and CRC
 *     (all chunks, ancillary ones too: libpng only warns about an ancillary
 *     chunk's CRC and drops the chunk, which can silently change pixels when
 *     it is tRNS);
 *   - IHDR first, 13 bytes, a valid bit depth / colour type pair, methods 0,
 *     interlace 0 or 1, each side within 1..MAX_DIMENSION;
 *   - unknown critical chunks, PLTE missing for a palette image, no IDAT, no IEND;
 *     PLTE, tRNS and gAMA (the chunks pngjs reads) with an impossible length;
 *   - the IDAT stream: zlib-valid (incl. its Adler-32), exactly as many bytes
 *     as the header's size needs (Adam7 passes counted), every row's filter
 *     type 0..4. (libpng only warns about data past the last row; pngjs
 *     fails on it, so it is refused with a clear message.)
 * Everything the check accepts, pngjs decodes (it gets the bytes up to IEND).
 *
 * One fix-up after pngjs: for a gray or RGB image with a tRNS colour key,
 * pngjs zeroes the whole matching pixel (R = G = B = A = 0), while PNG makes
 * only its alpha 0 (netpbm keeps the colour). Such an image has no other
 * source of alpha 0, so every pixel with alpha 0 gets the key's colour back,
 * scaled as pngjs scales the rest.
 *
 * 16-bit samples: refused unless the caller asks for 8 bits (--depth 8); then
 * pngjs's rescale v -> floor(v * 255 / 65535 + 1/2) is used, which equals
 * netpbm's `pamdepth 255` for all 65536 values (tested byte-exact against it).
 * 1/2/4-bit samples are scaled by 255 / (2^bits - 1), which is exact.
 *
 * Ring formats: gray -> gray8; RGB and palette -> rgb24; anything with alpha
 * (gray+alpha, RGBA, or a tRNS chunk on gray, RGB or palette) -> rgba32.
 */
import { Format, MAX_DIMENSION } from "../frame/format";

// Loaded on first use, not at every stage's start (see jpeg.ts).
const pngjs = (): typeof import("pngjs") => require("pngjs");
const zlib = (): typeof import("node:zlib") => require("node:zlib");

/** A PNG the reader refuses; the message names the chunk, the caller adds the file. */
export class PngError extends Error {}

export interface PngHeader {
  w: number;
  h: number;
  depth: number;
  colourType: number;
  interlaced: boolean;
  /** Colours in the PLTE chunk (0 without one). */
  paletteEntries: number;
  /** The tRNS chunk's data, if any (alpha for palette entries, or a colour key). */
  trns?: Uint8Array;
  /** Byte offset just past the IEND chunk. */
  end: number;
  /** The concatenated IDAT data (zlib stream). */
  idat: Uint8Array[];
}

export interface DecodedPng {
  w: number;
  h: number;
  fmt: Format;
  /** Writes the frame's payload (ring format fmt) into view[0 .. payloadBytes). */
  fill(view: Uint8Array): void;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const COLOUR_TYPES: Record<number, { name: string; channels: number; depths: number[] }> = {
  0: { name: "gray", channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: "RGB", channels: 3, depths: [8, 16] },
  3: { name: "palette", channels: 1, depths: [1, 2, 4, 8] },
  4: { name: "gray+alpha", channels: 2, depths: [8, 16] },
  6: { name: "RGBA", channels: 4, depths: [8, 16] },
};
/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
const KNOWN_CRITICAL = new Set(["IHDR", "PLTE", "IDAT", "IEND"]);

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** Walks the chunks of `bytes`; throws PngError naming the first structural problem. */
export function checkPng(bytes: Uint8Array): PngHeader {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b))
    throw new PngError(`not a PNG file: the first 8 bytes are not the PNG signature (${bytes.length} bytes in the file)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let head: PngHeader | undefined;
  let paletteEntries = 0;
  let last = "signature";
  let lastAt = 0;
  const idat: Uint8Array[] = [];
  for (let p = 8; ; ) {
    if (p + 12 > bytes.length) {
      if (last === "signature") throw new PngError(`IHDR truncated: the file ends ${bytes.length - p} bytes after the signature; it is cut short`);
      const extra = bytes.length - p;
      throw new PngError(`IEND missing: the file ends ${extra ? `${extra} bytes` : "right"} after the ${last} chunk at byte ${lastAt}; it is cut short (or was still being written)`);
    }
    const len = dv.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError(`chunk at byte ${p} after ${last} has no valid type (bytes ${[...bytes.subarray(p + 4, p + 8)].join(",")}); the file is damaged`);
    if (len > bytes.length - p - 12)
      throw new PngError(`${type} truncated: the chunk at byte ${p} says ${len} bytes of data, the file has ${Math.max(0, bytes.length - p - 12)} left for it; the file is cut short`);
    const stored = dv.getUint32(p + 8 + len);
    const computed = Bun.hash.crc32(bytes.subarray(p + 4, p + 8 + len)) >>> 0;
    if (stored !== computed) throw new PngError(`${type} CRC mismatch: the chunk at byte ${p} stores ${hex(stored)}, its bytes give ${hex(computed)}; the file is damaged: copy it again or re-encode it`);
    const data = bytes.subarray(p + 8, p + 8 + len);
    if (type === "IHDR") {
      if (head) throw new PngError(`IHDR: a second IHDR chunk at byte ${p}; the file is damaged`);
      head = checkHeader(data);
    } else if (!head) throw new PngError(`IHDR missing: the first chunk is ${type}; the file is damaged`);
    else if (type === "PLTE") {
      if (len % 3 !== 0 || len === 0 || len > 768) throw new PngError(`PLTE: ${len} bytes is not 1..256 RGB entries (a multiple of 3); the file is damaged`);
      paletteEntries = len / 3;
    } else if (type === "tRNS") {
      const ct = head.colourType;
      const name = COLOUR_TYPES[ct]!.name;
      if (ct === 4 || ct === 6) throw new PngError(`tRNS: a transparency chunk in a ${name} image (it has an alpha channel); the file is damaged`);
      if (ct === 3 && (len === 0 || len > paletteEntries)) throw new PngError(`tRNS: ${len} alpha values for a palette of ${paletteEntries} colours (1..${paletteEntries} allowed); the file is damaged`);
      if (ct !== 3 && len !== (ct === 0 ? 2 : 6)) throw new PngError(`tRNS: ${len} bytes; a colour key for ${name} is ${ct === 0 ? 2 : 6}; the file is damaged`);
      head.trns = data;
    } else if (type === "gAMA" && len !== 4) {
      // pngjs reads gAMA (and fails on a short one); libpng ignores an invalid one.
      throw new PngError(`gAMA: ${len} bytes, 4 expected; the file is damaged`);
    } else if (type === "IDAT") {
      if (head.colourType === 3 && paletteEntries === 0) throw new PngError(`PLTE missing: a palette image needs a PLTE chunk before its IDAT; the file is damaged`);
      idat.push(data);
    } else if (type === "IEND") {
      head.end = p + 12 + len;
      head.paletteEntries = paletteEntries;
      if (idat.length === 0) throw new PngError(`IDAT missing: the file has no image data`);
      head.idat = idat;
      return head;
    } else if (!(bytes[p + 4]! & 0x20) && !KNOWN_CRITICAL.has(type))
      throw new PngError(`${type}: unknown critical chunk (a capital first letter means readers must understand it); this is not a standard PNG`);
    last = type;
    lastAt = p;
    p += 12 + len;
  }
}

function checkHeader(d: Uint8Array): PngHeader {
  if (d.length !== 13) throw new PngError(`IHDR truncated: ${d.length} bytes of data, 13 expected; the file is damaged`);
  const dv = new DataView(d.buffer, d.byteOffset, 13);
  const w = dv.getUint32(0);
  const h = dv.getUint32(4);
  const [depth, colourType, compression, filter, interlace] = [d[8]!, d[9]!, d[10]!, d[11]!, d[12]!];
  if (w < 1 || h < 1) throw new PngError(`IHDR: size ${w}x${h} has a zero side; the file is damaged`);
  if (w > MAX_DIMENSION || h > MAX_DIMENSION)
    throw new PngError(`IHDR: size ${w}x${h} is over the limit of ${MAX_DIMENSION} pixels per side; shrink the image first (e.g. pamscale -xyfit ${MAX_DIMENSION} ${MAX_DIMENSION})`);
  const ct = COLOUR_TYPES[colourType];
  if (!ct) throw new PngError(`IHDR: colour type ${colourType} is not one of 0, 2, 3, 4, 6; the file is damaged`);
  if (!ct.depths.includes(depth)) throw new PngError(`IHDR: bit depth ${depth} is not allowed for ${ct.name} (colour type ${colourType}: ${ct.depths.join(", ")}); the file is damaged`);
  if (compression !== 0 || filter !== 0) throw new PngError(`IHDR: compression method ${compression} / filter method ${filter} (only 0 / 0 exist); the file is damaged`);
  if (interlace > 1) throw new PngError(`IHDR: interlace method ${interlace} (only 0 = none and 1 = Adam7 exist); the file is damaged`);
  return { w, h, depth, colourType, interlaced: interlace === 1, paletteEntries: 0, end: 0, idat: [] };
}

/** The reduced images' rows: [bytes per row without the filter byte, row count] (one entry without interlacing). */
function passRows(hd: PngHeader): [number, number][] {
  const bpp = COLOUR_TYPES[hd.colourType]!.channels * hd.depth;
  const row = (w: number) => Math.ceil((w * bpp) / 8);
  if (!hd.interlaced) return [[row(hd.w), hd.h]];
  const out: [number, number][] = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = hd.w > x0 ? Math.ceil((hd.w - x0) / dx) : 0;
    const ph = hd.h > y0 ? Math.ceil((hd.h - y0) / dy) : 0;
    if (pw > 0 && ph > 0) out.push([row(pw), ph]);
  }
  return out;
}

/** Inflates the IDAT stream and checks its length and every row's filter type. */
function checkImageData(hd: PngHeader): void {
  const rows = passRows(hd);
  const need = rows.reduce((n, [bytes, count]) => n + (bytes + 1) * count, 0);
  const z = hd.idat.length === 1 ? hd.idat[0]! : concat(hd.idat);
  let raw: Uint8Array;
  const tooMuch = () => new PngError(`IDAT: more image data than the ${need} bytes ${hd.w}x${hd.h}${hd.interlaced ? " interlaced" : ""} needs (data past the last row); the file is damaged`);
  try {
    // Bounded: a small stream that inflates to gigabytes stops one byte past the need.
    raw = zlib().inflateSync(z, { maxOutputLength: need + 1 });
  } catch (e) {
    const why = (e as Error).message;
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooMuch();
    if ((e as { code?: string }).code === "Z_BUF_ERROR") throw new PngError(`IDAT truncated: the compressed image data ends early (zlib: ${why}); the file is cut short`);
    throw new PngError(`IDAT: the compressed image data is invalid (zlib: ${why}); the file is damaged`);
  }
  if (raw.length > need) throw tooMuch();
  if (raw.length < need) throw new PngError(`IDAT: ${raw.length} bytes of image data, ${hd.w}x${hd.h}${hd.interlaced ? " interlaced" : ""} needs ${need} (rows are missing); the file is damaged`);
  let o = 0;
  rows.forEach(([bytes, count], pass) => {
    for (let y = 0; y < count; y++, o += bytes + 1) {
      const f = raw[o]!;
      if (f > 4) throw new PngError(`IDAT: row ${y}${hd.interlaced ? ` of Adam7 pass ${pass + 1}` : ""} has filter type ${f} (0..4 exist); the file is damaged`);
    }
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface DecodeOptions {
  /** Scale 16-bit samples to 8 bits (--depth 8); without it a 16-bit file is refused. */
  depth8?: boolean;
}

/** Checks and decodes one PNG file's bytes; throws PngError naming the chunk. */
export function decodePng(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedPng {
  const hd = checkPng(bytes);
  const ct = COLOUR_TYPES[hd.colourType]!;
  if (hd.depth === 16 && !opts.depth8)
    throw new PngError(
      `IHDR: bit depth 16 (${ct.name}) is more than the ring's 8 bits per sample; pass --depth 8 to scale the samples as netpbm's pamdepth 255 does (v * 255 / 65535, rounded), or convert the file first`,
    );
  checkImageData(hd);
  let png: ReturnType<typeof import("pngjs").PNG.sync.read>;
  try {
    // CRCs were checked above (natively); pngjs would compute them again in JS.
    png = pngjs().PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, hd.end), { checkCRC: false } as Parameters<typeof import("pngjs").PNG.sync.read>[1]);
  } catch (e) {
    const why = (e as Error)?.message ?? String(e);
    const index = /index (\d+) not in palette/.exec(why);
    if (index) throw new PngError(`IDAT: a pixel uses palette index ${index[1]}, PLTE has ${hd.paletteEntries} colours (0..${hd.paletteEntries - 1}); the file is damaged`);
    throw new PngError(`IDAT: pixel data not decodable (pngjs: ${why}); the file is damaged or uses a feature shmimg does not read`);
  }
  const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, hd.w * hd.h * 4);
  const alpha = hd.colourType === 4 || hd.colourType === 6 || hd.trns !== undefined;
  if (hd.trns && (hd.colourType === 0 || hd.colourType === 2)) restoreKeyColour(rgba, hd.trns!, hd.depth, hd.colourType);
  const fmt = alpha ? Format.rgba32 : hd.colourType === 0 ? Format.gray8 : Format.rgb24;
  return {
    w: hd.w,
    h: hd.h,
    fmt,
    fill(view) {
      const n = hd.w * hd.h;
      if (fmt === Format.rgba32) view.set(rgba);
      else if (fmt === Format.gray8) for (let i = 0; i < n; i++) view[i] = rgba[4 * i]!;
      else
        for (let i = 0, o = 0; i < n; i++, o += 3) {
          view[o] = rgba[4 * i]!;
          view[o + 1] = rgba[4 * i + 1]!;
          view[o + 2] = rgba[4 * i + 2]!;
        }
    },
  };
}

/** The fix-up described in the opening comment: keyed pixels keep the key's colour. */
function restoreKeyColour(rgba: Uint8Array, key: Uint8Array, depth: number, colourType: number): void {
  const max = 2 ** depth - 1;
  const sample = (i: number) => Math.floor((((key[2 * i]! << 8) | key[2 * i + 1]!) * 255) / max + 0.5);
  const [r, g, b] = colourType === 0 ? [sample(0), sample(0), sample(0)] : [sample(0), sample(1), sample(2)];
  for (let o = 0; o < rgba.length; o += 4) {
    if (rgba[o + 3] !== 0) continue;
    rgba[o] = r;
    rgba[o + 1] = g;
    rgba[o + 2] = b;
  }
}
