/**
 * `shmimg pipe-work` (hidden; used by `shmimg bench`): the plain-pipe
 * baseline the shared-memory pipeline is measured against, and the bench's
 * in-process ceilings. Modes:
 *
 *   work    (default) native frames on stdin -> the same Chain the shm
 *           workers run -> native frames on stdout. Written to be as fast as a
 *           pipe stage can be: big synchronous read(2)s into one reused
 *           buffer (a large frame is read exactly up to its end, so it is never
 *           moved), the op reads its input straight from that buffer, results
 *           are gathered in one reused output buffer and leave in one write(2)
 *           per batch (all complete frames of one read), flushed before every
 *           read that may block. Payload views are cached per buffer offset, so
 *           ops see the same view objects frame after frame (as the shm
 *           workers do with their slot views).
 *   source  a paced live source for the latency scenario: frames from
 *           --input, at most --fps per second (paced as `produce --fps`:
 *           sleep, then spin the last 150 µs; --pace spin busy-waits),
 *           each stamped (CLOCK_MONOTONIC µs, float64 in the first 8 payload
 *           bytes) just before its write.
 *   sink    the frame-aware last stage: reads frames, forwards them to
 *           stdout; --latency-out FILE saves per frame the delivery time (the
 *           moment the whole frame is in its buffer) and, with --stamped,
 *           (delivery - stamp).
 *   cpu     the op chain applied in this one process, no IPC (CPU ceiling):
 *           --count frames of --size/--format from the same pattern as `gen`.
 *   memcpy  copies of --bytes-size buffers through a ring of them, with
 *           TypedArray.set and with libc memcpy (memory ceiling).
 *
 * cpu and memcpy print one JSON line on stdout.
 */
import { defineCommand } from "citty";
import { ptr } from "bun:ffi";
import { openSync } from "node:fs";
import { E, errno, errnoName, libc } from "../native/libc";
import { shim } from "../native/shim";
import { waitReadable, waitWritable } from "../io/ready";
import { OutputClosed } from "../io/output";
import { InvalidInput, PartialFrame, ShmimgError, Exit } from "../errors";
import { Chain, parseChain } from "../ops/chain";
import { autoSlots } from "../pipeline/ring/pipeline";
import { isFormat, MAX_DIMENSION, parseFormat, parseSize, payloadBytes, type Format } from "../frame/format";
import { frameOffset, makePattern } from "../frame/gen";
import { encodeHeaderAt, NATIVE_HEADER, NATIVE_MAGIC, NATIVE_VERSION } from "../formats/native";
import type { FrameInfo } from "../formats/types";
import { LatencyLog } from "./latency";
import { num } from "../commands/args";

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

export type { FrameInfo };

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
    const v = this.dv;
    const where = `native frame #${this.index}`;
    if (v.getUint32(at, true) !== NATIVE_MAGIC) throw new InvalidInput(`${where}: bad magic; the input is not a shmimg native stream or is out of sync`);
    if (v.getUint16(at + 4, true) !== NATIVE_VERSION || v.getUint16(at + 6, true) !== NATIVE_HEADER) throw new InvalidInput(`${where}: unsupported version or header size`);
    const w = v.getUint32(at + 8, true);
    const h = v.getUint32(at + 12, true);
    const fmt = v.getUint32(at + 16, true);
    const len = v.getUint32(at + 20, true);
    if (w < 1 || h < 1 || w > MAX_DIMENSION || h > MAX_DIMENSION || !isFormat(fmt) || len !== payloadBytes(w, h, fmt))
      throw new InvalidInput(`${where}: bad geometry ${w}x${h} format ${fmt} length ${len}`);
    const i = this.info;
    i.w = w;
    i.h = h;
    i.fmt = fmt;
    i.len = len;
    i.seq = v.getUint32(at + 24, true) + v.getUint32(at + 28, true) * 0x100000000;
    return len;
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
    const r = sysread(this.fd, this.addr + this.end, want);
    this.reads++;
    if (r === 0) {
      this.eof = true;
      return false;
    }
    this.end += r;
    return true;
  }
}

function sysread(fd: number, addr: number, len: number): number {
  for (;;) {
    const r = libc.read(fd, addr, len);
    if (r >= 0) return r;
    const err = errno();
    if (err === E.EINTR) continue;
    if (err === E.EAGAIN) {
      waitReadable(fd);
      continue;
    }
    throw new ShmimgError(`read(fd=${fd}) failed: ${errnoName(err)}`, Exit.INVALID);
  }
}

function syswrite(fd: number, addr: number, len: number): void {
  let done = 0;
  while (done < len) {
    const r = libc.write(fd, addr + done, len - done);
    if (r >= 0) {
      done += r;
      continue;
    }
    const err = errno();
    if (err === E.EINTR) continue;
    if (err === E.EAGAIN) {
      waitWritable(fd);
      continue;
    }
    if (err === E.EPIPE) throw new OutputClosed();
    throw new ShmimgError(`write(fd=${fd}) failed: ${errnoName(err)}`, Exit.INVALID);
  }
}

/** Native frames gathered in one reused buffer, written in big writes. */
class FrameWriter {
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
    syswrite(this.fd, this.addr, this.used);
    this.writes++;
    this.used = 0;
  }
}

/** stdin -> chain -> stdout. */
export function pipeWork(chain: Chain, inFd = 0, outFd = 1): { frames: number; reads: number; writes: number } {
  const r = new FrameReader(inFd);
  const w = new FrameWriter(outFd);
  let frames = 0;
  for (;;) {
    const off = r.next();
    if (off < 0) {
      w.flush(); // before a read that may block: nothing waits on us downstream
      if (!r.fill()) break;
      continue;
    }
    const info = r.info;
    const g = chain.out(info);
    const dst = w.frame({ w: g.w, h: g.h, fmt: g.fmt, seq: info.seq }, payloadBytes(g.w, g.h, g.fmt));
    chain.apply(r.views.at(off, info.len), info, dst);
    frames++;
  }
  if (r.pending > 0) throw new PartialFrame(`partial frame at #${r.index}: ${r.pending} bytes left at end of input`);
  w.flush();
  return { frames, reads: r.reads, writes: w.writes };
}

/** Paced, stamped source: one write per frame. */
function pipeSource(inFd: number, fps: number, sleep: boolean, outFd = 1): number {
  const r = new FrameReader(inFd);
  const paceUs = fps > 0 ? 1e6 / fps : 0;
  const t0 = shim.shim_now_us();
  let frames = 0;
  for (;;) {
    const off = r.next();
    if (off < 0) {
      if (!r.fill()) break;
      continue;
    }
    const len = r.info.len;
    if (paceUs) {
      const due = t0 + (frames + 1) * paceUs;
      if (sleep) {
        // As `produce --fps`: sleep most of the gap, spin the last 150 µs.
        const left = due - shim.shim_now_us();
        if (left > 300) libc.usleep(Math.floor(left - 150));
      }
      while (shim.shim_now_us() < due) {}
    }
    const stamp = new DataView(r.buf.buffer, r.buf.byteOffset + off, 8);
    if (len >= 8) stamp.setFloat64(0, shim.shim_now_us(), true);
    syswrite(outFd, ptr(r.buf) + off - NATIVE_HEADER, NATIVE_HEADER + len);
    frames++;
  }
  if (r.pending > 0) throw new PartialFrame(`partial frame at #${r.index}`);
  return frames;
}

/**
 * Frame-aware sink (the last stage, "consume"): reads frames, forwards the
 * bytes to stdout (as the shm consumer writes its output), and with a log
 * records per frame the delivery time and, with `stamped`, the latency from
 * the stamp in the first 8 payload bytes.
 */
function pipeSink(inFd: number, log: LatencyLog | undefined, stamped: boolean, outFd = 1): { frames: number; bytes: number } {
  const r = new FrameReader(inFd);
  let frames = 0;
  let bytes = 0;
  let from = 0; // start of the bytes not forwarded yet
  for (;;) {
    const off = r.next();
    if (off < 0) {
      if (r.pos > from) syswrite(outFd, ptr(r.buf) + from, r.pos - from);
      if (!r.fill()) break;
      from = r.pos;
      continue;
    }
    if (log) {
      if (stamped && r.info.len >= 8) log.add(shim.shim_now_us() - new DataView(r.buf.buffer, r.buf.byteOffset + off, 8).getFloat64(0, true));
      else log.add(NaN);
    }
    frames++;
    bytes += r.info.len;
  }
  if (r.pending > 0) throw new PartialFrame(`partial frame at #${r.index}`);
  return { frames, bytes };
}

/**
 * The op chain over in-memory frames, two ways: "ring" = K aligned input and
 * output buffers used in turn, as the shm rings are (the working set of the
 * pipeline); "hot" = one input and one output buffer (the cache-resident best
 * case, as in the pipe worker). The ceiling is the faster of the two.
 */
function cpuCeiling(w: number, h: number, fmt: Format, spec: string, count: number, seed: number) {
  const chain = new Chain(parseChain(spec));
  const len = payloadBytes(w, h, fmt);
  const g = chain.out({ w, h, fmt });
  const outLen = payloadBytes(g.w, g.h, g.fmt);
  const K = autoSlots(Math.max(len, outLen));
  const pattern = makePattern(w, h, fmt, seed);
  const src = Array.from({ length: K }, (_, i) => pattern.slice(frameOffset(i, len), frameOffset(i, len) + len));
  const dst = Array.from({ length: K }, () => new Uint8Array(outLen));
  const info = { w, h, fmt };
  const timed = (k: number, n: number): number => {
    // Warm up (JIT tiers) for at least 3 frames and 0.2 s.
    const w0 = performance.now();
    for (let i = 0; i < 3 || performance.now() - w0 < 200; i++) chain.apply(src[i % k]!, info, dst[i % k]!);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) chain.apply(src[i % k]!, info, dst[i % k]!);
    return (performance.now() - t0) / 1000;
  };
  const half = Math.max(1, Math.ceil(count / 2));
  const ringS = timed(K, half);
  const hotS = timed(1, half);
  const seconds = Math.min(ringS, hotS) * (count / half);
  return { mode: "cpu", op: chain.spec, frames: count, bytes: len, outBytes: outLen, slots: K, ringFps: half / ringS, hotFps: half / hotS, seconds, fps: count / seconds };
}

/** Copy bandwidth over a ring of K frame-size buffer pairs; best of several rounds. */
function memcpyCeiling(bytes: number, seconds: number) {
  const K = autoSlots(bytes);
  const src = Array.from({ length: K }, (_, i) => new Uint8Array(bytes).fill(i + 1));
  const dst = Array.from({ length: K }, () => new Uint8Array(bytes).fill(0));
  const srcA = src.map((b) => ptr(b));
  const dstA = dst.map((b) => ptr(b));
  const best = { set: 0, memcpy: 0 };
  const rounds = 6;
  const perRound = (seconds * 1000) / rounds;
  for (let r = 0; r < rounds; r++) {
    const mode = r % 2 === 0 ? "set" : "memcpy";
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < perRound) {
      for (let k = 0; k < 16; k++, n++) {
        const i = n % K;
        if (mode === "set") dst[i]!.set(src[i]!);
        else libc.memcpy(dstA[i]!, srcA[i]!, bytes);
      }
      t = performance.now();
    }
    const bps = (n * bytes) / ((t - t0) / 1000);
    if (bps > best[mode]) best[mode] = bps;
  }
  return { mode: "memcpy", bytes, slots: K, setBps: best.set, memcpyBps: best.memcpy, bps: Math.max(best.set, best.memcpy) };
}

export const example = "shmimg gen --count 100 --size 640x480 | shmimg pipe-work --op invert > out.shm";

export default defineCommand({
  meta: { name: "pipe-work", description: "(bench) stdio op worker and in-process ceilings.", hidden: true },
  args: {
    mode: { type: "string", description: "work, source, sink, cpu or memcpy.", default: "work" },
    op: { type: "string", description: "Op chain (work, cpu).", default: "identity" },
    input: { type: "string", description: "Read frames from this file (default stdin)." },
    fps: { type: "string", description: "(source) frames per second, 0 = unpaced.", default: "0" },
    pace: { type: "string", description: "(source) sleep (sleep, then spin the last 150 µs, as produce --fps) or spin (busy-wait throughout).", default: "sleep" },
    "latency-out": { type: "string", description: "(sink) save per-frame (latency µs, delivery time µs) float64 pairs here." },
    stamped: { type: "boolean", description: "(sink) frames carry a source stamp: record latencies.", default: false },
    size: { type: "string", description: "(cpu) frame size WxH." },
    format: { type: "string", description: "(cpu) pixel format.", default: "rgb24" },
    count: { type: "string", description: "(cpu) frames.", default: "100" },
    seed: { type: "string", description: "(cpu) pattern seed.", default: "1" },
    bytes: { type: "string", description: "(memcpy) buffer size.", default: "4096" },
    seconds: { type: "string", description: "(memcpy) measuring time.", default: "1" },
    "start-at": { type: "string", description: "(memcpy) start at this Date.now() (ms), so parallel copies overlap.", default: "0" },
  },
  run({ args }) {
    const inFd = args.input && args.input !== "-" ? openSync(args.input, "r") : 0;
    switch (args.mode) {
      case "work": {
        pipeWork(new Chain(parseChain(args.op)), inFd, 1);
        return;
      }
      case "source": {
        if (args.pace !== "sleep" && args.pace !== "spin") throw new InvalidInput(`--pace ${args.pace}: use sleep or spin`);
        pipeSource(inFd, num(args.fps, "fps", 0, 1e6, false), args.pace === "sleep");
        return;
      }
      case "sink": {
        const log = args["latency-out"] ? new LatencyLog() : undefined;
        pipeSink(inFd, log, args.stamped);
        if (log) log.save(args["latency-out"]!);
        return;
      }
      case "cpu": {
        const size = parseSize(String(args.size ?? ""));
        const fmt = parseFormat(args.format);
        if (!size || !fmt) throw new InvalidInput("--size WxH and --format are required for --mode cpu");
        const r = cpuCeiling(size.w, size.h, fmt, args.op, num(args.count, "count", 1, 1e9), num(args.seed, "seed", 0, 0xffffffff));
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      case "memcpy": {
        const at = num(args["start-at"], "start-at", 0, Number.MAX_SAFE_INTEGER);
        while (Date.now() < at) Bun.sleepSync(1);
        const r = memcpyCeiling(num(args.bytes, "bytes", 1, 1 << 30), num(args.seconds, "seconds", 0.01, 60, false));
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
    }
    throw new InvalidInput(`--mode ${args.mode} is not one of work, source, sink, cpu, memcpy`);
  },
});
