/**
 * What `shmimg ls` and `stat --watch` show: one row per pipeline of this user
 * (state, stages alive, frames in/out, age), and a view of one pipeline that
 * fits a terminal (a summary and only the slots in use).
 */
import { listOurPipelines, isStale, type PipelineObjects } from "../ipc/objects";
import { shmStat } from "../../native/shim";
import { openPipeline } from "./pipeline";
import { type Snapshot } from "./snapshot";
import { Eos, P, Sem } from "../layout";
import { liveCount } from "../ipc/sems";

export type PipelineState = "running" | "finished" | "idle" | "stale" | "broken";

export interface PipelineRow {
  name: string;
  /**
   * running: a stage is alive; finished: the stream ended, every frame was
   * delivered and no stage is left; idle: made by init, waiting for stages or
   * stopped mid-stream; stale: its run and creator died (clean --stale removes
   * it); broken: objects missing or unreadable (clean removes them).
   */
  state: PipelineState;
  producers: number;
  workers: number;
  consumers: number;
  framesIn: number;
  framesOut: number;
  /** Seconds since the raw segment was created (-1 unknown). */
  ageS: number;
  /** Why a pipeline is broken. */
  note?: string;
}

function rowOf(name: string, objects: PipelineObjects): PipelineRow {
  const st = objects.raw ? shmStat(objects.raw.shmid) : undefined;
  const ageS = st && typeof st !== "number" && st.ctime > 0 ? Math.max(0, Date.now() / 1000 - st.ctime) : -1;
  const row: PipelineRow = { name, state: "broken", producers: 0, workers: 0, consumers: 0, framesIn: 0, framesOut: 0, ageS };
  if (name === "?" || !objects.raw || !objects.proc || !objects.sems) {
    row.state = isStale(objects) ? "stale" : "broken";
    row.note = objects.raw?.header === "creating" ? `being created by pid ${objects.raw.creatorPid}` : "objects missing (a creation was interrupted)";
    return row;
  }
  let p;
  try {
    p = openPipeline(name);
  } catch (e) {
    row.note = (e as Error).message;
    return row;
  }
  try {
    row.producers = liveCount(p.semid, Sem.PRODUCERS);
    row.workers = liveCount(p.semid, Sem.WORKERS);
    row.consumers = liveCount(p.semid, Sem.CONSUMERS);
    row.framesIn = p.f64(P.head);
    row.framesOut = p.delivery().delivered;
    const live = row.producers + row.workers + row.consumers;
    if (live > 0) row.state = "running";
    else if (isStale(objects)) row.state = "stale";
    else if (p.i32(P.eos) === Eos.OK && row.framesOut >= row.framesIn) row.state = "finished";
    else row.state = "idle";
  } finally {
    p.detach();
  }
  return row;
}

/** Every pipeline of this user, sorted by name. */
export function listPipelines(): PipelineRow[] {
  return listOurPipelines()
    .map((pl) => rowOf(pl.name, pl))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function formatAge(s: number): string {
  if (s < 0) return "?";
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** The `ls` table. */
export function renderRows(rows: PipelineRow[]): string {
  const head = ["NAME", "STATE", "STAGES P/W/C", "FRAMES IN", "OUT", "AGE"];
  const cells = rows.map((r) => [r.name, r.state, `${r.producers}/${r.workers}/${r.consumers}`, String(r.framesIn), String(r.framesOut), formatAge(r.ageS) + (r.note ? `  (${r.note})` : "")]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : i >= 3 && i <= 4 ? x.padStart(width[i]!) : x.padEnd(width[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), ...cells.map(line)].join("\n");
}

/**
 * A view of one pipeline in at most `rows` lines of `cols` characters: the
 * summary, then the slots in use (free slots are not shown).
 */
export function renderWatch(s: Snapshot, rows: number, cols: number, ageS: number): string {
  const busy = s.slotStates.filter((x) => x.raw !== "FREE" || x.proc !== "FREE");
  const alive = s.workers.filter((w) => w.alive).length;
  const lines = [
    `pipeline "${s.name}"  ${formatAge(ageS)}  ${s.slots} slots of ${s.maxGeometry}`,
    `stages: producer ${s.live.producers}, workers ${s.live.workers} (${alive} alive in the table), consumer ${s.live.consumers}`,
    `frames: in ${s.producer.published} (last seq ${s.producer.lastSeq}), out ${s.consumer.delivered}; dropped ${s.producer.dropped}, redone ${s.recovery.redone}; ${s.producer.ended ? `stream ended: ${s.producer.eos}` : "stream open"}${s.recovery.abort !== "none" ? `; abort: ${s.recovery.abort}` : ""}`,
    `waiting: producer blocked ${s.producer.blockedS.toFixed(3)} s, consumer waited ${s.consumer.waitedS.toFixed(3)} s`,
    busy.length ? `busy slots (${busy.length} of ${s.slots}):  slot  raw (owner)  processed (owner)  n  seq  attempts` : `busy slots: none of ${s.slots}`,
  ];
  const room = Math.max(1, rows - lines.length - 1);
  const shown = busy.length > room ? busy.slice(0, room - 1) : busy;
  for (const x of shown)
    lines.push(`  ${String(x.slot).padStart(4)}  ${x.raw}${x.rawOwner ? ` (${x.rawOwner})` : ""}  ${x.proc}${x.procOwner ? ` (${x.procOwner})` : ""}  ${x.n}  ${x.seq}  ${x.attempts}${x.claimAgeS !== null ? `  claimed ${x.claimAgeS.toFixed(1)} s ago` : ""}`);
  if (shown.length < busy.length) lines.push(`  ... ${busy.length - shown.length} more busy slots (shmimg stat -n ${s.name} lists all)`);
  return lines.map((l) => (l.length > cols ? l.slice(0, cols - 1) + "…" : l)).join("\n");
}
