/**
 * Process liveness from /proc: a pid is alive when /proc/PID/stat exists, the
 * process is not a zombie, and (when known) its start time matches the one
 * recorded at attach, so a recycled pid is not mistaken for the old owner.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

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

/**
 * CPUs this process may run on: its affinity mask (os.availableParallelism
 * reads sched_getaffinity), lowered by a cgroup CPU quota when one is set
 * (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us), at least 1.
 */
export function usableCores(): number {
  let n = Math.max(1, availableParallelism());
  const quota = cgroupQuota();
  if (quota > 0) n = Math.min(n, Math.max(1, Math.ceil(quota)));
  return n;
}

/** CPUs' worth of the cgroup CPU quota (e.g. 1.5), or 0 when there is none. */
function cgroupQuota(): number {
  try {
    const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
    const v2 = lines.find((l) => l.startsWith("0::"));
    if (v2) {
      const [q, per] = readFileSync(`/sys/fs/cgroup${v2.slice(3)}/cpu.max`, "utf8").trim().split(/\s+/);
      if (q && q !== "max" && Number(per) > 0) return Number(q) / Number(per);
    }
  } catch {}
  try {
    const v1 = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
    const path = v1 ? v1.slice(v1.lastIndexOf(":") + 1) : "/";
    for (const base of [`/sys/fs/cgroup/cpu${path}`, "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]) {
      try {
        const q = Number(readFileSync(`${base}/cpu.cfs_quota_us`, "utf8"));
        const per = Number(readFileSync(`${base}/cpu.cfs_period_us`, "utf8"));
        if (q > 0 && per > 0) return q / per;
        if (q === -1) return 0;
      } catch {}
    }
  } catch {}
  return 0;
}

/** Runnable tasks on the whole machine right now (/proc/loadavg field 4, "running/total"); 0 if unknown. */
export function runnableTasks(): number {
  try {
    const f = readFileSync("/proc/loadavg", "latin1").split(" ")[3] ?? "";
    return Number(f.split("/")[0]) || 0;
  } catch {
    return 0;
  }
}

/** CPU time a process and its waited-for children used, in clock ticks (utime+stime+cutime+cstime); 0 if gone. */
export function cpuTicksOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) : 0;
}

/** Idle time of the whole machine, in clock ticks summed over its CPUs (/proc/stat: idle + iowait); -1 if unknown. */
export function machineIdleTicks(): number {
  try {
    const line = readFileSync("/proc/stat", "latin1").slice(0, 256).split("\n")[0] ?? "";
    const f = line.trim().split(/\s+/);
    if (f[0] !== "cpu") return -1;
    return Number(f[4]) + Number(f[5]);
  } catch {
    return -1;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux architecture shmimg runs on). */
export const CLOCK_TICKS = 100;
