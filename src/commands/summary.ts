/** Text of the one-line summaries that commands print at their end. */
import type { ConsumeReport } from "../pipeline/stages/consume-report";

/**
 * Frames per worker process for a summary line: each count when there were
 * few, else how many processes and min/median/max (a run whose workers were
 * killed and replaced hundreds of times would print hundreds of numbers).
 */
export function perWorkerText(perWorker: Record<string, number>): string {
  const v = Object.values(perWorker);
  if (v.length <= 8) return `[${v.join(" ")}]`;
  const s = [...v].sort((a, b) => a - b);
  return `[${v.length} processes; frames min ${s[0]} median ${s[s.length >> 1]} max ${s[s.length - 1]}]`;
}

/** "1 frame", "2 frames". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** "120 frames/s, 27.6 MB/s", or "" when too little was measured to give a rate. */
export function rates(frames: number, bytes: number, wallS: number): string {
  if (frames === 0 || wallS <= 0) return "";
  return `${(frames / wallS).toFixed(0)} frames/s, ${(bytes / wallS / 1e6).toFixed(1)} MB/s`;
}

/** consume's last line. */
export function consumeSummary(name: string, r: ConsumeReport): string {
  const rate = rates(r.frames, r.bytes, r.wallS);
  return (
    `consume: ${count(r.frames, "frame")} (${(r.bytes / 1e6).toFixed(1)} MB) from "${name}"${r.resumedAt ? ` after resuming at ${r.resumedAt}` : ""} in ${r.wallS.toFixed(3)} s${rate ? `: ${rate}` : ""}; ` +
    `${r.frames ? `last seq ${r.lastSeq}, ` : ""}${count(r.seqGaps, "seq gap")}, ${r.dropped} dropped, ${r.redone} redone; workers ${perWorkerText(r.perWorker)}; ` +
    `waited ${r.consumerWaitS.toFixed(3)} s, producer blocked ${r.producerBlockedS.toFixed(3)} s`
  );
}
