/**
 * The few libc calls the bench needs beyond src/native/libc.ts: making pipes
 * (pipe2 with O_CLOEXEC, so only the child a pipe end is handed to holds it)
 * and sizing them (fcntl F_SETPIPE_SZ / F_GETPIPE_SZ).
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, readFileSync } from "node:fs";

const { i32, ptr } = FFIType;

const lib = dlopen("libc.so.6", {
  pipe2: { args: [ptr, i32], returns: i32 },
  fcntl: { args: [i32, i32, i32], returns: i32 },
});

const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

/** Largest pipe buffer an unprivileged process may ask for (/proc/sys/fs/pipe-max-size). */
export function pipeMaxSize(): number {
  try {
    return Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim()) || 65536;
  } catch {
    return 65536;
  }
}

/** Sets a pipe's buffer size (rounded up by the kernel); returns the size in effect, or -1. */
export function setPipeSize(fd: number, bytes: number): number {
  if (bytes > 0) lib.symbols.fcntl(fd, F_SETPIPE_SZ, bytes);
  return lib.symbols.fcntl(fd, F_GETPIPE_SZ, 0);
}

/** A new pipe [read end, write end], both close-on-exec; `size` > 0 sets its buffer. */
export function makePipe(size = 0): [number, number] {
  const fds = new Int32Array(2);
  if (lib.symbols.pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  if (size > 0) setPipeSize(fds[1]!, size);
  return [fds[0]!, fds[1]!];
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
