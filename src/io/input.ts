/**
 * Buffered input on a raw fd, with payload reads that go straight into a
 * shared-memory slot: bytes already buffered are copied once, the rest is
 * read() directly into the slot (no copy through a JS buffer for big frames).
 * Small frames come from the buffer, so a 4 KiB frame costs no syscall of its
 * own. A signal (EINTR) ends the read with Interrupted.
 */
import { ptr } from "bun:ffi";
import { E, errno, errnoName, libc } from "../native/libc";
import { checkSignals } from "../signals";
import { waitReadable } from "./ready";
import { ShmimgError, Exit } from "../errors";

const BUF_BYTES = 256 * 1024;
const SEEK_SET = 0;
const SEEK_CUR = 1;

/** One read(2) of up to len bytes into addr; returns bytes (0 at EOF). Retries EINTR after checking signals, waits out EAGAIN. */
export function readSome(fd: number, addr: number, len: number, label: string): number {
  for (;;) {
    const r = libc.read(fd, addr, len);
    if (r >= 0) return r;
    const err = errno();
    if (err === E.EINTR) {
      checkSignals();
      continue;
    }
    if (err === E.EAGAIN) {
      waitReadable(fd);
      continue;
    }
    throw new ShmimgError(`read(fd=${fd}, ${label}) failed: ${errnoName(err)}. Check the input file or pipe.`, Exit.INVALID);
  }
}

export class Input {
  private readonly buf = new Uint8Array(BUF_BYTES);
  private readonly bufAddr = ptr(this.buf);
  private pos = 0;
  private end = 0;
  private eof = false;
  /**
   * Position in the stream of the next unconsumed byte: the fd's offset when
   * the Input was made (a stdin redirected from the middle of a file) plus
   * what the reader consumed since. A resumed producer seeks back to it.
   */
  consumed = 0;

  constructor(
    readonly fd: number,
    readonly label = "input",
    preread?: Uint8Array,
  ) {
    if (preread && preread.length) {
      this.buf.set(preread.subarray(0, BUF_BYTES));
      this.end = Math.min(preread.length, BUF_BYTES);
    }
    if (fd >= 0) this.consumed = Math.max(0, libc.lseek(fd, 0, SEEK_CUR) - this.end);
  }

  /**
   * Continues reading at byte `pos` of the input (a resumed producer). The
   * input must be a regular file; a pipe or terminal cannot go back.
   */
  seekTo(pos: number): void {
    const r = libc.lseek(this.fd, pos, SEEK_SET);
    if (r < 0) throw new ShmimgError(`lseek(fd=${this.fd}, ${this.label}, ${pos}) failed: ${errnoName(errno())}; a producer can resume only from a regular file (--input FILE or stdin redirected from one)`, Exit.INVALID);
    this.pos = this.end = 0;
    this.eof = false;
    this.consumed = pos;
  }

  private sysread(addr: number, len: number): number {
    return readSome(this.fd, addr, len, this.label);
  }

  private fill(): boolean {
    if (this.eof) return false;
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    const r = this.sysread(this.bufAddr + this.end, BUF_BYTES - this.end);
    if (r === 0) {
      this.eof = true;
      return false;
    }
    this.end += r;
    return true;
  }

  /** Bytes available in the buffer without a syscall. */
  get buffered(): number {
    return this.end - this.pos;
  }

  /** True at end of input (nothing buffered, and read returned 0). */
  atEof(): boolean {
    return this.pos === this.end && !this.fill();
  }

  /**
   * Ensures n bytes (n <= 256 KiB) are buffered; returns how many are (less only at EOF).
   * Use view()/peek for header parsing, then skip().
   */
  want(n: number): number {
    while (this.end - this.pos < n && this.fill()) {}
    return Math.min(n, this.end - this.pos);
  }

  /** The buffer and the current offset in it (valid until the next read call). */
  get bytes(): Uint8Array {
    return this.buf;
  }
  get offset(): number {
    return this.pos;
  }

  skip(n: number): void {
    this.pos += n;
    this.consumed += n;
  }

  /** Next byte, or -1 at EOF. */
  byte(): number {
    if (this.pos === this.end && !this.fill()) return -1;
    this.consumed++;
    return this.buf[this.pos++]!;
  }

  /**
   * Reads up to len bytes into memory at addr (a slot payload); returns the
   * count read, less than len only at EOF.
   */
  readInto(addr: number, len: number): number {
    let got = 0;
    const have = this.end - this.pos;
    if (have > 0) {
      const n = Math.min(have, len);
      libc.memcpy(addr, this.bufAddr + this.pos, n);
      this.pos += n;
      got = n;
    }
    while (got < len) {
      const left = len - got;
      if (left >= BUF_BYTES / 2) {
        const r = this.sysread(addr + got, left);
        if (r === 0) {
          this.eof = true;
          break;
        }
        got += r;
      } else {
        if (!this.fill()) break;
        const n = Math.min(this.end - this.pos, left);
        libc.memcpy(addr + got, this.bufAddr + this.pos, n);
        this.pos += n;
        got += n;
      }
    }
    this.consumed += got;
    return got;
  }

  /** Discards len bytes; returns the count discarded (less only at EOF). */
  discard(len: number): number {
    let got = 0;
    while (got < len) {
      if (this.pos === this.end && !this.fill()) break;
      const n = Math.min(this.end - this.pos, len - got);
      this.pos += n;
      got += n;
    }
    this.consumed += got;
    return got;
  }
}
