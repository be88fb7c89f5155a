/**
 * y4m: YUV4MPEG2, as `ffmpeg -f yuv4mpegpipe` writes and reads it.
 *
 *   stream header: "YUV4MPEG2" then space-separated tags, then "\n":
 *       W<width> H<height> F<num>:<den> I<p|t|b|m|?> A<num>:<den> C<colorspace> X<anything>
 *       (any order; W and H required; unknown tags ignored; X tags kept in `xtags`)
 *   per frame:     "FRAME" [" " parameters] "\n", then the planes, no padding.
 *
 * Colorspaces (C tag; none = 420jpeg):
 *   420jpeg, 420mpeg2, 420paldv, 420  -> yuv420p (Y w*h, U and V ceil(w/2)*ceil(h/2)), read straight into the slot
 *   mono                              -> gray8 (Y plane only), straight into the slot
 *   444                               -> refused (exit 2): there is no yuv444p ring format and
 *                                        444 -> rgb24 -> 444 changes ~40% of the bytes. With
 *                                        convert444 (--convert-444) the three w*h planes are read into
 *                                        a scratch buffer and converted to rgb24 (BT.601 limited, convert.ts)
 *   anything else (422, 411, 444alpha, mono16, 420p10, ...) -> InvalidInput
 * FRAME parameters are ignored (ffmpeg ignores them too). seq = frame index.
 * A header ending in CR LF (a file that went through DOS line endings) is named as such.
 *
 * Metadata: the stream header's tags travel to the consumer through the
 * segment's stream info (StreamInfo.y4mTags), so the output header carries
 * F (frame rate), A (aspect), I (interlacing) and the X tags (XCOLORRANGE, ...)
 * of the input, and the input's C tag while frames stay yuv420p (420mpeg2/
 * 420paldv siting kept). Without a y4m input: F25:1 Ip A1:1. Frames turned a
 * quarter (rotate90/270: output W x H = input H x W, W != H) get A d:n and,
 * when interlaced, Ip (fields were rows). vflip/rotate180 keep the I tag.
 *
 * Output: "YUV4MPEG2 W<w> H<h> F.. I.. A.. C<c> X..\n" once (not again when
 * resuming, resumeOffset > 0), then "FRAME\n" + planes per frame:
 *   yuv420p -> the input's 420 C tag, else C420jpeg (as is), gray8 -> Cmono (as is),
 *   rgb24 / rgba32 -> C444 XCOLORRANGE=LIMITED, converted (BT.601 limited, full chroma
 *   resolution, alpha dropped) into per-frame scratch memory kept until flushed().
 * XYSCSS is rewritten to match the C tag written. All frames must have the first
 * frame's size and format (a y4m stream has one geometry) or the sink throws.
 */
import { ptr } from "bun:ffi";
import { InvalidInput, PartialFrame } from "../errors";
import { Format, MAX_DIMENSION, formatName, payloadBytes } from "../frame/format";
import { ScratchPool, rgbToYuv444p, yuv444pToRgb24 } from "./convert";
import { showByte } from "./pnm";
import type { FrameInfo, FrameSink, FrameSource, Input, Output, SinkOptions, SourcePosition, StreamInfo } from "./types";

const MAGIC = "YUV4MPEG2";
const HEADER_MAX = 4096;
const FRAME_LF = Uint8Array.from("FRAME\n", (c) => c.charCodeAt(0));

/** Stream-header values, as parsed (public for messages and tests). */
export interface Y4mParams {
  w: number;
  h: number;
  /** The C tag's value ("420jpeg" when absent). */
  colorspace: string;
  /** F, I, A tag values as written ("" when absent). */
  rate: string;
  interlace: string;
  aspect: string;
  /** X tags, without the leading X. */
  xtags: string[];
  /** The header line after "YUV4MPEG2 ", as read. */
  text: string;
}

const WHERE = "y4m stream header (before frame #0)";

/** The stream header line without its "\n", checked for the magic; null on an empty input. */
function readHeaderLine(input: Input): string | null {
  const line: number[] = [];
  for (;;) {
    const c = input.byte();
    if (c < 0) {
      if (line.length === 0) return null;
      throw new PartialFrame(`partial frame at seq 0: the input ended inside the y4m stream header after ${line.length} bytes; the stream is truncated`);
    }
    if (c === 10) break;
    line.push(c);
    if (line.length === MAGIC.length && String.fromCharCode(...line) !== MAGIC) {
      throw new InvalidInput(`${WHERE}: field magic is ${JSON.stringify(String.fromCharCode(...line))}, expected "YUV4MPEG2"; the input is not a y4m stream (use --in-format)`);
    }
    if (line.length > HEADER_MAX) throw new InvalidInput(`${WHERE}: longer than ${HEADER_MAX} bytes without a newline; the input is not a y4m stream`);
  }
  const text = String.fromCharCode(...line);
  if (text.endsWith("\r"))
    throw new InvalidInput(
      `${WHERE}: the line ends with CR LF ("\\r\\n"); y4m lines end with LF only: the file went through a DOS line-ending conversion (or a text-mode copy), which also corrupts the frames; re-create it in binary mode`,
    );
  if (!text.startsWith(MAGIC) || (text.length > MAGIC.length && text[MAGIC.length] !== " ")) {
    throw new InvalidInput(`${WHERE}: field magic: the line ${JSON.stringify(text.slice(0, 40))} does not start with "YUV4MPEG2 "; the input is not a y4m stream`);
  }
  return text;
}

/** The tags of a header line ("YUV4MPEG2 W.. H.. ..."); W and H required and in range. */
function parseHeader(text: string): Y4mParams {
  const p: Y4mParams = { w: -1, h: -1, colorspace: "420jpeg", rate: "", interlace: "", aspect: "", xtags: [], text: text.slice(MAGIC.length + 1) };
  for (const tag of text.slice(MAGIC.length).split(" ")) {
    if (tag === "") continue;
    const v = tag.slice(1);
    switch (tag[0]) {
      case "W":
      case "H": {
        const n = /^\d{1,6}$/.test(v) ? Number(v) : NaN;
        if (!(n >= 1 && n <= MAX_DIMENSION)) throw new InvalidInput(`${WHERE}: field ${tag[0]} is ${JSON.stringify(v)}, expected an integer 1..${MAX_DIMENSION}`);
        if (tag[0] === "W") p.w = n;
        else p.h = n;
        break;
      }
      case "C":
        p.colorspace = v;
        break;
      case "F":
        p.rate = v;
        break;
      case "I":
        p.interlace = v;
        break;
      case "A":
        p.aspect = v;
        break;
      case "X":
        p.xtags.push(v);
        break;
      default:
        break; // unknown tags are ignored, as the spec asks
    }
  }
  if (p.w < 0) throw new InvalidInput(`${WHERE}: field W (width) is missing`);
  if (p.h < 0) throw new InvalidInput(`${WHERE}: field H (height) is missing`);
  return p;
}

/** The ring format a C tag's frames become (444 is converted to rgb24 when the user asks for it). */
function ringFormat(colorspace: string): Format {
  switch (colorspace) {
    case "420jpeg":
    case "420mpeg2":
    case "420paldv":
    case "420":
      return Format.yuv420p;
    case "mono":
      return Format.gray8;
    case "444":
      return Format.rgb24;
    default:
      throw new InvalidInput(`${WHERE}: field C (colorspace) "${colorspace}" is not supported (420jpeg, 420mpeg2, 420paldv, 420, mono, 444); convert with ffmpeg -pix_fmt yuv420p`);
  }
}

export class Y4mSource implements FrameSource {
  readonly name = "y4m";
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: Format.yuv420p, seq: 0, len: 0 };
  private index = 0;
  /** The stream header, once read. */
  params: Y4mParams | null = null;
  /** Bytes of one frame's planes in the stream. */
  private streamLen = 0;
  /** C444: scratch for the planes (allocated once when the header is read). */
  private scratch: Uint8Array | null = null;
  private scratchAddr = 0;

  constructor(
    private readonly input: Input,
    private readonly convert444 = false,
  ) {}

  stream(): StreamInfo {
    return { format: "y4m", y4mTags: this.params?.text };
  }

  /** Reads and applies the stream header (the first call only). Returns false on an empty input. */
  private header(): boolean {
    const text = readHeaderLine(this.input);
    if (text === null) return false;
    const p = parseHeader(text);
    const info = this.info;
    info.w = p.w;
    info.h = p.h;
    info.fmt = ringFormat(p.colorspace);
    if (p.colorspace === "444" && !this.convert444)
      throw new InvalidInput(
        `${WHERE}: field C (colorspace) is 444: there is no yuv444p ring format, and converting to rgb24 and back changes pixels; ` +
          `convert first (ffmpeg -i in.y4m -pix_fmt yuv420p -f yuv4mpegpipe -, or -f rawvideo -pix_fmt rgb24 with --in-format rawvideo), or pass --convert-444 to accept the BT.601 rgb24 conversion`,
      );
    // Planes in the stream: C444's three full planes are converted to rgb24 from a scratch buffer.
    this.streamLen = info.fmt === Format.rgb24 ? 3 * p.w * p.h : payloadBytes(p.w, p.h, info.fmt);
    if (info.fmt === Format.rgb24) {
      this.scratch = new Uint8Array(this.streamLen);
      this.scratchAddr = ptr(this.scratch);
    }
    info.len = payloadBytes(p.w, p.h, info.fmt);
    this.params = p;
    return true;
  }

  next(): FrameInfo | null {
    if (this.params === null && !this.header()) return null;
    const input = this.input;
    // Fast path: a plain "FRAME\n" line, checked in the input buffer.
    const have = input.want(6);
    if (have === 0) return null;
    const b = input.bytes;
    const o = input.offset;
    if (have === 6 && b[o] === 70 && b[o + 1] === 82 && b[o + 2] === 65 && b[o + 3] === 77 && b[o + 4] === 69 && b[o + 5] === 10) {
      input.skip(6);
    } else {
      this.frameLine();
    }
    this.info.seq = this.index++;
    return this.info;
  }

  /** Slow path: "FRAME" + optional parameters up to "\n", or an error showing the line. */
  private frameLine(): void {
    const input = this.input;
    let n = 0;
    const seen: number[] = [];
    for (;;) {
      const c = input.byte();
      if (c < 0) {
        throw new PartialFrame(`partial frame at seq ${this.index}: the input ended inside the y4m FRAME line after ${n} bytes; the stream is truncated`);
      }
      if (seen.length < 24) seen.push(c);
      const ok = n < 5 ? c === FRAME_LF[n] : n === 5 ? c === 10 || c === 32 : true;
      if (!ok) {
        for (let i = 0; i < 16 && seen.length < 24; i++) {
          const d = input.byte();
          if (d < 0 || d === 10) break;
          seen.push(d);
        }
        const shown = JSON.stringify(String.fromCharCode(...seen.map((x) => (x >= 32 && x < 127 ? x : 63))));
        if (n === 5 && c === 13)
          throw new InvalidInput(`y4m frame #${this.index}: the FRAME line ends with CR LF ("\\r\\n"); y4m lines end with LF only: the file went through a DOS line-ending conversion, which also corrupts the frames; re-create it in binary mode`);
        throw new InvalidInput(
          `y4m frame #${this.index}: bad FRAME line ${shown} (${showByte(c)} at byte ${n}; expected "FRAME" [parameters] "\\n"); ` +
            `the previous frame was not ${this.streamLen} bytes (${this.info.w}x${this.info.h} C${this.params!.colorspace}) or the stream is corrupt`,
        );
      }
      n++;
      if (c === 10) return;
      if (n > 4096) throw new InvalidInput(`y4m frame #${this.index}: FRAME line longer than 4096 bytes`);
    }
  }

  private short(got: number): never {
    throw new PartialFrame(
      `partial frame at seq ${this.info.seq}: expected ${this.streamLen} bytes, got ${got} (y4m payload of ${this.info.w}x${this.info.h} C${this.params!.colorspace})`,
    );
  }

  readPayload(addr: number, view: Uint8Array): void {
    if (this.scratch === null) {
      const got = this.input.readInto(addr, this.streamLen);
      if (got < this.streamLen) this.short(got);
      return;
    }
    const got = this.input.readInto(this.scratchAddr, this.streamLen);
    if (got < this.streamLen) this.short(got);
    yuv444pToRgb24(this.scratch, this.info.w, this.info.h, view);
  }

  skipPayload(): void {
    const got = this.input.discard(this.streamLen);
    if (got < this.streamLen) this.short(got);
  }
  position(into: SourcePosition): SourcePosition {
    into.pos = this.input.consumed;
    into.index = this.index;
    return into;
  }

  /** The stream header is read again from where the input starts, then the frames continue at at.pos. */
  resume(at: SourcePosition): void {
    if (this.params === null && !this.header()) throw new InvalidInput(`y4m input: cannot resume at frame ${at.index}: the stream header is missing`);
    this.input.seekTo(at.pos);
    this.index = at.index;
  }

}

const YSCSS: Record<string, string> = { "420jpeg": "420JPEG", "420mpeg2": "420MPEG2", "420paldv": "420PALDV", "444": "444" };

/**
 * The output stream header for frames of w x h fmt, carrying the input's
 * F, I, A and X tags (`inputTags`: a y4m input's header after "YUV4MPEG2 ")
 * and its 420 C tag while the frames are still yuv420p.
 */
export function y4mHeader(w: number, h: number, fmt: Format, inputTags?: string): string {
  let rate = "25:1";
  let interlace = "p";
  let aspect = "1:1";
  let inC = "";
  let inW = "";
  let inH = "";
  const x: string[] = [];
  for (const tag of (inputTags ?? "").split(" ")) {
    // Only ASCII tags without control bytes are carried (the text came through shared memory).
    if (tag.length < 2 || !/^[\x21-\x7e]+$/.test(tag)) continue;
    const v = tag.slice(1);
    if (tag[0] === "F") rate = v;
    else if (tag[0] === "I") interlace = v;
    else if (tag[0] === "A") aspect = v;
    else if (tag[0] === "C") inC = v;
    else if (tag[0] === "W") inW = v;
    else if (tag[0] === "H") inH = v;
    else if (tag[0] === "X" && !v.startsWith("YSCSS=")) x.push(v);
  }
  // Frames turned a quarter (W and H swapped; no other op swaps them): the pixel aspect
  // turns with them, and rows are no longer fields.
  if (inW !== inH && inW === String(h) && inH === String(w)) {
    const a = /^(\d+):(\d+)$/.exec(aspect);
    if (a) aspect = `${a[2]}:${a[1]}`;
    if (interlace !== "p" && interlace !== "?" && interlace !== "") interlace = "p";
  }
  let c: string;
  if (fmt === Format.yuv420p) c = inC.startsWith("420") ? inC : "420jpeg";
  else if (fmt === Format.gray8) c = "mono";
  else {
    c = "444";
    // Our rgb -> yuv conversion is BT.601 limited range, whatever the input said.
    for (let i = x.length - 1; i >= 0; i--) if (x[i]!.startsWith("COLORRANGE=")) x.splice(i, 1);
    x.push("COLORRANGE=LIMITED");
  }
  if (YSCSS[c]) x.unshift(`YSCSS=${YSCSS[c]}`);
  return `YUV4MPEG2 W${w} H${h} F${rate} I${interlace} A${aspect} C${c}${x.map((t) => ` X${t}`).join("")}\n`;
}

export class Y4mSink implements FrameSink {
  readonly name = "y4m";
  readonly iovs = 3;
  private readonly frameAddr = ptr(FRAME_LF);
  private header: Uint8Array | null = null;
  private headerAddr = 0;
  private headerQueued: boolean;
  private w = 0;
  private h = 0;
  private fmt = 0;
  private count = 0;
  private readonly scratch = new ScratchPool();

  constructor(private readonly opts: SinkOptions) {
    // Resuming: the stream header is already in the output.
    this.headerQueued = opts.resumeOffset > 0;
  }

  add(out: Output, info: FrameInfo, addr: number, view: Uint8Array): number {
    const index = this.opts.delivered + this.count++;
    if (this.fmt === 0) {
      this.w = info.w;
      this.h = info.h;
      this.fmt = info.fmt;
      this.header = Uint8Array.from(y4mHeader(info.w, info.h, info.fmt, this.opts.stream?.y4mTags), (ch) => ch.charCodeAt(0));
      this.headerAddr = ptr(this.header);
    } else if (info.w !== this.w || info.h !== this.h || info.fmt !== this.fmt) {
      throw new InvalidInput(
        `y4m output frame #${index} (seq ${info.seq}): field geometry ${info.w}x${info.h} ${formatName(info.fmt)} differs from the stream's ${this.w}x${this.h} ${formatName(this.fmt)}; ` +
          `a y4m stream has one frame size and format: use --out-format pnm, png or native, or make every frame the same size`,
      );
    }
    let n = 0;
    if (!this.headerQueued) {
      out.add(this.headerAddr, this.header!.length);
      n += this.header!.length;
      this.headerQueued = true;
    }
    out.add(this.frameAddr, FRAME_LF.length);
    n += FRAME_LF.length;
    if (info.fmt === Format.rgb24 || info.fmt === Format.rgba32) {
      const len = 3 * info.w * info.h;
      this.scratch.take(len);
      rgbToYuv444p(view, info.w, info.h, info.fmt === Format.rgb24 ? 3 : 4, this.scratch.view);
      out.add(this.scratch.addr, len);
      return n + len;
    }
    out.add(addr, info.len);
    return n + info.len;
  }

  flushed(): void {
    this.scratch.reset();
  }

  close(): void {}
}
