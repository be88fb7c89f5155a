/**
 * Inspecting and removing a pipeline's objects without trusting them:
 * what exists at the name's keys, whether it is ours (magic), whether anyone
 * uses it (shm_nattch, live-stage semaphores), whether it is stale (creator
 * and every owner dead, nothing attached) — after PostgreSQL's sysv_shmem.c.
 */
import { toArrayBuffer } from "bun:ffi";
import { IPC, libc } from "../../native/libc";
import { listSegments, listSemaphoreSets, shim, shmStat } from "../../native/shim";
import { hexKey, isOurKey, keysFor, Obj } from "./keys";
import { H, KIND_RAW, MAGIC, MAX_NAME_BYTES, R, Sem } from "../layout";
import { isAlive } from "./proc";

export interface SegmentInfo {
  shmid: number;
  key: number;
  nattch: number;
  ours: boolean;
  creatorPid: number;
  /** Pid of the `run` that owns the pipeline (raw segment only); 0 = made by `init`, owned by the user. */
  runPid: number;
  name: string;
}

export interface PipelineObjects {
  name: string;
  raw?: SegmentInfo;
  proc?: SegmentInfo;
  semid?: number;
  semKey: number;
  liveStages: number;
}

/** Reads a segment's header read-only (attach, copy 128 bytes, detach). */
export function peekSegment(shmid: number, key: number): SegmentInfo | undefined {
  const st = shmStat(shmid);
  if (typeof st === "number") return undefined;
  const info: SegmentInfo = { shmid, key, nattch: st.nattch, ours: false, creatorPid: 0, runPid: 0, name: "" };
  if (st.uid !== process.getuid!() || st.segsz < 128) return info;
  const addr = libc.shmat(shmid, null, IPC.SHM_RDONLY);
  if (addr === -1 || addr === 0) return info;
  const head = new Uint8Array(128);
  head.set(new Uint8Array(toArrayBuffer(addr, 0, 128)));
  const v = new DataView(head.buffer);
  info.ours = v.getUint32(H.magic, true) === MAGIC;
  if (info.ours && v.getUint32(H.kind, true) === KIND_RAW && st.segsz >= R.runPid + 4) info.runPid = new Int32Array(toArrayBuffer(addr, R.runPid, 4))[0]!;
  libc.shmdt(addr);
  info.creatorPid = v.getUint32(H.creatorPid, true);
  const nameBytes = head.subarray(H.name, H.name + MAX_NAME_BYTES);
  const end = nameBytes.indexOf(0);
  info.name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? MAX_NAME_BYTES : end));
  return info;
}

function segmentAt(key: number): SegmentInfo | undefined {
  const shmid = libc.shmget(key, 0, 0);
  return shmid < 0 ? undefined : peekSegment(shmid, key);
}

export function inspect(name: string): PipelineObjects {
  const keys = keysFor(name, process.getuid!());
  const semid = libc.semget(keys.sems, 0, 0);
  let live = 0;
  if (semid >= 0) for (const r of [Sem.PRODUCERS, Sem.WORKERS, Sem.CONSUMERS]) live += Math.max(0, shim.shim_sem_getval(semid, r));
  return { name, raw: segmentAt(keys.raw), proc: segmentAt(keys.processed), semid: semid >= 0 ? semid : undefined, semKey: keys.sems, liveStages: live };
}

export function exists(o: PipelineObjects): boolean {
  return !!(o.raw || o.proc || o.semid !== undefined);
}

/** Something at our keys that is not a shmimg segment (never touched). */
export function foreign(o: PipelineObjects): SegmentInfo | undefined {
  return [o.raw, o.proc].find((s) => s && !s.ours);
}

export function inUse(o: PipelineObjects): boolean {
  return (o.raw?.nattch ?? 0) > 0 || (o.proc?.nattch ?? 0) > 0 || o.liveStages > 0;
}

/**
 * Stale: ours, nothing attached, no live stage, and its owner dead. The owner
 * is the `run` that made it; a pipeline made by `init` belongs to the user
 * (its creator exits at once) and is never stale: only `clean` removes it.
 * A set missing its segments (a creator killed mid-way) is stale too.
 */
export function isStale(o: PipelineObjects): boolean {
  if (!exists(o) || foreign(o) || inUse(o)) return false;
  if (!o.raw) return !(o.proc && isAlive(o.proc.creatorPid));
  if (o.raw.runPid === 0) return false;
  return !isAlive(o.raw.runPid) && !isAlive(o.raw.creatorPid);
}

/** Removes what exists (IPC_RMID); foreign segments are left alone. Returns descriptions. */
export function removeObjects(o: PipelineObjects): string[] {
  const removed: string[] = [];
  for (const s of [o.raw, o.proc]) {
    if (s && s.ours && shim.shim_shm_rmid(s.shmid) === 0) removed.push(`shm ${hexKey(s.key)} (shmid ${s.shmid})`);
  }
  if (o.semid !== undefined && shim.shim_sem_rmid(o.semid) === 0) removed.push(`sem ${hexKey(o.semKey)} (semid ${o.semid})`);
  return removed;
}

/** Every pipeline of this user found in the kernel's tables (by key tag and magic). */
export function listOurPipelines(): { name: string; objects: PipelineObjects; baseKey: number }[] {
  const uid = process.getuid!();
  const seen = new Map<number, { name: string; objects: PipelineObjects; baseKey: number }>();
  for (const s of listSegments()) {
    if (!isOurKey(s.key) || s.uid !== uid) continue;
    const base = (s.key & ~3) >>> 0;
    if (seen.has(base)) continue;
    const info = peekSegment(s.shmid, s.key);
    if (!info?.ours) continue;
    seen.set(base, { name: info.name, objects: inspect(info.name), baseKey: base });
  }
  // Semaphore sets whose segments are gone (a crash between creations).
  for (const s of listSemaphoreSets()) {
    if (!isOurKey(s.key) || s.uid !== uid || (s.key & 3) !== Obj.SEMS) continue;
    const base = (s.key & ~3) >>> 0;
    if (seen.has(base)) continue;
    const objects: PipelineObjects = { name: "?", semid: s.semid, semKey: s.key, liveStages: 0 };
    for (const r of [Sem.PRODUCERS, Sem.WORKERS, Sem.CONSUMERS]) objects.liveStages += Math.max(0, shim.shim_sem_getval(s.semid, r));
    seen.set(base, { name: "?", objects, baseKey: base });
  }
  return [...seen.values()];
}
