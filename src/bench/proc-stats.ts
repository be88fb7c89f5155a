/**
 * What the bench records per process (peak RSS, CPU time, context switches,
 * JS heap at exit) from the stage log or wait4's rusage, and the machine's
 * CPU time spent on other processes during a run (/proc/stat).
 */
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import type { StageRecord } from "./stage-log";

export interface ProcStat {
  role: string;
  pid: number;
  peakRss: number;
  userS: number;
  sysS: number;
  vcsw: number;
  ivcsw: number;
  /** shmimg stages: JS heap and malloc figures at exit (see StageRecord). */
  heap?: number;
  heapCapacity?: number;
  extraMemory?: number;
  mallocPeak?: number;
  heapLive?: number;
  objectsLive?: number;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
export function machineBusyS(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return 0;
  }
}

/** A point to measure foreign CPU time from: machine busy time and this (bench) process's CPU time. */
export function mark(): { busy: number; self: NodeJS.CpuUsage } {
  return { busy: machineBusyS(), self: process.cpuUsage() };
}

/** Machine CPU time since `m0` not spent by the bench itself or by `procs`. */
export function foreign(m0: { busy: number; self: NodeJS.CpuUsage }, procs: ProcStat[]): number {
  const self = process.cpuUsage(m0.self);
  const ours = procs.reduce((a, p) => a + p.userS + p.sysS, 0) + (self.user + self.system) / 1e6;
  return Math.max(0, machineBusyS() - m0.busy - ours);
}

const ROLE: Record<string, string> = { run: "supervisor", produce: "producer", work: "worker", consume: "consumer" };

export function fromStage(r: StageRecord): ProcStat {
  return { role: ROLE[r.cmd] ?? r.cmd, pid: r.pid, peakRss: r.peakRss, userS: r.userS, sysS: r.sysS, vcsw: r.vcsw, ivcsw: r.ivcsw, heap: r.heap, heapCapacity: r.heapCapacity, extraMemory: r.extraMemory, mallocPeak: r.mallocPeak, heapLive: r.heapLive, objectsLive: r.objectsLive };
}

/** CPU time and context switches from wait4's rusage (peakRss is filled in by the caller). */
export function fromRusage(role: string, p: Subprocess<any, any, any>): ProcStat {
  const u = p.resourceUsage();
  if (!u) return { role, pid: p.pid, peakRss: 0, userS: 0, sysS: 0, vcsw: 0, ivcsw: 0 };
  return {
    role,
    pid: p.pid,
    peakRss: 0,
    userS: Number(u.cpuTime.user) / 1e6,
    sysS: Number(u.cpuTime.system) / 1e6,
    vcsw: u.contextSwitches.voluntary,
    ivcsw: u.contextSwitches.involuntary,
  };
}
