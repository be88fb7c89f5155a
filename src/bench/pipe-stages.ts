/**
 * The stages of the bench's plain-pipe chains (`shmimg pipe-work`):
 *
 *   work    native frames on stdin -> the same Chain the shm workers run ->
 *           native frames on stdout, flushed before every read that may block.
 *   source  a paced live source for the latency scenario: frames at most
 *           `fps` per second (paced as `produce --fps`, io/pace.ts; or a busy
 *           wait throughout), each stamped (CLOCK_MONOTONIC µs, float64 in the
 *           first 8 payload bytes) just before its write.
 *   sink    the frame-aware last stage: reads frames, forwards them to
 *           stdout, and records per frame the delivery time (the moment the
 *           whole frame is in its buffer) and, for stamped frames,
 *           (delivery - stamp) in a latency file (io/latency-log.ts).
 */
import { ptr } from "bun:ffi";
import { shim } from "../native/shim";
import { PartialFrame } from "../errors";
import { Pacer } from "../io/pace";
import { writeAll } from "../io/output";
import type { LatencyLog } from "../io/latency-log";
import type { Chain } from "../ops/chain";
import { payloadBytes } from "../frame/format";
import { NATIVE_HEADER } from "../formats/native";
import { FrameReader, FrameWriter } from "./pipe-io";

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
export function pipeSource(inFd: number, fps: number, sleep: boolean, outFd = 1): number {
  const r = new FrameReader(inFd);
  const pacer = fps > 0 ? new Pacer(fps, sleep) : undefined;
  let frames = 0;
  for (;;) {
    const off = r.next();
    if (off < 0) {
      if (!r.fill()) break;
      continue;
    }
    const len = r.info.len;
    pacer?.wait(frames);
    const stamp = new DataView(r.buf.buffer, r.buf.byteOffset + off, 8);
    if (len >= 8) stamp.setFloat64(0, shim.shim_now_us(), true);
    writeAll(outFd, ptr(r.buf) + off - NATIVE_HEADER, NATIVE_HEADER + len, "pipe-work output");
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
export function pipeSink(inFd: number, log: LatencyLog | undefined, stamped: boolean, outFd = 1): { frames: number; bytes: number } {
  const r = new FrameReader(inFd);
  let frames = 0;
  let bytes = 0;
  let from = 0; // start of the bytes not forwarded yet
  for (;;) {
    const off = r.next();
    if (off < 0) {
      if (r.pos > from) writeAll(outFd, ptr(r.buf) + from, r.pos - from, "pipe-work output");
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
