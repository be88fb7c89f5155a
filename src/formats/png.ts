/**
 * png: one PNG file per frame, decoded/encoded with fast-png (pure JS, so it
 * also works inside a `bun build --compile` binary). Files are read and
 * written directly (the stdin Input / stdout Output are not used).
 *
 * Input (--input): a directory (every *.png in it, case-insensitive, sorted by
 * name in code-point order, so frame-000001.png < frame-000002.png), a glob
 * such as 'shots/*.png' (Bun.Glob; matches sorted by path), or one file.
 * seq = index in that order. Decoding to ring formats:
 *   gray 8-bit                 -> gray8
 *   gray 1/2/4-bit             -> gray8, scaled v * 255 / (2^bits - 1)
 *   gray + alpha               -> rgba32 (R = G = B = gray), alpha kept
 *   RGB                        -> rgb24
 *   RGBA                       -> rgba32
 *   palette (1/2/4/8-bit)      -> rgb24, or rgba32 when the file has a tRNS chunk
 *   16-bit samples             -> 8-bit by keeping the high byte (v >> 8); ffmpeg's
 *                                 rgb48 -> rgb24 rounds/dithers, so it can be 1 higher
 *   interlaced (Adam7)         -> handled by fast-png
 * Known differences from ffmpeg: a tRNS colour key on gray/RGB files is ignored
 * (pixels stay opaque; ffmpeg turns such files into ya8/rgba); 16-bit as above.
 * A file that cannot be read or decoded is an InvalidInput naming the file.
 *
 * Output and the naming of files (folders, templates, kept names) are in
 * images.ts (ImageSink): gray8 -> gray PNG, rgb24 -> RGB, rgba32 -> RGBA,
 * yuv420p -> RGB after the BT.601 limited-range conversion of convert.ts.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { decode, type DecodedPng } from "fast-png";
import { InvalidInput } from "../errors";
import { Format, MAX_DIMENSION, payloadBytes } from "../frame/format";
import type { FrameInfo, FrameSource } from "./types";

/** Lists the input files: a directory's *.png, a glob's matches, or one file. */
export function listPngInputs(path: string | undefined): string[] {
  if (!path) throw new InvalidInput(`png input: field path is missing: pass --input DIR (a folder of .png files) or --input 'GLOB' (e.g. 'shots/*.png')`);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  let files: string[];
  if (st?.isDirectory()) {
    files = readdirSync(path)
      .filter((n) => /\.png$/i.test(n))
      .map((n) => join(path, n));
    if (files.length === 0) throw new InvalidInput(`png input: directory "${path}" holds no *.png file; pass a folder with PNG frames (or a glob with --input 'DIR/*.png')`);
  } else if (st?.isFile()) {
    files = [path];
  } else if (/[*?[{]/.test(path)) {
    const glob = new Bun.Glob(path);
    files = [...glob.scanSync({ cwd: isAbsolute(path) ? "/" : process.cwd(), absolute: true, onlyFiles: true })];
    if (files.length === 0) throw new InvalidInput(`png input: glob "${path}" matches no file (relative globs start at ${process.cwd()}); check the pattern and quote it so the shell does not expand it`);
  } else {
    throw new InvalidInput(`png input: "${path}" does not exist; pass --input DIR (a folder of .png files) or --input 'GLOB'`);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export class PngSource implements FrameSource {
  readonly name = "png";
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: Format.gray8, seq: 0, len: 0 };
  readonly files: string[];
  private index = 0;
  private png: DecodedPng | null = null;

  constructor(path: string | undefined) {
    this.files = listPngInputs(path);
  }

  private bad(file: string, what: string, index = this.index): never {
    throw new InvalidInput(`png frame #${index} (file "${file}"): ${what}`);
  }

  next(): FrameInfo | null {
    if (this.index >= this.files.length) return null;
    const file = this.files[this.index]!;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      this.bad(file, `cannot read the file: ${(e as Error).message}`);
    }
    let png: DecodedPng;
    try {
      png = decode(bytes);
    } catch (e) {
      this.bad(file, `field data: not a decodable PNG (${(e as Error).message}); remove or re-encode the file`);
    }
    const { width: w, height: h } = png;
    if (w < 1 || w > MAX_DIMENSION || h < 1 || h > MAX_DIMENSION) this.bad(file, `field size ${w}x${h} is outside 1..${MAX_DIMENSION}`);
    let fmt: Format;
    if (png.palette) fmt = png.palette[0]?.length === 4 ? Format.rgba32 : Format.rgb24;
    else if (png.channels === 1) fmt = Format.gray8;
    else if (png.channels === 3) fmt = Format.rgb24;
    else if (png.channels === 2 || png.channels === 4) fmt = Format.rgba32;
    else this.bad(file, `field channels: ${png.channels} channels are not supported`);
    this.png = png;
    this.info.w = w;
    this.info.h = h;
    this.info.fmt = fmt;
    this.info.seq = this.index;
    this.info.len = payloadBytes(w, h, fmt);
    this.index++;
    return this.info;
  }

  readPayload(_addr: number, view: Uint8Array): void {
    const png = this.png!;
    const { w, h } = this.info;
    const data = png.data;
    const depth = png.depth;
    if (png.palette) {
      const pal = png.palette;
      const bpp = this.info.fmt === Format.rgba32 ? 4 : 3;
      const stride = Math.ceil((w * depth) / 8);
      const mask = (1 << depth) - 1;
      let o = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const bit = x * depth;
          const idx = (data[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
          const c = pal[idx];
          if (c === undefined) {
            const seq = this.info.seq;
            this.bad(this.files[seq]!, `field palette: pixel (${x},${y}) uses colour ${idx} but the palette has ${pal.length} colours; re-encode the file`, seq);
          }
          view[o] = c[0]!;
          view[o + 1] = c[1]!;
          view[o + 2] = c[2]!;
          if (bpp === 4) view[o + 3] = c[3] ?? 255;
          o += bpp;
        }
      }
      return;
    }
    const ch = png.channels;
    if (depth < 8) {
      // Gray 1/2/4-bit, rows padded to whole bytes.
      const stride = Math.ceil((w * depth) / 8);
      const mask = (1 << depth) - 1;
      const scale = 255 / mask;
      let o = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const bit = x * depth;
          view[o++] = ((data[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask) * scale;
        }
      }
      return;
    }
    const shift = depth === 16 ? 8 : 0;
    const n = w * h;
    if (ch === 2) {
      for (let i = 0, o = 0; i < n; i++, o += 4) {
        const g = data[2 * i]! >> shift;
        view[o] = g;
        view[o + 1] = g;
        view[o + 2] = g;
        view[o + 3] = data[2 * i + 1]! >> shift;
      }
      return;
    }
    if (shift === 0) {
      view.set(data.length === n * ch ? data : data.subarray(0, n * ch));
      return;
    }
    for (let i = 0; i < n * ch; i++) view[i] = data[i]! >> 8;
  }

  skipPayload(): void {
    this.png = null;
  }
}
