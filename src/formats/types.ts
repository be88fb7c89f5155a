/**
 * Frame sources (input formats) and sinks (output formats). A source parses
 * headers from a buffered Input and reads payloads straight into a ring slot;
 * a sink queues each frame's bytes as iovecs on an Output (header from its own
 * memory, payload straight from the slot).
 */
import type { Format } from "../frame/format";
import type { Input } from "../io/input";
import type { Output } from "../io/output";

/** One frame's description. Sources reuse one object: copy fields you keep. */
export interface FrameInfo {
  w: number;
  h: number;
  fmt: Format;
  /** The frame's seq: from the stream where it carries one, else its index. */
  seq: number;
  /** Payload bytes in the ring format = payloadBytes(w, h, fmt). */
  len: number;
}

/** Input format codes stored in the stream info (layout.ts T.format); never renumber. */
export const IN_FORMAT_CODES: Readonly<Record<string, number>> = { native: 1, pnm: 2, y4m: 3, rawvideo: 4, png: 5, jpeg: 6 };

/**
 * What the consumer learns about the input through the segment (layout.ts
 * T, invariant I13): the format the frames came in, a y4m stream's header tags
 * (so F, A, I, C and X tags are carried through) and, for a folder or glob of
 * images, where they came from (so the output keeps their names).
 */
export interface StreamInfo {
  /** Input format name ("y4m", "png", ...). */
  format: string;
  /** y4m: the stream header's tags after "YUV4MPEG2 ", e.g. "W640 H480 F30000:1001 It A1:1 C420mpeg2". */
  y4mTags?: string;
  /** Image inputs: the absolute DIR or GLOB, the file count and a hash of the sorted base names. */
  list?: { path: string; files: number; namesHash: number };
}

export interface FrameSource {
  /** Format name for messages ("native", "pnm", ...). */
  readonly name: string;
  /** The stream info the producer publishes (valid after the first next()). */
  stream?(): StreamInfo;
  /**
   * Parses the next frame header. Returns null at a clean end of input (no
   * byte of a new frame). Throws InvalidInput (exit 2) for a malformed header
   * and PartialFrame (exit 3) when the input ends inside one; messages name
   * the format, the frame index/seq and the field.
   */
  next(): FrameInfo | null;
  /** Reads the announced frame's payload into the slot at addr (view = same memory). Throws PartialFrame when short. */
  readPayload(addr: number, view: Uint8Array): void;
  /** Skips the announced frame's payload (--when-full drop). */
  skipPayload(): void;
  /**
   * Where the next frame starts: a byte offset in the input (one file per
   * frame: the file's index), and the frames read so far. A producer records
   * both with every frame it commits (I7 in layout.ts).
   */
  position(into: SourcePosition): SourcePosition;
  /** Continues at a recorded position (a resumed producer); the input must be seekable. */
  resume(at: SourcePosition): void;
}

export interface SourcePosition {
  /** Byte offset in the input, or file index for one-file-per-frame formats. */
  pos: number;
  /** Frames read before it (the seq of an index-numbered format's next frame). */
  index: number;
}

export interface FrameSink {
  readonly name: string;
  /**
   * Queues one frame on `out` (or writes it elsewhere, e.g. a PNG file) and
   * returns the number of bytes it queued. Header memory must stay valid
   * until out.flush(); `iovs` tells how many iovecs it may need at most.
   */
  add(out: Output, info: FrameInfo, addr: number, view: Uint8Array): number;
  /** Maximum iovecs add() uses for one frame. */
  readonly iovs: number;
  /** Called after out.flush() wrote the queued frames (sinks may reuse header memory). */
  flushed(): void;
  /** Called once at the end (e.g. to close files). */
  close(): void;
}

export interface SourceOptions {
  input: Input;
  /** For headerless formats: geometry from the command line. */
  size?: { w: number; h: number };
  pixFmt?: string;
  /** For file-based formats (png): the --input argument. */
  path?: string;
  /** y4m: accept C444 by converting it to rgb24 (--convert-444). */
  convert444?: boolean;
  /** --depth 8: scale 16-bit PNG samples to 8 bits (else such files are refused). */
  depth?: number;
}

export interface SinkOptions {
  /** Resuming into an existing output at this byte offset (consume restart). */
  resumeOffset: number;
  /** What the producer said about the input (y4m tags, source file names), when known. */
  stream?: StreamInfo | null;
  /** Image folders without --out-format: each kept name keeps its own kind (PNG or JPEG). */
  keepKinds?: boolean;
  /** Image outputs: JPEG quality 1..100. */
  quality?: number;
  /** For file-based formats (png): the --output directory. */
  path?: string;
  /** Frames already delivered (file-based sinks number files from here). */
  delivered: number;
}

export type { Input, Output };

/** position() of a source that reads one byte stream: bytes consumed, frames read. */
export function streamPosition(into: SourcePosition, input: Input, index: number): SourcePosition {
  into.pos = input.consumed;
  into.index = index;
  return into;
}

/** resume() of a source that reads one byte stream: seeks the input; returns the frame index to continue with. */
export function resumeStream(input: Input, at: SourcePosition): number {
  input.seekTo(at.pos);
  return at.index;
}
