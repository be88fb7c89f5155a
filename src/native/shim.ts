/**
 * The C shim (native/shim.c): struct-heavy calls, futex, signals, clock.
 * Every call returns >= 0 or -errno. The library file is embedded into the
 * compiled binary through the `type: "file"` import and extracted by Bun.
 */
import { dlopen, FFIType } from "bun:ffi";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
// @ts-ignore: a file import resolves to a path (embedded in the compiled binary)
import shimPath from "../../native/libshim.so" with { type: "file" };

const { i32, ptr, f64 } = FFIType;

/**
 * Inside the compiled binary the library lives in Bun's embedded filesystem
 * (/$bunfs/...). Bun would extract it to a shared temp file, and stages that
 * `run` starts at the same instant could dlopen it while another is still
 * writing it. Each process writes its own private copy instead, dlopens it
 * and unlinks it at once (the mapping stays valid).
 */
function loadablePath(): { path: string; temp: boolean } {
  const p = shimPath as string;
  if (!p.startsWith("/$bunfs/") && !p.startsWith("B:/~BUN/")) return { path: p, temp: false };
  const dir = process.env.TMPDIR || "/tmp";
  const path = `${dir}/shmimg-shim-${process.pid}-${Date.now().toString(36)}.so`;
  writeFileSync(path, readFileSync(p), { mode: 0o700 });
  return { path, temp: true };
}

const where = loadablePath();
const symbols = {
  // ---- semaphores ----
  shim_sem_getval: { args: [i32, i32], returns: i32 },
  shim_sem_setval: { args: [i32, i32, i32], returns: i32 },
  shim_sem_rmid: { args: [i32], returns: i32 },
  shim_sem_stat: { args: [i32, ptr], returns: i32 },
  shim_sem_stat_index: { args: [i32, ptr], returns: i32 },
  shim_sem_maxindex: { args: [], returns: i32 },
  // ---- shared memory ----
  shim_shm_stat: { args: [i32, ptr], returns: i32 },
  shim_shm_stat_index: { args: [i32, ptr], returns: i32 },
  shim_shm_maxindex: { args: [], returns: i32 },
  shim_shm_rmid: { args: [i32], returns: i32 },
  // ---- futex ----
  shim_futex_wait: { args: [ptr, i32, i32], returns: i32 },
  shim_futex_wake: { args: [ptr, i32], returns: i32 },
  // ---- signals ----
  shim_signals_install: { args: [i32], returns: i32 },
  shim_signal_pending: { args: [], returns: i32 },
  shim_set_pdeathsig: { args: [i32], returns: i32 },
  // ---- child processes (exec:/filter: ops) ----
  shim_spawn_sh: { args: [ptr, ptr], returns: i32 },
  shim_waitpid: { args: [i32, i32, ptr], returns: i32 },
  shim_close: { args: [i32], returns: i32 },
  // ---- clock / abi ----
  shim_now_us: { args: [], returns: f64 },
  shim_abi_version: { args: [], returns: i32 },
} as const;

let lib: ReturnType<typeof dlopen<typeof symbols>>;
try {
  lib = dlopen(where.path, symbols);
} finally {
  if (where.temp) unlinkSync(where.path);
}

type Ptr = number | NodeJS.TypedArray | null;
/** The symbols with the types we use them with (addresses are plain numbers). */
export interface Shim {
  shim_sem_getval(semid: number, num: number): number;
  shim_sem_setval(semid: number, num: number, val: number): number;
  shim_sem_rmid(semid: number): number;
  shim_sem_stat(semid: number, out: Ptr): number;
  shim_sem_stat_index(index: number, out: Ptr): number;
  shim_sem_maxindex(): number;
  shim_shm_stat(shmid: number, out: Ptr): number;
  shim_shm_stat_index(index: number, out: Ptr): number;
  shim_shm_maxindex(): number;
  shim_shm_rmid(shmid: number): number;
  shim_futex_wait(addr: Ptr, expected: number, timeoutUs: number): number;
  shim_futex_wake(addr: Ptr, n: number): number;
  shim_signals_install(keepIgnored: number): number;
  shim_signal_pending(): number;
  shim_set_pdeathsig(sig: number): number;
  shim_spawn_sh(cmd: Ptr, out: Ptr): number;
  shim_waitpid(pid: number, nohang: number, status: Ptr): number;
  shim_close(fd: number): number;
  shim_now_us(): number;
  shim_abi_version(): number;
}

export const shim = lib.symbols as unknown as Shim;

if (shim.shim_abi_version() !== 1) throw new Error("native/libshim.so has an unexpected ABI version; run make");

/** Flattened shmid_ds (see shim.c). */
export interface ShmStat {
  key: number;
  uid: number;
  cuid: number;
  mode: number;
  segsz: number;
  nattch: number;
  cpid: number;
  lpid: number;
  atime: number;
  dtime: number;
  ctime: number;
  /** Marked for removal (SHM_DEST): IPC_RMID was called while processes were attached. */
  dest: boolean;
}

/** Flattened semid_ds (see shim.c). */
export interface SemStat {
  key: number;
  uid: number;
  cuid: number;
  mode: number;
  nsems: number;
  otime: number;
  ctime: number;
}

const statBuf = new BigInt64Array(12);

function shmStatFrom(): ShmStat {
  const b = statBuf;
  return {
    key: Number(b[0]) >>> 0,
    uid: Number(b[1]),
    cuid: Number(b[2]),
    mode: Number(b[3]),
    segsz: Number(b[4]),
    nattch: Number(b[5]),
    cpid: Number(b[6]),
    lpid: Number(b[7]),
    atime: Number(b[8]),
    dtime: Number(b[9]),
    ctime: Number(b[10]),
    dest: b[11] === 1n,
  };
}

function semStatFrom(): SemStat {
  const b = statBuf;
  return {
    key: Number(b[0]) >>> 0,
    uid: Number(b[1]),
    cuid: Number(b[2]),
    mode: Number(b[3]),
    nsems: Number(b[4]),
    otime: Number(b[5]),
    ctime: Number(b[6]),
  };
}

/** shmctl(IPC_STAT); returns -errno on failure. */
export function shmStat(shmid: number): ShmStat | number {
  const r = shim.shim_shm_stat(shmid, statBuf);
  return r < 0 ? r : shmStatFrom();
}

/** semctl(IPC_STAT); returns -errno on failure. */
export function semStat(semid: number): SemStat | number {
  const r = shim.shim_sem_stat(semid, statBuf);
  return r < 0 ? r : semStatFrom();
}

/** Every shared-memory segment on the machine visible to us (SHM_STAT_ANY walk). */
export function listSegments(): (ShmStat & { shmid: number })[] {
  const out: (ShmStat & { shmid: number })[] = [];
  const max = shim.shim_shm_maxindex();
  for (let i = 0; i <= max; i++) {
    const id = shim.shim_shm_stat_index(i, statBuf);
    if (id >= 0) out.push({ ...shmStatFrom(), shmid: id });
  }
  return out;
}

/** Every semaphore set on the machine visible to us (SEM_STAT_ANY walk). */
export function listSemaphoreSets(): (SemStat & { semid: number })[] {
  const out: (SemStat & { semid: number })[] = [];
  const max = shim.shim_sem_maxindex();
  for (let i = 0; i <= max; i++) {
    const id = shim.shim_sem_stat_index(i, statBuf);
    if (id >= 0) out.push({ ...semStatFrom(), semid: id });
  }
  return out;
}
