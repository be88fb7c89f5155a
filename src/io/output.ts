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

/** write(2) of all len bytes at addr (short writes continued, EINTR retried after checking signals); EPIPE throws OutputClosed. */
export function writeAll(fd: number, addr: number, len: number, label: string): void {
  let done = 0;
  while (done < len) {
    const r = libc.write(fd, addr + done, len - done);
    if (r >= 0) {
      done += r;
      continue;
    }
    const err = errno();
    if (err === E.EINTR) {
      checkSignals();
      continue;
    }
    if (err === E.EAGAIN) {
      waitWritable(fd);
      continue;
    }
    if (err === E.EPIPE) throw new OutputClosed();
    throw new ShmimgError(`write(fd=${fd}, ${label}) failed: ${errnoName(err)}. Check free space and the output path.`, Exit.INVALID);
  }
}

export class Output {
  // struct iovec { void *base; size_t len; } x MAX_IOV, written as 32-bit
  // halves (a BigInt per field would allocate on every frame).
  private readonly iov = new Uint32Array(MAX_IOV * 4);
  private readonly iovAddr = ptr(this.iov);
  private count = 0;
  private pending = 0;

  constructor(
    /** Set later when the output is opened with the first frame (formats/open.ts). */
    public fd: number,
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
    this.set(this.count, addr, len);
    this.count++;
    this.pending += len;
  }

  private set(k: number, addr: number, len: number): void {
    const o = k * 4;
    this.iov[o] = addr % 0x100000000;
    this.iov[o + 1] = Math.floor(addr / 0x100000000);
    this.iov[o + 2] = len;
    this.iov[o + 3] = 0;
  }

  private base(k: number): number {
    return this.iov[k * 4 + 1]! * 0x100000000 + this.iov[k * 4]!;
  }

  private len(k: number): number {
    return this.iov[k * 4 + 2]!;
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
        const len = this.len(first);
        if (left >= len) {
          left -= len;
          first++;
        } else {
          this.set(first, this.base(first) + left, len - left);
          left = 0;
        }
      }
      while (first < this.count && this.len(first) === 0) first++;
    }
    this.count = 0;
    this.pending = 0;
    return total;
  }
}
