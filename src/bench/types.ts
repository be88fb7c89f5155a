/** What the bench measures and reports (the JSON of `bench --json` is a BenchResult). */
import type { Machine } from "./machine";
import type { LatencySummary } from "./stats";
import type { ProcStat } from "./proc-stats";

export interface BenchConfig {
  quick: boolean;
  dir: string;
  maxWorkers: number;
  pipeSize: number;
  repeat: number;
  only: Set<string>;
  /** CPUs (the memory ceiling runs one copy loop per CPU). */
  nproc: number;
  /** Overrides the per-run timeout. */
  runTimeoutS?: number;
  log: (line: string) => void;
}

export type Kind = "shm" | "pipe" | "cat" | "cpu" | "memcpy";

export interface Row {
  id: string;
  label: string;
  kind: Kind;
  workers: number;
  /** Processes in the configuration (the run supervisor included). */
  procs: number;
  frames: number;
  /** Spawn of the first process to exit of the last. */
  wallS: number;
  /** Frames in the steady window (delivered after the first tenth) and the time they took (cpu/memcpy: the timed loop). */
  steadyFrames: number;
  steadyS: number;
  /** Start-up and tear-down cost: wallS - frames / fps. */
  startS: number;
  fps: number;
  fpsE2E: number;
  /** Input payload MB/s at `fps`. */
  mbps: number;
  /** fps / the pipe chain's fps (same scenario). */
  vsPipe: number | null;
  /** Frame-size memory passes of the data path (see BENCHMARKS.md). */
  touches: number;
  /** fps × frame bytes × touches / the memcpy ceiling. */
  memFrac: number | null;
  peakRss: number;
  procStats: ProcStat[];
  /** From run --json (shm rows). */
  run?: { framesOut: number; producerBlockedS: number; consumerWaitS: number; perWorker: Record<string, number>; wallS: number };
  /** Share of the machine's CPU time used by other processes during the kept runs (0..1). */
  foreignShare: number;
  /** Set when no attempt succeeded (the numbers are then NaN). */
  error?: string;
  /** Failed attempts (hangs, crashes) before the measured one. */
  incidents: string[];
  /** cpu rows: ring (the shm working set) and hot (cache-resident) frames/s. */
  cpu?: { ringFps: number; hotFps: number };
}

export interface ThroughputScenario {
  kind: "throughput";
  id: string;
  title: string;
  size: string;
  format: string;
  op: string;
  frames: number;
  frameBytes: number;
  fileBytes: number;
  /** Memory ceiling: copies in one process, and in nproc processes at once (bps = their sum). */
  memcpy: { bps: number; setBps: number; memcpyBps: number; slots: number; processes: number; oneBps: number };
  rows: Row[];
}

export interface LatencyRow {
  id: string;
  label: string;
  kind: Kind;
  workers: number;
  frames: number;
  warmup: number;
  /** Frames/s actually achieved over the whole run. */
  fps: number;
  steady: LatencySummary;
  all: LatencySummary;
  peakRss: number;
  procStats: ProcStat[];
  /** Share of the machine's CPU time used by other processes during the run (0..1). */
  foreignShare: number;
  error?: string;
  incidents: string[];
}

export interface LatencyScenario {
  kind: "latency";
  id: string;
  title: string;
  size: string;
  format: string;
  op: string;
  fps: number;
  frames: number;
  rows: LatencyRow[];
}

export interface MemoryScenario {
  kind: "memory";
  id: string;
  title: string;
  size: string;
  format: string;
  op: string;
  workers: number;
  /** Frame counts: the two the target compares, then a larger one (does the growth level off?). */
  counts: number[];
  /**
   * Per process (workers by index): peak RSS and live JS objects (after a
   * full GC at exit) at each count; growth = rss[1] / rss[0] - 1, the target;
   * growthAfter = rss[2] / rss[1] - 1 (≈ 0 when the growth is bounded).
   */
  procs: { role: string; rss: number[]; liveObjects: number[]; growth: number; growthAfter: number }[];
  wallS: number[];
  incidents: string[];
}

export interface ShortJobRow {
  tool: "shm" | "ffmpeg" | "gst";
  label: string;
  /** Best wall time (first spawn to last exit), s. */
  wallS: number;
  /** CPU time of its processes in that run (user + system), s. */
  cpuS: number;
  /** Why it did not run (tool missing). */
  skipped?: string;
  error?: string;
}

export interface ShortJobsScenario {
  kind: "shortjobs";
  id: string;
  title: string;
  /** `shmimg --version`, best wall: the floor of any shmimg process. */
  versionS: number;
  jobs: { id: string; label: string; frames: number; frameBytes: number; rows: ShortJobRow[] }[];
  incidents: string[];
}

export interface OversubscribedRow {
  /** Pipelines run at once (1, or 2 on the same cores). */
  pipelines: number;
  workers: number;
  wallS: number;
  /** Frames of all pipelines / wall. */
  fps: number;
  /** CPU time and context switches (voluntary + involuntary) of every process. */
  cpuS: number;
  switches: number;
  error?: string;
}

export interface OversubscribedScenario {
  kind: "oversubscribed";
  id: string;
  title: string;
  cores: number;
  workloads: { label: string; frames: number; rows: OversubscribedRow[] }[];
  incidents: string[];
}

/** Scenario OPS (own-ops.ts): µs per frame of each op kind, in-process. */
export interface OpsScenario {
  kind: "ops";
  id: string;
  title: string;
  rows: { what: string; size: string; ms: number; overheadMs?: number }[];
  /** Built-in TS sobel time / C edge time at 1080p. */
  cSpeedup?: number;
  notes: string[];
}

export type ScenarioResult = ThroughputScenario | LatencyScenario | MemoryScenario | OpsScenario | ShortJobsScenario | OversubscribedScenario;

export interface Target {
  id: string;
  what: string;
  goal: string;
  value: string;
  met: boolean;
}

export interface BenchResult {
  machine: Machine;
  quick: boolean;
  dir: string;
  pipeSize: number;
  feed: string;
  /** By scenario id, in the table's order (table.ts). */
  scenarios: Record<string, ScenarioResult>;
  targets: Target[];
  totalS: number;
  /** Seconds the bench waited for other processes to leave the CPUs alone. */
  waitedS: number;
  errors: string[];
  /** Full messages of failed attempts, e.g. the pipeline state of a run that hung. */
  diagnostics: string[];
}
