/**
 * A worker: finds the next run of READY raw frames whose processed slots are
 * FREE (I2) with one circular scan from its last claim, and for each: claims
 * it (CAS), runs the op chain from the raw slot straight into the processed
 * slot, publishes DONE, frees the raw slot (I3). At the batch's end it wakes
 * the consumer and the producer once (layout.ts B1). Any number run at once.
 */
import { log as consola } from "../../log";
import { shim } from "../../native/shim";
import { errnoName } from "../../native/libc";
import { ShmimgError, Exit } from "../../errors";
import { checkSignals } from "../../signals";
import { formatName, payloadBytes } from "../../frame/format";
import { Abort, C, Eos, EOS_NAMES, RESERVED_BASE, reservedBy, MAX_WORKERS, P, packState, R, S, Sem, State, stateOf, W, workerEntry } from "../layout";
import { joinRole, leaveRole } from "../ipc/sems";
import { workerEntryDead } from "../ring/recovery";
import { checkAbort, Peers } from "./peers";
import { isAlive, processState, selfStartTime } from "../ipc/proc";
import { newSlotFrame, type Pipeline } from "../ring/pipeline";
import { StepFailed, type Chain } from "../../ops/chain";
import { handBack } from "../ring/handback";
import { spin } from "../ring/event";

/**
 * The two points of a frame where a worker's death means different things:
 * "writing" (claimed, processed slot WRITING: the half-written result must be
 * discarded and the frame redone) and "published" (result DONE, raw slot not
 * yet freed: the frame must not be redone).
 */
export type WorkStep = "writing" | "published";

export interface WorkOptions {
  timeoutS: number;
  /** Exit after this many frames (tests and chaos runs); 0 = no limit. */
  maxFrames?: number;
  /** Called at each step of each frame (fault injection: the command layer sets it for the crash tests). */
  onStep?: (step: WorkStep, seq: number) => void;
}

export interface WorkStats {
  frames: number;
  busyUs: number;
  waitUs: number;
}

/**
 * Registers in the worker table; returns the entry's byte offset. Never-used
 * entries are taken first: an entry left by a worker that finished keeps its
 * final counters for `run`'s report and `stat` until all 32 have been used
 * (a late worker taking it over would reset them before anyone read them).
 */
function register(p: Pipeline): number {
  for (let j = 0; j < 2 * MAX_WORKERS; j++) {
    const b = workerEntry(j % MAX_WORKERS);
    const pid = p.i32(b + W.pid);
    // Free: never used (0); in the second pass also left by a worker that
    // exited (-pid), owned by a dead worker nobody has recovered yet, or
    // reserved by a worker that died while filling it in.
    const free =
      pid === 0 ||
      (j >= MAX_WORKERS &&
        ((pid < 0 && pid > RESERVED_BASE) || workerEntryDead(p, b) || (pid <= RESERVED_BASE && !isAlive(RESERVED_BASE - pid))));
    if (!free || !p.casI32(b + W.pid, pid, reservedBy(process.pid))) continue;
    p.work.releaseSleeper(b + W.sleeping); // a previous owner killed asleep
    // Fill the entry while it is reserved, then publish our pid: nobody reading
    // the table (stat, run's report, recovery) sees our pid with the previous
    // owner's counters or start time.
    p.setF64(b + W.frames, 0);
    p.setF64(b + W.busyUs, 0);
    p.setF64(b + W.waitUs, 0);
    p.setF64(b + W.bytes, 0);
    p.setF64(b + W.claimingUs, 0);
    p.setF64(b + W.start, selfStartTime());
    p.setF64(b + W.attachedUs, shim.shim_now_us());
    p.setI32(b + W.pid, process.pid);
    return b;
  }
  throw new ShmimgError(`pipeline "${p.name}" already has ${MAX_WORKERS} workers registered; stop some or wait for dead entries to be recovered`, Exit.INVALID);
}

/**
 * The chain failed on the frame in raw slot i (I12): hand it back for another
 * attempt, or, at max-attempts, poison it with the reason (the consumer
 * stops the stream there, after delivering every earlier frame, and prints
 * the one ERROR line). An error that is not the op's own is rethrown.
 */
function opFailed(p: Pipeline, i: number, seq: number, claimed: number, writing: number, e: unknown): void {
  if (!(e instanceof StepFailed)) throw e;
  const { attempts, poisoned } = handBack(p, i, claimed, writing, (n) => `op ${e.op} failed ${n} time(s) (--max-attempts ${p.maxAttempts}): ${e.message}`);
  consola.warn(`worker: frame seq ${seq}: op ${e.op} failed (attempt ${attempts} of ${p.maxAttempts}): ${e.message}; ${poisoned ? "giving up on it" : "handed back to be retried"}`);
}

export function work(p: Pipeline, chain: Chain, o: WorkOptions): WorkStats {
  const r = joinRole(p.semid, Sem.WORKERS, false);
  if (r < 0) throw new ShmimgError(`semop(semid=${p.semid}, WORKERS +1 SEM_UNDO) failed: ${errnoName(r)}`, Exit.INVALID);
  let entry = -1;
  try {
    entry = register(p);
    return loop(p, chain, o, entry);
  } finally {
    // Negated pid: entry reusable, its counters stay readable (stat, run's report).
    if (entry >= 0) p.casI32(entry + W.pid, process.pid, -process.pid);
    leaveRole(p.semid, Sem.WORKERS);
  }
}

/** A batch takes at most this many frames ... */
export const BATCH_FRAMES = 32;
/** ... and stops growing once it holds this many payload bytes (a large frame is a batch of its own). */
export const BATCH_BYTES = 128 << 10;

function loop(p: Pipeline, chain: Chain, o: WorkOptions, entry: number): WorkStats {
  const { raw, proc, K } = p;
  const peers = new Peers(p, "worker", o.timeoutS);
  const claimed = packState(State.CLAIMED, process.pid);
  const myStart = selfStartTime();
  const writing = packState(State.WRITING, process.pid);
  const frame = newSlotFrame();
  const procSlotBytes = p.procSlotBytes;
  let frames = 0;
  let busyUs = 0;
  let waitUs = 0;
  let bytes = 0;
  let pick = -1;
  const run: number[] = new Array(BATCH_FRAMES).fill(0);

  /**
   * A claimable frame's slot, or -1. The producer fills slots in order, so
   * scanning circularly from after our last claim finds the next frame at
   * the first probe; a frame given back by recovery is found when the scan
   * wraps around. Claim order does not matter for correctness (the consumer
   * orders by n); it only keeps frames flowing roughly in order.
   */
  let hint = 0;
  // Whole words: READY and FREE carry no owner; a word with owner bits is
  // corruption for checkIntegrity, never a slot to CAS at in a loop.
  const claimable = (i: number): boolean => p.state(raw, i) === State.READY && p.state(proc, i) === State.FREE; // I2
  const scan = (): number => {
    for (let k = 0; k < K; k++) {
      const i = (hint + k) % K;
      if (claimable(i)) return i;
    }
    return -1;
  };
  /** Stream over: eos set and no raw slot holds an unfinished frame. */
  const finished = (): boolean => {
    if (p.i32(P.eos) === Eos.NONE) return false;
    for (let i = 0; i < K; i++) {
      const w = p.state(raw, i);
      if (w !== State.FREE && w !== State.POISONED) return false;
    }
    return true;
  };
  const ready = (): boolean => (pick = scan()) >= 0 || finished() || p.i32(R.abort) !== Abort.NONE;
  /** What this worker waits for: a frame, or (a frame is ready) the consumer freeing its processed slot (I2). */
  const waitingFor = (): string => {
    const consumer = p.i32(C.pid);
    for (let i = 0; i < K; i++)
      if (stateOf(p.state(raw, i)) === State.READY && stateOf(p.state(proc, i)) !== State.FREE)
        return `the consumer to free processed slot ${i} (frame n=${p.slotF64(raw, i, S.n)} is ready; the consumer pid ${consumer} ${processState(consumer, p.f64(C.start)) === "stopped" ? "is stopped" : "is not taking results"})`;
    const producer = p.i32(P.pid);
    return `a frame to process${processState(producer, p.f64(P.start)) === "stopped" ? ` (the producer pid ${producer} is stopped)` : ""}`;
  };
  const tick = () => peers.tick(waitingFor);

  /** Workers registered and not counted asleep (this one included). */
  const awakeWorkers = (): number => p.liveWorkers() - p.work.sleeping();
  // Awake workers a wake-up is passed on to: one core is left to the producer
  // and the consumer (measured, 2 CPUs: 200k 4x4 frames 297 vs 326 ms best of 5
  // with 2 workers; 640x480 gaussian unchanged, big frames wake per frame anyway).
  const passOnTo = Math.max(1, spin.cores - 1);

  /** The producer is writing the next frame right now. */
  const inFlight = (): boolean => stateOf(p.state(raw, p.f64(P.head) % K)) === State.WRITING;
  /** Announces `count` committed frames: one wake-up each for the consumer and the producer per batch. */
  const release = (count: number): void => {
    if (count === 0) return;
    p.done.post();
    p.rawFreed.post();
  };

  for (;;) {
    checkSignals();
    checkAbort(p);
    pick = scan();
    if (pick < 0) {
      if (finished()) {
        const eos = p.i32(P.eos);
        if (EOS_NAMES[eos] === undefined) throw p.corruptSegment("producer line", raw.shmid, `end-of-stream code ${eos} is not one shmimg writes`);
        break;
      }
      const w0 = shim.shim_now_us();
      p.work.waitFor(ready, tick, 100, entry + W.sleeping, inFlight);
      waitUs += shim.shim_now_us() - w0;
      p.setF64(entry + W.waitUs, waitUs);
      continue;
    }
    // One scan picks a run of consecutive claimable frames (the batch rule,
    // layout.ts B1); each is still claimed by its own CAS just before it is
    // processed, so at any moment this worker holds committed frames and at
    // most one frame in progress, exactly as with single frames.
    let n = 0;
    let runBytes = 0;
    for (let i = pick; n < BATCH_FRAMES && runBytes < BATCH_BYTES && claimable(i); i = (i + 1) % K) {
      run[n++] = i;
      runBytes += p.slotU32(raw, i, S.len);
      if (n === K) break;
    }
    // Another worker claimed frame `pick` between our scan and here: look again
    // (with no run, run[n - 1] would make the hint NaN and every later scan blind).
    if (n === 0) continue;
    hint = (run[n - 1]! + 1) % K;
    // Workers asleep, fewer awake than passOnTo, and more claimable frames than
    // this batch takes (anywhere in the ring): pass the wake-up on (E1, E2).
    if (p.work.hasSleepers() && awakeWorkers() < passOnTo) {
      for (let k = 0; k < K - n; k++) {
        if (claimable((hint + k) % K)) {
          p.work.post();
          break;
        }
      }
    }
    const t0 = shim.shim_now_us();
    let done = 0;
    let batchBytes = 0;
    try {
      for (let k = 0; k < n; k++) {
        const i = run[k]!;
        // Claim: READY -> CLAIMED(me) in one CAS that also names the owner.
        // I11: the time before the CAS times the claim until it is stamped.
        const claimAt = k === 0 ? t0 : shim.shim_now_us();
        p.setF64(entry + W.claimingUs, claimAt);
        if (!p.casState(raw, i, State.READY, claimed)) continue;
        p.setSlotF64(raw, i, S.ownerStart, myStart);
        p.setSlotF64(raw, i, S.claimedUs, claimAt); // I11: the frame deadline runs from here (and stat's claim age)
        // The slot may have been recycled between scan and CAS (another worker
        // finished frame n, the producer wrote n + K): re-check I2 now that we
        // own it; only the consumer can change the processed slot from here on.
        if (p.state(proc, i) !== State.FREE) {
          p.setSlotF64(raw, i, S.ownerStart, 0);
          p.setSlotF64(raw, i, S.claimedUs, 0);
          // Given back: a worker that looked while we held it may be asleep now.
          p.setState(raw, i, State.READY);
          p.work.post();
          continue;
        }
        p.slotFrame(raw, i, frame); // bounds-checked (I6)
        let out;
        try {
          out = chain.out(frame);
          const outLen = payloadBytes(out.w, out.h, out.fmt);
          if (outLen > procSlotBytes)
            throw new ShmimgError(
              `frame seq ${frame.seq}: "${chain.spec}" turns ${frame.w}x${frame.h} ${formatName(frame.fmt)} into ${out.w}x${out.h} ${formatName(out.fmt)} = ${outLen} bytes, larger than a processed slot (${procSlotBytes}); re-create the pipeline with \`init --op ${chain.spec}\` so the processed ring is sized for the chain`,
              Exit.INVALID,
            );
        } catch (e) {
          // Give the frame back and stop the pipeline: no worker can do better.
          p.setF64(R.abortSeqF, frame.seq);
          // Two workers can fail at once on the same problem (a crop outside every
          // frame): the first to set the abort reports it, the others are its echo.
          if (!p.casI32(R.abort, Abort.NONE, Abort.OP_FAILED) && e instanceof ShmimgError) e.secondary = true;
          p.setSlotF64(raw, i, S.ownerStart, 0);
          p.setSlotF64(raw, i, S.claimedUs, 0);
          p.setState(raw, i, State.READY);
          p.postAll();
          throw e;
        }
        p.setState(proc, i, writing);
        o.onStep?.("writing", frame.seq);
        try {
          chain.apply(p.rawViews[i]!, frame, p.procViews[i]!);
        } catch (e) {
          opFailed(p, i, frame.seq, claimed, writing, e); // I12: handed back, or poisoned
          continue;
        }
        const outLen = payloadBytes(out.w, out.h, out.fmt);
        p.setSlotF64(proc, i, S.n, frame.n);
        p.setSlotF64(proc, i, S.seq, frame.seq);
        p.setSlotU32(proc, i, S.w, out.w);
        p.setSlotU32(proc, i, S.h, out.h);
        p.setSlotU32(proc, i, S.fmt, out.fmt);
        p.setSlotU32(proc, i, S.len, outLen);
        p.setSlotF64(proc, i, S.stamp, frame.stamp);
        // Publishes the result: pairs with the consumer's state load for slot n % K.
        p.setState(proc, i, State.DONE);
        o.onStep?.("published", frame.seq);
        // Frees the raw slot only now (I3): pairs with the producer's wait for
        // FREE. At once, not at the batch's end: a committed frame must not
        // look like an overdue claim (I11).
        p.setState(raw, i, State.FREE);
        done++;
        batchBytes += outLen;
        if (o.maxFrames && frames + done >= o.maxFrames) break;
      }
    } finally {
      release(done);
    }
    frames += done;
    bytes += batchBytes;
    const t1 = shim.shim_now_us();
    busyUs += t1 - t0;
    // Counters once per batch, not per frame.
    p.setF64(entry + W.frames, frames);
    p.setF64(entry + W.busyUs, busyUs);
    p.setF64(entry + W.bytes, bytes);
    peers.frameDone(t1);
    if (o.maxFrames && frames >= o.maxFrames) break;
  }
  if (peers.redone) consola.info(`worker: recovered ${peers.redone} frame(s) from dead workers`);
  return { frames, busyUs, waitUs };
}
