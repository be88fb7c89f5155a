/**
 * Native frames over pipes for the bench's plain-pipe baseline, written to
 * be as fast as a pipe stage can be: big synchronous read(2)s into one
 * reused buffer (a large frame is read exactly up to its end, so it is never
 * moved), frames parsed in place; results gathered in one reused output
 * buffer and written in one write(2) per batch. Payload views are cached per
 * buffer offset, so ops see the same view objects frame after frame (as the
 * shm workers do with their slot views).
 */
import { ptr } from "bun:ffi";
import { readSome } from "../io/input";
import { writeAll } from "../io/output";
import { type Format } from "../frame/format";
import { decodeHeaderAt, encodeHeaderAt, NATIVE_HEADER } from "../formats/native";
import type { FrameInfo } from "../formats/types";

/** Reads of a frame remainder at least this big go exactly to the frame's end. */
const BIG = 256 * 1024;
const MIN_IN = 4 << 20;
const MIN_OUT = 1 << 20;
const VIEW_CACHE_MAX = 8192;
/** Compact rather than read less than this into the buffer's tail. */
const MIN_READ = 64 * 1024;

/** Cached payload views over one buffer, keyed by offset. */
class Views {
  private map = new Map<number, Uint8Array>();
  constructor(private buf: Uint8Array) {}
  reset(buf: Uint8Array): void {
    this.buf = buf;
    this.map.clear();
  }
  at(off: number, len: number): Uint8Array {
    let v = this.map.get(off);
    if (v === undefined || v.length !== len) {
      if (this.map.size >= VIEW_CACHE_MAX) this.map.clear();
      v = this.buf.subarray(off, off + len);
      this.map.set(off, v);
    }
    return v;
  }
}

/** Native frames from an fd, parsed in place in one reused buffer. */
export class FrameReader {
  buf = new Uint8Array(MIN_IN);
  private dv = new DataView(this.buf.buffer);
  private addr = ptr(this.buf);
  readonly views = new Views(this.buf);
  pos = 0;
  end = 0;
  private eof = false;
  index = 0;
  readonly info: FrameInfo = { w: 0, h: 0, fmt: 1, seq: 0, len: 0 };
  /** Bytes still missing for the frame at pos (after next() returned -1). */
  private need = NATIVE_HEADER;
  reads = 0;

  constructor(readonly fd: number) {}

  /**
   * Offset of the next complete frame's payload (info filled, pos advanced
   * past it), or -1 when the buffer does not hold the whole frame yet.
   */
  next(): number {
    const have = this.end - this.pos;
    if (have < NATIVE_HEADER) {
      this.need = NATIVE_HEADER - have;
      return -1;
    }
    const len = this.header(this.pos);
    if (have < NATIVE_HEADER + len) {
      this.need = NATIVE_HEADER + len - have;
      return -1;
    }
    const off = this.pos + NATIVE_HEADER;
    this.pos = off + len;
    this.index++;
    return off;
  }

  /** Bytes of a partial frame left at EOF. */
  get pending(): number {
    return this.end - this.pos;
  }

  private header(at: number): number {
    return decodeHeaderAt(this.dv, at, this.index, this.info).len;
  }

  /** One read(2) towards the frame at pos; false at EOF. */
  fill(): boolean {
    if (this.eof) return false;
    const need = this.need;
    if (this.pos === this.end) {
      this.pos = this.end = 0;
    }
    const frameEnd = this.end + need; // where the frame at pos ends
    if (frameEnd > this.buf.length || (need < BIG && this.pos > 0 && this.buf.length - this.end < MIN_READ)) {
      // Move the partial frame to the front; grow when even that does not fit.
      const keep = this.end - this.pos;
      if (keep + need > this.buf.length) {
        const next = new Uint8Array(Math.max(2 * (keep + need), MIN_IN));
        next.set(this.buf.subarray(this.pos, this.end));
        this.buf = next;
        this.dv = new DataView(next.buffer);
        this.addr = ptr(next);
        this.views.reset(next);
      } else this.buf.copyWithin(0, this.pos, this.end);
      this.pos = 0;
      this.end = keep;
    }
    const room = this.buf.length - this.end;
    const want = need >= BIG ? need : room;
    const r = readSome(this.fd, this.addr + this.end, want, "pipe-work input");
    this.reads++;
    if (r === 0) {
      this.eof = true;
      return false;
    }
    this.end += r;
    return true;
  }
}

/** Native frames gathered in one reused buffer, written in big writes. */
export class FrameWriter {
  private buf = new Uint8Array(MIN_OUT);
  private dv = new DataView(this.buf.buffer);
  private addr = ptr(this.buf);
  private readonly views = new Views(this.buf);
  private readonly hdr: FrameInfo = { w: 0, h: 0, fmt: 1, seq: 0, len: 0 };
  used = 0;
  writes = 0;

  constructor(readonly fd: number) {}

  /** Room for a frame of `payload` bytes; returns the payload view to fill. */
  frame(info: { w: number; h: number; fmt: number; seq: number }, payload: number): Uint8Array {
    const n = NATIVE_HEADER + payload;
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(n);
        this.dv = new DataView(this.buf.buffer);
        this.addr = ptr(this.buf);
        this.views.reset(this.buf);
      }
    }
    const at = this.used;
    const h = this.hdr; // reused: no allocation per frame in the baseline either
    h.w = info.w;
    h.h = info.h;
    h.fmt = info.fmt as Format;
    h.seq = info.seq;
    h.len = payload;
    encodeHeaderAt(this.dv, at, h);
    this.used = at + n;
    return this.views.at(at + NATIVE_HEADER, payload);
  }

  flush(): void {
    if (this.used === 0) return;
    writeAll(this.fd, this.addr, this.used, "pipe-work output");
    this.writes++;
    this.used = 0;
  }
}
