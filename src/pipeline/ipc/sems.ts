/**
 * The pipeline's semaphore set: a recovery lock and live-stage counts, all
 * taken with SEM_UNDO so the kernel releases them when a holder dies (kill -9
 * included). Counting semaphores that carry data would be wrong with SEM_UNDO;
 * these carry only "I am alive", which is exactly what undo should revert.
 */
import { E, errno, errnoName, IPC, libc } from "../../native/libc";
import { semStat, shim } from "../../native/shim";
import { ShmimgError, Exit } from "../../errors";
import { Sem } from "../layout";
import { hexKey } from "./keys";
import { ownershipProblem } from "./owner";

const ops = new Int16Array(3 * 4); // struct sembuf { short num, op, flg } x 4
const timeout = new BigInt64Array(2); // struct timespec

function semop(semid: number, n: number, timeoutMs?: number): number {
  if (timeoutMs === undefined) return libc.semop(semid, ops, n) < 0 ? -errno() : 0;
  timeout[0] = BigInt(Math.floor(timeoutMs / 1000));
  timeout[1] = BigInt((timeoutMs % 1000) * 1e6);
  return libc.semtimedop(semid, ops, n, timeout) < 0 ? -errno() : 0;
}

function setOp(i: number, num: number, op: number, flg: number): void {
  ops[i * 3] = num;
  ops[i * 3 + 1] = op;
  ops[i * 3 + 2] = flg;
}

export function semgetError(key: number, err: number, creating: boolean, name: string): ShmimgError {
  const call = `semget(key=${hexKey(key)}, nsems=${Sem.COUNT}, ${creating ? "IPC_CREAT|IPC_EXCL|0600" : "0"}) failed: ${errnoName(err)}.`;
  let hint = "See semget(2).";
  if (err === E.ENOENT) hint = `No pipeline named "${name}" exists; create it with \`shmimg init --name ${name} --max-size WxH\` or use \`shmimg run\`.`;
  else if (err === E.EEXIST) hint = `A semaphore set already exists at this key; if pipeline "${name}" is stale run \`shmimg clean --name ${name}\`.`;
  else if (err === E.ENOSPC) hint = "The kernel's semaphore limits (kernel.sem: SEMMNI/SEMMNS) are reached; remove stale sets with `shmimg clean --stale` or raise kernel.sem.";
  else if (err === E.EACCES) hint = "The set belongs to another user or its mode forbids access; use your own --name.";
  else if (err === E.EINVAL) hint = "The set exists with fewer semaphores than shmimg needs (not ours?); use another --name.";
  return new ShmimgError(`${call} ${hint}`, Exit.INVALID);
}

export function createSems(key: number, name: string): number {
  const semid = libc.semget(key, Sem.COUNT, IPC.CREAT | IPC.EXCL | 0o600);
  if (semid < 0) throw semgetError(key, errno(), true, name);
  const r = shim.shim_sem_setval(semid, Sem.LOCK, 1);
  if (r < 0) {
    shim.shim_sem_rmid(semid);
    throw new ShmimgError(`semctl(semid=${semid}, LOCK, SETVAL, 1) failed: ${errnoName(r)}.`, Exit.INVALID);
  }
  return semid;
}

/**
 * Opens the pipeline's set and checks it as attachSegment checks a segment:
 * owner and creator uid ours, mode 0600 (0660 with --shared-group), and the
 * number of semaphores shmimg creates (I10). A set anyone may write could
 * carry a forged live-stage count or a held lock.
 */
export function openSems(key: number, name: string, sharedGroup = false): number {
  const semid = libc.semget(key, Sem.COUNT, 0);
  if (semid < 0) throw semgetError(key, errno(), false, name);
  const st = semStat(semid);
  if (typeof st === "number") throw new ShmimgError(`semctl(semid=${semid}, IPC_STAT) failed: ${errnoName(st)}. The set may have just been removed; retry.`, Exit.INVALID);
  const problem = st.nsems !== Sem.COUNT ? `it has ${st.nsems} semaphores, shmimg's have ${Sem.COUNT}` : ownershipProblem(st, sharedGroup);
  if (problem)
    throw new ShmimgError(
      `semaphore set key ${hexKey(key)} semid ${semid}: ${problem}; refusing to use it (it was not modified). If pipeline "${name}" is yours and stale, remove it with \`shmimg clean --name ${name}\`; otherwise use another --name.`,
      Exit.INVALID,
    );
  return semid;
}

/**
 * Whether the set was removed under us (IPC_RMID by `clean --force` or
 * ipcrm): semctl then fails with EIDRM or EINVAL. Returns the errno name or
 * undefined while the set exists.
 */
export function semRemoved(semid: number): string | undefined {
  const r = shim.shim_sem_getval(semid, Sem.LOCK);
  return r === -E.EIDRM || r === -E.EINVAL ? errnoName(r) : undefined;
}

/** Live stages of a role (kernel-exact: SEM_UNDO reverts a dead stage's +1). */
export function liveCount(semid: number, role: number): number {
  const v = shim.shim_sem_getval(semid, role);
  return v < 0 ? 0 : v;
}

/**
 * Joins a role: +1 with SEM_UNDO. For single-instance roles (producer,
 * consumer) the same atomic semop first requires the count to be zero.
 * Returns 0, or -EAGAIN when another instance is live, or -errno.
 */
export function joinRole(semid: number, role: number, single: boolean): number {
  if (single) {
    setOp(0, role, 0, IPC.NOWAIT);
    setOp(1, role, 1, IPC.SEM_UNDO);
    return semop(semid, 2);
  }
  setOp(0, role, 1, IPC.SEM_UNDO);
  return semop(semid, 1);
}

export function leaveRole(semid: number, role: number): void {
  setOp(0, role, -1, IPC.SEM_UNDO | IPC.NOWAIT);
  semop(semid, 1);
}

/** Takes the recovery lock (SEM_UNDO: released by the kernel if we die). */
export function lock(semid: number, timeoutMs: number): boolean {
  setOp(0, Sem.LOCK, -1, IPC.SEM_UNDO);
  return semop(semid, 1, timeoutMs) === 0;
}

export function unlock(semid: number): void {
  setOp(0, Sem.LOCK, 1, IPC.SEM_UNDO);
  semop(semid, 1);
}
