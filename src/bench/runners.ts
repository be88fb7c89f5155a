/**
 * Running the measured configurations as real processes and collecting what
 * they report: wall time (spawn of the first process to exit of the last),
 * exit codes, per-process peak RSS and CPU time, per-frame delivery times
 * and latencies recorded by the last stage.
 *
 * (a) shm:   `shmimg run --input FILE --output /dev/null --json` (supervisor,
 *            producer, N workers, consumer); per-process numbers come from
 *            the stage log every shmimg process appends to as it exits.
 * (b)/(c) chains: processes joined by pipes the bench makes itself (pipe2,
 *            each sized with F_SETPIPE_SZ), stdin of the first = the frame
 *            file, stdout of the last = /dev/null; per-process numbers from
 *            wait4's rusage (CPU) and the stage log or /proc polling (peak
 *            RSS); the last stage is `pipe-work --mode sink`, which records
 *            delivery times.
 * tools:     `shmimg pipe-work --mode cpu|memcpy` print one JSON line.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { selfCommand } from "../pipeline/stages/spawn";
import { cleanByName } from "../pipeline/ring/lifecycle";
import type { RunReport } from "../pipeline/stages/supervisor";
import { readStageLog, STAGE_LOG_ENV, statusBytes } from "./stage-log";
import { foreign, fromRusage, fromStage, mark, type ProcStat } from "./proc-stats";
import { closeQuietly, makePipe } from "./sys";
import { loadDeliveries, type Deliveries } from "../io/latency-log";

export interface RunResult {
  wallS: number;
  code: number;
  procs: ProcStat[];
  /** CPU time the machine spent on processes other than this run's during it (s; /proc/stat busy minus ours). */
  foreignCpuS: number;
  report?: RunReport;
  /** Per-frame delivery times (and latencies) recorded by the last stage. */
  deliveries?: Deliveries;
  stderr: string;
}

export class BenchError extends Error {}

let seq = 0;
const uid = () => `${process.pid}-${++seq}`;

async function exitedWithin(procs: Subprocess<any, any, any>[], timeoutS: number, onTimeout?: () => void): Promise<boolean> {
  let timer: Timer | undefined;
  const timeout = new Promise<false>((res) => (timer = setTimeout(() => res(false), timeoutS * 1000)));
  const all = Promise.all(procs.map((p) => p.exited)).then(() => true);
  const ok = await Promise.race([all, timeout]);
  clearTimeout(timer);
  if (!ok) {
    onTimeout?.();
    // SIGTERM first: run stops its stages and removes its objects.
    for (const p of procs) p.kill("SIGTERM");
    const gone = await Promise.race([all, Bun.sleep(3000).then(() => false)]);
    if (!gone) for (const p of procs) p.kill("SIGKILL");
    await all;
  }
  return ok;
}

export interface ShmOptions {
  dir: string;
  file: string;
  workers: number;
  op: string;
  timeoutS: number;
  fps?: number;
  /** Consumer records per-frame delivery times and latencies (run --latency-out). */
  deliveries?: boolean;
  /** Extra arguments for run (e.g. --max-size for an empty stream). */
  extra?: string[];
  /**
   * false: no per-process stage log (its hook costs every stage a module load
   * and a /proc read at exit, ~1-3 ms of a short job that ffmpeg does not pay);
   * CPU is then run's wait4 rusage, which includes the stages it waited for.
   */
  stageLog?: boolean;
}

/** (a): one `shmimg run`. */
export async function runShm(o: ShmOptions): Promise<RunResult> {
  const tag = uid();
  const log = join(o.dir, `stages-${tag}.jsonl`);
  const lat = join(o.dir, `latency-${tag}.f64`);
  const name = `bench-${tag}`;
  const args = ["run", "--workers", String(o.workers), "--op", o.op, "--input", o.file, "--output", "/dev/null", "--json", "--name", name];
  if (o.fps) args.push("--fps", String(o.fps));
  if (o.deliveries) args.push("--latency-out", lat);
  if (o.extra) args.push(...o.extra);
  const m0 = mark();
  const t0 = performance.now();
  const proc = Bun.spawn([...selfCommand(), ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: o.stageLog === false ? { ...process.env, SHMIMG_QUIET: "1" } : { ...process.env, [STAGE_LOG_ENV]: log, SHMIMG_QUIET: "1" },
  });
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  // A run that hangs: keep what `shmimg stat` says about it before stopping it.
  let state = "";
  const ok = await exitedWithin([proc], o.timeoutS, () => {
    const st = Bun.spawnSync([...selfCommand(), "stat", "--name", name], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    state = (st.stdout.toString() + st.stderr.toString()).trim();
  });
  const wallS = (performance.now() - t0) / 1000;
  const stdout = await out;
  const stderr = await err;
  try {
    cleanByName(name, true); // normally already removed by run itself
  } catch {}
  const procs = o.stageLog === false ? [fromRusage("run (all stages)", proc)] : readStageLog(log).map(fromStage);
  rmSync(log, { force: true });
  let report: RunReport | undefined;
  try {
    report = JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {}
  let deliveries: Deliveries | undefined;
  if (o.deliveries && existsSync(lat)) {
    deliveries = loadDeliveries(lat);
    rmSync(lat, { force: true });
  }
  const code = ok ? (proc.exitCode ?? 128) : 124;
  if (code !== 0)
    throw new BenchError(
      `shmimg ${args.join(" ")} exited ${code}${ok ? "" : ` (stopped after ${o.timeoutS} s)`}: ${stderr.trim().slice(0, 800)}${state ? `\npipeline state at the timeout (shmimg stat):\n${state}` : ""}`,
    );
  return { wallS, code, procs, foreignCpuS: foreign(m0, procs), report, deliveries, stderr };
}

export interface ChainStage {
  role: string;
  argv: string[];
}

export interface ChainOptions {
  dir: string;
  /** stdin of the first stage. */
  file: string;
  stages: ChainStage[];
  /** Bytes per pipe (F_SETPIPE_SZ); 0 = kernel default. */
  pipeSize: number;
  timeoutS: number;
  /** Where the last stage writes its per-frame records (read back and removed). */
  deliveriesFile?: string;
}

/** (b)/(c): stages joined by pipes, file -> stage 0 -> ... -> /dev/null. */
export async function runChain(o: ChainOptions): Promise<RunResult> {
  const n = o.stages.length;
  const fds: number[] = [];
  const inFd = openSync(o.file, "r");
  const outFd = openSync("/dev/null", "w");
  fds.push(inFd, outFd);
  const pipes: [number, number][] = [];
  for (let i = 0; i < n - 1; i++) {
    const p = makePipe(o.pipeSize);
    pipes.push(p);
    fds.push(p[0], p[1]);
  }
  const procs: Subprocess<any, any, any>[] = [];
  const errs: Promise<string>[] = [];
  const log = join(o.dir, `stages-${uid()}.jsonl`);
  const m0 = mark();
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      const p = Bun.spawn(o.stages[i]!.argv, {
        stdin: i === 0 ? inFd : pipes[i - 1]![0],
        stdout: i === n - 1 ? outFd : pipes[i]![1],
        stderr: "pipe",
        env: { ...process.env, SHMIMG_QUIET: "1", [STAGE_LOG_ENV]: log },
      });
      procs.push(p);
      errs.push(new Response(p.stderr).text());
    }
  } finally {
    // The children hold their own ends now; ours would keep EOF from arriving.
    for (const fd of fds) closeQuietly(fd);
  }
  // Peak RSS: shmimg stages report VmHWM at exit (stage log); others (cat) are
  // polled. wait4's ru_maxrss cannot be used: it keeps the peak of the image
  // before exec, i.e. of this (bench) process the child was spawned from.
  const polled = new Map<number, number>();
  const poll = setInterval(() => {
    for (const p of procs) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      try {
        const hwm = statusBytes(readFileSync(`/proc/${p.pid}/status`, "utf8"), "VmHWM");
        polled.set(p.pid, Math.max(polled.get(p.pid) ?? 0, hwm));
      } catch {}
    }
  }, 20);
  const ok = await exitedWithin(procs, o.timeoutS);
  clearInterval(poll);
  const wallS = (performance.now() - t0) / 1000;
  const stderr = (await Promise.all(errs)).join("");
  const codes = procs.map((p) => p.exitCode ?? 128);
  const code = ok ? codes.find((c) => c !== 0) ?? 0 : 124;
  if (code !== 0)
    throw new BenchError(`${o.stages.map((s) => s.argv.slice(-3).join(" ")).join(" | ")} exited [${codes.join(",")}]${ok ? "" : ` (killed after ${o.timeoutS} s)`}: ${stderr.trim().slice(0, 800)}`);
  let deliveries: Deliveries | undefined;
  if (o.deliveriesFile && existsSync(o.deliveriesFile)) {
    deliveries = loadDeliveries(o.deliveriesFile);
    rmSync(o.deliveriesFile, { force: true });
  }
  const logged = new Map(readStageLog(log).map((r) => [r.pid, r]));
  rmSync(log, { force: true });
  const stats = procs.map((p, i) => {
    const st = fromRusage(o.stages[i]!.role, p);
    const rec = logged.get(p.pid);
    st.peakRss = rec ? rec.peakRss : (polled.get(p.pid) ?? 0);
    if (rec) Object.assign(st, { heap: rec.heap, heapCapacity: rec.heapCapacity, extraMemory: rec.extraMemory, mallocPeak: rec.mallocPeak, heapLive: rec.heapLive, objectsLive: rec.objectsLive });
    return st;
  });
  return { wallS, code, procs: stats, foreignCpuS: foreign(m0, stats), deliveries, stderr };
}

/** `shmimg pipe-work ARGS` printing one JSON line. */
export async function runTool<T>(args: string[], timeoutS: number): Promise<T> {
  const proc = Bun.spawn([...selfCommand(), "pipe-work", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, SHMIMG_QUIET: "1" } });
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  const ok = await exitedWithin([proc], timeoutS);
  if (!ok || proc.exitCode !== 0) throw new BenchError(`shmimg pipe-work ${args.join(" ")} failed (${ok ? `exit ${proc.exitCode}` : "timeout"}): ${(await err).trim().slice(0, 800)}`);
  return JSON.parse((await out).trim().split("\n").pop()!) as T;
}

/** `shmimg pipe-work ARGS` in n processes at once; each prints one JSON line. */
export async function runToolParallel<T>(args: string[], n: number, timeoutS: number): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, () => runTool<T>(args, timeoutS)));
}

/** `shmimg gen` into a file; returns its size. */
export async function genFile(path: string, count: number, size: string, format: string, timeoutS: number): Promise<number> {
  const fd = openSync(path, "w");
  const proc = Bun.spawn([...selfCommand(), "gen", "--count", String(count), "--size", size, "--format", format], { stdin: "ignore", stdout: fd, stderr: "pipe", env: { ...process.env, SHMIMG_QUIET: "1" } });
  closeSync(fd);
  const err = new Response(proc.stderr).text();
  const ok = await exitedWithin([proc], timeoutS);
  if (!ok || proc.exitCode !== 0) throw new BenchError(`shmimg gen --count ${count} --size ${size} --format ${format} failed: ${(await err).trim()}`);
  return Bun.file(path).size;
}

/** The self command line, for chain stages. */
export function self(...args: string[]): string[] {
  return [...selfCommand(), ...args];
}
