/**
 * How many workers `run` keeps (issue 14). `--workers N` is the pool's
 * ceiling, not a count to start blindly: run starts min(N, cores - 1, at
 * least 1) workers, because the producer and the consumer need a CPU too,
 * and adds workers (up to N) only when a measured window says more can help:
 *  - frames wait for the workers: a raw slot READY whose processed slot is
 *    FREE (claimable, I2) and no worker asleep, at both ends of the window,
 *    and the workers spent at most a tenth of it waiting for frames; so a
 *    consumer-bound or producer-bound pipeline never grows;
 *  - a CPU was idle: the machine's idle time over the window is at least
 *    half a CPU (/proc/stat), so another pipeline busy on the same cores
 *    keeps this one from growing;
 *  - this pipeline used less than its cores: its processes' CPU time over the
 *    window (their waited-for children included: exec: ops) is at least half
 *    a CPU below the usable cores (affinity, cgroup quota);
 *  - every worker started so far has registered (start-up is not idleness).
 * It then adds one worker per idle CPU the window showed. Windows are 50 ms,
 * sampled every 20 ms while the pool may grow (CPU times tick at 10 ms).
 *
 * What this buys, measured on 2 CPUs (best of 4, ms; started 2 = the old
 * min(N, cores)): 600 frames 1080p invert 783 vs 946; 200,000 frames 4x4
 * invert 271 vs 314; 300 frames 640x480 gaussian (CPU-bound: grows to 2
 * within ~60 ms) 556 vs 541. An op that blocks (exec:, filter:, a user op
 * waiting on I/O) leaves CPUs idle while frames wait, so it gets workers up
 * to N; a CPU-bound op on busy CPUs gets no extra process taking turns on
 * the same cores (S5 in BENCHMARKS.md).
 */
import { Abort, R, State, W, WORKER_ENTRIES } from "../layout";
import { CLOCK_TICKS, cpuTicksOf, machineIdleTicks } from "../ipc/proc";
import type { Pipeline } from "../ring/pipeline";

/** A window shorter than this says too little (CPU times tick at 10 ms). */
export const GROW_WINDOW_MS = 50;
/** Largest share of the window the workers may have spent waiting for frames and still be what frames wait for. */
export const MAX_WORKER_WAIT = 0.1;
/** Sampling period while the pool may grow. */
export const SAMPLE_MS = 20;
/** Idle CPU (in CPUs) a window must show before one more worker starts. */
export const GROW_IDLE_CPUS = 0.5;

interface Mark {
  atMs: number;
  idle: number;
  ours: number;
  waiting: boolean;
  waitUs: number;
}

export class Pool {
  /** Workers run keeps alive now (a dead one is replaced, see restarts.ts). */
  size: number;
  /** Workers started because a window said so. */
  grown = 0;
  private mark: Mark | undefined;

  /** min: workers to start with and keep (default: one fewer than the cores, at least 1), at most max. */
  constructor(
    readonly max: number,
    readonly cores: number,
    min?: number,
  ) {
    this.size = Math.min(max, min ?? Math.max(1, cores - 1));
  }

  /** How often run should sample (ms): often while the pool may still grow, else run's usual 100 ms. */
  get sampleMs(): number {
    return this.size < this.max ? SAMPLE_MS : 100;
  }

  /**
   * Called on every sample (sampleMs) with the pids of run's processes (its
   * own included) and of its live workers; returns how many more workers to
   * start now (0 mostly; size is then already counted up).
   */
  grow(p: Pipeline, pids: number[], workerPids: number[], nowMs: number): number {
    // No live worker: dead ones are being replaced (restarts.ts), not grown.
    if (this.size >= this.max || workerPids.length === 0 || p.i32(R.abort) !== Abort.NONE) return 0;
    const w = ourWorkers(p, workerPids);
    const m: Mark = { atMs: nowMs, idle: machineIdleTicks(), ours: pids.reduce((s, pid) => s + cpuTicksOf(pid), 0), waiting: framesWait(p) && w.asleep === 0, waitUs: w.waitUs };
    const prev = this.mark;
    if (!prev || !m.waiting || m.idle < 0 || w.registered < workerPids.length) {
      this.mark = m;
      return 0;
    }
    const spanS = (nowMs - prev.atMs) / 1000;
    if (spanS * 1000 < GROW_WINDOW_MS) return 0;
    this.mark = m;
    if (!prev.waiting) return 0;
    const idleCpus = (m.idle - prev.idle) / CLOCK_TICKS / spanS;
    const ourCpus = (m.ours - prev.ours) / CLOCK_TICKS / spanS;
    // The workers are what the frames wait for: they spent (almost) no time waiting themselves.
    const waited = (m.waitUs - prev.waitUs) / 1e6 / spanS / workerPids.length;
    if (waited > MAX_WORKER_WAIT || idleCpus < GROW_IDLE_CPUS || ourCpus > this.cores - GROW_IDLE_CPUS) return 0;
    // One per idle CPU: workers that block leave that much room each window.
    const more = Math.min(this.max - this.size, Math.max(1, Math.floor(idleCpus)));
    this.size += more;
    this.grown += more;
    this.mark = undefined; // the new workers' start must not count as idleness
    return more;
  }
}

/** A frame a worker could take right now and none has (I2: raw READY, processed FREE). */
export function framesWait(p: Pipeline): boolean {
  for (let i = 0; i < p.K; i++) if (p.state(p.raw, i) === State.READY && p.state(p.proc, i) === State.FREE) return true;
  return false;
}

/**
 * Our workers in the worker table: how many registered (attached, looking
 * for frames), how many are counted asleep now, and their total time spent
 * waiting for frames (µs; updated as each wait ends).
 */
function ourWorkers(p: Pipeline, workerPids: number[]): { registered: number; asleep: number; waitUs: number } {
  let registered = 0;
  let asleep = 0;
  let waitUs = 0;
  for (const b of WORKER_ENTRIES) {
    if (!workerPids.includes(p.i32(b + W.pid))) continue;
    registered++;
    if (p.i32(b + W.sleeping) === 1) asleep++;
    waitUs += p.f64(b + W.waitUs);
  }
  return { registered, asleep, waitUs };
}
