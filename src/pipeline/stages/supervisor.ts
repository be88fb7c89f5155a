/**
 * `run`: the everyday entry point. Starts producer (which creates the
 * pipeline, sized from the first frame), N workers and the consumer as
 * separate OS processes of this executable, replaces workers that die (see
 * restarts.ts; a frame that kills workers repeatedly is failed by the
 * pipeline itself, see Abort.POISONED), stops everything on SIGINT/SIGTERM,
 * removes every object it created, and reports (run-report.ts).
 *
 * The parts: run() spawns the producer, the workers and the consumer at once
 * (workers and consumer wait for the rings: --wait-for, openWhenCreated)
 * and waits for the producer's "created" handshake; loop() samples the pipeline
 * and hands each exited child to onExit(), which applies the exit policy of
 * its role; cleanup() kills what is left and removes the objects.
 */
import { Exit } from "../../errors";
import { log } from "../../log";
import { Abort, R } from "../layout";
import { openPipeline, type Pipeline } from "../ring/pipeline";
import { cleanByName } from "../ring/lifecycle";
import { abortMessage } from "./peers";
import { Children, exitCodeOf, STOP_GRACE_MS, type Child } from "./children";
import { RestartLimiter } from "./restarts";
import { newReport, progress, runExitCode, sample, type RunReport } from "./run-report";

export { RESTARTS_PER_SECOND } from "./restarts";
export type { RunReport } from "./run-report";

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
  private readonly workerRestarts = new RestartLimiter();
  /** Signal number that stops the run (0 while running). */
  private stopping = 0;
  /** When the consumer exited (0 while it runs): stages still there STOP_GRACE_MS later are stopped. */
  private consumerDoneAt = 0;
  private p: Pipeline | undefined;
  private readonly onInt = () => this.stopOnSignal(2);
  private readonly onTerm = () => this.stopOnSignal(15);

  constructor(private readonly o: RunOptions) {
    this.report = newReport(o.name);
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
    const producer = this.spawnProducer();
    // In parallel with the producer's start (start-up is most of a short job):
    // they wait for the rings this producer creates (--wait-for, openWhenCreated).
    const waitFor = ["--wait-for", String(producer.proc.pid)];
    for (let k = 0; k < this.o.workers; k++) this.spawnWorker(waitFor);
    this.spawnConsumer(waitFor);
    if (!(await this.created(producer))) {
      // No rings: the waiting stages have nothing to do.
      this.children.stopAll();
      while (this.children.size > 0) await this.children.next(100);
      r.code = this.stopping ? 128 + this.stopping : r.codes.producer || Exit.INTERNAL;
      return this.finish();
    }
    try {
      const p = (this.p = openPipeline(this.o.name));
      p.setI32(R.runPid, process.pid);
      await this.loop(p);
      sample(p, r);
      if (p.i32(R.abort) === Abort.POISONED) r.error = abortMessage(p);
    } finally {
      this.cleanup();
    }
    r.code = runExitCode(r, this.stopping);
    return this.finish();
  }

  private spawnProducer(): Child {
    const o = this.o;
    return this.children.spawn("producer", ["produce", "--create", "--name", o.name, "--op", o.op, ...o.producerArgs, ...o.stageArgs], { stdin: "inherit", stdout: "pipe" }, byteMoverEnv(o.producerArgs, "--in-format"));
  }

  /** Waits for the producer's "created" (it read the first frame and made the objects). */
  private async created(producer: Child): Promise<boolean> {
    const reader = (producer.proc.stdout as ReadableStream<Uint8Array>).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    if (line.startsWith("created")) return true;
    await producer.proc.exited;
    this.report.codes.producer = exitCodeOf(producer.proc);
    return false;
  }

  private spawnWorker(extra: string[] = []): void {
    const o = this.o;
    const c = this.children.spawn("worker", ["work", "--name", o.name, "--op", o.op, ...o.stageArgs, ...extra], { stdin: "ignore", stdout: "ignore" });
    this.report.workerPids.push(c.proc.pid);
  }

  private spawnConsumer(extra: string[]): void {
    const o = this.o;
    this.children.spawn("consumer", ["consume", "--name", o.name, ...o.consumerArgs, ...o.stageArgs, ...extra], { stdin: "ignore", stdout: "inherit" }, byteMoverEnv(o.consumerArgs, "--out-format"));
  }

  /** Until every child has exited: sample every 100 ms, apply the exit policy to each exit. */
  private async loop(p: Pipeline): Promise<void> {
    let lastProgress = 0;
    while (this.children.size > 0) {
      const exited = await this.children.next(100);
      sample(p, this.report);
      this.o.onSample?.(p);
      if (this.o.progress) lastProgress = progress(p, this.t0, lastProgress);
      if (exited) await this.onExit(p, exited);
      // The stream is over; a stage that does not notice (stopped, stuck) must not keep run alive.
      if (this.consumerDoneAt && performance.now() - this.consumerDoneAt > STOP_GRACE_MS) this.children.stopAll();
    }
  }

  private async onExit(p: Pipeline, c: Child): Promise<void> {
    const code = exitCodeOf(c.proc);
    // Stages we stopped (signal or abort) report our decision, not a failure of their own.
    if (this.children.stoppedByUs(c) && (code === 143 || code === 130 || code === Exit.STAGE_FAILED)) return;
    if (c.role === "producer") this.report.codes.producer = code;
    else if (c.role === "consumer") this.onConsumerExit(p, code);
    else await this.onWorkerExit(p, c, code);
  }

  private onConsumerExit(p: Pipeline, code: number): void {
    this.consumerDoneAt = performance.now();
    this.report.codes.consumer = code;
    // Nobody will drain the ring: stop the others.
    if (code !== 0 && code !== Exit.INCOMPLETE) this.abort(p);
  }

  private async onWorkerExit(p: Pipeline, c: Child, code: number): Promise<void> {
    const killed = c.proc.signalCode !== null && code !== 143 && code !== 130;
    if (killed && !this.stopping && !this.consumerDoneAt && p.i32(R.abort) === Abort.NONE) {
      await this.workerRestarts.acquire();
      this.report.restarts++;
      log.warn(`run: worker pid ${c.proc.pid} died (${c.proc.signalCode}); starting a replacement`);
      this.spawnWorker();
      return;
    }
    if (killed && !this.stopping) return;
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
    const r = cleanByName(this.o.name, true);
    if (r.refused) log.warn(r.refused);
  }

  private finish(): RunReport {
    this.report.wallS = (performance.now() - this.t0) / 1000;
    return this.report;
  }
}

/**
 * Producer and consumer only move bytes (read -> slot, slot -> writev) unless
 * they convert pixels (y4m, pnm, png): JSC's top tier (FTL) compiling their
 * loops cost the consumer ~90 ms of CPU and +40 MiB of malloc peak over 100k
 * frames (peak RSS +20% vs 1k frames; +2% without it), for no speed-up. Off
 * for them unless the user set it; workers (op kernels, 2-4x faster with FTL)
 * keep it.
 */
function byteMoverEnv(args: string[], flag: string): Record<string, string> {
  const k = args.indexOf(flag);
  const format = k >= 0 ? args[k + 1] : "native";
  if (format !== "native" && format !== "rawvideo") return {};
  return { BUN_JSC_useFTLJIT: "0" };
}
