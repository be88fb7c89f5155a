/**
 * `run`: the everyday entry point. Starts producer (which creates the
 * pipeline, sized from the first frame), N workers and the consumer as
 * separate OS processes of this executable, replaces stages that die (see
 * restarts.ts; a frame that kills workers repeatedly is failed by the
 * pipeline itself, see Abort.POISONED), stops everything on SIGINT/SIGTERM,
 * removes every object it created, and reports (run-report.ts).
 *
 * Which stages it heals (I9 in layout.ts): workers always; the producer when
 * its input can be read again from the recorded position (a regular file, a
 * folder of PNGs); the consumer when its output can be truncated and
 * continued (a regular file, a PNG folder). `--resume` continues a pipeline
 * whose run was killed (resume.ts checks it is the same job).
 *
 * The parts: run() spawns the producer, and at the same time the workers
 * and the consumer, which wait for the rings it creates (--wait-for,
 * openWhenCreated), then waits for its "created" handshake (or takes over a
 * killed run's pipeline and then starts workers and consumer); loop() samples the pipeline and hands each exited child to
 * onExit(), which applies the exit policy of its role; cleanup() kills what
 * is left and removes the objects.
 */
import { Exit } from "../../errors";
import { log } from "../../log";
import { Abort, Eos, Heal, P, R, U } from "../layout";
import { openPipeline, type Pipeline } from "../ring/pipeline";
import { idsOfPipeline, parseCreated, removeCreated } from "../ring/lifecycle";
import type { ObjectIds } from "../ipc/objects";
import { abortMessage } from "./peers";
import { Children, exitCodeOf, STOP_GRACE_MS, type Child, type Role } from "./children";
import { RestartLimiter } from "./restarts";
import { newReport, progress, runExitCode, sample, type RunReport } from "./run-report";
import { takeOver, writeRunRecord, type RunIdentity } from "./resume";
import { Pool } from "./pool";
import { usableCores } from "../ipc/proc";

export { RESTARTS_PER_SECOND } from "./restarts";
export type { RunReport } from "./run-report";

export interface RunOptions {
  name: string;
  /** Most workers (the pool's ceiling; see pool.ts for when more than the cores start). */
  workers: number;
  /** Workers to start with and keep (default: one fewer than the cores, at least 1; pool.ts). */
  minWorkers?: number;
  /** CPUs this run may use (default: usableCores()). */
  cores?: number;
  op: string;
  /** Arguments passed to the producer (input, format, geometry, when-full, ...). */
  producerArgs: string[];
  /** Arguments passed to the consumer (output, format). */
  consumerArgs: string[];
  /** Stages whose format only moves bytes (native, rawvideo): they run without JSC's FTL tier (byteMoverEnv). */
  byteMovers?: { producer: boolean; consumer: boolean };
  /** Arguments passed to every stage (timeout, ...). */
  stageArgs: string[];
  progress: boolean;
  /** Heal bits: roles whose death this run repairs by starting another (workers always). */
  heal: number;
  /** What this job is (checked by --resume against the recorded one). */
  identity: RunIdentity;
  /** Continue the pipeline of a killed run of the same job instead of starting one. */
  resume?: boolean;
  /** Called every ~100 ms with the attached pipeline (bench, chaos tools). */
  onSample?: (p: Pipeline) => void;
}

export async function runPipeline(o: RunOptions): Promise<RunReport> {
  const s = new Supervisor(o);
  s.trapSignals();
  try {
    return await s.run();
  } finally {
    s.releaseSignals();
  }
}

class Supervisor {
  private readonly t0 = performance.now();
  private readonly report: RunReport;
  private readonly children = new Children(["--parent-pid", String(process.pid)]);
  /** Workers kept: one fewer than the cores at first (or --min-workers), more while a window shows they help (pool.ts). */
  private readonly pool: Pool;
  private readonly restarts = { producer: new RestartLimiter(), worker: new RestartLimiter(), consumer: new RestartLimiter() };
  /** Signal number that stops the run (0 while running). */
  private stopping = 0;
  /** When the consumer exited for good (0 while it runs): stages still there STOP_GRACE_MS later are stopped. */
  private consumerDoneAt = 0;
  private p: Pipeline | undefined;
  /** The ids the producer printed at creation: the only objects cleanup() removes (I10). */
  private created: ObjectIds = {};
  private readonly onInt = () => this.stopOnSignal(2);
  private readonly onTerm = () => this.stopOnSignal(15);

  constructor(private readonly o: RunOptions) {
    this.report = newReport(o.name);
    this.pool = new Pool(o.workers, o.cores ?? usableCores(), o.minWorkers);
    this.report.pool = { max: o.workers, started: this.pool.size, added: 0 };
  }

  /** Signals that stop the run, except those it inherited ignored (nohup, `&`): see signals.ts. */
  private trapped(): [NodeJS.Signals, () => void][] {
    const all: [NodeJS.Signals, number, () => void][] = [
      ["SIGINT", 2, this.onInt],
      ["SIGTERM", 15, this.onTerm],
      ["SIGHUP", 1, this.onTerm],
    ];
    return all.filter(([, n]) => !(this.children.keepIgnored & (1 << n))).map(([s, , f]) => [s, f]);
  }

  trapSignals(): void {
    for (const [sig, f] of this.trapped()) process.on(sig, f);
  }

  releaseSignals(): void {
    for (const [sig, f] of this.trapped()) process.off(sig, f);
  }

  private stopOnSignal(sig: number): void {
    if (this.stopping) return;
    this.stopping = sig;
    this.children.stopAll();
  }

  async run(): Promise<RunReport> {
    const r = this.report;
    const o = this.o;
    if (o.resume) {
      const t = takeOver(o.name, o.identity, o.heal);
      this.p = t.p;
      this.created = idsOfPipeline(t.p); // taken over: ours to remove at the end, by these ids
      r.resumedAt = t.delivered;
      log.info(`run: resuming pipeline "${o.name}" after ${t.delivered} frames delivered by an earlier run${t.needsProducer ? `, input from frame ${t.committed}` : ", input already complete"}`);
      if (t.needsProducer) this.spawnProducer(["--resume"]);
    } else {
      const producer = this.spawnProducer(["--create", "--op", o.op, "--workers", String(o.workers)]);
      // In parallel with the producer's start (start-up is most of a short job):
      // they wait for the rings this producer creates (--wait-for, openWhenCreated).
      const waitFor = ["--wait-for", String(producer.proc.pid)];
      for (let k = 0; k < this.pool.size; k++) this.spawnWorker(waitFor);
      this.spawnConsumer(waitFor);
      if (!(await this.awaitCreated(producer))) {
        // No rings: the waiting stages have nothing to do.
        this.children.stopAll();
        while (this.children.size > 0) await this.children.next(100);
        r.code = this.stopping ? 128 + this.stopping : r.codes.producer || Exit.INTERNAL;
        return this.finish();
      }
      this.p = openPipeline(o.name);
      writeRunRecord(this.p, o.identity, o.heal);
    }
    const p = this.p;
    try {
      p.setI32(R.runPid, process.pid);
      if (o.resume) {
        for (let k = 0; k < this.pool.size; k++) this.spawnWorker();
        this.spawnConsumer();
      }
      await this.loop(p);
      sample(p, r);
      if (p.i32(R.abort) === Abort.POISONED) r.error = abortMessage(p);
    } finally {
      this.cleanup();
    }
    r.code = runExitCode(r, this.stopping);
    return this.finish();
  }

  /** Waits for the producer's "created" (it read the first frame and made the objects). */
  private async awaitCreated(producer: Child): Promise<boolean> {
    const reader = (producer.proc.stdout as ReadableStream<Uint8Array>).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    this.created = parseCreated(line);
    if (line.startsWith("created")) return true;
    await producer.proc.exited;
    this.report.codes.producer = exitCodeOf(producer.proc);
    return false;
  }

  private spawnProducer(mode: string[]): Child {
    const o = this.o;
    return this.children.spawn("producer", ["produce", ...mode, "--name", o.name, ...o.producerArgs, ...o.stageArgs], { stdin: "inherit", stdout: mode[0] === "--create" ? "pipe" : "ignore" }, byteMoverEnv(o.byteMovers?.producer));
  }

  private spawnWorker(extra: string[] = []): void {
    const o = this.o;
    const c = this.children.spawn("worker", ["work", "--name", o.name, "--op", o.op, ...o.stageArgs, ...extra], { stdin: "ignore", stdout: "ignore" });
    this.report.workerPids.push(c.proc.pid);
  }

  private spawnConsumer(extra: string[] = []): void {
    const o = this.o;
    this.children.spawn("consumer", ["consume", "--name", o.name, ...o.consumerArgs, ...o.stageArgs, ...extra], { stdin: "ignore", stdout: "inherit" }, byteMoverEnv(o.byteMovers?.consumer));
  }

  /** Until every child has exited: sample (every pool.sampleMs), grow the pool, apply the exit policy to each exit. */
  private async loop(p: Pipeline): Promise<void> {
    let lastProgress = 0;
    while (this.children.size > 0) {
      const exited = await this.children.next(this.pool.sampleMs);
      sample(p, this.report);
      this.o.onSample?.(p);
      if (this.o.progress) lastProgress = progress(p, this.t0, lastProgress);
      if (exited) await this.onExit(p, exited);
      else this.growPool(p);
      // The stream is over; a stage that does not notice (stopped, stuck) must not keep run alive.
      if (this.consumerDoneAt && performance.now() - this.consumerDoneAt > STOP_GRACE_MS) this.children.stopAll();
    }
  }

  /** More workers when a window shows frames waiting for busy workers while CPUs idle (pool.ts). */
  private growPool(p: Pipeline): void {
    if (this.stopping || this.consumerDoneAt) return;
    const more = this.pool.grow(p, [process.pid, ...this.children.pids()], this.children.pids("worker"), performance.now());
    if (!more) return;
    this.report.pool.added = this.pool.grown;
    log.info(`run: frames wait for a worker while a CPU is idle; ${more > 1 ? `${more} more workers` : "one more worker"} (${this.pool.size} of at most ${this.pool.max})`);
    for (let k = 0; k < more; k++) this.spawnWorker();
  }

  private async onExit(p: Pipeline, c: Child): Promise<void> {
    const code = exitCodeOf(c.proc);
    // Stages we stopped (signal or abort, SIGKILL after the grace) report our decision, not a failure of their own.
    if (this.children.stoppedByUs(c) && (code === 143 || code === 130 || code === 137 || code === Exit.STAGE_FAILED)) return;
    // A stage that exits 130/143 by itself was sent SIGINT/SIGTERM directly: Ctrl-C reaches
    // the whole process group, often before run's own handler has run. The run is being
    // interrupted, not failing.
    if (!this.children.stoppedByUs(c) && c.proc.signalCode === null && (code === 130 || code === 143)) return this.stopOnSignal(code - 128);
    if (this.crashed(c) && (await this.replace(p, c))) return;
    if (c.role === "producer") this.onProducerExit(p, c, code);
    else if (c.role === "consumer") this.onConsumerExit(p, c, code);
    else this.onWorkerExit(p, c, code);
  }

  /**
   * Killed by a signal we did not send (kill -9, a crash; also SIGINT/SIGHUP
   * in the first milliseconds of a stage, before it installs its handlers: a
   * stage that handles a signal exits with a code instead).
   */
  private crashed(c: Child): boolean {
    return c.proc.signalCode !== null && !this.children.stoppedByUs(c);
  }

  /** Starts another stage of a crashed one's role when that role heals here; false when it does not. */
  private async replace(p: Pipeline, c: Child): Promise<boolean> {
    if (this.stopping || p.i32(R.abort) !== Abort.NONE) return false;
    const role = c.role;
    if (role === "worker" && this.consumerDoneAt) return false;
    if (role === "producer" && (!(this.o.heal & Heal.PRODUCER) || p.i32(P.eos) !== Eos.NONE)) return false;
    if (role === "consumer" && !(this.o.heal & Heal.CONSUMER)) return false;
    const mark = role === "producer" ? p.position().n : role === "consumer" ? p.delivered() : undefined;
    if (!(await this.restarts[role].acquire(mark))) {
      log.warn(`run: the ${role} died ${this.report.restartsByRole[role] ? "again " : ""}without moving the stream on after its last restarts; not starting another`);
      return false;
    }
    this.report.restarts++;
    this.report.restartsByRole[role]++;
    const field = role === "producer" ? U.restartsProducer : role === "consumer" ? U.restartsConsumer : U.restartsWorker;
    p.raw.u32[field >> 2] = this.report.restartsByRole[role];
    log.warn(`run: ${role} pid ${c.proc.pid} died (${c.proc.signalCode}); starting a replacement${role === "worker" ? "" : ` that resumes at frame ${mark! + (role === "producer" ? 1 : 0)}`}`);
    if (role === "producer") this.spawnProducer(["--resume"]);
    else if (role === "consumer") this.spawnConsumer();
    else this.spawnWorker();
    return true;
  }

  private onProducerExit(p: Pipeline, c: Child, code: number): void {
    // No producer will follow: a stream it left open ends (recovery marks it, I9).
    Atomics.and(p.raw.i32, U.heal >> 2, ~Heal.PRODUCER);
    if (!this.crashed(c)) {
      this.report.codes.producer = code;
    } else if (p.i32(P.eos) === Eos.OK) {
      this.report.codes.producer = 0; // killed after the end of its input was marked: nothing was lost
    } else {
      // The stream is incomplete, not failed: every frame it completed is delivered (exit 3).
      if (!(this.o.heal & Heal.PRODUCER)) log.warn(`run: producer pid ${c.proc.pid} died (${c.proc.signalCode}); its input is a pipe or terminal and cannot be read again, so the stream ends after the frames it completed`);
      this.report.codes.producer = Exit.INCOMPLETE;
    }
  }

  private onConsumerExit(p: Pipeline, c: Child, code: number): void {
    this.consumerDoneAt = performance.now();
    this.report.codes.consumer = code;
    if (this.crashed(c) && !this.stopping)
      this.report.error = `the consumer (pid ${c.proc.pid}) died (${c.proc.signalCode}) after delivering ${p.delivered()} frames${this.o.heal & Heal.CONSUMER ? "" : "; its output is a pipe or terminal, which cannot be continued"}`;
    // Nobody will drain the ring: stop the others.
    if (code !== 0 && code !== Exit.INCOMPLETE) this.abort(p);
  }

  private onWorkerExit(p: Pipeline, c: Child, code: number): void {
    if (this.crashed(c)) return; // after the stream ended, or while stopping: nothing to replace or report
    this.report.codes.workers.push(code);
    // A worker failed on its own (it printed why): nobody else would do
    // better and, with no worker left, the pipeline would stall.
    if (code !== 0 && !this.stopping && p.i32(R.abort) === Abort.NONE) this.abort(p);
  }

  /** Stops the pipeline: the abort flag for the stages, SIGTERM for the processes. */
  private abort(p: Pipeline): void {
    p.casI32(R.abort, Abort.NONE, Abort.SUPERVISOR);
    p.postAll();
    this.children.stopAll();
  }

  private cleanup(): void {
    this.children.killAll();
    this.p?.detach();
    removeCreated(this.o.name, this.created);
  }

  private finish(): RunReport {
    this.report.wallS = (performance.now() - this.t0) / 1000;
    return this.report;
  }
}

export type { Role };

/**
 * Producer and consumer only move bytes (read -> slot, slot -> writev) unless
 * they convert pixels (y4m, pnm, png, jpeg): JSC's top tier (FTL) compiling
 * their loops cost them CPU and malloc (measured, 100k 64x64 frames: consumer
 * 0.165 s user and 87 MiB malloc peak with it, 0.056 s and 59 MiB without;
 * peak RSS +29% vs 1k frames with it, +2% without), for no speed-up. Off for
 * them (a spawn default: the user's own BUN_JSC_useFTLJIT wins); workers
 * (op kernels, 1080p invert 1.0 s with FTL vs 1.4 s without) keep it. Which
 * stages only move bytes is decided by `run` from the formats (RunOptions).
 */
function byteMoverEnv(byteMover: boolean | undefined): Record<string, string> {
  return byteMover ? { BUN_JSC_useFTLJIT: "0" } : {};
}
