/**
 * A point-in-time view of a pipeline for `shmimg stat`: header, cursors,
 * every slot's state and owner, stages (alive or dead), counters.
 */
import { RESERVED_BASE, C, D, Eos, EOS_NAMES, H, ownerOf, P, R, S, Sem, STATE_NAMES, stateOf, W, WORKER_ENTRIES, Abort, EV_RAW_FREED, EV_WORK, EV_DONE, EV_SLEEPERS } from "../layout";
import { liveCount } from "../ipc/sems";
import { isAlive } from "../ipc/proc";
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
}

/** The sleepers count of the event line at byte offset ev. */
function sleepersAt(p: Pipeline, ev: number): number {
  return Atomics.load(p.raw.i32, (ev + EV_SLEEPERS) >> 2);
}

export function snapshot(p: Pipeline) {
  const max = p.maxGeometry();
  const d = p.delivery();
  const slots: SlotView[] = [];
  for (let i = 0; i < p.K; i++) {
    const rw = p.state(p.raw, i);
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
    });
  }
  const workers = [];
  for (const b of WORKER_ENTRIES) {
    const pid = p.i32(b + W.pid);
    if (pid <= RESERVED_BASE) continue; // being registered
    if (pid === 0) continue;
    workers.push({
      pid: Math.abs(pid),
      alive: pid > 0 && isAlive(pid, p.f64(b + W.start)),
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
    live: { producers: liveCount(p.semid, Sem.PRODUCERS), workers: liveCount(p.semid, Sem.WORKERS), consumers: liveCount(p.semid, Sem.CONSUMERS) },
    producer: { pid: producerPid, alive: producerPid > 0 && isAlive(producerPid, p.f64(P.start)), published: p.f64(P.head), lastSeq: p.f64(P.lastSeq), dropped: p.f64(P.dropped), blockedS: p.f64(P.blockedUs) / 1e6, eos: EOS_NAMES[p.i32(P.eos)] ?? String(p.i32(P.eos)), ended: p.i32(P.eos) !== Eos.NONE },
    consumer: { pid: consumerPid, alive: consumerPid > 0 && isAlive(consumerPid, p.f64(C.start)), delivered: d.delivered, outputOffset: d.offset, lastSeq: d.lastSeq, waitedS: p.f64(C.blockedUs) / 1e6, resumes: p.i32(C.resumes), recordGen: p.i32(D.gen) },
    recovery: { redone: p.f64(R.redone), deadOwnersFound: p.f64(R.recoveries), abort: ["none", "poisoned frame", "stopped by supervisor", "op failed"][p.i32(R.abort)] ?? String(p.i32(R.abort)), abortSeq: p.i32(R.abort) === Abort.NONE ? null : p.f64(R.abortSeqF), runPid: p.i32(R.runPid) },
    events: { rawFreed: { sleepers: sleepersAt(p, EV_RAW_FREED) }, work: { sleepers: sleepersAt(p, EV_WORK) }, done: { sleepers: sleepersAt(p, EV_DONE) } },
    workers,
    slotStates: slots,
  };
}

export type Snapshot = ReturnType<typeof snapshot>;

export function renderSnapshot(s: Snapshot): string {
  const lines = [
    `pipeline "${s.name}"  keys raw ${s.keys.raw} processed ${s.keys.processed} sems ${s.keys.sems}  shmids ${s.shmids.raw}/${s.shmids.processed} semid ${s.shmids.semid}  attached ${s.attached}  creator pid ${s.creatorPid}`,
    `rings: ${s.slots} slots, raw ${s.rawSlotBytes} B, processed ${s.procSlotBytes} B (max ${s.maxGeometry}), max attempts ${s.maxAttempts}`,
    `live stages: producers ${s.live.producers}, workers ${s.live.workers}, consumers ${s.live.consumers}`,
    `producer pid ${s.producer.pid} ${s.producer.alive ? "alive" : "not running"}: published ${s.producer.published} (last seq ${s.producer.lastSeq}), dropped ${s.producer.dropped}, blocked ${s.producer.blockedS.toFixed(3)} s, ${s.producer.ended ? `stream ended: ${s.producer.eos}` : "stream open"}`,
    `consumer pid ${s.consumer.pid} ${s.consumer.alive ? "alive" : "not running"}: delivered ${s.consumer.delivered} (last seq ${s.consumer.lastSeq}), output offset ${s.consumer.outputOffset}, waited ${s.consumer.waitedS.toFixed(3)} s, resumes ${s.consumer.resumes}`,
    `recovery: redone ${s.recovery.redone}, dead owners found ${s.recovery.deadOwnersFound}, abort ${s.recovery.abort}${s.recovery.abortSeq !== null ? ` (seq ${s.recovery.abortSeq})` : ""}`,
    `sleepers: producer ${s.events.rawFreed.sleepers}, workers ${s.events.work.sleepers}, consumer ${s.events.done.sleepers}`,
    "workers:",
    ...s.workers.map((w) => `  pid ${w.pid} ${w.alive ? "alive" : "gone "}  frames ${w.frames}  busy ${w.busyS.toFixed(3)} s  waiting ${w.waitS.toFixed(3)} s${w.asleep ? "  asleep" : ""}`),
    "slot  raw state (owner)      processed (owner)    n raw/proc seq   attempts",
    ...s.slotStates.map(
      (x) =>
        `${String(x.slot).padStart(4)}  ${`${x.raw}${x.rawOwner ? ` (${x.rawOwner})` : ""}`.padEnd(22)} ${`${x.proc}${x.procOwner ? ` (${x.procOwner})` : ""}`.padEnd(20)} ${`${x.n}/${x.procN}`.padEnd(8)} ${String(x.seq).padEnd(8)} ${x.attempts}`,
    ),
  ];
  return lines.join("\n");
}
