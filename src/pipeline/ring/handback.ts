/**
 * Invariant I12: a worker whose op chain failed on a frame gives it back
 * itself (it is alive, so recovery would not). At max-attempts it poisons
 * the frame and leaves the reason in the frame's processed slot (recovery
 * does the same for a frame that killed or hung its workers, I5); the
 * consumer stops the stream when it reaches that frame, so every earlier
 * frame is delivered first, and reports the reason in one ERROR line.
 */
import { lock, unlock } from "../ipc/sems";
import { Abort, H, ownerOf, packState, R, S, State, stateOf } from "../layout";
import type { Pipeline } from "./pipeline";

/** Longest reason kept in the processed slot (bytes of UTF-8). */
const MAX_REASON = 1024;

/**
 * Raw slot i is CLAIMED by us (`claimed`) and processed slot i WRITING by us
 * (`writing`): count the attempt and make the frame READY again (partial
 * result discarded), or, once attempts reaches max-attempts, POISONED with
 * `reason` published in processed slot i. Returns the attempt count and
 * whether the frame is now poisoned.
 */
export function handBack(p: Pipeline, i: number, claimed: number, writing: number, reason: (attempts: number) => string): { attempts: number; poisoned: boolean } {
  const attempts = p.slotU32(p.raw, i, S.attempts) + 1;
  p.setSlotU32(p.raw, i, S.attempts, attempts);
  const poisoned = attempts >= p.raw.u32[H.maxAttempts >> 2]!;
  if (poisoned) {
    poison(p, i, claimed, writing, ownerOf(writing), `frame seq ${p.slotF64(p.raw, i, S.seq)}: ${reason(attempts)}`);
    p.postAll();
    return { attempts, poisoned };
  }
  p.casState(p.proc, i, writing, State.FREE);
  const locked = lock(p.semid, 1000); // the R counters are written under LOCK
  try {
    p.setSlotF64(p.raw, i, S.ownerStart, 0);
    p.setSlotF64(p.raw, i, S.claimedUs, 0);
    // Publishes the frame again: pairs with the claim scan in work.ts.
    if (p.casState(p.raw, i, claimed, State.READY) && locked) p.setF64(R.redone, p.f64(R.redone) + 1);
  } finally {
    if (locked) unlock(p.semid);
  }
  p.postAll();
  return { attempts, poisoned };
}

/**
 * Poisons the frame in raw slot i (raw state `rawWord`, processed state
 * `procWord`, which its claimer owns or a recoverer has just freed):
 * `message` goes into processed slot i, its S.attempts says who failed
 * (`failedPid`: the worker whose op failed, I12; 0: the frame killed or hung
 * its workers, I5), the processed slot becomes POISONED and then the raw
 * slot. Returns false if a state changed under us (nothing is published then).
 */
export function poison(p: Pipeline, i: number, rawWord: number, procWord: number, failedPid: number, message: string): boolean {
  const text = new TextEncoder().encode(message).subarray(0, Math.min(MAX_REASON, p.procSlotBytes));
  p.procViews[i]!.set(text);
  p.setSlotF64(p.proc, i, S.n, p.slotF64(p.raw, i, S.n));
  p.setSlotF64(p.proc, i, S.seq, p.slotF64(p.raw, i, S.seq));
  p.setSlotU32(p.proc, i, S.len, text.length);
  p.setSlotU32(p.proc, i, S.attempts, failedPid);
  // Publishes the message: pairs with the consumer's state load in poisonedAt.
  if (!p.casState(p.proc, i, procWord, packState(State.POISONED, 0))) return false;
  p.casState(p.raw, i, rawWord, packState(State.POISONED, 0));
  return true;
}

/** Frame n is poisoned (I5 at max-attempts, or I12): its processed slot says so. */
export function poisonedAt(p: Pipeline, n: number): boolean {
  const i = n % p.K;
  return stateOf(p.state(p.proc, i)) === State.POISONED && p.slotF64(p.proc, i, S.n) === n;
}

/**
 * Stops everyone at the poisoned frame n: sets the abort (Abort.OP_ERROR
 * when its op failed, Abort.POISONED when it killed or hung its workers) and
 * its seq, and returns the message left in the slot, bounds-checked (I6),
 * and whether the abort is one `run` reports itself (POISONED).
 */
export function abortAtPoisoned(p: Pipeline, n: number): { message: string; reportedByRun: boolean } {
  const i = n % p.K;
  const seq = p.slotF64(p.proc, i, S.seq);
  const byOp = p.slotU32(p.proc, i, S.attempts) !== 0;
  if (p.i32(R.abort) === Abort.NONE) {
    p.setF64(R.abortSeqF, seq);
    p.casI32(R.abort, Abort.NONE, byOp ? Abort.OP_ERROR : Abort.POISONED);
  }
  p.postAll();
  const len = p.slotU32(p.proc, i, S.len);
  const message = len <= MAX_REASON && len <= p.procSlotBytes ? new TextDecoder().decode(p.procViews[i]!.subarray(0, len)) : `frame seq ${seq} was poisoned (its message is unreadable)`;
  return { message, reportedByRun: !byOp };
}
