/**
 * Inspecting and removing a pipeline's objects without trusting them (I10 in
 * layout.ts): what exists at the name's keys, whether the kernel says it is
 * ours (owner and creator uid), whether its header says it is ours (magic,
 * or CREATING while its creator fills it in, and the name), whether anyone
 * uses it (shm_nattch, live-stage semaphores), whether it is stale (creator
 * and every owner dead, nothing attached) — after PostgreSQL's sysv_shmem.c.
 */
import { toArrayBuffer } from "bun:ffi";
import { IPC, libc } from "../../native/libc";
import { listSegments, listSemaphoreSets, semStat, shim, shmStat } from "../../native/shim";
import { hexKey, isOurKey, keysFor, Obj, type Keys } from "./keys";
import { H, KIND_RAW, MAGIC, MAGIC_CREATING, MAX_NAME_BYTES, R, Sem } from "../layout";
import { describeUid, isMine } from "./owner";
import { isAlive } from "./proc";

/** What a segment's header says: a complete pipeline, one being created, or not shmimg's. */
export type HeaderState = "pipeline" | "creating" | "foreign";

export interface SegmentInfo {
  shmid: number;
  key: number;
  nattch: number;
  uid: number;
  cuid: number;
  /** The kernel says we own and created it. */
  mine: boolean;
  header: HeaderState;
  /** Header's creator pid; for an all-zero header (creator killed before its first store) the kernel's shm_cpid. */
  creatorPid: number;
  /** Pid of the `run` that owns the pipeline (raw segment only); 0 = made by `init`, owned by the user. */
  runPid: number;
  /** The set the creator recorded (raw segment only, R.semid); 0 if not yet recorded. */
  semid: number;
  name: string;
}

export interface SetInfo {
  semid: number;
  key: number;
  uid: number;
  cuid: number;
  mine: boolean;
  nsems: number;
  liveStages: number;
}

export interface PipelineObjects {
  /** The name asked for, or (found by listing) the one in the raw header; "?" when unknown. */
  name: string;
  keys: Keys;
  raw?: SegmentInfo;
  proc?: SegmentInfo;
  sems?: SetInfo;
  liveStages: number;
}

/** Ids of the objects a creator made (what a run may remove at its end). */
export interface ObjectIds {
  raw?: number;
  proc?: number;
  semid?: number;
}

/** Reads a segment's header read-only (attach, copy the header, detach). */
export function peekSegment(shmid: number, key: number): SegmentInfo | undefined {
  const st = shmStat(shmid);
  if (typeof st === "number") return undefined;
  const info: SegmentInfo = { shmid, key, nattch: st.nattch, uid: st.uid, cuid: st.cuid, mine: isMine(st), header: "foreign", creatorPid: 0, runPid: 0, semid: 0, name: "" };
  if (!info.mine || st.segsz < 128) return info;
  const addr = libc.shmat(shmid, null, IPC.SHM_RDONLY);
  if (addr === -1 || addr === 0) return info;
  const head = new Uint8Array(128);
  head.set(new Uint8Array(toArrayBuffer(addr, 0, 128)));
  const v = new DataView(head.buffer);
  const magic = v.getUint32(H.magic, true);
  const raw = v.getUint32(H.kind, true) === KIND_RAW;
  if (raw && (magic === MAGIC || magic === MAGIC_CREATING) && st.segsz >= R.semid + 4) {
    const r = new Int32Array(toArrayBuffer(addr, R.runPid, 8));
    info.runPid = r[0]!;
    info.semid = r[1]!;
  }
  libc.shmdt(addr);
  if (magic === MAGIC) info.header = "pipeline";
  else if (magic === MAGIC_CREATING) info.header = "creating";
  // Killed between shmget and its first store: nothing written, the kernel knows the creator.
  else if (head.every((b) => b === 0)) info.header = "creating";
  info.creatorPid = info.header === "creating" && magic === 0 ? st.cpid : v.getUint32(H.creatorPid, true);
  const nameBytes = head.subarray(H.name, H.name + MAX_NAME_BYTES);
  const end = nameBytes.indexOf(0);
  info.name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? MAX_NAME_BYTES : end));
  return info;
}

function segmentAt(key: number): SegmentInfo | undefined {
  const shmid = libc.shmget(key, 0, 0);
  return shmid < 0 ? undefined : peekSegment(shmid, key);
}

function liveStagesOf(semid: number): number {
  let live = 0;
  for (const r of [Sem.PRODUCERS, Sem.WORKERS, Sem.CONSUMERS]) live += Math.max(0, shim.shim_sem_getval(semid, r));
  return live;
}

function setAt(key: number): SetInfo | undefined {
  const semid = libc.semget(key, 0, 0);
  if (semid < 0) return undefined;
  const st = semStat(semid);
  if (typeof st === "number") return undefined;
  return { semid, key, uid: st.uid, cuid: st.cuid, mine: isMine(st), nsems: st.nsems, liveStages: isMine(st) ? liveStagesOf(semid) : 0 };
}

/**
 * What is at a pipeline's keys. The set is looked up before the segments:
 * creators make the raw segment first (I10), so a set seen here without a raw
 * segment is not a creation in progress.
 */
export function inspectKeys(keys: Keys, name = "?"): PipelineObjects {
  const sems = setAt(keys.sems);
  const raw = segmentAt(keys.raw);
  const proc = segmentAt(keys.processed);
  const known = name !== "?" ? name : raw?.header !== "foreign" && raw?.name ? raw.name : proc?.header !== "foreign" && proc?.name ? proc.name : "?";
  return { name: known, keys, raw, proc, sems, liveStages: sems?.liveStages ?? 0 };
}

export function inspect(name: string): PipelineObjects {
  return inspectKeys(keysFor(name, process.getuid!()), name);
}

export function exists(o: PipelineObjects): boolean {
  return !!(o.raw || o.proc || o.sems);
}

/** A segment we may treat as this pipeline's: ours by the kernel and by its header, with the pipeline's name. */
function segmentIsOurs(o: PipelineObjects, s: SegmentInfo): boolean {
  if (!s.mine || s.header === "foreign") return false;
  return s.name === "" ? s.header === "creating" : o.name === "?" || s.name === o.name;
}

/** A set we may treat as this pipeline's: ours by the kernel, shmimg's size, and the one the raw segment names. */
function setIsOurs(o: PipelineObjects, s: SetInfo): boolean {
  if (!s.mine || s.nsems !== Sem.COUNT) return false;
  const raw = o.raw;
  if (!raw || !segmentIsOurs(o, raw)) return !raw;
  return raw.semid === s.semid || (raw.header === "creating" && raw.semid === 0);
}

/**
 * Why something at these keys is not this pipeline's (another user's object,
 * a segment that is not shmimg's, another pipeline whose name hashes to the
 * same key), or undefined when everything there is ours. Such objects are
 * never removed, recycled or attached.
 */
export function collision(o: PipelineObjects): string | undefined {
  for (const s of [o.raw, o.proc]) {
    if (!s || segmentIsOurs(o, s)) continue;
    const where = `key ${hexKey(s.key)} (shmid ${s.shmid})`;
    if (!s.mine)
      return `${where} holds a segment owned by ${describeUid(s.uid)}${s.cuid !== s.uid ? `, created by ${describeUid(s.cuid)}` : ""}: a key collision with another user's object (keys hash the name); it was left alone. Use another --name.`;
    if (s.header === "foreign") return `${where} holds a segment that is not shmimg's; it was left alone. Use another --name.`;
    return `${where} belongs to pipeline "${s.name}", whose name shares its key with "${o.name}"; it was left alone. Use another --name.`;
  }
  const s = o.sems;
  if (s && !setIsOurs(o, s)) {
    const where = `semaphore set key ${hexKey(s.key)} (semid ${s.semid})`;
    if (!s.mine)
      return `${where} is owned by ${describeUid(s.uid)}${s.cuid !== s.uid ? `, created by ${describeUid(s.cuid)}` : ""}: a key collision with another user's object (keys hash the name); it was left alone. Use another --name.`;
    if (s.nsems !== Sem.COUNT) return `${where} has ${s.nsems} semaphores: it is not shmimg's; it was left alone. Use another --name.`;
    return `${where} is not the set pipeline "${o.name}" was created with (semid ${o.raw?.semid}); it was left alone. Remove it with ipcrm if you know whose it is.`;
  }
  return undefined;
}

export function inUse(o: PipelineObjects): boolean {
  return (o.raw?.nattch ?? 0) > 0 || (o.proc?.nattch ?? 0) > 0 || o.liveStages > 0;
}

/**
 * Stale: ours, nothing attached, no live stage, and its owner dead. The owner
 * is the `run` that made it; a pipeline made by `init` belongs to the user
 * (its creator exits at once) and is never stale: only `clean` removes it.
 * One being created (CREATING header) is stale only once its creator is dead;
 * a set without a raw segment cannot be a creation in progress (I10).
 */
export function isStale(o: PipelineObjects): boolean {
  if (!exists(o) || collision(o) || inUse(o)) return false;
  const raw = o.raw;
  if (!raw) return !(o.proc && isAlive(o.proc.creatorPid));
  if (raw.header === "creating") return !isAlive(raw.creatorPid);
  if (raw.runPid === 0) return false;
  return !isAlive(raw.runPid) && !isAlive(raw.creatorPid);
}

/** Ids of what inspect() found. */
export function idsOf(o: PipelineObjects): ObjectIds {
  return { raw: o.raw?.shmid, proc: o.proc?.shmid, semid: o.sems?.semid };
}

/**
 * Removes (IPC_RMID) the objects that are provably this pipeline's, in the
 * order set, processed, raw (I10). With `only`, an object is removed only if
 * its id is the one given (a run removes what it created, never whatever is
 * at the key now). Returns descriptions of what was removed.
 */
export function removeObjects(o: PipelineObjects, only?: ObjectIds): string[] {
  const removed: string[] = [];
  const s = o.sems;
  if (s && setIsOurs(o, s) && (!only || only.semid === s.semid)) {
    // Re-checked by id just before removal: the key must still name this set.
    const st = semStat(s.semid);
    if (typeof st !== "number" && st.key === s.key && isMine(st) && shim.shim_sem_rmid(s.semid) === 0) removed.push(`sem ${hexKey(s.key)} (semid ${s.semid})`);
  }
  for (const [seg, id] of [[o.proc, only?.proc], [o.raw, only?.raw]] as const) {
    if (!seg || !segmentIsOurs(o, seg) || (only && id !== seg.shmid)) continue;
    const st = shmStat(seg.shmid);
    if (typeof st !== "number" && st.key === seg.key && isMine(st) && shim.shim_shm_rmid(seg.shmid) === 0) removed.push(`shm ${hexKey(seg.key)} (shmid ${seg.shmid})`);
  }
  return removed;
}

/** Every pipeline of this user found in the kernel's tables (key tag, owner and creator uid). */
export function listOurPipelines(): PipelineObjects[] {
  const bases = new Set<number>();
  for (const s of listSegments()) if (isOurKey(s.key) && isMine(s)) bases.add((s.key & ~3) >>> 0);
  // Sets whose segments are gone (a removal that was interrupted, an older version).
  for (const s of listSemaphoreSets()) if (isOurKey(s.key) && isMine(s) && (s.key & 3) === Obj.SEMS) bases.add((s.key & ~3) >>> 0);
  return [...bases].map((base) => inspectKeys({ raw: base | Obj.RAW, processed: base | Obj.PROCESSED, sems: base | Obj.SEMS }));
}
