/**
 * What a waiting stage does on every tick: signals, the abort flag, crash
 * recovery, one-line notices when a peer role has nobody alive, and the
 * --timeout for peers that are alive but silent.
 */
import { log as consola } from "../../log";
import { shim } from "../../native/shim";
import { checkSignals } from "../../signals";
import { ShmimgError, Exit } from "../../errors";
import { recover } from "../ring/recovery";
import { liveCount } from "../ipc/sems";
import { Abort, C, Eos, P, R, Sem } from "../layout";
import type { Pipeline } from "../ring/pipeline";

export class StageFailed extends ShmimgError {
  constructor(message: string) {
    super(message, Exit.STAGE_FAILED);
  }
}

/** The pipeline's abort flag is set: exit with the code its cause deserves. */
export class Aborted extends ShmimgError {
  constructor(p: Pipeline) {
    super(abortMessage(p) ?? "aborted", p.i32(R.abort) === Abort.OP_FAILED ? Exit.INVALID : Exit.STAGE_FAILED);
    this.secondary = true;
  }
}

export function checkAbort(p: Pipeline): void {
  if (p.i32(R.abort) !== Abort.NONE) throw new Aborted(p);
}

export function abortMessage(p: Pipeline): string | undefined {
  const a = p.i32(R.abort);
  if (a === Abort.NONE) return undefined;
  const seq = p.f64(R.abortSeqF);
  if (a === Abort.POISONED) return `frame seq ${seq} killed its worker ${p.maxAttempts} times; giving up on the stream`;
  if (a === Abort.OP_FAILED) return `a worker could not process frame seq ${seq}; see its error above`;
  return "the pipeline was stopped by its supervisor";
}

export class Peers {
  private lastProgress = shim.shim_now_us();
  private lastRecovery = 0;
  private saidNoWorkers = false;
  private saidNoConsumer = false;
  redone = 0;

  constructor(
    readonly p: Pipeline,
    readonly role: "producer" | "worker" | "consumer",
    readonly timeoutS = 0,
  ) {}

  /**
   * Call after every frame: resets the --timeout clock and, at most every
   * 250 ms, looks for dead owners (a busy stage never reaches tick()).
   * One clock read per frame; pass `now` if the caller already has it.
   */
  frameDone(now = shim.shim_now_us()): void {
    this.lastProgress = now;
    if (now - this.lastRecovery > 250_000) this.recoverNow(now);
  }

  private recoverNow(now: number): void {
    this.lastRecovery = now;
    const r = recover(this.p);
    if (r.redone) {
      this.redone += r.redone;
      consola.info(`${this.role}: a worker died holding ${r.redone} frame(s); handed them to another worker`);
    }
    if (r.producerDied) consola.info(`${this.role}: the producer died (pid ${this.p.i32(P.pid)}); delivering the frames it completed`);
  }

  /** Called by Event.waitFor while this stage waits for `what` (a function: worked out only when it is said). */
  tick(what: string | (() => string)): void {
    checkSignals();
    checkAbort(this.p);
    const now = shim.shim_now_us();
    this.recoverNow(now);
    const p = this.p;
    const eos = p.i32(P.eos);
    if (this.role !== "worker") {
      const noWorkers = liveCount(p.semid, Sem.WORKERS) === 0 && (eos === Eos.NONE || p.delivered() < p.f64(P.head));
      if (noWorkers && !this.saidNoWorkers) consola.info(`${this.role}: no worker is alive in pipeline "${p.name}"; waiting for \`shmimg work --name ${p.name} --op ...\``);
      this.saidNoWorkers = noWorkers;
    }
    if (this.role !== "consumer") {
      const noConsumer = p.i32(C.pid) !== 0 && liveCount(p.semid, Sem.CONSUMERS) === 0;
      if (noConsumer && !this.saidNoConsumer)
        consola.info(`${this.role}: the consumer (pid ${p.i32(C.pid)}) is gone; waiting for \`shmimg consume --name ${p.name}\` to resume at frame ${p.delivered()}`);
      this.saidNoConsumer = noConsumer;
    }
    if (this.timeoutS > 0 && now - this.lastProgress > this.timeoutS * 1e6) {
      // Under run every stage has the same --timeout and run stops them all
      // after the first failure: the first to time out stops the others now,
      // so one stalled peer gives one ERROR line, not one per waiting stage.
      if (p.i32(R.runPid) !== 0 && !p.casI32(R.abort, Abort.NONE, Abort.SUPERVISOR)) throw new Aborted(p);
      if (p.i32(R.runPid) !== 0) p.postAll();
      throw new StageFailed(`${this.role} timed out after ${this.timeoutS} s waiting for ${typeof what === "string" ? what : what()} in pipeline "${p.name}" (run \`shmimg stat --name ${p.name}\` to see who holds what)`);
    }
  }
}
