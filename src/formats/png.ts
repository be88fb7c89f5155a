/**
 * png: one PNG file per frame. Files are read and written directly (the stdin
 * Input / stdout Output are not used). Decoding (and its checks) lives in
 * png-decode.ts (pngjs behind a structure check); encoding uses fast-png.
 * Both are pure JS, so they work inside a `bun build --compile` binary.
 *
 * Input (--input): a directory (every *.png in it, case-insensitive, sorted by
 * name in code-point order, so frame-000001.png < frame-000002.png), a glob
 * such as 'shots/*.png' (Bun.Glob; matches sorted by path), or one file.
 * seq = index in that order. Decoding to ring formats (pixel-exact with
 * netpbm's `pngtopam -alphapam`, every bit depth and Adam7 interlacing):
 *   gray 1/2/4/8-bit           -> gray8 (1/2/4-bit scaled v * 255 / (2^bits - 1))
 *   RGB, palette               -> rgb24
 *   gray+alpha, RGBA, or gray/RGB/palette with a tRNS chunk -> rgba32
 *   16-bit samples             -> refused, unless --depth 8: then scaled as
 *                                 netpbm's pamdepth 255 (v * 255 / 65535, rounded)
 * A file that cannot be read, is damaged (CRC, truncation, bad zlib data) or
 * too large is an InvalidInput naming the file and the chunk.
 *
 * Output and the naming of files (folders, templates, kept names) are in
 * images.ts (ImageSink): gray8 -> gray PNG, rgb24 -> RGB, rgba32 -> RGBA,
 * yuv420p -> RGB after the BT.601 limited-range conversion of convert.ts.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { InvalidInput } from "../errors";
import { Format, payloadBytes } from "../frame/format";
import { decodePng, PngError, type DecodedPng } from "./png-decode";
import type { FrameInfo, FrameSource, SourcePosition } from "./types";

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

  constructor(
    path: string | undefined,
    private readonly depth8 = false,
  ) {
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
      png = decodePng(bytes, { depth8: this.depth8 });
    } catch (e) {
      if (!(e instanceof PngError)) throw e;
      this.bad(file, e.message);
    }
    this.png = png;
    this.info.w = png.w;
    this.info.h = png.h;
    this.info.fmt = png.fmt;
    this.info.seq = this.index;
    this.info.len = payloadBytes(png.w, png.h, png.fmt);
    this.index++;
    return this.info;
  }

  readPayload(_addr: number, view: Uint8Array): void {
    this.png!.fill(view);
    this.png = null;
  }

  skipPayload(): void {
    this.png = null;
  }
  position(into: SourcePosition): SourcePosition {
    into.pos = into.index = this.index;
    return into;
  }

  resume(at: SourcePosition): void {
    if (at.pos > this.files.length) throw new InvalidInput(`png input: cannot resume at file #${at.pos}: the input has only ${this.files.length} files now`);
    this.index = at.pos;
  }

}
