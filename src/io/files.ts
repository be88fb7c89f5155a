/** Opening --input and --output: the stage's files, with errors that say what to check. */
import { closeSync, fstatSync, ftruncateSync, openSync } from "node:fs";
import { libc } from "../native/libc";
import { InvalidInput } from "../errors";

/** fd for --input (stdin when absent or "-"). */
export function openInput(path: string | undefined): number {
  if (!path || path === "-") return 0;
  try {
    return openSync(path, "r");
  } catch (e) {
    throw new InvalidInput(`cannot open --input ${path}: ${(e as NodeJS.ErrnoException).code ?? e}; check the path`);
  }
}

/**
 * fd for --output (stdout when absent or "-"). A file is truncated to
 * `offset` (0 for a new run, the recorded offset when a consumer resumes).
 */
export function openOutput(path: string | undefined, offset: number): number {
  if (!path || path === "-") return 1;
  try {
    const fd = openSync(path, offset > 0 ? "r+" : "w");
    if (offset > 0) {
      const size = fstatSync(fd).size;
      if (size < offset) {
        closeSync(fd);
        throw new InvalidInput(`cannot resume into --output ${path}: it has ${size} bytes but ${offset} were recorded as written; the file was changed since, start a new pipeline`);
      }
      ftruncateSync(fd, offset);
      libc.lseek(fd, offset, 0);
    }
    return fd;
  } catch (e) {
    if (e instanceof InvalidInput) throw e;
    throw new InvalidInput(`cannot open --output ${path}: ${(e as NodeJS.ErrnoException).code ?? e}; check the path and permissions`);
  }
}

export function closeFd(fd: number): void {
  if (fd > 2) closeSync(fd);
}
