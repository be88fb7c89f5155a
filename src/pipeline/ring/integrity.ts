/**
 * Is the segment in a state the protocol can reach (I6)? A waiting stage asks
 * on every tick, so an impossible state (a state word no stage writes, a
 * DONE result that can never be delivered, cursors that disagree) stops every
 * stage with exit 2 instead of leaving them all waiting for each other.
 * Only facts that hold at every instant are checked, so a peer caught
 * between two stores is never mistaken for corruption.
 */
import { ABORT_NAMES, EOS_NAMES, ownedState, ownerOf, P, PROC_STATES, R, RAW_STATES, S, State, stateOf } from "../layout";
import type { Pipeline } from "./pipeline";

/** Largest seq the native format can carry (2^53). */
const MAX_SEQ = 2 ** 53;

/** A frame number read from shared memory, or undefined when it is not one. */
export function validSeq(seq: number): number | undefined {
  return Number.isInteger(seq) && seq >= 0 && seq < MAX_SEQ ? seq : undefined;
}

/** The abort code in R.abort when it is one shmimg writes, else undefined. */
export function validAbort(code: number): number | undefined {
  return Number.isInteger(code) && code >= 0 && code < ABORT_NAMES.length ? code : undefined;
}

function badWord(word: number, allowed: readonly number[]): string | undefined {
  const s = stateOf(word);
  if (!allowed.includes(s)) return `state word 0x${(word >>> 0).toString(16)} holds state ${s}, not one this table uses`;
  if (!ownedState(s) && ownerOf(word) !== 0) return `state word 0x${(word >>> 0).toString(16)} is ${s === State.FREE ? "FREE" : "an ownerless state"} with owner bits ${ownerOf(word)}`;
  return undefined;
}

/**
 * Throws (after setting abort CORRUPT) when the segment is in an impossible
 * state. `consumerDelivered`: the consumer passes its own cursor, which lets
 * it also check that every DONE result is still deliverable (it alone frees
 * processed slots, so nobody can be between its record and its free).
 */
export function checkIntegrity(p: Pipeline, consumerDelivered?: number): void {
  const { K, raw, proc } = p;
  const eos = p.i32(P.eos);
  if (EOS_NAMES[eos] === undefined) throw p.corruptSegment("producer line", raw.shmid, `end-of-stream code ${eos} is not one shmimg writes`);
  // Read delivered, head, delivered: both only grow, so delivered - 1 <= head <= delivered + 2K
  // holds between the reads (the producer stores head just after publishing READY, so the
  // frame in between may already be delivered; frame n is published only once frame n - 2K
  // is delivered, see I2/I3).
  const d0 = p.delivered();
  const head = p.f64(P.head);
  const d1 = p.delivered();
  if (!Number.isInteger(d0) || d0 < 0 || !Number.isInteger(head) || head + 1 < d0 || head > d1 + 2 * K)
    throw p.corruptSegment("cursors", raw.shmid, `published ${head} and delivered ${d0} cannot both hold with ${K} slots`);
  for (let i = 0; i < K; i++) {
    const w = p.state(raw, i);
    const bad = badWord(w, RAW_STATES);
    if (bad) throw p.corrupt(raw, i, bad);
    const s = stateOf(w);
    if (s === State.READY || s === State.CLAIMED) {
      const n = p.slotF64(raw, i, S.n);
      if (!Number.isInteger(n) || n < 0 || n % K !== i) throw p.corrupt(raw, i, `${s === State.READY ? "READY" : "CLAIMED"} with n=${n}, which does not belong to slot ${i} of ${K}`);
    }
  }
  for (let i = 0; i < K; i++) {
    const w = p.state(proc, i);
    const bad = badWord(w, PROC_STATES);
    if (bad) throw p.corrupt(proc, i, bad);
    if (stateOf(w) !== State.DONE) continue;
    const n = p.slotF64(proc, i, S.n);
    if (!Number.isInteger(n) || n < 0 || n % K !== i) throw p.corrupt(proc, i, `DONE with n=${n}, which does not belong to slot ${i} of ${K}`);
    if (consumerDelivered !== undefined && (n < consumerDelivered || n >= consumerDelivered + K))
      throw p.corrupt(proc, i, `DONE with n=${n}, outside the frames that can be pending (${consumerDelivered}..${consumerDelivered + K - 1}): it would never be delivered or freed`);
  }
  if (validAbort(p.i32(R.abort)) === undefined) throw p.corruptSegment("recovery line", raw.shmid, `abort code ${p.i32(R.abort)} is not one shmimg writes`);
}
