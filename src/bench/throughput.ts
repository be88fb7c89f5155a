/**
 * Throughput scenarios (S1, S2, S4): every configuration runs as real
 * processes on the same pre-generated frame file (in --dir, a tmpfs by
 * default) and ends in /dev/null: the shm pipeline with each worker count,
 * the plain-pipe chain (the baseline), cat | cat | sink (pipe transport), and
 * the in-process CPU and memory ceilings.
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
import { payloadBytes, parseFormat } from "../frame/format";
import { Chain, parseChain } from "../ops/chain";
import { steadyRate } from "./stats";
import { genFile, runChain, runShm, runTool, runToolParallel, self, type ChainStage, type RunResult } from "./runners";
import type { ProcStat } from "./proc-stats";
import { sized, workerCounts, type ThroughputSpec } from "./table";
import type { Bench } from "./measure";
import type { Kind, Row, ThroughputScenario } from "./types";

export const maxRss = (ps: ProcStat[]) => ps.reduce((m, p) => Math.max(m, p.peakRss), 0);

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

/** The last stage of the pipe chains: frame-aware, forwards to /dev/null, records delivery times. */
function sink(deliveries: string): ChainStage {
  return { role: "consumer (pipe-work sink)", argv: self("pipe-work", "--mode", "sink", "--latency-out", deliveries) };
}

function pipeStages(op: string, deliveries: string): ChainStage[] {
  return [{ role: "producer (cat)", argv: ["cat"] }, { role: "worker (pipe-work)", argv: self("pipe-work", "--op", op) }, sink(deliveries)];
}

function catStages(deliveries: string): ChainStage[] {
  return [{ role: "producer (cat)", argv: ["cat"] }, { role: "worker (cat)", argv: ["cat"] }, sink(deliveries)];
}

type Base = Pick<Row, "id" | "label" | "kind" | "workers" | "procs">;
type Timing = { wallS: number; steadyFrames: number; steadyS: number; procStats: ProcStat[]; error?: string; incidents?: string[]; foreignShare?: number };

/** One throughput scenario being measured: its frame file and the rows made so far. */
class Run {
  readonly frames: number;
  /** First frame of the steady window. */
  readonly from: number;
  constructor(
    readonly b: Bench,
    readonly spec: ThroughputSpec,
    readonly sc: ThroughputScenario,
    readonly file: string,
  ) {
    this.frames = sc.frames;
    this.from = Math.max(1, Math.floor(sc.frames / 10));
  }

  row(base: Base, m: Timing): Row {
    const { frames, frameBytes, memcpy, op } = this.sc;
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
      memFrac: memcpy.bps > 0 ? (fps * frameBytes * touches) / memcpy.bps : null,
      peakRss: maxRss(m.procStats),
      procStats: m.procStats,
      foreignShare: m.foreignShare ?? 0,
      error: m.error,
      incidents: m.incidents ?? [],
    };
  }

  failed(base: Base, error: string, incidents: string[]): Row {
    return this.row(base, { wallS: NaN, steadyFrames: 0, steadyS: NaN, procStats: [], error, incidents });
  }

  /** A row whose time is computed, not run (the ceilings): frames in `seconds`. */
  computed(base: Base, seconds: number): Row {
    return this.row(base, { wallS: seconds, steadyFrames: this.frames, steadyS: seconds, procStats: [] });
  }

  /** One configuration, best steady rate of --repeat runs. */
  async timed(base: Base, what: string, run: () => Promise<RunResult>): Promise<{ row: Row; r?: RunResult }> {
    const steadyOf = (r: RunResult) => steadyRate(r.deliveries?.at ?? new Float64Array(0), this.from);
    const m = await this.b.measure(what, run, this.b.cfg.repeat, (r) => steadyOf(r).fps || 0);
    if (!m.r) return { row: this.failed(base, m.error!, m.incidents) };
    const n = m.r.deliveries?.at.length ?? 0;
    if (n !== this.frames) {
      const error = `the last stage recorded ${n} of ${this.frames} frames`;
      this.b.error(what, error);
      return { row: this.failed(base, error, m.incidents), r: m.r };
    }
    const st = steadyOf(m.r);
    const foreignShare = m.r.foreignCpuS / (m.r.wallS * this.b.cfg.nproc);
    return { row: this.row(base, { wallS: m.r.wallS, steadyFrames: st.frames, steadyS: st.seconds, procStats: m.r.procs, incidents: m.incidents, foreignShare }), r: m.r };
  }
}

/** Memory ceiling: one copy loop, and one per CPU at once (the pipeline's stages copy in parallel). Sets sc.memcpy. */
async function memoryCeiling(t: Run): Promise<Row[]> {
  const { b, sc } = t;
  const nproc = b.cfg.nproc;
  const oneBase: Base = { id: "memcpy-1p", label: "memcpy loop, 1 process", kind: "memcpy", workers: 0, procs: 1 };
  const allBase: Base = { id: "memcpy", label: `memcpy loops, ${nproc} processes (memory ceiling)`, kind: "memcpy", workers: 0, procs: nproc };
  try {
    type Mc = { bps: number; setBps: number; memcpyBps: number; slots: number };
    const args = ["--mode", "memcpy", "--bytes", String(sc.frameBytes), "--seconds", String(b.memcpyS)];
    await b.quiet();
    const one = await runTool<Mc>(args, b.timeoutS);
    await b.quiet();
    const startAt = String(Date.now() + 400);
    const all = nproc > 1 ? await runToolParallel<Mc>([...args, "--start-at", startAt], nproc, b.timeoutS) : [one];
    const sum = (k: keyof Mc) => all.reduce((a, m) => a + m[k], 0);
    sc.memcpy = { bps: Math.max(sum("bps"), one.bps), setBps: sum("setBps"), memcpyBps: sum("memcpyBps"), slots: one.slots, processes: all.length, oneBps: one.bps };
    const bytes = t.frames * sc.frameBytes;
    b.cfg.log(`${sc.id}: memory ceiling ${(sc.memcpy.bps / 1e9).toFixed(2)} GB/s in ${all.length} processes, ${(one.bps / 1e9).toFixed(2)} GB/s in one (frame-size copies, ring of ${one.slots})`);
    return [...(nproc > 1 ? [t.computed(oneBase, bytes / one.bps)] : []), t.computed(allBase, bytes / sc.memcpy.bps)];
  } catch (e) {
    b.error(`${sc.id} memcpy`, (e as Error).message);
    return [t.failed(allBase, (e as Error).message, [])];
  }
}

/** CPU ceiling: the op in one process, frames streaming through a ring of slots (as in any pipeline); hot = cache-resident. */
async function cpuCeiling(t: Run): Promise<Row> {
  const { b, sc } = t;
  const base: Base = { id: "cpu", label: "op in one process (CPU ceiling)", kind: "cpu", workers: 1, procs: 1 };
  try {
    await b.quiet();
    const cpu = await runTool<{ fps: number; ringFps: number; hotFps: number }>(["--mode", "cpu", "--size", sc.size, "--format", sc.format, "--op", sc.op, "--count", String(t.frames)], b.timeoutS);
    const row = t.computed(base, t.frames / cpu.ringFps);
    row.cpu = { ringFps: cpu.ringFps, hotFps: cpu.hotFps };
    b.cfg.log(`${sc.id}: CPU ceiling ${cpu.ringFps.toFixed(1)} frames/s (cache-hot ${cpu.hotFps.toFixed(1)})`);
    return row;
  } catch (e) {
    b.error(`${sc.id} cpu`, (e as Error).message);
    return t.failed(base, (e as Error).message, []);
  }
}

/** The pipe chains: cat | cat | sink (pipe transport) and cat | pipe-work | sink (the baseline). */
async function chains(t: Run): Promise<{ cat: Row; pipe: Row }> {
  const { b, sc, file } = t;
  const { dir, pipeSize } = b.cfg;
  const chain = (stages: (deliveries: string) => ChainStage[]) => () => {
    const f = b.file("deliveries", "f64");
    return runChain({ dir, file, stages: stages(f), pipeSize, timeoutS: b.timeoutS, deliveriesFile: f });
  };
  const cat = await t.timed({ id: "cat", label: "cat | cat | sink (pipe transport)", kind: "cat", workers: 1, procs: 3 }, `${sc.id} cat chain`, chain(catStages));
  const pipe = await t.timed({ id: "pipe-1w", label: "pipe chain, 1 worker", kind: "pipe", workers: 1, procs: 3 }, `${sc.id} pipe chain`, chain((f) => pipeStages(sc.op, f)));
  if (!pipe.row.error) b.cfg.log(`${sc.id}: pipe chain ${pipe.row.fps.toFixed(1)} frames/s (end to end ${pipe.row.fpsE2E.toFixed(1)})`);
  return { cat: cat.row, pipe: pipe.row };
}

/** The shm pipeline with `n` workers. */
async function shm(t: Run, n: number): Promise<Row> {
  const { b, sc, file } = t;
  const base: Base = { id: `shm-${n}w`, label: `shm run, ${n} worker${n > 1 ? "s" : ""}`, kind: "shm", workers: n, procs: n + 3 };
  const { row, r: res } = await t.timed(base, `${sc.id} shm ${n} worker(s)`, () => runShm({ dir: b.cfg.dir, file, workers: n, op: sc.op, timeoutS: b.timeoutS, deliveries: true }));
  const r = res?.report;
  if (r) {
    if (r.framesOut !== t.frames) b.errors.push(`${sc.id} shm ${n} workers delivered ${r.framesOut} of ${t.frames} frames`);
    row.run = { framesOut: r.framesOut, producerBlockedS: r.producerBlockedS, consumerWaitS: r.consumerWaitS, perWorker: r.perWorker, wallS: r.wallS };
  }
  if (!row.error) b.cfg.log(`${sc.id}: shm ${n} worker(s) ${row.fps.toFixed(1)} frames/s (end to end ${row.fpsE2E.toFixed(1)})`);
  return row;
}

/** Display order: shm first, then the baseline, then the references. */
const order = (r: Row) => ["shm", "pipe", "cat", "cpu", "memcpy"].indexOf(r.kind) * 100 + r.workers + r.procs / 100;

export async function runThroughput(b: Bench, spec: ThroughputSpec): Promise<ThroughputScenario> {
  const { id, size, format, op } = spec;
  const frames = sized(spec.frames, b.cfg.quick);
  const [w, h] = size.split("x").map(Number) as [number, number];
  const fmt = parseFormat(format)!;
  new Chain(parseChain(op)).out({ w, h, fmt }); // the chain must accept the frames
  const file = b.file(`${id}-${size}-${format}`, "shm");
  b.cfg.log(`${id}: generating ${frames} frames of ${size} ${format} ...`);
  const fileBytes = await genFile(file, frames, size, format, 120);
  const title = `${size} ${format} "${op}", ${frames.toLocaleString("en-US")} frames${spec.note ? ` (${spec.note})` : ""}`;
  const sc: ThroughputScenario = { kind: "throughput", id, title, size, format, op, frames, frameBytes: payloadBytes(w, h, fmt), fileBytes, memcpy: { bps: 0, setBps: 0, memcpyBps: 0, slots: 0, processes: 1, oneBps: 0 }, rows: [] };
  const t = new Run(b, spec, sc, file);
  try {
    const rows = [...(await memoryCeiling(t)), await cpuCeiling(t)];
    const { cat, pipe } = await chains(t);
    rows.push(cat, pipe);
    for (const n of workerCounts(spec.workers, b.cfg.maxWorkers)) rows.push(await shm(t, n));
    for (const r of rows) r.vsPipe = Number.isFinite(pipe.fps) && Number.isFinite(r.fps) ? r.fps / pipe.fps : null;
    sc.rows = rows.sort((a, b) => order(a) - order(b));
  } finally {
    rmSync(file, { force: true });
  }
  return sc;
}
