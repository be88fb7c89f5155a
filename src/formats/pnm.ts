/**
 * pnm: a stream of concatenated binary Netpbm images (what `ffmpeg -f
 * image2pipe -c:v ppm`, `pnmcat`-style tools and `cat a.ppm b.ppm` produce).
 *
 *   P5 (PGM) / P6 (PPM):  "P5"|"P6" ws width ws height ws maxval <one ws byte> payload
 *       ws = any run of space, \t, \n, \v, \f, \r and `#` comments (to end of line);
 *       payload = width*height (P5, gray8) or width*height*3 (P6, rgb24) bytes, row-major.
 *   P7 (PAM):  "P7\n" then lines "WIDTH n", "HEIGHT n", "DEPTH n", "MAXVAL n",
 *       "TUPLTYPE t", `#` comments, ending with "ENDHDR\n"; then the payload:
 *       DEPTH 1 GRAYSCALE -> gray8, DEPTH 3 RGB -> rgb24, DEPTH 4 RGB_ALPHA -> rgba32.
 *
 * Only maxval 255 (8 bits per sample) is accepted: the payload then already is
 * the ring format and is read straight into the slot. Whitespace between two
 * images is skipped. An image's seq is its index in the stream.
 *
 * Output: gray8 -> P5, rgb24 -> P6, rgba32 -> P7 RGB_ALPHA, each "P5\nW H\n255\n"
 * style; yuv420p -> P6 after a BT.601 limited-range conversion (see convert.ts)
 * into per-frame scratch memory.
 */
import { ptr } from "bun:ffi";
import { InvalidInput, PartialFrame } from "../errors";
import { Format, MAX_DIMENSION, formatName, payloadBytes } from "../frame/format";
import { MAX_IOV } from "../io/output";
import { ScratchPool, yuv420pToRgb24 } from "./convert";
import { type FrameInfo, type FrameSink, type FrameSource, type Input, type Output, type SourcePosition, resumeStream, streamPosition } from "./types";

const ch = (s: string) => s.charCodeAt(0);
const HASH = ch("#");
const LF = 10;
const CR = 13;

/** PNM whitespace: space, \t, \n, \v, \f, \r. */
function isWs(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A byte for messages: `"x"`, `0x01` or `end of input`. */
export function showByte(c: number): string {
  if (c < 0) return "end of input";
  if (c >= 32 && c < 127) return JSON.stringify(String.fromCharCode(c));
  return `byte 0x${c.toString(16).padStart(2, "0")}`;
}

/** Writes the decimal digits of n (>= 0) at dst[off..]; returns the new offset. No allocation. */
export function writeDec(dst: Uint8Array, off: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    dst[off + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return off + digits;
}

/** Writes an ASCII string at dst[off..]; returns the new offset. */
export function writeAscii(dst: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) dst[off + i] = s.charCodeAt(i);
  return off + s.length;
}

const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const KW = {
  WIDTH: bytesOf("WIDTH"),
  HEIGHT: bytesOf("HEIGHT"),
  DEPTH: bytesOf("DEPTH"),
  MAXVAL: bytesOf("MAXVAL"),
  TUPLTYPE: bytesOf("TUPLTYPE"),
  ENDHDR: bytesOf("ENDHDR"),
  GRAYSCALE: bytesOf("GRAYSCALE"),
  RGB: bytesOf("RGB"),
  RGB_ALPHA: bytesOf("RGB_ALPHA"),
};
const TOKEN_MAX = 32;

export class PnmSource implements FrameSource {
  readonly name = "pnm";
  private readonly info: FrameInfo = { w: 0, h: 0, fmt: Format.gray8, seq: 0, len: 0 };
  private index = 0;
  /** Header bytes read for the current image (for truncation messages). */
  private got = 0;
  /** P7 keyword / value token (preallocated). */
  private readonly tok = new Uint8Array(TOKEN_MAX);
  private tokLen = 0;

  constructor(private readonly input: Input) {}

  private where(): string {
    return `pnm frame #${this.index}`;
  }

  private bad(field: string, what: string): never {
    throw new InvalidInput(`${this.where()}: field ${field}: ${what}`);
  }

  /** Next header byte; a truncated header is a PartialFrame naming the field. */
  private nb(field: string): number {
    const c = this.input.byte();
    if (c < 0) {
      throw new PartialFrame(
        `partial frame at seq ${this.index}: the input ended inside the pnm header after ${this.got} bytes (reading field ${field}); the stream is truncated`,
      );
    }
    this.got++;
    return c;
  }

  /** From byte c on, skips whitespace and `#` comments; returns the first other byte. */
  private skipWs(c: number, field: string): number {
    for (;;) {
      if (isWs(c)) c = this.nb(field);
      else if (c === HASH) {
        while (c !== LF && c !== CR) c = this.nb(field);
      } else return c;
    }
  }

  /** Parses a decimal number starting at digit c; leaves the byte after it in this.term. */
  private term = 0;
  private number(c: number, field: string, max: number): number {
    if (!isDigit(c)) this.bad(field, `expected a decimal number, found ${showByte(c)}`);
    let v = 0;
    while (isDigit(c)) {
      v = v * 10 + (c - 48);
      if (v > max) this.bad(field, `value is larger than ${max}`);
      c = this.nb(field);
    }
    this.term = c;
    return v;
  }

  private checkDims(w: number, h: number): void {
    if (w < 1 || w > MAX_DIMENSION) this.bad("width", `${w} is outside 1..${MAX_DIMENSION}`);
    if (h < 1 || h > MAX_DIMENSION) this.bad("height", `${h} is outside 1..${MAX_DIMENSION}`);
  }

  private checkMaxval(m: number): void {
    if (m !== 255) this.bad("maxval", `maxval ${m} is not supported (only 255, 8 bits per sample); convert with pnmdepth 255 (or ffmpeg -pix_fmt rgb24/gray)`);
  }

  next(): FrameInfo | null {
    const input = this.input;
    let c = input.byte();
    while (isWs(c)) c = input.byte();
    if (c < 0) return null;
    this.got = 1;
    const m = this.nb("magic");
    if (c !== ch("P") || (m !== ch("5") && m !== ch("6") && m !== ch("7"))) {
      this.bad("magic", `found ${showByte(c)} ${showByte(m)}, expected "P5" (PGM), "P6" (PPM) or "P7" (PAM); the input is not a binary pnm stream (plain P2/P3 is not supported) or is out of sync`);
    }
    if (m === ch("7")) this.pam();
    else {
      const w = this.number(this.skipWs(this.nb("width"), "width"), "width", 1e6);
      if (!isWs(this.term) && this.term !== HASH) this.bad("width", `found ${showByte(this.term)} after the width`);
      const h = this.number(this.skipWs(this.term, "height"), "height", 1e6);
      if (!isWs(this.term) && this.term !== HASH) this.bad("height", `found ${showByte(this.term)} after the height`);
      const maxval = this.number(this.skipWs(this.term, "maxval"), "maxval", 1e6);
      // The byte after maxval (already read into term) must be exactly one whitespace byte.
      if (!isWs(this.term)) this.bad("maxval", `expected one whitespace byte after maxval, found ${showByte(this.term)}`);
      this.checkMaxval(maxval);
      this.checkDims(w, h);
      this.info.w = w;
      this.info.h = h;
      this.info.fmt = m === ch("5") ? Format.gray8 : Format.rgb24;
    }
    this.info.seq = this.index;
    this.info.len = payloadBytes(this.info.w, this.info.h, this.info.fmt);
    this.index++;
    return this.info;
  }

  /** Reads a token (non-whitespace run) starting at byte c into this.tok; returns the byte after it. */
  private token(c: number, field: string): number {
    this.tokLen = 0;
    while (c >= 0 && !isWs(c)) {
      if (this.tokLen === TOKEN_MAX) this.bad(field, `token longer than ${TOKEN_MAX} bytes`);
      this.tok[this.tokLen++] = c;
      c = this.nb(field);
    }
    return c;
  }

  private tokIs(k: Uint8Array): boolean {
    if (this.tokLen !== k.length) return false;
    for (let i = 0; i < k.length; i++) if (this.tok[i] !== k[i]) return false;
    return true;
  }

  private tokText(): string {
    return JSON.stringify(String.fromCharCode(...this.tok.subarray(0, this.tokLen)));
  }

  /** P7 header: keyword lines up to ENDHDR. */
  private pam(): void {
    let w = -1, h = -1, depth = -1, maxval = -1;
    let tupl = 0; // 0 none, 1 GRAYSCALE, 3 RGB, 4 RGB_ALPHA
    let c = this.nb("header");
    if (!isWs(c)) this.bad("magic", `expected a newline after "P7", found ${showByte(c)}`);
    for (;;) {
      c = this.skipWs(this.nb("header"), "header");
      c = this.token(c, "header");
      if (this.tokIs(KW.ENDHDR)) {
        // The header ends with the newline after ENDHDR (trailing blanks allowed).
        while (c !== LF) {
          if (!isWs(c)) this.bad("ENDHDR", `unexpected ${showByte(c)} after ENDHDR`);
          c = this.nb("ENDHDR");
        }
        break;
      }
      if (this.tokIs(KW.TUPLTYPE)) {
        while (c === 32 || c === 9) c = this.nb("TUPLTYPE");
        c = this.token(c, "TUPLTYPE");
        tupl = this.tokIs(KW.GRAYSCALE) ? 1 : this.tokIs(KW.RGB) ? 3 : this.tokIs(KW.RGB_ALPHA) ? 4 : -1;
        if (tupl < 0) this.bad("TUPLTYPE", `${this.tokText()} is not supported (GRAYSCALE, RGB or RGB_ALPHA); convert with pamtopnm or ffmpeg`);
        while (c !== LF && c !== CR) c = this.nb("TUPLTYPE");
        continue;
      }
      const field = this.tokIs(KW.WIDTH) ? "WIDTH" : this.tokIs(KW.HEIGHT) ? "HEIGHT" : this.tokIs(KW.DEPTH) ? "DEPTH" : this.tokIs(KW.MAXVAL) ? "MAXVAL" : "";
      if (field === "") this.bad("header", `unknown PAM header keyword ${this.tokText()} (expected WIDTH, HEIGHT, DEPTH, MAXVAL, TUPLTYPE or ENDHDR)`);
      while (c === 32 || c === 9) c = this.nb(field);
      const v = this.number(c, field, 1e6);
      if (!isWs(this.term)) this.bad(field, `found ${showByte(this.term)} after the number`);
      if (field === "WIDTH") w = v;
      else if (field === "HEIGHT") h = v;
      else if (field === "DEPTH") depth = v;
      else maxval = v;
    }
    if (w < 0) this.bad("WIDTH", "missing from the PAM header");
    if (h < 0) this.bad("HEIGHT", "missing from the PAM header");
    if (depth < 0) this.bad("DEPTH", "missing from the PAM header");
    if (maxval < 0) this.bad("MAXVAL", "missing from the PAM header");
    this.checkMaxval(maxval);
    this.checkDims(w, h);
    if (depth !== 1 && depth !== 3 && depth !== 4) this.bad("DEPTH", `DEPTH ${depth} is not supported (1 GRAYSCALE, 3 RGB, 4 RGB_ALPHA)`);
    if (tupl !== 0 && tupl !== depth) this.bad("TUPLTYPE", `TUPLTYPE does not match DEPTH ${depth}`);
    this.info.w = w;
    this.info.h = h;
    this.info.fmt = depth === 1 ? Format.gray8 : depth === 3 ? Format.rgb24 : Format.rgba32;
  }

  private short(got: number): never {
    throw new PartialFrame(`partial frame at seq ${this.info.seq}: expected ${this.info.len} bytes, got ${got} (pnm payload of ${this.info.w}x${this.info.h} ${formatName(this.info.fmt)})`);
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

/**
 * Writes the header of one image at b[o..]; returns the new offset: gray8 P5,
 * rgb24 and yuv420p (converted by the caller) P6, rgba32 P7 RGB_ALPHA.
 * At most HDR_STRIDE bytes.
 */
export function writePnmHeader(b: Uint8Array, o: number, w: number, h: number, fmt: Format): number {
  if (fmt === Format.rgba32) {
    o = writeAscii(b, o, "P7\nWIDTH ");
    o = writeDec(b, o, w);
    o = writeAscii(b, o, "\nHEIGHT ");
    o = writeDec(b, o, h);
    return writeAscii(b, o, "\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n");
  }
  o = writeAscii(b, o, fmt === Format.gray8 ? "P5\n" : "P6\n");
  o = writeDec(b, o, w);
  b[o++] = 32;
  o = writeDec(b, o, h);
  return writeAscii(b, o, "\n255\n");
}

/** Bytes reserved per header: "P7\nWIDTH 16384\nHEIGHT 16384\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n" is 71. */
export const HDR_STRIDE = 96;

export class PnmSink implements FrameSink {
  readonly name = "pnm";
  readonly iovs = 2;
  private readonly headers = new Uint8Array(HDR_STRIDE * MAX_IOV);
  private readonly headersAddr = ptr(this.headers);
  private used = 0;
  private readonly scratch = new ScratchPool();

  add(out: Output, info: FrameInfo, addr: number, view: Uint8Array): number {
    const base = (this.used++ % MAX_IOV) * HDR_STRIDE;
    const b = this.headers;
    let o = base;
    let payAddr = addr;
    let payLen = info.len;
    o = writePnmHeader(b, o, info.w, info.h, info.fmt);
    if (info.fmt === Format.yuv420p) {
      // No pnm type holds YUV: convert to rgb24 (BT.601 limited range) into scratch kept until flushed().
      payLen = info.w * info.h * 3;
      this.scratch.take(payLen);
      yuv420pToRgb24(view, info.w, info.h, this.scratch.view);
      payAddr = this.scratch.addr;
    }
    out.add(this.headersAddr + base, o - base);
    out.add(payAddr, payLen);
    return o - base + payLen;
  }

  flushed(): void {
    this.used = 0;
    this.scratch.reset();
  }

  close(): void {}
}
