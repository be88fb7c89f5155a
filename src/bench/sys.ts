/**
 * Pipes for the bench's chains: made with pipe2(O_CLOEXEC), so only the
 * child a pipe end is handed to holds it, and sized with fcntl
 * F_SETPIPE_SZ / F_GETPIPE_SZ (the symbols live in native/libc.ts).
 */
import { closeSync, readFileSync } from "node:fs";
import { libc } from "../native/libc";

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
  if (bytes > 0) libc.fcntl(fd, F_SETPIPE_SZ, bytes);
  return libc.fcntl(fd, F_GETPIPE_SZ, 0);
}

/** A new pipe [read end, write end], both close-on-exec; `size` > 0 sets its buffer. */
export function makePipe(size = 0): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  if (size > 0) setPipeSize(fds[1]!, size);
  return [fds[0]!, fds[1]!];
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
