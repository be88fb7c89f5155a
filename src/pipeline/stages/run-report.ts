/**
 * What `run` reports: counters sampled from shared memory while the objects
 * exist, the progress line, and the exit code chosen from the stages' codes.
 */
import { Exit, mostSevere } from "../../errors";
import { C, P, R, RESERVED_BASE, W, WORKER_ENTRIES } from "../layout";
import type { Pipeline } from "../ring/pipeline";

export interface RunReport {
  name: string;
  code: number;
  codes: { producer: number; consumer: number; workers: number[] };
  framesIn: number;
  framesOut: number;
  bytesOut: number;
  dropped: number;
  redone: number;
  restarts: number;
  /** Stages `run` replaced after they died, per role (restarts is their sum). */
  restartsByRole: { producer: number; worker: number; consumer: number };
  /** With --resume: frames an earlier, killed run had delivered. */
  resumedAt?: number;
  wallS: number;
  producerBlockedS: number;
  consumerWaitS: number;
  perWorker: Record<string, number>;
  workerPids: number[];
  /** The worker pool: its ceiling (--workers), workers started at first, workers added while frames waited and CPUs idled. */
  pool: { max: number; started: number; added: number };
  /** An error only the supervisor can report (a poisoned frame, a dead stage). */
  error?: string;
}

export function newReport(name: string): RunReport {
  return {
    name,
    code: 0,
    codes: { producer: 0, consumer: 0, workers: [] },
    framesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    dropped: 0,
    redone: 0,
    restarts: 0,
    restartsByRole: { producer: 0, worker: 0, consumer: 0 },
    wallS: 0,
    producerBlockedS: 0,
    consumerWaitS: 0,
    perWorker: {},
    workerPids: [],
    pool: { max: 0, started: 0, added: 0 },
  };
}

/** Reads counters from shared memory (before the objects are removed). */
export function sample(p: Pipeline, r: RunReport): void {
  r.framesIn = p.f64(P.head);
  r.dropped = p.f64(P.dropped);
  r.producerBlockedS = p.f64(P.blockedUs) / 1e6;
  r.redone = p.f64(R.redone);
  const d = p.delivery();
  r.framesOut = d.delivered;
  r.bytesOut = d.offset;
  for (const b of WORKER_ENTRIES) {
    const raw = p.i32(b + W.pid);
    if (raw <= RESERVED_BASE) continue; // being registered
    const pid = Math.abs(raw);
    if (pid) r.perWorker[pid] = Math.max(r.perWorker[pid] ?? 0, p.f64(b + W.frames));
  }
  r.consumerWaitS = p.f64(C.blockedUs) / 1e6;
}

/** Rewrites the progress line on a terminal at most every 200 ms; returns the time it last did. */
export function progress(p: Pipeline, t0: number, last: number): number {
  const now = performance.now();
  if (now - last < 200) return last;
  const s = (now - t0) / 1000;
  const d = p.delivery();
  process.stderr.write(`\r\x1b[Kshmimg run: ${d.delivered} frames, ${(d.delivered / s).toFixed(0)} frames/s, ${(d.offset / s / 1e6).toFixed(1)} MB/s`);
  return now;
}

/**
 * The run's exit code: the signal that stopped it, else the most severe stage
 * code, where a producer or consumer killed by a signal counts as a failed stage.
 */
export function runExitCode(r: RunReport, stopping: number): number {
  if (stopping) return 128 + stopping;
  const bySignal = (c: number) => (c >= 128 && c !== Exit.SIGPIPE ? Exit.STAGE_FAILED : c);
  return mostSevere([bySignal(r.codes.producer), bySignal(r.codes.consumer), ...r.codes.workers]);
}
