/**
 * The consumer: delivers processed frames strictly in n order (I4).
 * It gathers every consecutive DONE frame starting at `delivered`, writes
 * them with one writev straight from the slots, then records delivered and
 * the output offset, then frees the slots. Because the record follows the
 * write, a restarted consumer truncates a file output to the recorded offset
 * and continues with the first unrecorded frame: the file ends up identical.
 */
import { log as consola } from "../../log";
import { shim } from "../../native/shim";
import { errnoName } from "../../native/libc";
import { ShmimgError, Exit } from "../../errors";
import { checkSignals } from "../../signals";
import { Abort, C, Eos, EOS_NAMES, P, R, S, Sem, State, stateOf } from "../layout";
import { joinRole, leaveRole } from "../ipc/sems";
import { checkAbort, Peers, StageFailed } from "./peers";
import { abortAtPoisoned, poisonedAt } from "../ring/handback";
import { spin } from "../ring/event";
import { selfStartTime } from "../ipc/proc";
import { newSlotFrame, type Pipeline, type SlotFrame } from "../ring/pipeline";
import type { FrameSink } from "../../formats/types";
import type { Output } from "../../io/output";

export interface ConsumeOptions {
  timeoutS: number;
  /** Called with each frame's publish stamp and delivery time (latency bench). */
  onLatency?: (us: number) => void;
  /** Checksum of the output's last bytes before an offset, recorded with each delivery (I8); absent for pipes. */
  tailHash?: (offset: number) => number;
  /** Progress callback, at most every ~200 ms. */
  onProgress?: (frames: number, bytes: number) => void;
}

export interface ConsumeStats {
  frames: number;
  bytes: number;
  blockedUs: number;
  resumedAt: number;
  eos: number;
  lastSeq: number;
  gaps: number;
}

/** Joins as the single consumer; returns where to resume (frames, byte offset). */
export function joinConsumer(p: Pipeline): { delivered: number; offset: number; tailHash: number } {
  const r = joinRole(p.semid, Sem.CONSUMERS, true);
  if (r < 0)
    throw new ShmimgError(
      r === -11 ? `pipeline "${p.name}" already has a live consumer (pid ${p.i32(C.pid)}); only one consumer may read a pipeline` : `semop(semid=${p.semid}, CONSUMERS +1 SEM_UNDO) failed: ${errnoName(r)}`,
      Exit.INVALID,
    );
  // Only the consumer sleeps on DONE: a count left by a consumer killed asleep goes.
  p.done.resetSleepers();
  const resumed = p.i32(C.pid) !== 0;
  p.setF64(C.start, selfStartTime());
  p.setI32(C.pid, process.pid);
  if (resumed) p.setI32(C.resumes, p.i32(C.resumes) + 1);
  const rec = p.delivery();
  // A consumer killed after recording but before freeing leaves delivered
  // frames DONE; free them so workers can use the slots again (I2).
  for (let i = 0; i < p.K; i++) {
    if (stateOf(p.state(p.proc, i)) === State.DONE && p.slotF64(p.proc, i, S.n) < rec.delivered) p.setState(p.proc, i, State.FREE);
  }
  // Possibly many claimable frames at once: every sleeping worker (E1).
  p.work.postAll();
  return { delivered: rec.delivered, offset: rec.offset, tailHash: rec.tailHash };
}

/** The consumer reached poisoned frame n: stop everyone; under `run` a POISONED abort is reported by run itself. */
function poisonedError(p: Pipeline, n: number): StageFailed {
  const { message, reportedByRun } = abortAtPoisoned(p, n);
  const e = new StageFailed(message);
  e.secondary = reportedByRun;
  return e;
}

export function leaveConsumer(p: Pipeline): void {
  leaveRole(p.semid, Sem.CONSUMERS);
}

export function consume(p: Pipeline, sink: FrameSink, out: Output, o: ConsumeOptions): ConsumeStats {
  const { proc, K } = p;
  const frame: SlotFrame = newSlotFrame();
  const rec = p.delivery();
  const resumedAt = rec.delivered;
  let d = resumedAt;
  const peers = new Peers(p, "consumer", o.timeoutS, () => d);
  let offset = rec.offset;
  let frames = 0;
  let bytes = 0;
  let blockedUs = 0;
  let gaps = 0;
  let lastSeq = rec.lastSeq;
  let lastProgress = 0;
  const batchSeq: number[] = new Array(K).fill(0);
  const batchLen: number[] = new Array(K).fill(0);

  const doneAt = (n: number): boolean => {
    const i = n % K;
    // The whole word: DONE carries no owner, so owner bits mean corruption (found by checkIntegrity).
    return p.state(proc, i) === State.DONE && p.slotF64(proc, i, S.n) === n;
  };
  const over = (): boolean => p.i32(P.eos) !== Eos.NONE && d >= p.f64(P.head);
  const ready = (): boolean => doneAt(d) || over() || p.i32(R.abort) !== Abort.NONE || poisonedAt(p, d);
  /** Frame d is being processed (claimed, or its result being written) or waits READY for a worker. */
  const inFlight = (): boolean => {
    const i = d % K;
    const r = stateOf(p.state(p.raw, i));
    return stateOf(p.state(proc, i)) === State.WRITING || ((r === State.CLAIMED || r === State.READY) && p.slotF64(p.raw, i, S.n) === d);
  };
  const tick = () => peers.tick(`frame n=${d}`);

  for (;;) {
    checkSignals();
    if (!doneAt(d)) {
      // eos is stored after the final head (producer), so head is final here;
      // unless a stage found the segment corrupt: then the stream's end is no news.
      if (over()) {
        if (p.i32(R.abort) === Abort.CORRUPT) checkAbort(p);
        break;
      }
      if (poisonedAt(p, d)) throw poisonedError(p, d); // I5/I12: every earlier frame was delivered
      checkAbort(p);
      const w0 = shim.shim_now_us();
      p.done.waitFor(ready, tick, 100, -1, inFlight);
      blockedUs += shim.shim_now_us() - w0;
      p.setF64(C.blockedUs, blockedUs);
      continue;
    }
    // Gather the run of consecutive DONE frames d, d+1, ... (at most K).
    let count = 0;
    let batchBytes = 0;
    while (count < K && doneAt(d + count) && out.room(sink.iovs)) {
      const i = (d + count) % K;
      p.slotFrame(proc, i, frame); // bounds-checked (I6)
      const b = sink.add(out, frame, proc.payloadAddr(i), p.procViews[i]!);
      batchSeq[count] = frame.seq;
      batchLen[count] = b;
      batchBytes += frame.len;
      if (o.onLatency) o.onLatency(shim.shim_now_us() - frame.stamp);
      count++;
    }
    out.flush();
    sink.flushed();
    // Record (crash-atomic), then free (I4).
    const first = d;
    for (let k = 0; k < count; k++) {
      if (lastSeq >= 0 && batchSeq[k]! !== lastSeq + 1) gaps++;
      lastSeq = batchSeq[k]!;
      offset += batchLen[k]!;
      d++;
    }
    p.recordDelivery(d, offset, lastSeq, o.tailHash ? o.tailHash(offset) : 0);
    // Frees the slots: pairs with the workers' FREE check in their claim scan.
    for (let n = first; n < d; n++) p.setState(proc, n % K, State.FREE);
    // Up to `count` frames may have become claimable (I2): one worker per frame, at most the cores (E1, E2).
    p.work.post(Math.min(count, spin.cores));
    frames += count;
    bytes += batchBytes;
    p.setF64(C.bytesOut, p.f64(C.bytesOut) + batchBytes);
    peers.frameDone();
    if (o.onProgress) {
      const now = shim.shim_now_us();
      if (now - lastProgress > 200_000) {
        lastProgress = now;
        o.onProgress(frames, bytes);
      }
    }
  }
  const eos = p.i32(P.eos);
  if (EOS_NAMES[eos] === undefined) throw p.corruptSegment("producer line", p.raw.shmid, `end-of-stream code ${eos} is not one shmimg writes`);
  if (peers.redone) consola.info(`consumer: recovered ${peers.redone} frame(s) from dead workers`);
  return { frames, bytes, blockedUs, resumedAt, eos, lastSeq, gaps };
}
