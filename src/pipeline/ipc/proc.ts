/**
 * Process liveness from /proc: a pid is alive when /proc/PID/stat exists, the
 * process is not a zombie, and (when known) its start time matches the one
 * recorded at attach, so a recycled pid is not mistaken for the old owner.
 */
import { readFileSync } from "node:fs";

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    const close = s.lastIndexOf(")");
    return s.slice(close + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Start time in clock ticks since boot (field 22 of /proc/PID/stat); 0 if gone. */
export function startTimeOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[19]) : 0;
}

/** True when pid runs (not a zombie) and, if start > 0, was started at `start`. */
export function isAlive(pid: number, start = 0): boolean {
  if (pid <= 0) return false;
  const f = statFields(pid);
  if (!f) return false;
  const state = f[0];
  if (state === "Z" || state === "X") return false;
  return start <= 0 || Number(f[19]) === start;
}

let selfStart = 0;
export function selfStartTime(): number {
  if (!selfStart) selfStart = startTimeOf(process.pid);
  return selfStart;
}

/** What `stat` says about a stage's process. */
export type ProcessState = "running" | "sleeping" | "stopped" | "zombie" | "gone";

/**
 * The process state from /proc/PID/stat (R running; S, D, I sleeping; T, t
 * stopped; Z, X zombie), or "gone" when the pid does not exist or (start > 0)
 * now belongs to another process.
 */
export function processState(pid: number, start = 0): ProcessState {
  if (pid <= 0) return "gone";
  const f = statFields(pid);
  if (!f || (start > 0 && Number(f[19]) !== start)) return "gone";
  switch (f[0]) {
    case "R":
      return "running";
    case "T":
    case "t":
      return "stopped";
    case "Z":
    case "X":
      return "zombie";
    default:
      return "sleeping";
  }
}
