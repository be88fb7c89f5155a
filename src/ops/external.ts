/**
 * External commands as ops: `exec:CMD` (a process per frame) and
 * `filter:CMD` (one process per worker, kept). Both speak binary PNM: one
 * image on the command's stdin (P5 gray8, P6 rgb24, P7 RGB_ALPHA rgba32,
 * written by formats/pnm.ts), one image of the same geometry back on its
 * stdout (parsed by the same PnmSource the `pnm` input format uses).
 *
 * Sync vs async: the worker loop is synchronous (it never yields to Bun's
 * event loop while it holds a frame), so the child is started by the C shim
 * (fork + exec of /bin/sh -c, PR_SET_PDEATHSIG SIGKILL, own process group)
 * and all three pipes are non-blocking and driven by one poll(2) loop here:
 * the frame is written while the reply is read, so a command that streams
 * rows out before it has read all its input (pamflip) never deadlocks on a
 * full pipe, and the command's stderr is forwarded line by line, prefixed.
 * The reply is read into private memory, checked (header, geometry, length)
 * and only then copied into dst: a bad reply never reaches the slot.
 */
import { ptr } from "bun:ffi";
import { openSync } from "node:fs";
import { InvalidInput } from "../errors";
import { Format, formatName, payloadBytes } from "../frame/format";
import { HDR_STRIDE, PnmSource, writePnmHeader } from "../formats/pnm";
import { Input } from "../io/input";
import { E, errno, errnoName, libc } from "../native/libc";
import { shim } from "../native/shim";
import { checkSignals } from "../signals";
import type { Frame, Op } from "./contract";

/** A frame the op could not process: the worker hands the frame back (retried up to --max-attempts). */
export class OpFailed extends Error {}

const POLLIN = 1;
const POLLOUT = 4;
const POLL_STEP_MS = 100;
/** A reply header longer than this is malformed. */
const MAX_REPLY_HEADER = 4096;
const SIGKILL = 9;

let devNull = -1;
/** An Input that holds just `bytes` (then EOF): lets PnmSource parse a reply header. */
function inputOver(bytes: Uint8Array): Input {
  if (devNull < 0) devNull = openSync("/dev/null", "r");
  return new Input(devNull, "reply", bytes);
}

/** "exit status 3" / "killed by SIGKILL". */
function statusText(status: number): string {
  return status > 128 ? `killed by signal ${status - 128}` : `exit status ${status}`;
}

/** A running `/bin/sh -c CMD` with our ends of its three pipes. */
class Child {
  readonly pid: number;
  private inFd: number;
  private readonly outFd: number;
  private readonly errFd: number;
  private errTail = "";
  private readonly io = new Int32Array(4);
  private readonly pfd = new Int32Array(6); // 3 x struct pollfd { int fd; short events, revents; }
  private readonly errBuf = new Uint8Array(4096);
  private readonly status = new Int32Array(1);
  /** Exit status once reaped, else -1. */
  exit = -1;

  private readonly prefix: string;
  private readonly one = new Uint8Array(1);

  /** Starts `/bin/sh -c cmd`; its stderr lines are forwarded as "[label pid N] line". */
  constructor(cmd: string, label: string) {
    const c = Buffer.from(cmd + "\0");
    const r = shim.shim_spawn_sh(c, this.io);
    if (r < 0) throw new OpFailed(`could not start "${cmd}": fork/pipe failed: ${errnoName(-r)}`);
    this.pid = this.io[0]!;
    this.prefix = `[${label} pid ${this.pid}] `;
    this.inFd = this.io[1]!;
    this.outFd = this.io[2]!;
    this.errFd = this.io[3]!;
  }

  /** Forwards what the child wrote to stderr, whole lines, each prefixed. */
  drainStderr(final = false): void {
    for (;;) {
      const r = libc.read(this.errFd, this.errBuf, this.errBuf.length);
      if (r <= 0) break;
      this.errTail += Buffer.from(this.errBuf.subarray(0, r)).toString("utf8");
    }
    let nl: number;
    let out = "";
    while ((nl = this.errTail.indexOf("\n")) >= 0) {
      out += `${this.prefix}${this.errTail.slice(0, nl)}\n`;
      this.errTail = this.errTail.slice(nl + 1);
    }
    if (final && this.errTail !== "") {
      out += `${this.prefix}${this.errTail}\n`;
      this.errTail = "";
    }
    if (out !== "") {
      const b = Buffer.from(out);
      libc.write(2, b, b.length);
    }
  }

  /** Closes its stdin (the command sees end of input). */
  closeInput(): void {
    if (this.inFd >= 0) shim.shim_close(this.inFd);
    this.inFd = -1;
  }

  /** Reaps it: blocking when `block`, else only if it has exited. Returns the exit status or -1. */
  reap(block: boolean): number {
    if (this.exit >= 0) return this.exit;
    const r = shim.shim_waitpid(this.pid, block ? 0 : 1, this.status);
    if (r > 0) this.exit = this.status[0]!;
    return this.exit;
  }

  /** SIGKILLs its process group, reaps it, closes our ends. */
  kill(): void {
    if (this.exit < 0) {
      libc.kill(-this.pid, SIGKILL);
      libc.kill(this.pid, SIGKILL);
      this.reap(true);
    }
    this.drainStderr(true);
    this.closeInput();
    shim.shim_close(this.outFd);
    shim.shim_close(this.errFd);
  }

  /**
   * Writes one PNM image (geometry g, payload src) and reads one back into
   * `reply` (grown as needed); returns where its payload starts. With
   * `toEof` (exec:) the input is closed after the image and the reply ends
   * at end of output; else (filter:) it ends with the image. Throws OpFailed
   * naming what went wrong.
   */
  exchange(src: Uint8Array, g: Frame, og: Frame, reply: ReplyBuffer, toEof: boolean): number {
    const header = new Uint8Array(HDR_STRIDE);
    const hlen = writePnmHeader(header, 0, g.w, g.h, g.fmt as Format);
    const plen = payloadBytes(g.w, g.h, g.fmt as Format);
    const want = payloadBytes(og.w, og.h, og.fmt as Format);
    const buf = reply.get(MAX_REPLY_HEADER + want + 1);
    const srcAddr = ptr(src);
    const bufAddr = ptr(buf);
    let sent = 0; // bytes of header + payload written
    let got = 0;
    let total = -1; // reply bytes once its header is parsed
    let payloadAt = 0;
    let eof = false;
    const pfd = this.pfd;
    for (;;) {
      const writing = sent < hlen + plen && this.inFd >= 0;
      pfd[0] = writing ? this.inFd : -1;
      pfd[1] = POLLOUT;
      pfd[2] = eof ? -1 : this.outFd;
      pfd[3] = POLLIN;
      pfd[4] = this.errFd;
      pfd[5] = POLLIN;
      const n = libc.poll(pfd, 3, POLL_STEP_MS);
      checkSignals();
      if (n < 0 && errno() !== E.EINTR) throw new OpFailed(`poll failed: ${errnoName(errno())}`);
      if (n <= 0) {
        if (this.reap(false) >= 0 && eof) break;
        continue;
      }
      if (pfd[5]! >>> 16) this.drainStderr();
      if (writing && pfd[1]! >>> 16) {
        const r =
          sent < hlen
            ? libc.write(this.inFd, header.subarray(sent, hlen), hlen - sent)
            : libc.write(this.inFd, srcAddr + (sent - hlen), hlen + plen - sent);
        if (r > 0) sent += r;
        else if (r < 0 && errno() === E.EPIPE) this.closeInput(); // it stopped reading: its reply (or exit) tells
        else if (r < 0 && errno() !== E.EAGAIN && errno() !== E.EINTR) throw new OpFailed(`write to its stdin failed: ${errnoName(errno())}`);
        if (sent === hlen + plen && toEof) this.closeInput();
      }
      if (!eof && pfd[3]! >>> 16) {
        const room = (total >= 0 ? total : buf.length) - got;
        // With the reply complete, only end of output may follow (a 1-byte probe read).
        const r = room > 0 ? libc.read(this.outFd, bufAddr + got, room) : libc.read(this.outFd, this.one, 1);
        if (r === 0) eof = true;
        else if (r > 0 && room <= 0) throw new OpFailed(`replied more than one ${og.w}x${og.h} ${og.format} image (${want} payload bytes)`);
        else if (r > 0) got += r;
        if (total < 0 && got > 0) {
          const h = parseReplyHeader(buf.subarray(0, Math.min(got, MAX_REPLY_HEADER)), got >= MAX_REPLY_HEADER || eof);
          if (h !== null) {
            if (h.w !== og.w || h.h !== og.h || h.fmt !== og.fmt)
              throw new OpFailed(`replied a ${h.w}x${h.h} ${formatName(h.fmt)} image, expected ${og.w}x${og.h} ${og.format}`);
            payloadAt = h.headerBytes;
            total = h.headerBytes + want;
          }
        }
        if (total >= 0 && got >= total && !toEof) break;
      }
      if (eof && (toEof || total < 0 || got < total)) {
        // exec: wait for its exit status; filter: it died mid-reply.
        if (toEof) break;
        const st = this.reap(true);
        this.drainStderr(true);
        throw new OpFailed(`exited (${statusText(st)}) after ${got} of ${total >= 0 ? total : "?"} reply bytes`);
      }
    }
    if (toEof) {
      const st = this.reap(true);
      this.drainStderr(true);
      if (st !== 0) throw new OpFailed(`${statusText(st)}`);
      if (total < 0) throw new OpFailed(got === 0 ? "wrote no image to stdout" : `wrote ${got} bytes that are not a PNM image`);
      if (got < total) throw new OpFailed(`replied ${got - payloadAt} of ${want} payload bytes (truncated image)`);
    }
    // A kept filter must read every image or its stream is out of step; a
    // one-shot exec: command may ignore its input.
    if (!toEof && sent < hlen + plen) throw new OpFailed(`replied before reading all its input (${sent} of ${hlen + plen} bytes)`);
    return payloadAt;
  }

}

/** Grow-only private memory for replies. */
class ReplyBuffer {
  private buf = new Uint8Array(0);
  get(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(n);
    return this.buf;
  }
}

/** Parses a reply's PNM header; null when more bytes are needed (and `complete` is false). Throws OpFailed when malformed. */
function parseReplyHeader(bytes: Uint8Array, complete: boolean): { w: number; h: number; fmt: Format; headerBytes: number } | null {
  const input = inputOver(bytes);
  try {
    const info = new PnmSource(input).next();
    if (info === null) return complete ? fail("replied nothing that is a PNM image") : null;
    return { w: info.w, h: info.h, fmt: info.fmt, headerBytes: input.consumed };
  } catch (e) {
    if (e instanceof InvalidInput) fail(`replied a malformed PNM image: ${e.message}`);
    if (complete) fail(`replied a truncated PNM header: ${(e as Error).message}`);
    return null;
  }
}

function fail(msg: string): never {
  throw new OpFailed(msg);
}

const PNM_FORMATS = ["gray8", "rgb24", "rgba32"] as const;

/** `exec:CMD`: /bin/sh -c CMD once per frame, one PNM image in, one out (same geometry). */
export function execOp(cmd: string): Op<null> {
  const reply = new ReplyBuffer();
  return {
    name: `exec:${cmd}`,
    formats: PNM_FORMATS,
    parse: () => null,
    apply(src, dst, g, og) {
      const child = new Child(cmd, `exec:${cmd}`);
      try {
        const at = child.exchange(src, g, og, reply, true);
        dst.set(reply.get(0).subarray(at, at + payloadBytes(og.w, og.h, og.fmt as Format)));
      } finally {
        child.kill();
      }
    },
  };
}

/**
 * `filter:CMD`: /bin/sh -c CMD started at the first frame and kept; one PNM
 * image in, one out, per frame. After any failure it is killed and started
 * again for the next frame (its stream may be out of step).
 */
export function filterOp(cmd: string): Op<null> {
  const reply = new ReplyBuffer();
  let child: Child | null = null;
  const stop = () => {
    if (child === null) return;
    const c = child;
    child = null;
    c.closeInput();
    for (let i = 0; i < 20 && c.reap(false) < 0; i++) Bun.sleepSync(10);
    c.kill();
  };
  process.on("exit", stop);
  return {
    name: `filter:${cmd}`,
    formats: PNM_FORMATS,
    parse: () => null,
    apply(src, dst, g, og) {
      try {
        child ??= new Child(cmd, `filter:${cmd}`);
        const at = child.exchange(src, g, og, reply, false);
        dst.set(reply.get(0).subarray(at, at + payloadBytes(og.w, og.h, og.fmt as Format)));
      } catch (e) {
        if (child !== null) {
          child.kill();
          child = null;
        }
        throw e;
      }
    },
  };
}
