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
 * fd for --output (stdout when absent or "-"). A new stream truncates a file
 * to 0. A resumed one (offset > 0) first lets `verify` check the open output
 * (identity, size, tail: see stages/output-identity.ts; true = it is the
 * recorded file), then truncates the file, or a stdout proven to be the
 * recorded file, to `offset` and continues there.
 */
export function openOutput(path: string | undefined, offset: number, verify: (fd: number) => boolean = () => false): number {
  const toStdout = !path || path === "-";
  let fd = 1;
  if (!toStdout) {
    try {
      fd = openSync(path, offset > 0 ? "r+" : "w+"); // readable: the tail checksum is read back (I8)
    } catch (e) {
      throw new InvalidInput(`cannot open --output ${path}: ${(e as NodeJS.ErrnoException).code ?? e}; check the path and permissions`);
    }
  }
  try {
    const same = verify(fd);
    if (offset > 0 && (same || !toStdout) && fstatSync(fd).isFile()) {
      const size = fstatSync(fd).size;
      if (size < offset) throw new InvalidInput(`cannot resume into --output ${path}: it has ${size} bytes but ${offset} were recorded as written; the file was changed since, start a new pipeline`);
      ftruncateSync(fd, offset);
      libc.lseek(fd, offset, 0);
    }
    return fd;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

export function closeFd(fd: number): void {
  if (fd > 2) closeSync(fd);
}
