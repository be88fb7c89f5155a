/**
 * libc through bun:ffi: the System V calls, raw fd I/O and process probes.
 * Symbol tables are declarative and grouped by topic. errno is read through
 * __errno_location() immediately after a failed call (same thread, no call in
 * between); the view over it is created once.
 */
import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";

const { i32, u64, i64_fast, ptr } = FFIType;

const lib = dlopen("libc.so.6", {
  // ---- System V shared memory ----
  shmget: { args: [i32, u64, i32], returns: i32 },
  shmat: { args: [i32, ptr, i32], returns: i64_fast },
  shmdt: { args: [ptr], returns: i32 },
  // ---- System V semaphores ----
  semget: { args: [i32, i32, i32], returns: i32 },
  semop: { args: [i32, ptr, u64], returns: i32 },
  semtimedop: { args: [i32, ptr, u64, ptr], returns: i32 },
  // ---- processes ----
  kill: { args: [i32, i32], returns: i32 },
  getpid: { args: [], returns: i32 },
  getuid: { args: [], returns: i32 },
  sched_yield: { args: [], returns: i32 },
  usleep: { args: [FFIType.u32], returns: i32 },
  // ---- raw fd I/O (no copies through JS buffers) ----
  read: { args: [i32, ptr, u64], returns: i64_fast },
  write: { args: [i32, ptr, u64], returns: i64_fast },
  writev: { args: [i32, ptr, i32], returns: i64_fast },
  ftruncate: { args: [i32, i64_fast], returns: i32 },
  lseek: { args: [i32, i64_fast, i32], returns: i64_fast },
  memcpy: { args: [ptr, ptr, u64], returns: ptr },
  poll: { args: [ptr, u64, i32], returns: i32 },
  isatty: { args: [i32], returns: i32 },
  // ---- pipes (the bench's chains) ----
  pipe2: { args: [ptr, i32], returns: i32 },
  fcntl: { args: [i32, i32, i32], returns: i32 },
  // ---- errno ----
  __errno_location: { args: [], returns: ptr },
  strerror: { args: [i32], returns: FFIType.cstring },
});

type Ptr = number | NodeJS.TypedArray | null;
/**
 * The symbols with the types we use them with: pointers are plain numbers
 * (addresses inside our segments) or typed arrays; i64 results fit a number.
 */
export interface Libc {
  shmget(key: number, size: number, flags: number): number;
  shmat(shmid: number, addr: Ptr, flags: number): number;
  shmdt(addr: Ptr): number;
  semget(key: number, nsems: number, flags: number): number;
  semop(semid: number, ops: Ptr, n: number): number;
  semtimedop(semid: number, ops: Ptr, n: number, timeout: Ptr): number;
  kill(pid: number, sig: number): number;
  getpid(): number;
  getuid(): number;
  sched_yield(): number;
  usleep(us: number): number;
  isatty(fd: number): number;
  read(fd: number, buf: Ptr, len: number): number;
  write(fd: number, buf: Ptr, len: number): number;
  writev(fd: number, iov: Ptr, n: number): number;
  ftruncate(fd: number, len: number): number;
  lseek(fd: number, off: number, whence: number): number;
  pipe2(fds: Ptr, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  memcpy(dst: Ptr, src: Ptr, len: number): number;
  poll(fds: Ptr, n: number, timeoutMs: number): number;
  __errno_location(): number;
  strerror(n: number): unknown;
}

export const libc = lib.symbols as unknown as Libc;

const errnoView = new Int32Array(toArrayBuffer(libc.__errno_location() as never, 0, 4));

/** errno of the last failed libc call; read it right after the call. */
export function errno(): number {
  return errnoView[0]!;
}

/** Linux errno numbers we name in messages. */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  ENFILE: 23,
  ENOSPC: 28,
  ESPIPE: 29,
  EPIPE: 32,
  ERANGE: 34,
  EIDRM: 43,
  ETIMEDOUT: 110,
} as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(E).map(([k, v]) => [v, k]),
);

/** "EACCES" for 13; "errno 99" when unknown. */
export function errnoName(n: number): string {
  return ERRNO_NAMES[Math.abs(n)] ?? `errno ${Math.abs(n)}`;
}

export const IPC = {
  CREAT: 0o1000,
  EXCL: 0o2000,
  NOWAIT: 0o4000,
  SHM_RDONLY: 0o10000,
  SEM_UNDO: 0x1000,
} as const;
