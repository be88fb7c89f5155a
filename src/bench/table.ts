/**
 * The bench scenarios, one row each (see BENCHMARKS.md). A row names its
 * frames (size, format, op, count for a full run and for --quick), the
 * worker counts of its shm rows and its targets; the runner for its kind
 * (throughput.ts, latency.ts, memory.ts) does the rest. To add a scenario,
 * add a row; a new kind of target is one case in targets.ts.
 */

/** A value for the full run and for --quick. */
export interface Sized<T> {
  full: T;
  quick: T;
}

/** Worker counts of the shm rows: a list (clipped to --max-workers), or 1..--max-workers. */
export type Workers = number[] | "1..max";

/**
 * A target, checked against a scenario's result (targets.ts). Per shm row:
 * vsPipe (steady frames/s over the pipe chain's) and memFrac (fraction of the
 * memory ceiling) at least `min`; p50Us / p99Us (steady latency) at most
 * `max`. scaling: frames/s with workers[1] over workers[0] at least `min`.
 * rssGrowth: every process's peak RSS within `within` between the first two
 * frame counts. startupMs / startupVsVersion: wall of `run` on a short job at
 * most `max` ms / `max` times `shmimg --version`. vsTool: the tool's wall over
 * shmimg's on the same job at least `min`. flatPool: every worker count's wall
 * within `within` of the best count's, and two pipelines at once within
 * `within` of twice the best single wall.
 */
export type TargetSpec =
  | { metric: "vsPipe" | "memFrac"; min: number }
  | { metric: "p50Us" | "p99Us"; max: number }
  | { metric: "scaling"; workers: [number, number]; min: number }
  | { metric: "rssGrowth"; within: number }
  | { metric: "startupMs"; job: string; max: number }
  | { metric: "startupVsVersion"; job: string; max: number }
  | { metric: "vsTool"; job: string; tool: "ffmpeg" | "gst"; min: number }
  | { metric: "flatPool"; within: number };

interface Common {
  id: string;
  size: string;
  format: string;
  op: string;
  targets: TargetSpec[];
}

/** Steady frames/s of the shm pipeline next to the pipe chain, pipe transport and the CPU and memory ceilings. */
export interface ThroughputSpec extends Common {
  kind: "throughput";
  frames: Sized<number>;
  workers: Workers;
  /** Shown after the frame count in the title ("per-frame overhead"). */
  note?: string;
}

/** Publish-to-delivery latency of frames paced at `fps`; the first `warmup` frames are left out. */
export interface LatencySpec extends Common {
  kind: "latency";
  frames: Sized<number>;
  warmup: Sized<number>;
  fps: number;
  workers: Workers;
}

/** Peak RSS per process at growing frame counts (memory bounded by the rings, not the stream). */
export interface MemorySpec extends Common {
  kind: "memory";
  counts: Sized<number[]>;
  /** Workers (clipped to --max-workers). */
  workers: number;
}

/** Per-frame cost of each kind of op a user brings, and a C kernel against the built-in TS op (own-ops.ts). */
export interface OpsSpec extends Common {
  kind: "ops";
}

/** Whole commands end to end (process start included) next to ffmpeg and GStreamer on the same rawvideo file (short-jobs.ts). */
export interface ShortJobsSpec {
  id: string;
  kind: "shortjobs";
  jobs: { id: string; size: string; format: "rgb24"; op: string; ffmpegFilter: string; frames: Sized<number> }[];
  targets: TargetSpec[];
}

/** 1, cores, 2×cores, 8×cores workers and two pipelines at once (oversubscribed.ts). */
export interface OversubscribedSpec {
  id: string;
  kind: "oversubscribed";
  workloads: { size: string; format: string; op: string; frames: Sized<number> }[];
  targets: TargetSpec[];
}

export type ScenarioSpec = ThroughputSpec | LatencySpec | MemorySpec | OpsSpec | ShortJobsSpec | OversubscribedSpec;

export const SCENARIOS: ScenarioSpec[] = [
  {
    id: "S0",
    kind: "shortjobs",
    jobs: [
      { id: "1f", size: "8x8", format: "rgb24", op: "invert", ffmpegFilter: "negate", frames: { full: 1, quick: 1 } },
      { id: "30f", size: "640x360", format: "rgb24", op: "hflip,invert", ffmpegFilter: "hflip,negate", frames: { full: 30, quick: 30 } },
      { id: "600f", size: "1920x1080", format: "rgb24", op: "invert", ffmpegFilter: "negate", frames: { full: 600, quick: 20 } },
    ],
    targets: [
      { metric: "startupMs", job: "1f", max: 100 },
      { metric: "startupVsVersion", job: "1f", max: 2.5 },
      { metric: "vsTool", job: "30f", tool: "ffmpeg", min: 1 },
      { metric: "vsTool", job: "600f", tool: "gst", min: 1.5 },
    ],
  },
  { id: "S1", kind: "throughput", size: "1920x1080", format: "rgb24", op: "invert", frames: { full: 300, quick: 40 }, workers: [1, 2], targets: [{ metric: "vsPipe", min: 4 }, { metric: "memFrac", min: 0.5 }] },
  { id: "S2", kind: "throughput", size: "64x64", format: "gray8", op: "identity", frames: { full: 200_000, quick: 20_000 }, workers: [1, 2], note: "per-frame overhead", targets: [{ metric: "vsPipe", min: 3 }] },
  { id: "S3", kind: "latency", size: "320x240", format: "rgb24", op: "identity", frames: { full: 5_000, quick: 1_500 }, warmup: { full: 1_000, quick: 500 }, fps: 1000, workers: [1, 2], targets: [{ metric: "p50Us", max: 50 }, { metric: "p99Us", max: 500 }] },
  { id: "S4", kind: "throughput", size: "1920x1080", format: "gray8", op: "gaussian,sobel", frames: { full: 120, quick: 12 }, workers: "1..max", note: "CPU-heavy", targets: [{ metric: "scaling", workers: [1, 2], min: 1.7 }] },
  { id: "OPS", kind: "ops", size: "64x64, 1920x1080", format: "rgb24 (sobel: gray8)", op: "copy through each op kind; sobel in C vs TS", targets: [] },
  { id: "MEM", kind: "memory", size: "64x64", format: "gray8", op: "invert", counts: { full: [1_000, 100_000, 300_000], quick: [1_000, 10_000, 30_000] }, workers: 2, targets: [{ metric: "rssGrowth", within: 0.1 }] },
  {
    id: "S5",
    kind: "oversubscribed",
    workloads: [
      { size: "4x4", format: "gray8", op: "invert", frames: { full: 200_000, quick: 5_000 } },
      { size: "640x480", format: "rgb24", op: "gaussian", frames: { full: 300, quick: 10 } },
    ],
    targets: [{ metric: "flatPool", within: 0.15 }],
  },
];

/** Limits of every run: a run that takes longer than timeoutS is stopped and counted as hung; memcpyS is the memory ceiling's measuring time. */
export const LIMITS = { timeoutS: { full: 60, quick: 20 }, memcpyS: { full: 1, quick: 0.3 } } satisfies Record<string, Sized<number>>;

export function sized<T>(v: Sized<T>, quick: boolean): T {
  return quick ? v.quick : v.full;
}

/** The worker counts a scenario runs with, given --max-workers. */
export function workerCounts(w: Workers, maxWorkers: number): number[] {
  return w === "1..max" ? Array.from({ length: maxWorkers }, (_, i) => i + 1) : w.filter((n) => n <= maxWorkers);
}
