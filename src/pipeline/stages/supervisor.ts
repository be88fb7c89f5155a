/**
 * `run`: the everyday entry point. Starts producer (which creates the
 * pipeline, sized from the first frame), N workers and the consumer at once
 * as separate OS processes of this executable (workers and consumer wait for
 * the rings), replaces workers that die (at
 * most RESTARTS_PER_SECOND; a frame that kills workers repeatedly is failed
 * by the pipeline itself, see Abort.POISONED), stops everything on SIGINT/
 * SIGTERM, removes every object it created, and reports.
 */
import type { Subprocess } from "bun";
import { mostSevere, Exit } from "../../errors";
import { log } from "../../log";
import { Abort, C, LINE, RESERVED_BASE, MAX_WORKERS, P, R, W, WORKERS_OFF } from "../layout";
import { openPipeline, type Pipeline } from "../ring/pipeline";
import { cleanByName } from "../ring/lifecycle";
import { abortMessage } from "./peers";
import { exitCodeOf, selfCommand } from "./spawn";

export const RESTARTS_PER_SECOND = 5;

export interface RunOptions {
  name: string;
  workers: number;
  op: string;
  /** Arguments passed to the producer (input, format, geometry, when-full, ...). */
  producerArgs: string[];
  /** Arguments passed to the consumer (output, format). */
  consumerArgs: string[];
  /** Arguments passed to every stage (timeout, ...). */
  stageArgs: string[];
  progress: boolean;
  /** Called every ~100 ms with the attached pipeline (bench, chaos tools). */
  onSample?: (p: Pipeline) => void;
}

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
  wallS: number;
  producerBlockedS: number;
  consumerWaitS: number;
  perWorker: Record<string, number>;
  workerPids: number[];
  /** An error only the supervisor can report (a poisoned frame, a dead stage). */
  error?: string;
}

type Child = { role: "producer" | "worker" | "consumer"; proc: Subprocess<any, any, any> };

export async function runPipeline(o: RunOptions): Promise<RunReport> {
  const self = selfCommand();
  const parent = ["--parent-pid", String(process.pid)];
  const t0 = performance.now();
  const report: RunReport = {
    name: o.name,
    code: 0,
    codes: { producer: 0, consumer: 0, workers: [] },
    framesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    dropped: 0,
    redone: 0,
    restarts: 0,
    wallS: 0,
    producerBlockedS: 0,
    consumerWaitS: 0,
    perWorker: {},
    workerPids: [],
  };
  let stopping = 0; // signal number that stops the run
  const children = new Set<Child>();
  /** Pids this supervisor terminated: their 143 is our doing, not a failure. */
  const terminated = new Set<number>();
  const terminate = (c: Child) => {
    terminated.add(c.proc.pid);
    c.proc.kill("SIGTERM");
  };
  const onSignal = (sig: number) => () => {
    if (stopping) return;
    stopping = sig;
    for (const c of children) terminate(c);
  };
  const onInt = onSignal(2);
  const onTerm = onSignal(15);
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  process.on("SIGHUP", onTerm);

  const env = { ...process.env, SHMIMG_QUIET: "1" };
  const producer = Bun.spawn([...self, "produce", "--create", "--name", o.name, "--op", o.op, ...o.producerArgs, ...o.stageArgs, ...parent], {
    stdin: "inherit",
    stdout: "pipe",
    stderr: "inherit",
    env: byteMoverEnv(env, o.producerArgs, "--in-format"),
  });
  children.add({ role: "producer", proc: producer });
  // Workers and consumer start now, in parallel with the producer: each waits
  // for the rings this run's producer creates (--parent-pid: openWhenCreated).
  const spawnWorker = () => {
    const proc = Bun.spawn([...self, "work", "--name", o.name, "--op", o.op, ...o.stageArgs, ...parent], { stdin: "ignore", stdout: "ignore", stderr: "inherit", env });
    report.workerPids.push(proc.pid);
    children.add({ role: "worker", proc });
  };
  for (let k = 0; k < o.workers; k++) spawnWorker();
  const consumer = Bun.spawn([...self, "consume", "--name", o.name, ...o.consumerArgs, ...o.stageArgs, ...parent], { stdin: "ignore", stdout: "inherit", stderr: "inherit", env: byteMoverEnv(env, o.consumerArgs, "--out-format") });
  children.add({ role: "consumer", proc: consumer });
  // Wait for "created" (the producer read the first frame and made the objects).
  const reader = producer.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  if (!line.startsWith("created")) {
    // No rings: the waiting stages have nothing to do.
    for (const c of children) if (c.proc !== producer) terminate(c);
    await Promise.all([...children].map((c) => c.proc.exited));
    report.codes.producer = exitCodeOf(producer);
    report.code = stopping ? 128 + stopping : report.codes.producer || Exit.INTERNAL;
    return finish(report, t0, undefined, onInt, onTerm);
  }
  let p: Pipeline | undefined;
  try {
    p = openPipeline(o.name);
    p.setI32(R.runPid, process.pid);
    const pl = p;

    const restartTimes: number[] = [];
    let consumerDone = false;
    let lastProgress = 0;
    while (children.size > 0) {
      let timer: Timer | undefined;
      const exited = await Promise.race([
        ...[...children].map((c) => c.proc.exited.then(() => c)),
        new Promise<undefined>((res) => (timer = setTimeout(res, 100))),
      ]);
      // A pending timer would keep this process alive up to 100 ms after the last stage exits.
      clearTimeout(timer);
      sample(pl, report);
      o.onSample?.(pl);
      if (o.progress) lastProgress = progress(pl, t0, lastProgress);
      if (!exited) continue;
      children.delete(exited);
      const code = exitCodeOf(exited.proc);
      // Stages we stopped (signal or abort) report our decision, not a failure of their own.
      if (terminated.has(exited.proc.pid) && (code === 143 || code === 130 || code === Exit.STAGE_FAILED)) continue;
      if (exited.role === "producer") {
        report.codes.producer = code;
      } else if (exited.role === "consumer") {
        consumerDone = true;
        report.codes.consumer = code;
        if (code !== 0 && code !== Exit.INCOMPLETE) {
          // Nobody will drain the ring: stop the others.
          pl.casI32(R.abort, Abort.NONE, Abort.SUPERVISOR);
          pl.postAll();
          for (const c of children) terminate(c);
        }
      } else {
        const killed = exited.proc.signalCode !== null && code !== 143 && code !== 130;
        if (killed && !stopping && !consumerDone && pl.i32(R.abort) === Abort.NONE) {
          // Replace a crashed worker, at most RESTARTS_PER_SECOND.
          const now = performance.now();
          while (restartTimes.length && now - restartTimes[0]! > 1000) restartTimes.shift();
          if (restartTimes.length >= RESTARTS_PER_SECOND) await Bun.sleep(1000 - (now - restartTimes[0]!));
          restartTimes.push(performance.now());
          report.restarts++;
          log.warn(`run: worker pid ${exited.proc.pid} died (${exited.proc.signalCode}); starting a replacement`);
          spawnWorker();
        } else if (!killed || stopping) {
          report.codes.workers.push(code);
          if (code !== 0 && !stopping && pl.i32(R.abort) === Abort.NONE) {
            // A worker failed on its own (it printed why): nobody else would
            // do better and, with no worker left, the pipeline would stall.
            pl.casI32(R.abort, Abort.NONE, Abort.SUPERVISOR);
            pl.postAll();
            for (const c of children) terminate(c);
          }
        }
      }
    }
    sample(pl, report);
    if (pl.i32(R.abort) === Abort.POISONED) report.error = abortMessage(pl);
  } finally {
    for (const c of children) c.proc.kill("SIGKILL");
    if (p) p.detach();
    const r = cleanByName(o.name, true);
    if (r.refused) log.warn(r.refused);
  }
  const producerCode = report.codes.producer >= 128 && report.codes.producer !== 141 ? Exit.STAGE_FAILED : report.codes.producer;
  const consumerCode = report.codes.consumer >= 128 && report.codes.consumer !== 141 ? Exit.STAGE_FAILED : report.codes.consumer;
  report.code = stopping ? 128 + stopping : mostSevere([producerCode, consumerCode, ...report.codes.workers]);
  return finish(report, t0, p, onInt, onTerm);
}

/**
 * Producer and consumer only move bytes (read -> slot, slot -> writev) unless
 * they convert pixels (y4m, pnm, png): JSC's top tier (FTL) compiling their
 * loops cost the consumer ~90 ms of CPU and +40 MiB of malloc peak over 100k
 * frames (peak RSS +20% vs 1k frames; +2% without it), for no speed-up. Off
 * for them unless the user set it; workers (op kernels, 2-4x faster with FTL)
 * keep it.
 */
function byteMoverEnv(env: Record<string, string | undefined>, args: string[], flag: string): Record<string, string | undefined> {
  const k = args.indexOf(flag);
  const format = k >= 0 ? args[k + 1] : "native";
  if ((format !== "native" && format !== "rawvideo") || env.BUN_JSC_useFTLJIT !== undefined) return env;
  return { ...env, BUN_JSC_useFTLJIT: "0" };
}

function finish(report: RunReport, t0: number, _p: Pipeline | undefined, onInt: () => void, onTerm: () => void): RunReport {
  report.wallS = (performance.now() - t0) / 1000;
  process.off("SIGINT", onInt);
  process.off("SIGTERM", onTerm);
  process.off("SIGHUP", onTerm);
  return report;
}

/** Reads counters from shared memory (before the objects are removed). */
function sample(p: Pipeline, r: RunReport): void {
  r.framesIn = p.f64(P.head);
  r.dropped = p.f64(P.dropped);
  r.producerBlockedS = p.f64(P.blockedUs) / 1e6;
  r.redone = p.f64(R.redone);
  const d = p.delivery();
  r.framesOut = d.delivered;
  r.bytesOut = d.offset;
  for (let j = 0; j < MAX_WORKERS; j++) {
    const b = WORKERS_OFF + j * LINE;
    const raw = p.i32(b + W.pid);
    if (raw <= RESERVED_BASE) continue; // being registered
    const pid = Math.abs(raw);
    if (pid) r.perWorker[pid] = Math.max(r.perWorker[pid] ?? 0, p.f64(b + W.frames));
  }
  r.consumerWaitS = p.f64(C.blockedUs) / 1e6;
}

function progress(p: Pipeline, t0: number, last: number): number {
  const now = performance.now();
  if (now - last < 200) return last;
  const s = (now - t0) / 1000;
  const d = p.delivery();
  process.stderr.write(`\r\x1b[Kshmimg run: ${d.delivered} frames, ${(d.delivered / s).toFixed(0)} frames/s, ${(d.offset / s / 1e6).toFixed(1)} MB/s`);
  return now;
}
