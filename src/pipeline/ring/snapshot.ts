/**
 * A point-in-time view of a pipeline for `shmimg stat`: header, cursors,
 * every slot's state and owner, stages (alive or dead), counters.
 */
import { RESERVED_BASE, ABORT_NAMES, State, C, D, Eos, EOS_NAMES, H, Heal, ownerOf, P, R, S, Sem, STATE_NAMES, stateOf, U, W, WORKER_ENTRIES, Abort, EV_RAW_FREED, EV_WORK, EV_DONE, EV_SLEEPERS } from "../layout";
import { liveCount } from "../ipc/sems";
import { isAlive, processState } from "../ipc/proc";
import { validAbort, validSeq } from "./integrity";
import { shim } from "../../native/shim";
import { hexKey } from "../ipc/keys";
import { formatName } from "../../frame/format";
import { shmStat } from "../../native/shim";
import type { Pipeline } from "./pipeline";

export interface SlotView {
  slot: number;
  raw: string;
  rawOwner: number;
  proc: string;
  procOwner: number;
  n: number;
  procN: number;
  seq: number;
  attempts: number;
  /** Seconds since the owner claimed the frame (raw CLAIMED only), else null. */
  claimAgeS: number | null;
}

/** The sleepers count of the event line at byte offset ev. */
function sleepersAt(p: Pipeline, ev: number): number {
  return Atomics.load(p.raw.i32, (ev + EV_SLEEPERS) >> 2);
}

export function snapshot(p: Pipeline) {
  const max = p.maxGeometry();
  const d = p.delivery();
  const slots: SlotView[] = [];
  const now = shim.shim_now_us();
  for (let i = 0; i < p.K; i++) {
    const rw = p.state(p.raw, i);
    const claimedUs = p.slotF64(p.raw, i, S.claimedUs);
    const pw = p.state(p.proc, i);
    slots.push({
      slot: i,
      raw: STATE_NAMES[stateOf(rw)] ?? `?${stateOf(rw)}`,
      rawOwner: ownerOf(rw),
      proc: STATE_NAMES[stateOf(pw)] ?? `?${stateOf(pw)}`,
      procOwner: ownerOf(pw),
      n: p.slotF64(p.raw, i, S.n),
      procN: p.slotF64(p.proc, i, S.n),
      seq: p.slotF64(p.raw, i, S.seq),
      attempts: p.slotU32(p.raw, i, S.attempts),
      // Validated (I6): a stamp that is not a past CLOCK_MONOTONIC time shows as unknown.
      claimAgeS: stateOf(rw) === State.CLAIMED && Number.isFinite(claimedUs) && claimedUs > 0 && claimedUs <= now ? (now - claimedUs) / 1e6 : null,
    });
  }
  const workers = [];
  for (const b of WORKER_ENTRIES) {
    const pid = p.i32(b + W.pid);
    if (pid <= RESERVED_BASE) continue; // being registered
    if (pid === 0) continue;
    const state = pid > 0 ? processState(pid, p.f64(b + W.start)) : "gone";
    workers.push({
      pid: Math.abs(pid),
      alive: pid > 0 && isAlive(pid, p.f64(b + W.start)),
      /** running, sleeping, stopped (SIGSTOP: alive but doing nothing), zombie, gone. */
      state,
      frames: p.f64(b + W.frames),
      busyS: p.f64(b + W.busyUs) / 1e6,
      waitS: p.f64(b + W.waitUs) / 1e6,
      /** Counted in the WORK sleepers (a dead worker still marked is taken out by the next recovery). */
      asleep: p.i32(b + W.sleeping) === 1,
    });
  }
  const rawStat = shmStat(p.raw.shmid);
  const producerPid = p.i32(P.pid);
  const consumerPid = p.i32(C.pid);
  return {
    name: p.name,
    keys: { raw: hexKey(p.keys.raw), processed: hexKey(p.keys.processed), sems: hexKey(p.keys.sems) },
    shmids: { raw: p.raw.shmid, processed: p.proc.shmid, semid: p.semid },
    // Processes attached to the raw segment, not counting this snapshot's own attach.
    attached: typeof rawStat === "number" ? -1 : rawStat.nattch - 1,
    creatorPid: p.creatorPid,
    slots: p.K,
    rawSlotBytes: p.rawSlotBytes,
    procSlotBytes: p.procSlotBytes,
    maxGeometry: `${max.w}x${max.h} ${formatName(max.fmt)}`,
    maxAttempts: p.raw.u32[H.maxAttempts >> 2],
    frameTimeoutS: p.frameTimeoutUs / 1e6,
    live: { producers: liveCount(p.semid, Sem.PRODUCERS), workers: liveCount(p.semid, Sem.WORKERS), consumers: liveCount(p.semid, Sem.CONSUMERS) },
    producer: { pid: producerPid, alive: producerPid > 0 && isAlive(producerPid, p.f64(P.start)), state: processState(producerPid, p.f64(P.start)), published: p.f64(P.head), lastSeq: p.f64(P.lastSeq), dropped: p.f64(P.dropped), blockedS: p.f64(P.blockedUs) / 1e6, eos: EOS_NAMES[p.i32(P.eos)] ?? `invalid code ${p.i32(P.eos)}`, ended: p.i32(P.eos) !== Eos.NONE },
    consumer: { pid: consumerPid, alive: consumerPid > 0 && isAlive(consumerPid, p.f64(C.start)), state: processState(consumerPid, p.f64(C.start)), delivered: d.delivered, outputOffset: d.offset, lastSeq: d.lastSeq, waitedS: p.f64(C.blockedUs) / 1e6, resumes: p.i32(C.resumes), recordGen: p.i32(D.gen) },
    recovery: { redone: p.f64(R.redone), deadOwnersFound: p.f64(R.recoveries), abort: ABORT_NAMES[validAbort(p.i32(R.abort)) ?? -1] ?? `invalid code ${p.i32(R.abort)}`, abortSeq: p.i32(R.abort) === Abort.NONE ? null : (validSeq(p.f64(R.abortSeqF)) ?? "invalid"), runPid: p.i32(R.runPid) },
    run: runRecord(p),
    events: { rawFreed: { sleepers: sleepersAt(p, EV_RAW_FREED) }, work: { sleepers: sleepersAt(p, EV_WORK) }, done: { sleepers: sleepersAt(p, EV_DONE) } },
    workers,
    slotStates: slots,
  };
}

/** What `run` recorded (I9) and where the producer's input stands (I7). */
function runRecord(p: Pipeline) {
  const heal = p.i32(U.heal);
  const u = p.raw.u32;
  const at = p.position();
  return {
    heals: [heal & Heal.PRODUCER ? "producer" : "", heal & Heal.CONSUMER ? "consumer" : ""].filter(Boolean),
    restarts: { producer: u[U.restartsProducer >> 2]!, workers: u[U.restartsWorker >> 2]!, consumer: u[U.restartsConsumer >> 2]! },
    resumes: u[U.resumes >> 2]!,
    committed: { n: at.n, inputPosition: at.pos, sourceIndex: at.index },
  };
}

export type Snapshot = ReturnType<typeof snapshot>;

export function renderSnapshot(s: Snapshot): string {
  const lines = [
    `pipeline "${s.name}"  keys raw ${s.keys.raw} processed ${s.keys.processed} sems ${s.keys.sems}  shmids ${s.shmids.raw}/${s.shmids.processed} semid ${s.shmids.semid}  attached ${s.attached}  creator pid ${s.creatorPid}`,
    `rings: ${s.slots} slots, raw ${s.rawSlotBytes} B, processed ${s.procSlotBytes} B (max ${s.maxGeometry}), max attempts ${s.maxAttempts}, frame timeout ${s.frameTimeoutS ? `${s.frameTimeoutS} s` : "none"}`,
    `live stages: producers ${s.live.producers}, workers ${s.live.workers}, consumers ${s.live.consumers}`,
    `producer pid ${s.producer.pid} ${s.producer.state}: published ${s.producer.published} (last seq ${s.producer.lastSeq}), dropped ${s.producer.dropped}, blocked ${s.producer.blockedS.toFixed(3)} s, ${s.producer.ended ? `stream ended: ${s.producer.eos}` : "stream open"}`,
    `consumer pid ${s.consumer.pid} ${s.consumer.state}: delivered ${s.consumer.delivered} (last seq ${s.consumer.lastSeq}), output offset ${s.consumer.outputOffset}, waited ${s.consumer.waitedS.toFixed(3)} s, resumes ${s.consumer.resumes}`,
    `recovery: redone ${s.recovery.redone}, dead owners found ${s.recovery.deadOwnersFound}, abort ${s.recovery.abort}${s.recovery.abortSeq !== null ? ` (seq ${s.recovery.abortSeq})` : ""}`,
    `run: heals ${s.run.heals.join(", ") || "workers only"}; restarts producer ${s.run.restarts.producer}, workers ${s.run.restarts.workers}, consumer ${s.run.restarts.consumer}; resumed ${s.run.resumes} times; input committed through n=${s.run.committed.n} (position ${s.run.committed.inputPosition})`,
    `sleepers: producer ${s.events.rawFreed.sleepers}, workers ${s.events.work.sleepers}, consumer ${s.events.done.sleepers}`,
    "workers:",
    ...s.workers.map((w) => `  pid ${w.pid} ${w.state.padEnd(8)}  frames ${w.frames}  busy ${w.busyS.toFixed(3)} s  waiting ${w.waitS.toFixed(3)} s${w.asleep ? "  asleep" : ""}`),
    "slot  raw state (owner)      processed (owner)    n raw/proc seq   attempts  claimed",
    ...s.slotStates.map(
      (x) =>
        `${String(x.slot).padStart(4)}  ${`${x.raw}${x.rawOwner ? ` (${x.rawOwner})` : ""}`.padEnd(22)} ${`${x.proc}${x.procOwner ? ` (${x.procOwner})` : ""}`.padEnd(20)} ${`${x.n}/${x.procN}`.padEnd(8)} ${String(x.seq).padEnd(8)} ${String(x.attempts).padEnd(9)} ${x.claimAgeS === null ? "" : `${x.claimAgeS.toFixed(1)} s ago`}`.trimEnd(),
    ),
  ];
  return lines.join("\n");
}
