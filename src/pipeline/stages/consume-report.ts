/**
 * What `consume` reports at its end: its own counts next to the pipeline's
 * (producer, recovery, workers) read from shared memory, the progress line
 * while it runs, and the error for a stream that ended early.
 */
import { Exit, ShmimgError } from "../../errors";
import { Eos, EOS_NAMES, P } from "../layout";
import { snapshot } from "../ring/snapshot";
import type { Pipeline } from "../ring/pipeline";
import type { ConsumeStats } from "./consume";

export interface ConsumeReport {
  frames: number;
  bytes: number;
  wallS: number;
  framesPerS: number;
  mbPerS: number;
  resumedAt: number;
  lastSeq: number;
  seqGaps: number;
  consumerWaitS: number;
  producerBlockedS: number;
  dropped: number;
  redone: number;
  perWorker: Record<string, number>;
  stream: string;
}

export function consumeReport(p: Pipeline, s: ConsumeStats, wallS: number): ConsumeReport {
  const snap = snapshot(p);
  return {
    frames: s.frames,
    bytes: s.bytes,
    wallS,
    framesPerS: s.frames / Math.max(wallS, 1e-9),
    mbPerS: s.bytes / Math.max(wallS, 1e-9) / 1e6,
    resumedAt: s.resumedAt,
    lastSeq: s.lastSeq,
    seqGaps: s.gaps,
    consumerWaitS: s.blockedUs / 1e6,
    producerBlockedS: snap.producer.blockedS,
    dropped: snap.producer.dropped,
    redone: snap.recovery.redone,
    perWorker: Object.fromEntries(snap.workers.map((w) => [w.pid, w.frames])),
    stream: snap.producer.eos,
  };
}

/** "consume: 120 frames of 400 (30%), 95 frames/s, 10.2 MB/s" (the total once the producer has ended). */
export function progressLine(p: Pipeline, resumedAt: number, frames: number, bytes: number, seconds: number): string {
  const total = p.f64(P.head) - resumedAt;
  const of = p.i32(P.eos) !== Eos.NONE ? ` of ${total} (${((100 * frames) / Math.max(1, total)).toFixed(0)}%)` : "";
  return `consume: ${frames} frames${of}, ${(frames / seconds).toFixed(0)} frames/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s`;
}

/** The error for a stream that did not end cleanly (exit 3), or undefined. */
export function incompleteStream(p: Pipeline, s: ConsumeStats): ShmimgError | undefined {
  if (s.eos === Eos.OK) return undefined;
  const why = EOS_NAMES[s.eos] ?? `eos ${s.eos}`;
  const e = new ShmimgError(`stream incomplete (${why} after seq ${p.f64(P.eosSeq)}): delivered every complete frame, last seq delivered ${s.lastSeq}`, Exit.INCOMPLETE);
  // The producer already reported its own end (partial, invalid, full, signal); a dead producer it could not.
  e.secondary = s.eos !== Eos.PRODUCER_DIED;
  return e;
}
