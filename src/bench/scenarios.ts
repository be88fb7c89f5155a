/**
 * The bench scenarios (see BENCHMARKS.md): every configuration runs as real
 * processes on the same pre-generated frame file (in --dir, a tmpfs by
 * default) and ends in /dev/null.
 *
 * Throughput is reported twice: end to end (frames / wall, spawn of the first
 * process to exit of the last), and steady: the last stage of every
 * configuration (the shm consumer, or the pipe chains' frame-aware sink)
 * records when each frame was delivered, and steady frames/s = frames
 * delivered after the first tenth / the time they took. Process start, ring
 * creation, JIT warm-up and tear-down are outside that window, so a 1 s run is
 * not decided by the ~0.4 s `run` needs to start 4 Bun processes in sequence.
 * Ratios and targets use the steady numbers.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { payloadBytes, parseFormat } from "../frame/format";
import { Chain, parseChain } from "../ops/chain";
import { describeMachine, type Machine } from "./machine";
import { steadyRate, summarize, type LatencySummary } from "./latency";
import { genFile, machineBusyS, runChain, runShm, runTool, runToolParallel, self, type ChainStage, type ProcStat, type RunResult } from "./runners";

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

export interface Sizes {
  s1Frames: number;
  s2Frames: number;
  s3Frames: number;
  s3Warmup: number;
  s4Frames: number;
  memCounts: number[];
  memcpyS: number;
  /** Per run: a run that takes longer is stopped and counted as hung. */
  timeoutS: number;
}

export function sizesFor(quick: boolean): Sizes {
  return quick
    ? { s1Frames: 40, s2Frames: 20_000, s3Frames: 1_500, s3Warmup: 500, s4Frames: 12, memCounts: [1_000, 10_000, 30_000], memcpyS: 0.3, timeoutS: 20 }
    : { s1Frames: 300, s2Frames: 200_000, s3Frames: 5_000, s3Warmup: 1_000, s4Frames: 120, memCounts: [1_000, 100_000, 300_000], memcpyS: 1, timeoutS: 60 };
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
  id: string;
  title: string;
  size: string;
  format: string;
  op: string;
  fps: number;
  rows: LatencyRow[];
}

export interface MemoryScenario {
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
  scenarios: { S1?: ThroughputScenario; S2?: ThroughputScenario; S3?: LatencyScenario; S4?: ThroughputScenario; MEM?: MemoryScenario };
  targets: Target[];
  totalS: number;
  /** Seconds the bench waited for other processes to leave the CPUs alone. */
  waitedS: number;
  errors: string[];
  /** Full messages of failed attempts, e.g. the pipeline state of a run that hung. */
  diagnostics: string[];
}

const maxRss = (ps: ProcStat[]) => ps.reduce((m, p) => Math.max(m, p.peakRss), 0);

/** Non-identity steps of a chain: frame-size passes the op itself makes. */
function opPasses(op: string): number {
  return Math.max(1, parseChain(op).filter((o) => o.name !== "identity").length);
}

/**
 * Frame-size memory passes (read + write of a frame, the unit memcpy measures)
 * per frame in each data path; writes to /dev/null touch nothing.
 *   shm:  read(2) file -> raw slot; op raw slot -> processed slot.
 *   pipe: cat read + write; worker read + op + write; sink read.
 *   cat:  cat read + write; cat read + write; sink read.
 */
function touchesOf(kind: Kind, op: string): number {
  switch (kind) {
    case "shm":
      return 1 + opPasses(op);
    case "pipe":
      return 5 + opPasses(op);
    case "cat":
      return 5;
    case "cpu":
      return opPasses(op);
    case "memcpy":
      return 1;
  }
}

/** Before a run, wait while other processes use at least this share of the CPUs ... */
const QUIET_SHARE = 0.1;
/** ... for at most this long over the whole bench. */
const QUIET_BUDGET_S = 60;
/** A run during which other processes used more than this share of the CPUs is repeated. */
const DISTURBED = 0.15;

interface Measured {
  r?: RunResult;
  error?: string;
  incidents: string[];
}

class Bench {
  readonly sizes: Sizes;
  readonly errors: string[] = [];
  /** Full messages of failed attempts (with `shmimg stat` of a hung run). */
  readonly diagnostics: string[] = [];
  files = 0;
  quietLeftS: number;
  /** Seconds spent waiting for other processes to calm down. */
  waitedS = 0;
  constructor(readonly cfg: BenchConfig) {
    this.sizes = sizesFor(cfg.quick);
    if (cfg.runTimeoutS) this.sizes.timeoutS = cfg.runTimeoutS;
    this.quietLeftS = cfg.quick ? 5 : QUIET_BUDGET_S;
  }

  /** The last stage of the pipe chains: frame-aware, forwards to /dev/null, records delivery times. */
  sink(deliveries: string): ChainStage {
    return { role: "consumer (pipe-work sink)", argv: self("pipe-work", "--mode", "sink", "--latency-out", deliveries) };
  }

  pipeStages(op: string, deliveries: string): ChainStage[] {
    return [{ role: "producer (cat)", argv: ["cat"] }, { role: "worker (pipe-work)", argv: self("pipe-work", "--op", op) }, this.sink(deliveries)];
  }

  catStages(deliveries: string): ChainStage[] {
    return [{ role: "producer (cat)", argv: ["cat"] }, { role: "worker (cat)", argv: ["cat"] }, this.sink(deliveries)];
  }

  /**
   * Waits (from a budget of QUIET_BUDGET_S for the whole bench) until other
   * processes use less than QUIET_SHARE of the CPUs, sampled over 250 ms: the
   * bench often shares its machine (builds, test suites).
   */
  async quiet(): Promise<void> {
    while (this.quietLeftS > 0) {
      const b0 = machineBusyS();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await Bun.sleep(250);
      const c = process.cpuUsage(c0);
      const s = (performance.now() - t0) / 1000;
      const share = (machineBusyS() - b0 - (c.user + c.system) / 1e6) / (s * this.cfg.nproc);
      if (share < QUIET_SHARE) return;
      this.quietLeftS -= s;
      this.waitedS += s;
    }
  }

  /**
   * Runs a configuration `times` (--repeat) times and keeps the best (highest
   * `score`; default: shortest wall), preferring runs during which other
   * processes used less than DISTURBED of the CPUs: a disturbed run is
   * repeated (at most `times` extra runs). A failed or hung attempt is
   * recorded as an incident and retried once; when no attempt succeeds the
   * row carries the error.
   */
  async measure(what: string, fn: () => Promise<RunResult>, times = this.cfg.repeat, score: (r: RunResult) => number = (r) => -r.wallS): Promise<Measured> {
    const incidents: string[] = [];
    const clean: RunResult[] = [];
    const disturbed: RunResult[] = [];
    let failed = 0;
    while (clean.length < times && clean.length + disturbed.length < 2 * times && failed < 2) {
      await this.quiet();
      try {
        const r = await fn();
        if (r.foreignCpuS / (r.wallS * this.cfg.nproc) > DISTURBED) {
          disturbed.push(r);
          this.cfg.log(`${what}: other processes used ${((100 * r.foreignCpuS) / (r.wallS * this.cfg.nproc)).toFixed(0)}% of the CPUs; measuring again`);
        } else clean.push(r);
      } catch (e) {
        failed++;
        const full = (e as Error).message;
        const msg = full.split("\n")[0]!.slice(0, 400);
        incidents.push(msg);
        this.diagnostics.push(`${what}: ${full}`);
        this.cfg.log(`${what}: attempt failed: ${msg}`);
      }
    }
    const pool = clean.length ? clean : disturbed;
    if (!pool.length) {
      const error = incidents[incidents.length - 1] ?? "failed";
      this.errors.push(`${what}: ${error}`);
      return { error, incidents };
    }
    const best = pool.reduce((a, r) => (score(r) > score(a) ? r : a));
    return { r: best, incidents };
  }

  async throughput(id: string, title: string, size: string, format: string, op: string, frames: number, workerCounts: number[]): Promise<ThroughputScenario> {
    const { dir, pipeSize } = this.cfg;
    const { timeoutS, memcpyS } = this.sizes;
    const [w, h] = size.split("x").map(Number) as [number, number];
    const fmt = parseFormat(format)!;
    const frameBytes = payloadBytes(w, h, fmt);
    new Chain(parseChain(op)).out({ w, h, fmt }); // the chain must accept the frames
    const file = join(dir, `${id}-${size}-${format}-${frames}.shm`);
    const from = Math.max(1, Math.floor(frames / 10)); // first frame of the steady window
    this.cfg.log(`${id}: generating ${frames} frames of ${size} ${format} ...`);
    const fileBytes = await genFile(file, frames, size, format, 120);
    const sc: ThroughputScenario = { id, title, size, format, op, frames, frameBytes, fileBytes, memcpy: { bps: 0, setBps: 0, memcpyBps: 0, slots: 0, processes: 1, oneBps: 0 }, rows: [] };
    type Base = Pick<Row, "id" | "label" | "kind" | "workers" | "procs">;
    type Timing = { wallS: number; steadyFrames: number; steadyS: number; procStats: ProcStat[]; error?: string; incidents?: string[]; foreignShare?: number };
    const mk = (base: Base, m: Timing): Row => {
      const fps = m.error ? NaN : m.steadyFrames / m.steadyS;
      const touches = touchesOf(base.kind, op);
      return {
        ...base,
        frames,
        wallS: m.wallS,
        steadyFrames: m.steadyFrames,
        steadyS: m.steadyS,
        startS: m.wallS - frames / fps,
        fps,
        fpsE2E: frames / m.wallS,
        mbps: (fps * frameBytes) / 1e6,
        vsPipe: null,
        touches,
        memFrac: sc.memcpy.bps > 0 ? (fps * frameBytes * touches) / sc.memcpy.bps : null,
        peakRss: maxRss(m.procStats),
        procStats: m.procStats,
        foreignShare: m.foreignShare ?? 0,
        error: m.error,
        incidents: m.incidents ?? [],
      };
    };
    const failedRow = (base: Base, error: string, incidents: string[]) => mk(base, { wallS: NaN, steadyFrames: 0, steadyS: NaN, procStats: [], error, incidents });
    const steadyOf = (r: RunResult) => steadyRate(r.deliveries?.at ?? new Float64Array(0), from);
    /** One configuration, best steady rate of --repeat runs. */
    const timed = async (base: Base, what: string, run: () => Promise<RunResult>): Promise<{ row: Row; r?: RunResult }> => {
      const m = await this.measure(what, run, this.cfg.repeat, (r) => steadyOf(r).fps || 0);
      if (!m.r) return { row: failedRow(base, m.error!, m.incidents) };
      const n = m.r.deliveries?.at.length ?? 0;
      if (n !== frames) {
        const error = `the last stage recorded ${n} of ${frames} frames`;
        this.errors.push(`${what}: ${error}`);
        return { row: failedRow(base, error, m.incidents), r: m.r };
      }
      const st = steadyOf(m.r);
      const foreignShare = m.r.foreignCpuS / (m.r.wallS * this.cfg.nproc);
      return { row: mk(base, { wallS: m.r.wallS, steadyFrames: st.frames, steadyS: st.seconds, procStats: m.r.procs, incidents: m.incidents, foreignShare }), r: m.r };
    };
    const deliveries = () => join(dir, `deliveries-${process.pid}-${++this.files}.f64`);
    const rows: Row[] = [];
    try {
      // (c) memory ceiling: one copy loop, and one per CPU at once (the pipeline's stages copy in parallel).
      const nproc = this.cfg.nproc;
      const mc1Base: Base = { id: "memcpy-1p", label: "memcpy loop, 1 process", kind: "memcpy", workers: 0, procs: 1 };
      const mcBase: Base = { id: "memcpy", label: `memcpy loops, ${nproc} processes (memory ceiling)`, kind: "memcpy", workers: 0, procs: nproc };
      try {
        type Mc = { bps: number; setBps: number; memcpyBps: number; slots: number };
        await this.quiet();
        const one = await runTool<Mc>(["--mode", "memcpy", "--bytes", String(frameBytes), "--seconds", String(memcpyS)], timeoutS);
        await this.quiet();
        const startAt = String(Date.now() + 400);
        const all = nproc > 1 ? await runToolParallel<Mc>(["--mode", "memcpy", "--bytes", String(frameBytes), "--seconds", String(memcpyS), "--start-at", startAt], nproc, timeoutS) : [one];
        const sum = (k: keyof Mc) => all.reduce((a, m) => a + m[k], 0);
        sc.memcpy = { bps: Math.max(sum("bps"), one.bps), setBps: sum("setBps"), memcpyBps: sum("memcpyBps"), slots: one.slots, processes: all.length, oneBps: one.bps };
        const t1 = (frames * frameBytes) / one.bps;
        const t = (frames * frameBytes) / sc.memcpy.bps;
        if (nproc > 1) rows.push(mk(mc1Base, { wallS: t1, steadyFrames: frames, steadyS: t1, procStats: [] }));
        rows.push(mk(mcBase, { wallS: t, steadyFrames: frames, steadyS: t, procStats: [] }));
        this.cfg.log(`${id}: memory ceiling ${(sc.memcpy.bps / 1e9).toFixed(2)} GB/s in ${all.length} processes, ${(one.bps / 1e9).toFixed(2)} GB/s in one (frame-size copies, ring of ${one.slots})`);
      } catch (e) {
        this.errors.push(`${id} memcpy: ${(e as Error).message}`);
        rows.push(failedRow(mcBase, (e as Error).message, []));
      }
      // (d) CPU ceiling
      const cpuBase: Base = { id: "cpu", label: "op in one process (CPU ceiling)", kind: "cpu", workers: 1, procs: 1 };
      try {
        await this.quiet();
        const cpu = await runTool<{ fps: number; ringFps: number; hotFps: number }>(["--mode", "cpu", "--size", size, "--format", format, "--op", op, "--count", String(frames)], timeoutS);
        // Headline: frames streaming through a ring of slots (as in any pipeline); hot = cache-resident.
        const t = frames / cpu.ringFps;
        const row = mk(cpuBase, { wallS: t, steadyFrames: frames, steadyS: t, procStats: [] });
        row.cpu = { ringFps: cpu.ringFps, hotFps: cpu.hotFps };
        rows.push(row);
        this.cfg.log(`${id}: CPU ceiling ${cpu.ringFps.toFixed(1)} frames/s (cache-hot ${cpu.hotFps.toFixed(1)})`);
      } catch (e) {
        this.errors.push(`${id} cpu: ${(e as Error).message}`);
        rows.push(failedRow(cpuBase, (e as Error).message, []));
      }
      // (c) pipe transport
      const cat = await timed({ id: "cat", label: "cat | cat | sink (pipe transport)", kind: "cat", workers: 1, procs: 3 }, `${id} cat chain`, () => {
        const f = deliveries();
        return runChain({ dir, file, stages: this.catStages(f), pipeSize, timeoutS, deliveriesFile: f });
      });
      rows.push(cat.row);
      // (b) the pipe chain
      const pipe = await timed({ id: "pipe-1w", label: "pipe chain, 1 worker", kind: "pipe", workers: 1, procs: 3 }, `${id} pipe chain`, () => {
        const f = deliveries();
        return runChain({ dir, file, stages: this.pipeStages(op, f), pipeSize, timeoutS, deliveriesFile: f });
      });
      const pipeRow = pipe.row;
      rows.push(pipeRow);
      if (!pipeRow.error) this.cfg.log(`${id}: pipe chain ${pipeRow.fps.toFixed(1)} frames/s (end to end ${pipeRow.fpsE2E.toFixed(1)})`);
      // (a) the shm pipeline
      for (const n of workerCounts) {
        const base: Base = { id: `shm-${n}w`, label: `shm run, ${n} worker${n > 1 ? "s" : ""}`, kind: "shm", workers: n, procs: n + 3 };
        const { row, r: res } = await timed(base, `${id} shm ${n} worker(s)`, () => runShm({ dir, file, workers: n, op, timeoutS, deliveries: true }));
        const r = res?.report;
        if (r) {
          if (r.framesOut !== frames) this.errors.push(`${id} shm ${n} workers delivered ${r.framesOut} of ${frames} frames`);
          row.run = { framesOut: r.framesOut, producerBlockedS: r.producerBlockedS, consumerWaitS: r.consumerWaitS, perWorker: r.perWorker, wallS: r.wallS };
        }
        rows.push(row);
        if (!row.error) this.cfg.log(`${id}: shm ${n} worker(s) ${row.fps.toFixed(1)} frames/s (end to end ${row.fpsE2E.toFixed(1)})`);
      }
      for (const r of rows) r.vsPipe = Number.isFinite(pipeRow.fps) && Number.isFinite(r.fps) ? r.fps / pipeRow.fps : null;
      // Display order: shm first, then the baseline, then the references.
      const order = (r: Row) => ["shm", "pipe", "cat", "cpu", "memcpy"].indexOf(r.kind) * 100 + r.workers + r.procs / 100;
      sc.rows = rows.sort((a, b) => order(a) - order(b));
    } finally {
      rmSync(file, { force: true });
    }
    return sc;
  }

  async latency(): Promise<LatencyScenario> {
    const { dir, pipeSize } = this.cfg;
    const { s3Frames: frames, s3Warmup: warmup } = this.sizes;
    const size = "320x240";
    const format = "rgb24";
    const op = "identity";
    const fps = 1000;
    const timeoutS = frames / fps + 15;
    const file = join(dir, `S3-${size}-${frames}.shm`);
    this.cfg.log(`S3: generating ${frames} frames of ${size} ${format} ...`);
    await genFile(file, frames, size, format, 120);
    const sc: LatencyScenario = { id: "S3", title: `latency, ${size} ${format} "${op}" paced at ${fps} frames/s`, size, format, op, fps, rows: [] };
    const empty: LatencySummary = summarize(new Float64Array(0));
    const mk = (id: string, label: string, kind: Kind, workers: number, m: Measured): LatencyRow => {
      if (!m.r) return { id, label, kind, workers, frames, warmup, fps: NaN, steady: empty, all: empty, peakRss: 0, procStats: [], foreignShare: 0, error: m.error, incidents: m.incidents };
      const r = m.r;
      const s = r.deliveries?.lat ?? new Float64Array(0);
      if (s.length !== frames) this.errors.push(`S3 ${label}: ${s.length} latency samples for ${frames} frames`);
      return {
        id,
        label,
        kind,
        workers,
        frames,
        warmup,
        fps: frames / r.wallS,
        steady: summarize(s.subarray(Math.min(warmup, s.length))),
        all: summarize(s),
        peakRss: maxRss(r.procs),
        procStats: r.procs,
        foreignShare: r.foreignCpuS / (r.wallS * this.cfg.nproc),
        incidents: m.incidents,
      };
    };
    const show = (row: LatencyRow) =>
      row.error ? `failed` : `p50 ${row.steady.p50Us.toFixed(1)} µs, p99 ${row.steady.p99Us.toFixed(1)} µs, max ${row.steady.maxUs.toFixed(0)} µs`;
    try {
      for (const n of [1, 2].filter((n) => n <= this.cfg.maxWorkers)) {
        const m = await this.measure(`S3 shm ${n} worker(s)`, () => runShm({ dir, file, workers: n, op, fps, deliveries: true, timeoutS }), 1);
        const row = mk(`shm-${n}w`, `shm run, ${n} worker${n > 1 ? "s" : ""}`, "shm", n, m);
        sc.rows.push(row);
        this.cfg.log(`S3: shm ${n} worker(s) ${show(row)}`);
      }
      const latFile = join(dir, `S3-pipe-latency-${process.pid}.f64`);
      const m = await this.measure("S3 pipe chain", () =>
        runChain({
          dir,
          file,
          stages: [
            { role: "producer (pipe-work source)", argv: self("pipe-work", "--mode", "source", "--fps", String(fps)) },
            { role: "worker (pipe-work)", argv: self("pipe-work", "--op", op) },
            { role: "consumer (pipe-work sink)", argv: self("pipe-work", "--mode", "sink", "--stamped", "--latency-out", latFile) },
          ],
          pipeSize,
          timeoutS,
          deliveriesFile: latFile,
        }),
        1,
      );
      const row = mk("pipe-1w", "pipe chain, 1 worker", "pipe", 1, m);
      sc.rows.push(row);
      this.cfg.log(`S3: pipe chain ${show(row)}`);
    } finally {
      rmSync(file, { force: true });
    }
    return sc;
  }

  async memory(): Promise<MemoryScenario> {
    const { dir } = this.cfg;
    const { memCounts, timeoutS } = this.sizes;
    const size = "64x64";
    const format = "gray8";
    const op = "invert";
    const workers = Math.min(2, this.cfg.maxWorkers);
    const per: ProcStat[][] = [];
    const walls: number[] = [];
    const incidents: string[] = [];
    for (const count of memCounts) {
      const file = join(dir, `MEM-${count}.shm`);
      this.cfg.log(`MEM: ${count} frames of ${size} ${format} "${op}", ${workers} workers ...`);
      await genFile(file, count, size, format, 120);
      try {
        const m = await this.measure(`MEM ${count} frames`, () => runShm({ dir, file, workers, op, timeoutS }), 1);
        incidents.push(...m.incidents);
        per.push(m.r?.procs ?? []);
        walls.push(m.r?.wallS ?? NaN);
      } finally {
        rmSync(file, { force: true });
      }
    }
    // Match processes by role, workers in pid order.
    const byRole = (ps: ProcStat[]) => {
      const m = new Map<string, ProcStat>();
      const count = new Map<string, number>();
      for (const p of [...ps].sort((a, b) => a.pid - b.pid)) {
        const k = (count.get(p.role) ?? 0) + 1;
        count.set(p.role, k);
        m.set(p.role === "worker" ? `worker ${k}` : p.role, p);
      }
      return m;
    };
    const maps = per.map(byRole);
    const roles = [...maps[0]!.keys()].filter((k) => maps.every((m) => m.has(k)));
    const rank = (r: string) => ["supervisor", "producer", "worker", "consumer"].findIndex((x) => r.startsWith(x));
    roles.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return {
      id: "MEM",
      title: `peak RSS per process, ${size} ${format} "${op}", ${workers} workers`,
      size,
      format,
      op,
      workers,
      counts: memCounts,
      procs: roles.map((role) => {
        const rss = maps.map((m) => m.get(role)!.peakRss);
        const liveObjects = maps.map((m) => m.get(role)!.objectsLive ?? NaN);
        return { role, rss, liveObjects, growth: rss[0]! > 0 ? rss[1]! / rss[0]! - 1 : NaN, growthAfter: rss.length > 2 && rss[1]! > 0 ? rss[2]! / rss[1]! - 1 : NaN };
      }),
      wallS: walls,
      incidents,
    };
  }
}

function evaluate(res: BenchResult): Target[] {
  const t: Target[] = [];
  const ok = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);
  const x = (v: number | null | undefined) => (ok(v) ? `${v.toFixed(2)}×` : "failed");
  const pct = (v: number | null | undefined) => (ok(v) ? `${(v * 100).toFixed(0)}%` : "failed");
  const us = (v: number) => (ok(v) ? `${v.toFixed(1)} µs` : "failed");
  const { S1, S2, S3, S4, MEM } = res.scenarios;
  if (S1) {
    for (const r of S1.rows.filter((r) => r.kind === "shm")) {
      t.push({ id: `S1-${r.id}-pipe`, what: `S1 ${r.label} vs pipe chain (1 worker)`, goal: "≥ 4×", value: x(r.vsPipe), met: ok(r.vsPipe) && r.vsPipe >= 4 });
      t.push({ id: `S1-${r.id}-mem`, what: `S1 ${r.label}: fraction of memory ceiling (×${r.touches} passes)`, goal: "≥ 50%", value: pct(r.memFrac), met: ok(r.memFrac) && r.memFrac >= 0.5 });
    }
  }
  if (S2) {
    for (const r of S2.rows.filter((r) => r.kind === "shm"))
      t.push({ id: `S2-${r.id}-pipe`, what: `S2 ${r.label} vs pipe chain (1 worker)`, goal: "≥ 3×", value: x(r.vsPipe), met: ok(r.vsPipe) && r.vsPipe >= 3 });
  }
  if (S3) {
    for (const r of S3.rows.filter((r) => r.kind === "shm")) {
      t.push({ id: `S3-${r.id}-p50`, what: `S3 ${r.label}: p50 latency`, goal: "≤ 50 µs", value: us(r.steady.p50Us), met: ok(r.steady.p50Us) && r.steady.p50Us <= 50 });
      t.push({ id: `S3-${r.id}-p99`, what: `S3 ${r.label}: p99 latency`, goal: "≤ 500 µs", value: us(r.steady.p99Us), met: ok(r.steady.p99Us) && r.steady.p99Us <= 500 });
    }
  }
  if (S4) {
    const one = S4.rows.find((r) => r.id === "shm-1w");
    const two = S4.rows.find((r) => r.id === "shm-2w");
    if (one && two) {
      const q = two.fps / one.fps;
      t.push({ id: "S4-2w-1w", what: "S4 shm 2 workers vs 1 worker", goal: "≥ 1.7×", value: x(q), met: ok(q) && q >= 1.7 });
    }
  }
  if (MEM) {
    for (const p of MEM.procs)
      t.push({
        id: `MEM-${p.role.replace(/\s+/g, "")}`,
        what: `peak RSS of ${p.role}, ${MEM.counts[1]!.toLocaleString("en-US")} vs ${MEM.counts[0]!.toLocaleString("en-US")} frames`,
        goal: "within 10%",
        value: ok(p.growth) ? `${p.growth >= 0 ? "+" : ""}${(p.growth * 100).toFixed(1)}%` : "failed",
        met: ok(p.growth) && Math.abs(p.growth) <= 0.1,
      });
  }
  return t;
}

export async function runBench(cfg: BenchConfig): Promise<BenchResult> {
  const t0 = performance.now();
  const b = new Bench(cfg);
  const s = b.sizes;
  const res: BenchResult = {
    machine: describeMachine(),
    quick: cfg.quick,
    dir: cfg.dir,
    pipeSize: cfg.pipeSize,
    feed: "every configuration reads the same pre-generated native file (stdin of the first process / run --input) and writes to /dev/null",
    scenarios: {},
    targets: [],
    totalS: 0,
    waitedS: 0,
    errors: b.errors,
    diagnostics: b.diagnostics,
  };
  const want = (id: string) => cfg.only.size === 0 || cfg.only.has(id);
  const workerRange = Array.from({ length: cfg.maxWorkers }, (_, i) => i + 1);
  const guard = async <T>(id: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!want(id)) return undefined;
    try {
      return await fn();
    } catch (e) {
      b.errors.push(`${id}: ${(e as Error).message}`);
      cfg.log(`${id}: FAILED: ${(e as Error).message}`);
      return undefined;
    }
  };
  res.scenarios.S1 = await guard("S1", () => b.throughput("S1", `1920x1080 rgb24 "invert", ${s.s1Frames} frames`, "1920x1080", "rgb24", "invert", s.s1Frames, [1, 2].filter((n) => n <= cfg.maxWorkers)));
  res.scenarios.S2 = await guard("S2", () =>
    b.throughput("S2", `64x64 gray8 "identity", ${s.s2Frames.toLocaleString("en-US")} frames (per-frame overhead)`, "64x64", "gray8", "identity", s.s2Frames, [1, 2].filter((n) => n <= cfg.maxWorkers)),
  );
  res.scenarios.S3 = await guard("S3", () => b.latency());
  res.scenarios.S4 = await guard("S4", () => b.throughput("S4", `1920x1080 gray8 "gaussian,sobel", ${s.s4Frames} frames (CPU-heavy)`, "1920x1080", "gray8", "gaussian,sobel", s.s4Frames, workerRange));
  res.scenarios.MEM = await guard("MEM", () => b.memory());
  res.targets = evaluate(res);
  res.totalS = (performance.now() - t0) / 1000;
  res.waitedS = b.waitedS;
  return res;
}
