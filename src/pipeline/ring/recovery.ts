/**
 * Finding dead owners and giving their work back (invariant I5).
 *
 * Any stage may run recover(): workers, producer and consumer all do, on
 * every wait tick and every ~250 ms while busy, so a frame held by a killed
 * worker is handed out again within a second even if every other worker is
 * busy. A cheap scan without the lock looks for owners that are gone; only
 * then the LOCK semaphore (SEM_UNDO, so a recoverer killed mid-way does not
 * wedge anyone) is taken and the scan is redone with CAS on every change.
 */
import { isAlive } from "../ipc/proc";
import { libc } from "../../native/libc";
import { shim } from "../../native/shim";
import { lock, unlock } from "../ipc/sems";
import { Abort, Eos, H, Heal, ownerOf, P, packState, R, S, State, stateOf, U, W, WORKER_ENTRIES } from "../layout";
import type { Pipeline } from "./pipeline";
import { poison } from "./handback";

/** Byte offset of pid's worker-table entry, or -1. */
function entryOf(p: Pipeline, pid: number): number {
  for (const b of WORKER_ENTRIES) if (p.i32(b + W.pid) === pid) return b;
  return -1;
}

/** Start time recorded for pid in the worker table (0 if unknown). */
function workerStart(p: Pipeline, pid: number): number {
  const b = entryOf(p, pid);
  return b < 0 ? 0 : p.f64(b + W.start);
}

/**
 * Is the owner of raw slot i (pid from its state word) alive? Its start time
 * comes from the slot (written right after the claim), else from the worker
 * table, else the producer line, so a dead owner whose pid was recycled by an
 * unrelated process is still seen as dead.
 */
function ownerAlive(p: Pipeline, pid: number, i: number): boolean {
  if (stateOf(p.state(p.raw, i)) === State.WRITING) return isAlive(pid, pid === p.i32(P.pid) ? p.f64(P.start) : 0);
  const start = p.slotF64(p.raw, i, S.ownerStart) || workerStart(p, pid);
  return isAlive(pid, start);
}

const SIGKILL = 9;

/** Forgets who claimed raw slot i and when (before it is made READY again). */
function clearClaim(p: Pipeline, i: number): void {
  p.setSlotF64(p.raw, i, S.ownerStart, 0);
  p.setSlotF64(p.raw, i, S.claimedUs, 0);
}

function producerDead(p: Pipeline): boolean {
  const pid = p.i32(P.pid);
  return pid !== 0 && p.i32(P.eos) === Eos.NONE && !isAlive(pid, p.f64(P.start));
}

/** I9: `run` will start another producer, so a dead one does not end the stream. */
function producerHealed(p: Pipeline): boolean {
  const run = p.i32(R.runPid);
  return (p.i32(U.heal) & Heal.PRODUCER) !== 0 && run > 0 && isAlive(run, 0);
}

/** The worker-table entry at byte offset b names a worker (pid > 0) that is dead. */
export function workerEntryDead(p: Pipeline, b: number): boolean {
  const pid = p.i32(b + W.pid);
  return pid > 0 && !isAlive(pid, p.f64(b + W.start));
}

/** A worker-table entry counted in the WORK sleepers whose worker is dead. */
function deadSleeper(p: Pipeline, b: number): boolean {
  return p.i32(b + W.sleeping) === 1 && workerEntryDead(p, b);
}

/**
 * When raw slot i was claimed (µs). 0 in S.claimedUs: the claimer is between
 * its CAS and its stamp (a few instructions), or was stopped there (I11).
 * Then the time it wrote in its worker-table entry just before the CAS
 * stands in. The frame's publish stamp must not: a frame that waited in the
 * ring longer than --frame-timeout would get its claimer SIGKILLed within
 * microseconds of the claim (seen: a healthy worker killed, "held frame seq 7
 * for 0.0 s").
 */
function claimedAt(p: Pipeline, i: number, owner: number): number {
  const stamped = p.slotF64(p.raw, i, S.claimedUs);
  if (stamped > 0) return stamped;
  const b = entryOf(p, owner);
  return b < 0 ? 0 : p.f64(b + W.claimingUs); // no entry (yet): not overdue; the next pass sees the stamp
}

/** Raw slot i has been CLAIMED for longer than the pipeline's --frame-timeout (I11); `now` in µs. */
function overdue(p: Pipeline, i: number, now: number): boolean {
  const limit = p.frameTimeoutUs;
  if (limit <= 0) return false;
  const at = claimedAt(p, i, ownerOf(p.state(p.raw, i)));
  return at > 0 && now - at > limit;
}

/** True if some slot, the producer or a sleeping worker has a dead owner, or a claim is overdue (no lock, no writes). */
export function anyDead(p: Pipeline): boolean {
  const now = shim.shim_now_us();
  for (let i = 0; i < p.K; i++) {
    const w = p.state(p.raw, i);
    const s = stateOf(w);
    if (s === State.CLAIMED && overdue(p, i, now)) return true;
    if ((s === State.CLAIMED || s === State.WRITING) && !ownerAlive(p, ownerOf(w), i)) return true;
  }
  for (const b of WORKER_ENTRIES) if (deadSleeper(p, b)) return true;
  // A healed producer's death needs work only until head is settled (I7, I9).
  return producerDead(p) && (!producerHealed(p) || p.f64(P.head) < p.position().n + 1);
}

/** A worker SIGKILLed because it held a frame past --frame-timeout. */
export interface HungWorker {
  pid: number;
  seq: number;
  heldS: number;
}

export interface RecoveryResult {
  /** Hung owners SIGKILLed by this pass (their frames are redone by a later pass, once they are gone). */
  killed: HungWorker[];
  redone: number;
  discarded: number;
  poisonedSeq: number;
  producerDied: boolean;
}

/**
 * Recovers dead owners; returns what was done (all zero when nothing was
 * dead or the lock was busy: another stage is recovering).
 */
export function recover(p: Pipeline): RecoveryResult {
  const res: RecoveryResult = { killed: [], redone: 0, discarded: 0, poisonedSeq: -1, producerDied: false };
  if (!anyDead(p)) return res;
  if (!lock(p.semid, 1000)) return res;
  try {
    for (let i = 0; i < p.K; i++) {
      const w = p.state(p.raw, i);
      const s = stateOf(w);
      const owner = ownerOf(w);
      const now = shim.shim_now_us();
      if (s === State.CLAIMED && overdue(p, i, now) && ownerAlive(p, owner, i)) {
        // I11: a live owner past its deadline is hung (endless op, silent
        // filter, SIGSTOP). Pid and start time were just checked; SIGKILL
        // also ends a stopped process. Once it is gone, a later pass redoes
        // the frame as for any crash (attempts + 1, poisoned at the limit).
        if (p.state(p.raw, i) === w && libc.kill(owner, SIGKILL) === 0)
          res.killed.push({ pid: owner, seq: p.slotF64(p.raw, i, S.seq), heldS: (now - claimedAt(p, i, owner)) / 1e6 });
        continue;
      }
      if (s === State.CLAIMED && !ownerAlive(p, owner, i)) {
        const pw = p.state(p.proc, i);
        const n = p.slotF64(p.raw, i, S.n);
        // The worker committed and died before freeing the raw slot (I3 holds):
        // its result is still DONE, or the consumer has already delivered it and
        // freed the processed slot. The consumer records delivered before it
        // frees (I4) and pw was loaded first, so a FREE slot whose frame was
        // delivered shows n < delivered here. Redoing such a frame would leave a
        // stale DONE result that blocks slot i for good (I2).
        if ((stateOf(pw) === State.DONE && p.slotF64(p.proc, i, S.n) === n) || n < p.delivered()) {
          if (p.casState(p.raw, i, w, State.FREE)) p.rawFreed.post();
          continue;
        }
        if (stateOf(pw) === State.WRITING && ownerOf(pw) === owner) p.casState(p.proc, i, pw, State.FREE); // half-written result: discard
        const attempts = p.slotU32(p.raw, i, S.attempts) + 1;
        p.setSlotU32(p.raw, i, S.attempts, attempts);
        p.setF64(R.recoveries, p.f64(R.recoveries) + 1);
        if (attempts >= p.raw.u32[H.maxAttempts >> 2]!) {
          // Poisoned: the consumer stops the stream when it reaches this
          // frame, after every earlier one (I12's rule). Should the processed
          // slot have changed under us, abort at once (the older rule).
          const seq = p.slotF64(p.raw, i, S.seq);
          const message = `frame seq ${seq} killed its worker ${attempts} times (a crash, or a hang past --frame-timeout); giving up on the stream`;
          if (poison(p, i, w, packState(State.FREE, 0), 0, message)) res.poisonedSeq = seq;
          else if (p.casState(p.raw, i, w, packState(State.POISONED, 0))) {
            res.poisonedSeq = seq;
            p.setF64(R.abortSeqF, seq);
            p.casI32(R.abort, Abort.NONE, Abort.POISONED);
          }
        } else {
          clearClaim(p, i); // no claimer (see ownerAlive), no claim age
          // Publishes the frame again: pairs with the claim scan in work.ts.
          if (p.casState(p.raw, i, w, State.READY)) {
            p.setF64(R.redone, p.f64(R.redone) + 1);
            res.redone++;
          }
        }
      } else if (s === State.WRITING && !ownerAlive(p, owner, i)) {
        if (p.slotF64(p.raw, i, S.n) === p.position().n) {
          // The producer died after committing this frame (I7): its payload is complete; publish it.
          // Pairs with the state load in the workers' claim scan.
          p.casState(p.raw, i, w, State.READY);
        } else if (p.casState(p.raw, i, w, State.FREE)) res.discarded++; // died inside it: discard (never delivered)
      }
    }
    if (producerDead(p)) {
      // Every committed frame is published (above), so head = committed n + 1 (I7),
      // also for a frame published but not yet counted in head when the producer died.
      p.setF64(P.head, Math.max(p.f64(P.head), p.position().n + 1));
      if (!producerHealed(p)) {
        p.setF64(P.eosSeq, p.f64(P.lastSeq));
        p.casI32(P.eos, Eos.NONE, Eos.PRODUCER_DIED);
        res.producerDied = true;
      }
    }
    // Worker table: mark dead workers' entries free for reuse (pid negated keeps
    // stats visible) and take a worker killed asleep out of the WORK sleepers.
    for (const b of WORKER_ENTRIES) {
      const pid = p.i32(b + W.pid);
      if (workerEntryDead(p, b) && p.casI32(b + W.pid, pid, -pid)) p.work.releaseSleeper(b + W.sleeping);
    }
  } finally {
    unlock(p.semid);
  }
  p.postAll();
  return res;
}
