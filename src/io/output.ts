/**
 * Gathered output on a raw fd: frames are queued as iovecs pointing straight
 * at slot payloads (and at small header buffers), then written with one
 * writev(2) per batch. Handles short writes and EINTR; EPIPE (reader went
 * away, e.g. `| head -c 1000`) becomes OutputClosed, exit 141 without spam.
 */
import { ptr } from "bun:ffi";
import { E, errno, errnoName, libc } from "../native/libc";
import { checkSignals } from "../signals";
import { waitWritable } from "./ready";
import { ShmimgError, Exit } from "../errors";

export const MAX_IOV = 128;

export class OutputClosed extends ShmimgError {
  constructor() {
    super("output closed by the reader", Exit.SIGPIPE);
  }
}

export class Output {
  private readonly iov = new BigUint64Array(MAX_IOV * 2);
  private readonly iovAddr = ptr(this.iov);
  private count = 0;
  private pending = 0;
  /** Bytes written to the fd by this Output. */
  written = 0;

  constructor(
    readonly fd: number,
    readonly label = "output",
  ) {}

  /** Room for n more iovecs? */
  room(n: number): boolean {
    return this.count + n <= MAX_IOV;
  }

  /** Queues len bytes at addr; the memory must stay valid until flush(). */
  add(addr: number, len: number): void {
    if (len === 0) return;
    if (this.count === MAX_IOV) throw new Error("Output: iovec batch full; call flush() first");
    this.iov[this.count * 2] = BigInt(addr);
    this.iov[this.count * 2 + 1] = BigInt(len);
    this.count++;
    this.pending += len;
  }

  get queuedBytes(): number {
    return this.pending;
  }

  /** Writes everything queued; returns the byte count. */
  flush(): number {
    const total = this.pending;
    let first = 0;
    while (first < this.count) {
      const r = libc.writev(this.fd, this.iovAddr + first * 16, this.count - first);
      if (r < 0) {
        const err = errno();
        if (err === E.EINTR) {
          checkSignals();
          continue;
        }
        if (err === E.EAGAIN) {
          waitWritable(this.fd);
          continue;
        }
        this.count = 0;
        this.pending = 0;
        if (err === E.EPIPE) throw new OutputClosed();
        throw new ShmimgError(`writev(fd=${this.fd}, ${this.label}) failed: ${errnoName(err)}. Check free space and the output path.`, Exit.INVALID);
      }
      // Advance past fully written iovecs; trim a partially written one.
      let left = r;
      while (first < this.count && left > 0) {
        const len = Number(this.iov[first * 2 + 1]);
        if (left >= len) {
          left -= len;
          first++;
        } else {
          this.iov[first * 2] = this.iov[first * 2]! + BigInt(left);
          this.iov[first * 2 + 1] = BigInt(len - left);
          left = 0;
        }
      }
      while (first < this.count && this.iov[first * 2 + 1]! === 0n) first++;
    }
    this.count = 0;
    this.pending = 0;
    this.written += total;
    return total;
  }
}
