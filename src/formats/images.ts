/**
 * Batches of image files (PNG and JPEG): one file per frame.
 *
 * Input (--input DIR | 'GLOB' | FILE): a directory's *.png / *.jpg / *.jpeg
 * (only *.png for --in-format png, only *.jpg/*.jpeg for jpeg), sorted by
 * name in code-point order; a glob's matches sorted by path; or one file.
 * Each file is decoded by its signature, not its name: PNG by png-decode.ts
 * (16-bit only with --depth 8), JPEG by jpeg.ts. seq = index in that order. Before the rings are made (`run`), every
 * file's header is read (PNG IHDR, JPEG SOF; no decoding) so a folder of
 * mixed sizes gets slots for the largest (maxGeometry()).
 *
 * A stream of image files (stdin, or --in-format png|jpeg without --input):
 * ImageStreamSource finds each file's end by walking its chunks/markers.
 *
 * Output (--out-format png|jpeg, or chosen by the --output extension):
 *   --output DIR (an existing directory, a path ending in "/", or one without
 *       an image extension; created): each frame keeps its source file's name
 *       (extension changed to the output format's) when the input was a folder
 *       or glob of images whose listing the consumer can re-read and match
 *       (file count and a hash of the names, carried in the stream info);
 *       otherwise frame-%06d.<ext> numbered by delivered frame. Without
 *       --out-format each kept name keeps its own kind (keepKinds: a folder
 *       mixing PNG and JPEG stays mixed).
 *   --output 'out/%06d.png' (a printf-style %d, %0Nd): numbered by delivered frame.
 *   --output one.png: the one frame of the stream (a second frame is an error).
 *   no --output (stdout): the encoded files back to back (ffmpeg -f image2pipe reads them).
 * A folder or template that already holds image files from an earlier run is
 * refused (exit 2) unless --overwrite, which removes them first. Each file is
 * written to "<name>.tmp" and renamed, so readers never see half a file.
 */
import { ptr } from "bun:ffi";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { InvalidInput, PartialFrame } from "../errors";
import { Format, payloadBytes } from "../frame/format";
import { yuv420pToRgb24 } from "./convert";
import { JPEG_DEFAULT_QUALITY, decodeJpeg, encodeJpeg, isJpeg, jpegFormat, jpegHeader } from "./jpeg";
import { decodePng, PngError, type DecodedPng } from "./png-decode";
import { type FrameInfo, type FrameSink, type FrameSource, type Input, type Output, type SinkOptions, type SourcePosition, type StreamInfo, resumeStream, streamPosition } from "./types";

// Loaded on first use, not at every stage's start (see jpeg.ts).
const fastPng = (): typeof import("fast-png") => require("fast-png");

export type ImageKind = "png" | "jpeg";
/** Which files an input lists: one kind, or both ("image", for --in-format auto). */
export type ImageFilter = ImageKind | "image";

const EXTS: Record<ImageFilter, RegExp> = { png: /\.png$/i, jpeg: /\.jpe?g$/i, image: /\.(png|jpe?g)$/i };
const EXT_TEXT: Record<ImageFilter, string> = { png: "*.png", jpeg: "*.jpg or *.jpeg", image: "*.png, *.jpg or *.jpeg" };
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v);
}

/** True when --input names a folder or a glob (a list of images rather than one stream). */
export function isImageList(path: string | undefined): boolean {
  if (!path || path === "-") return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return /[*?[{]/.test(path);
  }
}

/** Lists the input files: a directory's images, a glob's matches, or one file; sorted. */
export function listImages(path: string | undefined, filter: ImageFilter): string[] {
  const what = filter === "image" ? "image" : filter;
  if (!path) throw new InvalidInput(`${what} input: field path is missing: pass --input DIR (a folder of ${EXT_TEXT[filter]} files) or --input 'GLOB' (e.g. 'shots/*.png')`);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  let files: string[];
  if (st?.isDirectory()) {
    files = readdirSync(path)
      .filter((n) => EXTS[filter].test(n))
      .map((n) => join(path, n));
    if (files.length === 0) throw new InvalidInput(`${what} input: directory "${path}" holds no ${EXT_TEXT[filter]} file; pass a folder with image frames (or a glob with --input 'DIR/*.png')`);
  } else if (st?.isFile()) {
    files = [path];
  } else if (/[*?[{]/.test(path)) {
    const glob = new Bun.Glob(path);
    files = [...glob.scanSync({ cwd: isAbsolute(path) ? "/" : process.cwd(), absolute: true, onlyFiles: true })];
    if (files.length === 0) throw new InvalidInput(`${what} input: glob "${path}" matches no file (relative globs start at ${process.cwd()}); check the pattern and quote it so the shell does not expand it`);
  } else {
    throw new InvalidInput(`${what} input: "${path}" does not exist; pass --input DIR (a folder of ${EXT_TEXT[filter]} files) or --input 'GLOB'`);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** fnv1a32 of the base names joined by "/": identifies a listing (stream info T.namesHash). */
export function namesHash(files: readonly string[]): number {
  let h = 0x811c9dc5;
  const s = files.map((f) => basename(f)).join("/");
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The first bytes of a file (for signatures and headers). */
function head(file: string, n: number): Uint8Array {
  const fd = openSync(file, "r");
  try {
    const b = new Uint8Array(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * The ring format a PNG decodes to, from IHDR and the chunks before IDAT (a
 * tRNS chunk makes any colour type rgba32); when the chunks before IDAT do not
 * fit in `b`, assumes rgba32 (too large a slot, never too small).
 */
function pngHeaderGeometry(b: Uint8Array): { w: number; h: number; fmt: Format } | null {
  if (!isPng(b) || b.length < 26) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const colour = b[25]!;
  let fmt: Format = colour === 0 ? Format.gray8 : colour === 2 || colour === 3 ? Format.rgb24 : Format.rgba32;
  let tRNS = true; // until IDAT is seen without one
  for (let o = 8; o + 8 <= b.length; ) {
    const type = String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);
    if (type === "tRNS") break;
    if (type === "IDAT") {
      tRNS = false;
      break;
    }
    o += 12 + dv.getUint32(o);
  }
  if (tRNS) fmt = Format.rgba32;
  return { w: dv.getUint32(16), h: dv.getUint32(20), fmt };
}

/** Bytes read from each file to find its header when sizing the rings. */
const HEAD_BYTES = 64 * 1024;

const BYTES_PER_PIXEL: Record<number, number> = { [Format.gray8]: 1, [Format.yuv420p]: 1.5, [Format.rgb24]: 3, [Format.rgba32]: 4 };

/**
 * The frame decoded by next() and not yet handed over: a PNG decoded lazily
 * into the slot, or JPEG pixels. Both image sources hold one.
 */
class PendingImage {
  private png: DecodedPng | null = null;
  private pixels: Uint8Array | null = null;

  /** Decodes `bytes` (JPEG when `jpeg`, else PNG) and sets info's geometry; `where` names the frame in errors. */
  decode(bytes: Uint8Array, jpeg: boolean, where: string, depth8: boolean, info: FrameInfo): void {
    this.drop();
    if (jpeg) {
      this.pixels = decodeJpeg(bytes, where, info);
      return;
    }
    try {
      this.png = decodePng(bytes, { depth8 });
    } catch (e) {
      if (!(e instanceof PngError)) throw e;
      throw new InvalidInput(`${where}: ${e.message}`);
    }
    info.w = this.png.w;
    info.h = this.png.h;
    info.fmt = this.png.fmt;
    info.len = payloadBytes(this.png.w, this.png.h, this.png.fmt);
  }

  fill(view: Uint8Array): void {
    if (this.png) this.png.fill(view);
    else view.set(this.pixels!);
    this.drop();
  }

  drop(): void {
    this.png = null;
    this.pixels = null;
  }
}

export class ImageSource implements FrameSource {
  readonly name: string;
  readonly files: string[];
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: Format.gray8, seq: 0, len: 0 };
  private index = 0;
  private readonly pending = new PendingImage();
  private firstKind: ImageKind | null = null;

  constructor(
    private readonly path: string | undefined,
    filter: ImageFilter,
    /** --depth 8: 16-bit PNG samples scaled to 8 bits (else refused by png-decode.ts). */
    private readonly depth8 = false,
  ) {
    this.name = filter;
    this.files = listImages(path, filter);
  }

  stream(): StreamInfo {
    const abs = resolve(process.cwd(), this.path!);
    return { format: this.name === "image" ? (this.firstKind ?? "png") : this.name, list: { path: abs, files: this.files.length, namesHash: namesHash(this.files) } };
  }

  /**
   * The largest geometry over every file's header (max width, max height, and
   * the format with the most bytes per pixel), for sizing the rings before any
   * frame is read. Files whose header cannot be read are skipped here; they
   * fail with a clear error when their turn comes.
   */
  maxGeometry(): { w: number; h: number; fmt: Format } | null {
    let w = 0;
    let h = 0;
    let fmt: Format = Format.gray8;
    for (const f of this.files) {
      let g: { w: number; h: number; fmt: Format } | null = null;
      try {
        const b = head(f, HEAD_BYTES);
        if (isPng(b)) g = pngHeaderGeometry(b);
        else if (isJpeg(b)) {
          // SOF usually sits in the first KBs; after a large EXIF block, read the whole file.
          const j = jpegHeader(b) ?? (b.length === HEAD_BYTES ? jpegHeader(readFileSync(f)) : null);
          const jf = j && jpegFormat(j.components);
          if (j && jf) g = { w: j.w, h: j.h, fmt: jf };
        }
      } catch {
        g = null;
      }
      if (g === null || g.w < 1 || g.h < 1 || g.w > 16384 || g.h > 16384) continue;
      w = Math.max(w, g.w);
      h = Math.max(h, g.h);
      if (BYTES_PER_PIXEL[g.fmt]! > BYTES_PER_PIXEL[fmt]!) fmt = g.fmt;
    }
    return w > 0 ? { w, h, fmt } : null;
  }

  private where(file: string): string {
    return `image frame #${this.index} (file "${file}")`;
  }

  next(): FrameInfo | null {
    if (this.index >= this.files.length) return null;
    const file = this.files[this.index]!;
    this.pending.drop();
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new InvalidInput(`${this.where(file)}: cannot read the file: ${(e as Error).message}`);
    }
    // PNG unless JPEG (or not an image: png-decode.ts names what is wrong with it).
    const jpeg = isJpeg(bytes);
    this.firstKind ??= jpeg ? "jpeg" : "png";
    this.pending.decode(bytes, jpeg, `${jpeg ? "jpeg" : "png"} frame #${this.index} (file "${file}")`, this.depth8, this.info);
    this.info.seq = this.index++;
    return this.info;
  }

  readPayload(_addr: number, view: Uint8Array): void {
    this.pending.fill(view);
  }

  skipPayload(): void {
    this.pending.drop();
  }

  /** One file per frame: the position is the file index. */
  position(into: SourcePosition): SourcePosition {
    into.pos = into.index = this.index;
    return into;
  }

  resume(at: SourcePosition): void {
    if (at.pos > this.files.length) throw new InvalidInput(`${this.name} input: cannot resume at file #${at.pos}: the input has only ${this.files.length} files now`);
    this.index = at.pos;
  }
}

// ---------------------------------------------------------------- output

export type ImageOutputMode = { kind: "dir"; dir: string } | { kind: "template"; dir: string; pattern: RegExp } | { kind: "file"; file: string } | { kind: "stream" };

const TEMPLATE = /%(0?\d*)d/;

/** How --output is used by an image sink (undefined/"-": stdout). */
export function imageOutputMode(path: string | undefined): ImageOutputMode {
  if (!path || path === "-") return { kind: "stream" };
  if (TEMPLATE.test(path)) {
    const file = basename(path);
    const esc = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%(0?\d*)d/, "\\d+");
    return { kind: "template", dir: resolve(dirname(path)), pattern: new RegExp(`^${esc}$`) };
  }
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {}
  if (isDir || path.endsWith("/") || !EXTS.image.test(path)) return { kind: "dir", dir: resolve(path) };
  return { kind: "file", file: resolve(path) };
}

/** The folder image files go to for --output (the folder itself, a template's or one file's folder). */
export function imageFolder(path: string): string {
  const m = imageOutputMode(path);
  return m.kind === "file" ? dirname(m.file) : m.kind === "stream" ? "" : m.dir;
}

/** True when --output is an existing folder, a path ending in "/" or a template: image files, whatever the input. */
export function isImageFolderOrTemplate(path: string | undefined): boolean {
  if (!path || path === "-") return false;
  return TEMPLATE.test(path) || path.endsWith("/") || existsDir(path);
}

export function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Image files an earlier run left where this output writes (folder or template). */
export function staleImages(path: string | undefined): string[] {
  const m = imageOutputMode(path);
  if (m.kind !== "dir" && m.kind !== "template") return [];
  let names: string[];
  try {
    names = readdirSync(m.dir);
  } catch {
    return [];
  }
  const match = m.kind === "dir" ? EXTS.image : m.pattern;
  return names.filter((n) => match.test(n)).map((n) => join(m.dir, n));
}

/**
 * Refuses an output folder or template that already holds image files from
 * an earlier run (they would sit beside the new frames), unless `overwrite`,
 * which removes them. Also refuses writing into the input folder.
 */
export function checkImageOutput(path: string | undefined, overwrite: boolean, input?: string, remove = overwrite): void {
  const m = imageOutputMode(path);
  if ((m.kind === "dir" || m.kind === "template") && input && input !== "-" && existsDir(input) && resolve(input) === m.dir)
    throw new InvalidInput(`--output ${path} is the input folder: the frames would replace or sit beside their sources; write to another folder`);
  const stale = staleImages(path);
  if (stale.length === 0) return;
  if (!overwrite)
    throw new InvalidInput(
      `--output ${path} already holds ${stale.length} image file(s) from an earlier run (e.g. ${basename(stale[0]!)}); they would stay beside the new frames: pass --overwrite to remove them first, or choose an empty folder`,
    );
  if (remove) for (const f of stale) unlinkSync(f);
}

/** Refuses --output one.png for an input folder or glob of more than one image (before anything runs). */
export function checkOneImageOutput(output: string | undefined, input: string | undefined): void {
  const m = imageOutputMode(output);
  if (m.kind !== "file" || !isImageList(input)) return;
  let n = 0;
  try {
    n = listImages(input, "image").length;
  } catch {
    return; // the producer reports what is wrong with the input
  }
  if (n > 1)
    throw new InvalidInput(
      `--output ${output} is one image file but --input ${input} holds ${n} images; pass a folder (--output DIR/, names kept) or a template (--output 'out/%06d${extname(output!)}')`,
    );
}

export class ImageSink implements FrameSink {
  readonly name: ImageKind;
  readonly iovs = 1;
  private readonly mode: ImageOutputMode;
  private count = 0;
  private rgb = new Uint8Array(0);
  /** Encoded files queued on the Output (stream mode), kept alive until flushed(). */
  private held: Uint8Array[] = [];
  /** Output names by seq, when the input's file names are kept (dir mode). */
  private readonly names: string[] | null = null;
  private readonly quality: number;

  constructor(
    kind: ImageKind,
    private readonly opts: SinkOptions,
  ) {
    this.name = kind;
    this.quality = opts.quality ?? JPEG_DEFAULT_QUALITY;
    this.mode = imageOutputMode(opts.path);
    const m = this.mode;
    if (m.kind === "dir" || m.kind === "template" || m.kind === "file") {
      const dir = m.kind === "file" ? dirname(m.file) : m.dir;
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new InvalidInput(`${kind} output: cannot create directory "${dir}": ${(e as Error).message}; pass a writable --output DIR`);
      }
    }
    if (m.kind === "dir") this.names = keptNames(opts.stream ?? null, opts.keepKinds ? null : kind);
  }

  private encode(info: FrameInfo, view: Uint8Array, kind: ImageKind): Uint8Array {
    if (kind === "jpeg") return encodeJpeg(view, info, this.quality);
    const { w, h } = info;
    let data: Uint8Array;
    let channels: number;
    if (info.fmt === Format.yuv420p) {
      if (this.rgb.length < w * h * 3) this.rgb = new Uint8Array(w * h * 3);
      yuv420pToRgb24(view, w, h, this.rgb);
      data = this.rgb.subarray(0, w * h * 3);
      channels = 3;
    } else {
      channels = info.fmt === Format.gray8 ? 1 : info.fmt === Format.rgb24 ? 3 : 4;
      data = view.subarray(0, payloadBytes(w, h, info.fmt));
    }
    return fastPng().encode({ width: w, height: h, data, channels, depth: 8 });
  }

  private fileName(index: number, info: FrameInfo): string {
    const m = this.mode;
    const ext = this.name === "jpeg" ? "jpg" : "png";
    if (m.kind === "template") return join(m.dir, basename(this.opts.path!).replace(TEMPLATE, (_, width: string) => String(index).padStart(Number(width || "0"), "0")));
    if (m.kind === "file") {
      if (index > 0)
        throw new InvalidInput(
          `${this.name} output frame #${index} (seq ${info.seq}): --output ${this.opts.path} is one image file but the stream has more than one frame; pass a folder (--output DIR/) or a template (--output 'out/%06d.${ext}')`,
        );
      return m.file;
    }
    const dir = (m as { dir: string }).dir;
    const kept = this.names?.[info.seq];
    return join(dir, kept ?? `frame-${String(index).padStart(6, "0")}.${ext}`);
  }

  add(out: Output, info: FrameInfo, _addr: number, view: Uint8Array): number {
    const index = this.opts.delivered + this.count++;
    // A kept name keeps its kind when the format was not asked for (a mixed folder stays mixed).
    const kept = this.mode.kind === "dir" ? this.names?.[info.seq] : undefined;
    const kind: ImageKind = kept && this.opts.keepKinds ? (EXTS.jpeg.test(kept) ? "jpeg" : "png") : this.name;
    const bytes = this.encode(info, view, kind);
    if (this.mode.kind === "stream") {
      this.held.push(bytes);
      out.add(ptr(bytes), bytes.length);
      return bytes.length;
    }
    const name = this.fileName(index, info);
    try {
      writeFileSync(`${name}.tmp`, bytes);
      renameSync(`${name}.tmp`, name);
    } catch (e) {
      throw new InvalidInput(`${this.name} output frame #${index} (seq ${info.seq}): cannot write "${name}": ${(e as Error).message}; check free space and permissions of --output`);
    }
    return 0;
  }

  flushed(): void {
    this.held = [];
  }
  close(): void {}
}

/**
 * Output names by seq (source base name, extension of `kind`; unchanged when
 * kind is null), or null when the input was not a list of images, or its
 * listing changed since the producer read it, or two sources share a base name.
 */
function keptNames(stream: StreamInfo | null, kind: ImageKind | null): string[] | null {
  const list = stream?.list;
  if (!list) return null;
  // The producer listed with one of the filters: find the listing that matches.
  let files: string[] | null = null;
  for (const filter of ["image", "png", "jpeg"] as const) {
    try {
      const f = listImages(list.path, filter);
      if (f.length === list.files && namesHash(f) === list.namesHash) {
        files = f;
        break;
      }
    } catch {}
  }
  if (files === null) return null;
  const ext = kind === "jpeg" ? ".jpg" : ".png";
  const names = files.map((f) => {
    const b = basename(f);
    const e = extname(b);
    const same = kind === null || (kind === "jpeg" ? /^\.jpe?g$/i.test(e) : /^\.png$/i.test(e));
    return same ? b : b.slice(0, b.length - e.length) + ext;
  });
  return new Set(names).size === names.length ? names : null;
}

// ---------------------------------------------------------------- a stream of image files

const MAX_IMAGE_FILE = 1 << 30;

/**
 * Image files back to back on a stream (`ffmpeg -f image2pipe`, or our own
 * image output on stdout): each file's end is found by walking its structure
 * (PNG: chunks up to IEND; JPEG: markers up to EOI, the entropy-coded data
 * scanned for the next marker), then the file is decoded like one on disk.
 * The input ending between files is a clean end; inside one, a PartialFrame.
 */
export class ImageStreamSource implements FrameSource {
  readonly name: ImageKind;
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: Format.gray8, seq: 0, len: 0 };
  private index = 0;
  private readonly pending = new PendingImage();
  private buf = new Uint8Array(64 * 1024);
  private len = 0;

  constructor(
    private readonly input: Input,
    kind: ImageKind,
    private readonly depth8 = false,
  ) {
    this.name = kind;
  }

  stream(): StreamInfo {
    return { format: this.name };
  }

  private partial(what: string): never {
    throw new PartialFrame(`partial frame at seq ${this.index}: the input ended inside ${what} of a ${this.name.toUpperCase()} file after ${this.len} bytes; the stream is truncated`);
  }

  /** Appends n bytes of the input to the file being read. */
  private take(n: number, what: string): void {
    if (this.len + n > MAX_IMAGE_FILE) throw new InvalidInput(`${this.name} frame #${this.index} (stream): a file larger than ${MAX_IMAGE_FILE} bytes; the stream is not ${this.name} files`);
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.len + n, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const got = this.input.readInto(ptr(this.buf) + this.len, n);
    this.len += got;
    if (got < n) this.partial(what);
  }

  private u32(o: number): number {
    const b = this.buf;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /** The next file's bytes; false at a clean end of input. */
  private readFile(): boolean {
    this.len = 0;
    if (this.input.atEof()) return false;
    if (this.name === "png") {
      this.take(8, "the signature");
      if (!isPng(this.buf.subarray(0, 8))) throw new InvalidInput(`png frame #${this.index} (stream): field signature: no PNG signature where the next file should start; the previous file was damaged or the stream is not PNG files`);
      for (;;) {
        const at = this.len;
        this.take(8, "a chunk header");
        const n = this.u32(at);
        if (n > 0x7fffffff) throw new InvalidInput(`png frame #${this.index} (stream): chunk length ${n} exceeds 2^31-1; the stream is damaged`);
        const type = String.fromCharCode(this.buf[at + 4]!, this.buf[at + 5]!, this.buf[at + 6]!, this.buf[at + 7]!);
        this.take(n + 4, `chunk ${type}`);
        if (type === "IEND") return true;
      }
    }
    this.take(2, "the SOI marker");
    if (this.buf[0] !== 0xff || this.buf[1] !== 0xd8) throw new InvalidInput(`jpeg frame #${this.index} (stream): field SOI: no JPEG start-of-image where the next file should start; the previous file was damaged or the stream is not JPEG files`);
    let marker = this.nextMarker();
    for (;;) {
      if (marker === 0xd9) return true; // EOI
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        marker = this.nextMarker();
        continue;
      }
      const at = this.len;
      this.take(2, "a marker segment length");
      const n = (this.buf[at]! << 8) | this.buf[at + 1]!;
      if (n < 2) throw new InvalidInput(`jpeg frame #${this.index} (stream): marker 0x${marker.toString(16)} has length ${n}; the stream is damaged`);
      this.take(n - 2, "a marker segment");
      marker = marker === 0xda ? this.scanEntropy() : this.nextMarker();
    }
  }

  /** Reads 0xFF (fill bytes allowed) and a marker code; returns the code. */
  private nextMarker(): number {
    this.take(1, "a marker");
    if (this.buf[this.len - 1] !== 0xff) throw new InvalidInput(`jpeg frame #${this.index} (stream): expected a marker (0xFF) at byte ${this.len - 1}, found 0x${this.buf[this.len - 1]!.toString(16)}; the file is damaged`);
    for (;;) {
      this.take(1, "a marker");
      const c = this.buf[this.len - 1]!;
      if (c !== 0xff) return c;
    }
  }

  /** After a scan header: entropy-coded bytes up to the next marker that is not a stuffed 0xFF00 or a restart; returns its code. */
  private scanEntropy(): number {
    for (;;) {
      this.take(1, "the entropy-coded data");
      if (this.buf[this.len - 1] !== 0xff) continue;
      let c: number;
      do {
        this.take(1, "the entropy-coded data");
        c = this.buf[this.len - 1]!;
      } while (c === 0xff);
      if (c !== 0x00 && !(c >= 0xd0 && c <= 0xd7)) return c;
    }
  }

  next(): FrameInfo | null {
    this.pending.drop();
    if (!this.readFile()) return null;
    const bytes = this.buf.subarray(0, this.len);
    this.pending.decode(bytes, this.name === "jpeg", `${this.name} frame #${this.index} (stream)`, this.depth8, this.info);
    this.info.seq = this.index++;
    return this.info;
  }

  readPayload(_addr: number, view: Uint8Array): void {
    this.pending.fill(view);
  }

  skipPayload(): void {
    this.pending.drop();
  }

  position(into: SourcePosition): SourcePosition {
    return streamPosition(into, this.input, this.index);
  }

  resume(at: SourcePosition): void {
    this.index = resumeStream(this.input, at);
  }
}
