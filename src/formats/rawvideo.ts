/**
 * rawvideo: headerless frames back to back, like `ffmpeg -f rawvideo`. The
 * geometry comes from the command line (--size WxH --pix-fmt F), so every
 * frame has the same byte count:
 *   gray (gray8)    w*h
 *   rgb24           w*h*3
 *   rgba (rgba32)   w*h*4
 *   yuv420p         w*h + 2*ceil(w/2)*ceil(h/2)   (Y, then U, then V planes)
 * Bytes are the ring format as they are: read straight into the slot, written
 * straight from it. seq = frame index. The input must be a whole number of
 * frames: a short last frame is a PartialFrame saying how many bytes were
 * expected and how many came (instead of a silent desync / dropped tail).
 * Output: the payload bytes only, any ring format as is.
 */
import { InvalidInput, PartialFrame } from "../errors";
import { Format, payloadBytes } from "../frame/format";
import { type FrameInfo, type FrameSink, type FrameSource, type Input, type Output, type SourceOptions, type SourcePosition, resumeStream, streamPosition } from "./types";

/** ffmpeg pix_fmt names (and our ring names) -> ring format. */
export const RAW_PIX_FMTS: Record<string, Format> = {
  gray: Format.gray8,
  gray8: Format.gray8,
  rgb24: Format.rgb24,
  rgba: Format.rgba32,
  rgba32: Format.rgba32,
  yuv420p: Format.yuv420p,
};

export class RawvideoSource implements FrameSource {
  readonly name = "rawvideo";
  private readonly info: FrameInfo;
  private readonly input: Input;
  private readonly pixFmt: string;
  private index = 0;

  constructor(opts: SourceOptions) {
    const hint = "pass --size WxH --pix-fmt F (F = gray, rgb24, rgba or yuv420p), e.g. --size 1920x1080 --pix-fmt yuv420p";
    if (!opts.size) throw new InvalidInput(`rawvideo input: field size is missing: rawvideo has no header; ${hint}`);
    if (!opts.pixFmt) throw new InvalidInput(`rawvideo input: field pix-fmt is missing: rawvideo has no header; ${hint}`);
    const fmt = RAW_PIX_FMTS[opts.pixFmt];
    if (fmt === undefined) throw new InvalidInput(`rawvideo input: field pix-fmt "${opts.pixFmt}" is not supported; ${hint}`);
    this.input = opts.input;
    this.pixFmt = opts.pixFmt;
    const { w, h } = opts.size;
    this.info = { w, h, fmt, seq: 0, len: payloadBytes(w, h, fmt) };
  }

  next(): FrameInfo | null {
    if (this.input.atEof()) return null;
    this.info.seq = this.index++;
    return this.info;
  }

  private short(got: number): never {
    const { w, h, len, seq } = this.info;
    throw new PartialFrame(
      `partial frame at seq ${seq}: expected ${len} bytes, got ${got} (rawvideo payload: --size ${w}x${h} --pix-fmt ${this.pixFmt} is ${len} bytes per frame; ` +
        `the input ended mid-frame, or --size/--pix-fmt do not match it)`,
    );
  }

  readPayload(addr: number): void {
    const got = this.input.readInto(addr, this.info.len);
    if (got < this.info.len) this.short(got);
  }

  skipPayload(): void {
    const got = this.input.discard(this.info.len);
    if (got < this.info.len) this.short(got);
  }
  position(into: SourcePosition): SourcePosition {
    return streamPosition(into, this.input, this.index);
  }

  resume(at: SourcePosition): void {
    this.index = resumeStream(this.input, at);
  }

}

export class RawvideoSink implements FrameSink {
  readonly name = "rawvideo";
  readonly iovs = 1;

  add(out: Output, info: FrameInfo, addr: number): number {
    out.add(addr, info.len);
    return info.len;
  }

  flushed(): void {}
  close(): void {}
}
