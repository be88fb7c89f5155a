/**
 * Invariant I8: a worker whose op chain failed on a frame gives it back
 * itself (it is alive, so recovery would not). At max-attempts it poisons
 * the frame and leaves the reason in the frame's processed slot; the
 * consumer stops the stream when it reaches that frame, so every earlier
 * frame is delivered first, and reports the reason in its one ERROR line.
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
    const text = new TextEncoder().encode(reason(attempts)).subarray(0, Math.min(MAX_REASON, p.procSlotBytes));
    p.procViews[i]!.set(text);
    p.setSlotF64(p.proc, i, S.n, p.slotF64(p.raw, i, S.n));
    p.setSlotF64(p.proc, i, S.seq, p.slotF64(p.raw, i, S.seq));
    p.setSlotU32(p.proc, i, S.len, text.length);
    // Publishes the reason: pairs with the consumer's state load in opPoisonedAt.
    p.casState(p.proc, i, writing, packState(State.POISONED, ownerOf(writing)));
    p.casState(p.raw, i, claimed, packState(State.POISONED, 0));
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

/** Frame n was poisoned by its op (I8): its processed slot says so. */
export function opPoisonedAt(p: Pipeline, n: number): boolean {
  const i = n % p.K;
  return stateOf(p.state(p.proc, i)) === State.POISONED && p.slotF64(p.proc, i, S.n) === n;
}

/**
 * Stops everyone at the op-poisoned frame n (sets Abort.OP_ERROR and its
 * seq) and returns the reason the worker left, bounds-checked (I6).
 */
export function abortAtPoisoned(p: Pipeline, n: number): string {
  const i = n % p.K;
  const seq = p.slotF64(p.proc, i, S.seq);
  if (p.i32(R.abort) === Abort.NONE) {
    p.setF64(R.abortSeqF, seq);
    p.casI32(R.abort, Abort.NONE, Abort.OP_ERROR);
  }
  p.postAll();
  const len = p.slotU32(p.proc, i, S.len);
  const reason = len <= MAX_REASON && len <= p.procSlotBytes ? new TextDecoder().decode(p.procViews[i]!.subarray(0, len)) : "(reason unreadable)";
  return `frame seq ${seq}: ${reason}`;
}
