/**
 * Per-process accounting for the bench: when SHMIMG_STAGE_LOG names a file,
 * every shmimg process (run supervisor, producer, workers, consumer, and the
 * bench's own pipe-work tools) appends one JSON line to it as it exits: its
 * command, pid, peak RSS (VmHWM), CPU time, context switches and JS heap
 * size (before and after a full GC: garbage vs live objects). VmHWM is
 * monotonic, so the value read at exit is the process's true peak; no
 * polling, no race with a short-lived stage. Lines are < 4 KiB and written
 * with O_APPEND, so concurrent writers never interleave.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { heapStats } from "bun:jsc";

export const STAGE_LOG_ENV = "SHMIMG_STAGE_LOG";

export interface StageRecord {
  cmd: string;
  pid: number;
  ppid: number;
  /** Peak resident set size, bytes (VmHWM). */
  peakRss: number;
  /** Resident set size at exit, bytes (VmRSS). */
  rss: number;
  userS: number;
  sysS: number;
  /** Voluntary / involuntary context switches. */
  vcsw: number;
  ivcsw: number;
  /** Wall time from process start (as far as JS can tell) to exit, s. */
  aliveS: number;
  /** JS heap at exit: size, capacity and extra (array buffers etc.) memory, bytes; objects. */
  heap: number;
  heapCapacity: number;
  extraMemory: number;
  objects: number;
  /** Peak bytes committed by the malloc (mimalloc) heap. */
  mallocPeak: number;
  /** After a full GC: JS heap bytes and live objects. */
  heapLive: number;
  objectsLive: number;
}

/** Reads a `Name:   1234 kB` field of /proc/self/status, in bytes (0 when absent). */
export function statusBytes(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, "m").exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Appends this process's record (call once, as the process ends). */
export function logStage(argv: string[]): void {
  const path = process.env[STAGE_LOG_ENV];
  if (!path) return;
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const ru = process.resourceUsage();
    const before = heapStats() as ReturnType<typeof heapStats> & { mimalloc?: { committed?: { peak?: number } } };
    Bun.gc(true);
    const live = heapStats();
    const rec: StageRecord = {
      cmd: argv.find((a) => !a.startsWith("-")) ?? "?",
      pid: process.pid,
      ppid: process.ppid,
      peakRss: statusBytes(status, "VmHWM"),
      rss: statusBytes(status, "VmRSS"),
      userS: ru.userCPUTime / 1e6,
      sysS: ru.systemCPUTime / 1e6,
      vcsw: ru.voluntaryContextSwitches,
      ivcsw: ru.involuntaryContextSwitches,
      aliveS: performance.now() / 1000,
      heap: before.heapSize,
      heapCapacity: before.heapCapacity,
      extraMemory: before.extraMemorySize,
      objects: before.objectCount,
      mallocPeak: before.mimalloc?.committed?.peak ?? 0,
      heapLive: live.heapSize,
      objectsLive: live.objectCount,
    };
    appendFileSync(path, JSON.stringify(rec) + "\n");
  } catch {
    // Accounting must never change a stage's exit code.
  }
}

/** Every record in a stage log (empty when the file does not exist). */
export function readStageLog(path: string): StageRecord[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const out: StageRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {}
  }
  return out;
}
