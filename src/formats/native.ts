/**
 * The native stream format: per frame a 32-byte little-endian header, then
 * the payload (exactly width * height * bytes-per-pixel, or the yuv420p size).
 *
 *   off size field
 *    0   4   magic    "SHMF" (0x464D4853)
 *    4   2   version  1
 *    6   2   header   32 (header bytes)
 *    8   4   width    1..16384
 *   12   4   height   1..16384
 *   16   4   format   1 gray8, 2 rgb24, 3 rgba32, 4 yuv420p
 *   20   4   length   payload bytes, must equal payloadBytes(width, height, format)
 *   24   8   seq      frame sequence number (u64, < 2^53)
 */
import { ptr } from "bun:ffi";
import { MAX_DIMENSION, formatName, isFormat, payloadBytes, type Format } from "../frame/format";
import { InvalidInput, PartialFrame } from "../errors";
import { type FrameInfo, type FrameSink, type FrameSource, type Input, type Output, type SourcePosition, resumeStream, streamPosition } from "./types";
import { MAX_IOV } from "../io/output";
import { otherFormatHint } from "./choose";

export const NATIVE_MAGIC = 0x464d4853;
export const NATIVE_VERSION = 1;
export const NATIVE_HEADER = 32;

type Fields = { w: number; h: number; fmt: number; seq: number; len: number };

/** Encodes a header at byte `off` of the DataView (no allocation: hot path). */
export function encodeHeaderAt(v: DataView, off: number, f: Fields): void {
  v.setUint32(off, NATIVE_MAGIC, true);
  v.setUint16(off + 4, NATIVE_VERSION, true);
  v.setUint16(off + 6, NATIVE_HEADER, true);
  v.setUint32(off + 8, f.w, true);
  v.setUint32(off + 12, f.h, true);
  v.setUint32(off + 16, f.fmt, true);
  v.setUint32(off + 20, f.len, true);
  v.setUint32(off + 24, f.seq % 0x100000000, true); // u64 as two halves: no BigInt per frame
  v.setUint32(off + 28, Math.floor(f.seq / 0x100000000), true);
}

/** Encodes a header into dst at off. */
export function encodeHeader(dst: Uint8Array, off: number, f: Fields): void {
  encodeHeaderAt(new DataView(dst.buffer, dst.byteOffset, dst.byteLength), off, f);
}

/**
 * Decodes and validates a header; `index` is the frame's position in the
 * stream (used in messages when the seq field itself is not trustworthy).
 */
export function decodeHeader(src: Uint8Array, off: number, index: number, into: FrameInfo): FrameInfo {
  return decodeHeaderAt(new DataView(src.buffer, src.byteOffset + off, NATIVE_HEADER), 0, index, into);
}

/** decodeHeader on a DataView at byte `base` (no allocation on the valid path). */
export function decodeHeaderAt(dv: DataView, base: number, index: number, into: FrameInfo): FrameInfo {
  const magic = dv.getUint32(base + 0, true);
  if (magic !== NATIVE_MAGIC) {
    const hint = otherFormatHint(new Uint8Array(dv.buffer, dv.byteOffset + base, 16), 0, 16);
    throw new InvalidInput(
      `native frame #${index}: field magic is 0x${magic.toString(16).padStart(8, "0")}, expected 0x${NATIVE_MAGIC.toString(16)} ("SHMF"); the input is not a shmimg native stream (use --in-format) or is out of sync${hint}`,
    );
  }
  const version = dv.getUint16(base + 4, true);
  if (version !== NATIVE_VERSION) throw new InvalidInput(`native frame #${index}: field version is ${version}, expected ${NATIVE_VERSION}`);
  const hdr = dv.getUint16(base + 6, true);
  if (hdr !== NATIVE_HEADER) throw new InvalidInput(`native frame #${index}: field header is ${hdr}, expected ${NATIVE_HEADER}`);
  const seqHi = dv.getUint32(base + 28, true);
  const seq = seqHi * 0x100000000 + dv.getUint32(base + 24, true);
  if (seqHi >= 0x200000) throw new InvalidInput(`native frame #${index}: field seq ${dv.getBigUint64(base + 24, true)} exceeds 2^53-1`);
  const w = dv.getUint32(base + 8, true);
  const h = dv.getUint32(base + 12, true);
  if (w < 1 || w > MAX_DIMENSION) throw new InvalidInput(`native frame seq ${seq} (#${index}): field width is ${w}, allowed 1..${MAX_DIMENSION}`);
  if (h < 1 || h > MAX_DIMENSION) throw new InvalidInput(`native frame seq ${seq} (#${index}): field height is ${h}, allowed 1..${MAX_DIMENSION}`);
  const fmt = dv.getUint32(base + 16, true);
  if (!isFormat(fmt)) throw new InvalidInput(`native frame seq ${seq} (#${index}): field format is ${fmt}, expected 1 gray8, 2 rgb24, 3 rgba32 or 4 yuv420p`);
  const len = dv.getUint32(base + 20, true);
  const want = payloadBytes(w, h, fmt);
  if (len !== want) throw new InvalidInput(`native frame seq ${seq} (#${index}): field length is ${len}, but ${w}x${h} ${formatName(fmt)} needs ${want} bytes`);
  into.w = w;
  into.h = h;
  into.fmt = fmt as Format;
  into.seq = seq;
  into.len = len;
  return into;
}

export class NativeSource implements FrameSource {
  readonly name = "native";
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: 1, seq: 0, len: 0 };
  private index = 0;

  private readonly view: DataView;

  constructor(private readonly input: Input) {
    const b = input.bytes;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  next(): FrameInfo | null {
    const got = this.input.want(NATIVE_HEADER);
    if (got === 0) return null;
    if (got < NATIVE_HEADER) throw new PartialFrame(`partial frame at seq ${this.index}: expected ${NATIVE_HEADER} header bytes, got ${got} (native)`);
    decodeHeaderAt(this.view, this.input.offset, this.index, this.info);
    this.input.skip(NATIVE_HEADER);
    this.index++;
    return this.info;
  }

  readPayload(addr: number): void {
    const got = this.input.readInto(addr, this.info.len);
    if (got < this.info.len) throw new PartialFrame(`partial frame at seq ${this.info.seq}: expected ${this.info.len} bytes, got ${got} (native payload)`);
  }

  skipPayload(): void {
    const got = this.input.discard(this.info.len);
    if (got < this.info.len) throw new PartialFrame(`partial frame at seq ${this.info.seq}: expected ${this.info.len} bytes, got ${got} (native payload)`);
  }
  position(into: SourcePosition): SourcePosition {
    return streamPosition(into, this.input, this.index);
  }

  resume(at: SourcePosition): void {
    this.index = resumeStream(this.input, at);
  }

}

export class NativeSink implements FrameSink {
  readonly name = "native";
  readonly iovs = 2;
  private readonly headers = new Uint8Array(NATIVE_HEADER * MAX_IOV);
  private readonly headersAddr = ptr(this.headers);
  private readonly headersView = new DataView(this.headers.buffer);
  private used = 0;

  add(out: Output, info: FrameInfo, addr: number): number {
    const off = this.used * NATIVE_HEADER;
    this.used++;
    encodeHeaderAt(this.headersView, off, info);
    out.add(this.headersAddr + off, NATIVE_HEADER);
    out.add(addr, info.len);
    return NATIVE_HEADER + info.len;
  }

  flushed(): void {
    this.used = 0;
  }

  close(): void {}
}
