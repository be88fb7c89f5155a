/**
 * The producer: reads frames from a source and publishes them in the raw ring.
 * Frame n goes to raw slot n % K: wait FREE -> WRITING(pid) -> payload read
 * straight into the slot -> commit the input position (I7) -> READY ->
 * head = n + 1 -> post WORK. A resumed producer (`--resume`, started by `run`
 * after a producer died) continues at the last committed frame + 1, reading
 * from the recorded input position.
 */
import { log as consola } from "../../log";
import { shim } from "../../native/shim";
import { errnoName, libc } from "../../native/libc";
import { Pacer } from "../../io/pace";
import { InvalidInput, PartialFrame, ShmimgError, Exit } from "../../errors";
import { formatName } from "../../frame/format";
import { Interrupted } from "../../signals";
import { Eos, EOS_NAMES, P, packState, S, Sem, State, stateOf } from "../layout";
import { recover } from "../ring/recovery";
import { joinRole, leaveRole } from "../ipc/sems";
import { checkRemoved, Peers, StageFailed } from "./peers";
import { BATCH_BYTES, BATCH_FRAMES } from "./work";
import { selfStartTime } from "../ipc/proc";
import type { Pipeline } from "../ring/pipeline";
import type { FrameSource, SourcePosition } from "../../formats/types";
import { writeStreamInfo } from "../ring/stream";

/** Frames between two reads of the live-worker count (E3). */
const LIVE_EVERY = 64;

export type WhenFull = "block" | "drop" | "fail";

export interface ProduceOptions {
  whenFull: WhenFull;
  timeoutS: number;
  /** Pace frames at this many per second (0 = as fast as possible). */
  fps?: number;
  /** Continue the stream of a producer that died (I7) instead of starting one. */
  resume?: boolean;
}

export interface ProduceStats {
  frames: number;
  dropped: number;
  bytes: number;
  blockedUs: number;
  eos: number;
}

export function produce(p: Pipeline, source: FrameSource, o: ProduceOptions): ProduceStats {
  const r = joinRole(p.semid, Sem.PRODUCERS, true);
  if (r < 0) {
    throw new ShmimgError(
      r === -11
        ? `pipeline "${p.name}" already has a live producer (pid ${p.i32(P.pid)}); only one producer may feed a pipeline`
        : `semop(semid=${p.semid}, PRODUCERS +1 SEM_UNDO) failed: ${errnoName(r)}`,
      Exit.INVALID,
    );
  }
  try {
    if (o.resume) settleDeadProducer(p);
    else if (p.i32(P.pid) !== 0 || p.f64(P.head) !== 0)
      throw new InvalidInput(`pipeline "${p.name}" already received a stream (${p.f64(P.head)} frames, producer pid ${p.i32(P.pid)}); create a new pipeline for a new stream (\`shmimg clean --name ${p.name}\` then init)`);
    p.setF64(P.start, selfStartTime());
    p.setI32(P.pid, process.pid);
    return loop(p, source, o);
  } finally {
    leaveRole(p.semid, Sem.PRODUCERS);
  }
}

/**
 * Before a resumed producer takes over: the stream must still be open, and
 * the dead producer's last slot settled by recovery (I7: a committed frame
 * published, an uncommitted one discarded), so head = committed n + 1.
 */
function settleDeadProducer(p: Pipeline): void {
  const eos = p.i32(P.eos);
  if (eos !== Eos.NONE) throw new InvalidInput(`pipeline "${p.name}": the stream already ended (${EOS_NAMES[eos] ?? eos}); there is nothing to resume`);
  const deadline = shim.shim_now_us() + 5e6;
  for (;;) {
    recover(p);
    let writing = false;
    for (let i = 0; i < p.K; i++) if (stateOf(p.state(p.raw, i)) === State.WRITING) writing = true;
    if (!writing) break;
    if (shim.shim_now_us() > deadline) throw new ShmimgError(`pipeline "${p.name}": a raw slot is still being written by producer pid ${p.i32(P.pid)}; is it alive? See \`shmimg stat --name ${p.name}\``, Exit.INVALID);
    libc.usleep(10_000);
  }
  p.rawFreed.resetSleepers(); // only the producer sleeps there: a count left by the dead one goes
  p.setF64(P.head, p.position().n + 1);
}

function loop(p: Pipeline, source: FrameSource, o: ProduceOptions): ProduceStats {
  const { raw, K } = p;
  const peers = new Peers(p, "producer", o.timeoutS);
  const me = packState(State.WRITING, process.pid);
  const slotBytes = p.rawSlotBytes;
  const max = p.maxGeometry();
  const at: SourcePosition = { pos: 0, index: 0 };
  // A fresh stream starts at 0; a resumed one where its dead producer's last commit left it.
  let n = p.f64(P.head);
  let frames = 0;
  let dropped = p.f64(P.dropped);
  let bytes = p.f64(P.bytesIn);
  let blockedUs = p.f64(P.blockedUs);
  let i = 0;
  const slotFree = () => p.state(raw, i) === State.FREE; // the whole word (FREE has no owner)
  /** A worker is processing the frame in the slot we wait for. */
  const inFlight = () => stateOf(p.state(raw, i)) === State.CLAIMED;
  const tick = () => peers.tick(`a free raw slot for frame n=${n}`);
  /**
   * No worker is awake to scan the ring again before it sleeps (E3). The live
   * count (a worker-table scan) is re-read every LIVE_EVERY frames: too high
   * for a while is covered by the backlog rule, too low only posts more.
   */
  let live = 0;
  let liveFor = 0;
  const noneAwake = (): boolean => {
    if (liveFor-- <= 0) {
      liveFor = LIVE_EVERY;
      live = p.liveWorkers();
    }
    return live - p.work.sleeping() <= 0;
  };
  /** Frames wait unclaimed behind the one just published (n - 1): more than an awake worker's next batch (E3). */
  const lag = Math.min(BATCH_FRAMES, K >> 1);
  const backlog = (next: number): boolean => {
    const m = next - 1 - lag;
    return m >= 0 && p.state(raw, m % K) === State.READY && p.slotF64(raw, m % K, S.n) === m;
  };
  const pacer = o.fps ? new Pacer(o.fps) : undefined;
  let eos: number = Eos.OK;
  let failure: unknown;
  try {
    if (o.resume) {
      const c = p.position();
      if (c.n >= 0) source.resume({ pos: c.pos, index: c.index });
    }
    for (;;) {
      const info = source.next();
      if (info === null) break;
      // Before frame 0 is published (I13): the consumer reads it when frame 0 is DONE.
      if (n === 0 && dropped === 0) writeStreamInfo(p, source.stream?.() ?? { format: source.name });
      if (info.len > slotBytes)
        throw new InvalidInput(
          `frame seq ${info.seq}: ${info.w}x${info.h} ${formatName(info.fmt)} is ${info.len} bytes, larger than a raw slot (${slotBytes} bytes, pipeline "${p.name}" made for ${max.w}x${max.h} ${formatName(max.fmt)}); re-create it with a larger --max-size / --max-format`,
        );
      i = n % K;
      if (!slotFree()) {
        if (o.whenFull === "drop") {
          source.skipPayload();
          dropped++;
          p.setF64(P.dropped, dropped);
          continue;
        }
        if (o.whenFull === "fail") {
          eos = Eos.FULL;
          p.setF64(P.eosSeq, info.seq);
          throw new ShmimgError(`raw ring full at frame seq ${info.seq} (--when-full fail): the ${K} slots are all in use; use --when-full block or drop, more --slots, or more workers`, Exit.INCOMPLETE);
        }
        const w0 = shim.shim_now_us();
        p.rawFreed.waitFor(slotFree, tick, 100, -1, inFlight);
        blockedUs += shim.shim_now_us() - w0;
        p.setF64(P.blockedUs, blockedUs);
      }
      // Paced before WRITING: a slot marked WRITING means "a frame is coming
      // now" to waiting workers (their spin decision, see event.ts); an
      // interrupted wait leaves nothing to undo.
      pacer?.wait(frames);
      // FREE -> WRITING(me): only the producer leaves FREE, so a plain store is enough.
      p.setState(raw, i, me);
      p.setSlotF64(raw, i, S.n, n);
      p.setSlotF64(raw, i, S.seq, info.seq);
      p.setSlotU32(raw, i, S.w, info.w);
      p.setSlotU32(raw, i, S.h, info.h);
      p.setSlotU32(raw, i, S.fmt, info.fmt);
      p.setSlotU32(raw, i, S.len, info.len);
      p.setSlotU32(raw, i, S.attempts, 0);
      p.setSlotF64(raw, i, S.ownerStart, 0); // no claimer yet (see recovery.ts ownerAlive)
      p.setSlotF64(raw, i, S.claimedUs, 0); // nor a claim time (I11: the previous frame's must not time the next claim)
      try {
        source.readPayload(raw.payloadAddr(i), p.rawViews[i]!);
      } catch (e) {
        p.setState(raw, i, State.FREE); // a partial frame never reaches a worker
        throw e;
      }
      p.setSlotF64(raw, i, S.stamp, shim.shim_now_us());
      // The commit point (I7): from here a restart continues after this frame.
      source.position(at);
      p.commitPosition(n, at.pos, at.index);
      // Publishes the frame: pairs with the state load in the workers' claim scan.
      p.setState(raw, i, State.READY);
      n++;
      p.setF64(P.head, n);
      p.setF64(P.lastSeq, info.seq);
      frames++;
      bytes += info.len;
      p.setF64(P.bytesIn, bytes);
      // A small frame shares a batch with the next ones: a worker that is
      // awake takes it in its next scan, and a wake-up on its way covers it
      // (E2, E3). A large frame wakes a worker of its own.
      const small = info.len * 4 <= BATCH_BYTES;
      if (!small || backlog(n) || noneAwake()) p.work.post(1, small);
      peers.frameDone();
    }
  } catch (e) {
    failure = e;
    if (e instanceof PartialFrame) eos = Eos.PARTIAL;
    else if (e instanceof Interrupted) eos = Eos.INTERRUPTED;
    else if (e instanceof StageFailed) eos = Eos.TIMED_OUT;
    else if (eos === Eos.OK) eos = Eos.INVALID;
    if (eos !== Eos.FULL) p.setF64(P.eosSeq, p.f64(P.lastSeq));
  }
  // End of stream: head is final before eos is set (pairs with the eos loads in work/consume).
  p.casI32(P.eos, Eos.NONE, eos);
  p.postAll();
  if (failure) throw failure;
  checkRemoved(p); // frames published into a removed pipeline reach nobody (I10)
  if (dropped) consola.warn(`producer: dropped ${dropped} frame(s) because the ring was full (--when-full drop)`);
  return { frames, dropped, bytes, blockedUs, eos };
}
