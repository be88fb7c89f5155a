/**
 * Invariant I8: a worker whose op chain failed on a frame gives it back
 * itself (it is alive, so recovery would not), and the consumer turns a
 * poisoned frame into the abort when it reaches it, so every earlier frame
 * is delivered first.
 */
import { lock, unlock } from "../ipc/sems";
import { Abort, H, ownerOf, packState, R, S, State, stateOf } from "../layout";
import type { Pipeline } from "./pipeline";

/**
 * Raw slot i is CLAIMED by us (`claimed`) and processed slot i WRITING by us
 * (`writing`): discard the partial result, count the attempt, and make the
 * frame READY again, or POISONED (owner = our pid, so the consumer can tell
 * an op failure from a crash) once attempts reaches max-attempts. Returns
 * the attempt count and whether the frame is now poisoned.
 */
export function handBack(p: Pipeline, i: number, claimed: number, writing: number): { attempts: number; poisoned: boolean } {
  p.casState(p.proc, i, writing, State.FREE);
  const attempts = p.slotU32(p.raw, i, S.attempts) + 1;
  p.setSlotU32(p.raw, i, S.attempts, attempts);
  const poisoned = attempts >= p.raw.u32[H.maxAttempts >> 2]!;
  const locked = lock(p.semid, 1000); // the R counters are written under LOCK
  try {
    if (poisoned) {
      p.casState(p.raw, i, claimed, packState(State.POISONED, ownerOf(claimed)));
    } else {
      p.setSlotF64(p.raw, i, S.ownerStart, 0);
      p.setSlotF64(p.raw, i, S.claimedUs, 0);
      // Publishes the frame again: pairs with the claim scan in work.ts.
      if (p.casState(p.raw, i, claimed, State.READY) && locked) p.setF64(R.redone, p.f64(R.redone) + 1);
    }
  } finally {
    if (locked) unlock(p.semid);
  }
  p.postAll();
  return { attempts, poisoned };
}

/** Frame n's raw slot is POISONED by an op failure (not a crash): the consumer's cue to stop there. */
export function opPoisonedAt(p: Pipeline, n: number): boolean {
  const i = n % p.K;
  const w = p.state(p.raw, i);
  return stateOf(w) === State.POISONED && ownerOf(w) !== 0 && p.slotF64(p.raw, i, S.n) === n;
}

/** Sets the abort for the op-poisoned frame n (everyone stops; the failing worker printed why). */
export function abortAtPoisoned(p: Pipeline, n: number): void {
  if (p.i32(R.abort) === Abort.NONE) {
    p.setF64(R.abortSeqF, p.slotF64(p.raw, n % p.K, S.seq));
    p.casI32(R.abort, Abort.NONE, Abort.OP_ERROR);
  }
  p.postAll();
}
