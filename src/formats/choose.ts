/**
 * Choosing formats so the user does not have to:
 *   --in-format auto (the default): a folder or glob of images, else the
 *     first bytes of the stream (sniffInput): "SHMF" native, "YUV4MPEG2" y4m,
 *     "P5"/"P6"/"P7" pnm, a PNG or JPEG signature (in a file: one image; on a
 *     stream: image files back to back).
 *     rawvideo has no header: --size/--pix-fmt select it, else the error says so.
 *   --out-format auto (the default): the --output extension or template
 *     (outFormatFromArgs), else the input's format, learnt from the stream info
 *     when frame 0 arrives (outFormatForInput), so the consumer may start
 *     before the producer in another shell.
 */
import { InvalidInput } from "../errors";
import type { Input } from "../io/input";
import { isJpeg } from "./jpeg";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { isImageFolderOrTemplate, isImageList, isPng } from "./images";
import type { FrameInfo, FrameSink, Output, StreamInfo } from "./types";

export const IMAGE_FORMATS: ReadonlySet<string> = new Set(["png", "jpeg"]);

function ascii(b: Uint8Array, o: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + i]!);
  return s;
}

/** Magics a stream shorter than them may be cut from (then it is that format's partial frame, exit 3). */
const PREFIXES: [string, string][] = [
  ["SHMF", "native"],
  ["YUV4MPEG2", "y4m"],
];

/** The format of bytes at b[o .. o+n) (n <= 16), or null. */
export function sniffBytes(b: Uint8Array, o: number, n: number): string | null {
  const s = ascii(b, o, Math.min(n, 9));
  // A stream that ends inside a magic is that format's truncated stream.
  if (n < 9) for (const [magic, f] of PREFIXES) if (s.length < magic.length && magic.startsWith(s)) return f;
  if (s.startsWith("SHMF")) return "native";
  if (s === "YUV4MPEG2") return "y4m";
  if (n >= 3 && b[o] === 0x50 && b[o + 1]! >= 0x35 && b[o + 1]! <= 0x37 && /\s/.test(String.fromCharCode(b[o + 2]!))) return "pnm";
  const head = b.subarray(o, o + n);
  if (isPng(head)) return "png";
  if (isJpeg(head)) return "jpeg";
  return null;
}

/** What the first bytes look like, for messages: hex and printable text. */
export function showHead(b: Uint8Array, o: number, n: number): string {
  const k = Math.min(n, 12);
  const hex = Array.from(b.subarray(o, o + k), (x) => x.toString(16).padStart(2, "0")).join(" ");
  const text = Array.from(b.subarray(o, o + k), (x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : ".")).join("");
  return `${hex} "${text}"`;
}

/**
 * Sniffs a stream's format from its first bytes (buffered in `input`, not
 * consumed). An empty input is "native" (zero frames).
 */
export function sniffInput(input: Input, label: string): string {
  const n = input.want(16);
  if (n === 0) return "native";
  const f = sniffBytes(input.bytes, input.offset, n);
  if (f) return f;
  throw new InvalidInput(
    `cannot tell the format of ${label} from its first bytes (${showHead(input.bytes, input.offset, n)}): not "SHMF" (native), "YUV4MPEG2" (y4m), P5/P6/P7 (pnm), PNG or JPEG. ` +
      `rawvideo has no header to sniff: pass --in-format rawvideo --size WxH --pix-fmt gray|rgb24|rgba|yuv420p`,
  );
}

/** What to tell a user whose native stream starts with another format's magic (decodeHeader's hint). */
export function otherFormatHint(b: Uint8Array, o: number, n: number): string {
  const f = sniffBytes(b, o, n);
  return f && f !== "native" ? `; it starts like a ${f} stream: use --in-format ${f} (or auto, the default)` : "";
}

const EXTENSIONS: [RegExp, string][] = [
  [/\.y4m$/i, "y4m"],
  [/\.(ppm|pgm|pam|pnm)$/i, "pnm"],
  [/\.png$/i, "png"],
  [/\.jpe?g$/i, "jpeg"],
  [/\.(rgb|yuv|raw|gray)$/i, "rawvideo"],
  [/\.shm$/i, "native"],
];

/** --out-format when given, else what the --output extension or template says; null: the input's (known at frame 0). */
export function outFormatFromArgs(outFormat: string | undefined, output: string | undefined): string | null {
  if (outFormat && outFormat !== "auto") return outFormat;
  if (!output || output === "-") return null;
  for (const [re, f] of EXTENSIONS) if (re.test(output)) return f;
  return null;
}

/**
 * The default output format for an input: the same format (y4m in, y4m out;
 * a folder of JPEGs gives JPEGs), PNG files when --output is a folder and the
 * input was a stream, native when nothing is known.
 */
export function outFormatForInput(stream: StreamInfo | null, outputIsFolder: boolean): string {
  const f = stream?.format;
  if (f === "png" || f === "jpeg") return f;
  if (outputIsFolder) return "png";
  return f === "pnm" || f === "y4m" || f === "rawvideo" || f === "native" ? f : "native";
}

/** A sink made when the first frame arrives (its format depends on the stream info). */
export class DeferredSink implements FrameSink {
  /** The most any sink queues per frame (y4m: header, FRAME, planes). */
  readonly iovs = 3;
  private sink: FrameSink | null = null;

  constructor(private readonly make: () => FrameSink) {}

  get name(): string {
    return this.sink?.name ?? "auto";
  }
  add(out: Output, info: FrameInfo, addr: number, view: Uint8Array): number {
    this.sink ??= this.make();
    return this.sink.add(out, info, addr, view);
  }
  flushed(): void {
    this.sink?.flushed();
  }
  close(): void {
    this.sink?.close();
  }
}

/**
 * Whether `run`'s producer and consumer only move bytes (native or rawvideo
 * frames: no pixel conversion, so no use for JSC's FTL tier, see
 * supervisor.ts), from what is known before any stage starts: --in-format,
 * --size/--pix-fmt, an image folder or list, the first bytes of an --input
 * file; --out-format, the --output extension or folder, else the input's.
 * A format not known yet (stdin with auto) counts as moving bytes.
 */
export function byteMovers(a: { input?: string; inFormat?: string; size?: string; pixFmt?: string; output?: string; outFormat?: string }): { producer: boolean; consumer: boolean } {
  const moves = (f: string | null) => f === null || f === "native" || f === "rawvideo";
  let inFormat: string | null = a.inFormat && a.inFormat !== "auto" ? a.inFormat : null;
  if (!inFormat && (a.size || a.pixFmt)) inFormat = "rawvideo";
  if (!inFormat && isImageList(a.input)) inFormat = "png";
  if (!inFormat && a.input && a.input !== "-") inFormat = sniffFile(a.input);
  const outFormat = outFormatFromArgs(a.outFormat, a.output) ?? (isImageFolderOrTemplate(a.output) ? "png" : inFormat);
  return { producer: moves(inFormat), consumer: moves(outFormat) };
}

/** The format of a regular file's first bytes, or null (not a regular file, unreadable, unknown). */
function sniffFile(path: string): string | null {
  let fd = -1;
  try {
    if (!statSync(path).isFile()) return null;
    fd = openSync(path, "r");
    const b = new Uint8Array(16);
    const n = readSync(fd, b, 0, 16, 0);
    return sniffBytes(b, 0, n);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
