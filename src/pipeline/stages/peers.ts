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
import { checkIntegrity, validAbort, validSeq } from "../ring/integrity";
import { liveCount } from "../ipc/sems";
import { processState } from "../ipc/proc";
import { Abort, C, Eos, ownerOf, P, R, S, Sem, State, stateOf } from "../layout";
import type { Pipeline } from "../ring/pipeline";

export class StageFailed extends ShmimgError {
  constructor(message: string) {
    super(message, Exit.STAGE_FAILED);
  }
}

/** The pipeline's abort flag is set: exit with the code its cause deserves. */
export class Aborted extends ShmimgError {
  constructor(p: Pipeline) {
    const a = validAbort(p.i32(R.abort));
    super(abortMessage(p) ?? "aborted", a === Abort.POISONED || a === Abort.SUPERVISOR ? Exit.STAGE_FAILED : Exit.INVALID);
    // An unknown code is this stage's own finding (corruption), not a consequence.
    this.secondary = a !== undefined;
  }
}

/** The pipeline was removed under this stage (I10): exit 2 saying so. */
export class PipelineRemoved extends ShmimgError {
  constructor(p: Pipeline, how: string) {
    super(
      `pipeline "${p.name}" was removed while this stage was using it (${how}), e.g. by \`shmimg clean --force\` or ipcrm; this stage stops. Frames already delivered stay delivered; start a new pipeline for the rest`,
      Exit.INVALID,
    );
  }
}

/** Throws PipelineRemoved when the set is gone or the raw segment is marked for removal. */
export function checkRemoved(p: Pipeline): void {
  const how = p.removal();
  if (how) throw new PipelineRemoved(p, how);
}

export function checkAbort(p: Pipeline): void {
  if (p.i32(R.abort) !== Abort.NONE) throw new Aborted(p);
}

/** What the abort field says, every number validated before it is printed (I6). */
export function abortMessage(p: Pipeline): string | undefined {
  const raw = p.i32(R.abort);
  if (raw === Abort.NONE) return undefined;
  const a = validAbort(raw);
  if (a === undefined) return `corrupt recovery line in pipeline "${p.name}" (shmid ${p.raw.shmid}): abort code ${raw} is not one shmimg writes; every stage of the pipeline stops. Run \`shmimg clean --name ${p.name} --force\``;
  const s = validSeq(p.f64(R.abortSeqF));
  const frame = s === undefined ? "a frame (its recorded seq is not a frame number: the segment is corrupt)" : `frame seq ${s}`;
  if (a === Abort.POISONED) return `${frame} killed its worker ${p.maxAttempts} times (a crash, or a hang past --frame-timeout); giving up on the stream`;
  if (a === Abort.OP_FAILED) return `a worker could not process ${frame}; see its error above`;
  if (a === Abort.OP_ERROR) return `${frame} failed in the op chain ${p.maxAttempts} times; the consumer's ERROR line gives the op's message (earlier frames were delivered)`;
  if (a === Abort.CORRUPT) return `another stage found pipeline "${p.name}"'s shared memory corrupt (see its ERROR line); run \`shmimg clean --name ${p.name} --force\``;
  return "the pipeline was stopped by its supervisor";
}

/**
 * Some worker is busy with a frame: a raw slot is CLAIMED by a process that
 * runs (or sleeps inside its op). A stopped (SIGSTOP) or dead claimer is no
 * progress: the --timeout clock keeps running for it.
 */
function anyBusy(p: Pipeline): boolean {
  for (let i = 0; i < p.K; i++) {
    const w = p.state(p.raw, i);
    if (stateOf(w) !== State.CLAIMED) continue;
    const st = processState(ownerOf(w), p.slotF64(p.raw, i, S.ownerStart));
    if (st === "running" || st === "sleeping") return true;
  }
  return false;
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
    /** The consumer's own delivery cursor (for checkIntegrity). */
    readonly delivered?: () => number,
  ) {}

  /**
   * Call after every frame: resets the --timeout clock and, at most every
   * 250 ms, looks for dead owners (a busy stage never reaches tick()).
   * One clock read per frame; pass `now` if the caller already has it.
   */
  frameDone(now = shim.shim_now_us()): void {
    // Back from an idle gap (a producer blocked reading its input, a paced
    // source): look around before going on, the pipeline may have been
    // removed or stopped meanwhile (I10).
    const idle = now - this.lastProgress > 100_000;
    this.lastProgress = now;
    if (idle || now - this.lastRecovery > 250_000) this.recoverNow(now);
  }

  private recoverNow(now: number): void {
    this.lastRecovery = now;
    checkRemoved(this.p);
    const r = recover(this.p);
    if (r.redone) {
      this.redone += r.redone;
      consola.info(`${this.role}: a worker died holding ${r.redone} frame(s); handed them to another worker`);
    }
    for (const k of r.killed)
      consola.warn(`${this.role}: worker pid ${k.pid} held frame seq ${k.seq} for ${k.heldS.toFixed(1)} s, longer than --frame-timeout ${this.p.frameTimeoutUs / 1e6} s; killed it (SIGKILL), the frame will be redone`);
    if (r.producerDied) consola.info(`${this.role}: the producer died (pid ${this.p.i32(P.pid)}); delivering the frames it completed`);
  }

  /** Called by Event.waitFor while this stage waits for `what` (a function: worked out only when it is said). */
  tick(what: string | (() => string)): void {
    checkSignals();
    checkAbort(this.p);
    const now = shim.shim_now_us();
    this.recoverNow(now);
    const p = this.p;
    // Nothing to do is a reason to look for an impossible state (I6); the consumer knows its cursor.
    checkIntegrity(p, this.role === "consumer" ? this.delivered?.() : undefined);
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
    // A frame claimed by a live, running worker is progress, however long it
    // takes: only --frame-timeout bounds it (I11); a stopped claimer is not.
    if (this.timeoutS > 0 && anyBusy(p)) this.lastProgress = now;
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
