/**
 * Identities of inputs and outputs, for resuming: what kind of thing a path or
 * fd is (a regular file can be re-read or truncated and continued; a pipe or
 * terminal cannot), which file it is (device + inode), and a checksum of an
 * output's last bytes, so a resumed consumer can prove it continues the same
 * file it left (I8 in layout.ts).
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { resolve } from "node:path";
import { TAIL_BYTES } from "../pipeline/layout";

export type Kind = "file" | "dir" | "stream" | "missing";

export interface Identity {
  kind: Kind;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

function of(st: Stats | undefined): Identity {
  if (!st) return { kind: "missing", dev: 0, ino: 0, size: 0, mtimeMs: 0 };
  const kind: Kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : "stream";
  return { kind, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export function identityOfFd(fd: number): Identity {
  try {
    return of(fstatSync(fd));
  } catch {
    return of(undefined);
  }
}

export function identityOfPath(path: string): Identity {
  try {
    return of(statSync(path));
  } catch {
    return of(undefined);
  }
}

/** --input / --output: a path, or stdin/stdout when absent or "-". */
export function identityOfArg(path: string | undefined, stdFd: number): Identity {
  return !path || path === "-" ? identityOfFd(stdFd) : identityOfPath(path);
}

/** 32-bit FNV-1a of a string's UTF-16 code units (identities, not security). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const tail = new Uint8Array(TAIL_BYTES);

/**
 * FNV-1a of the file's TAIL_BYTES (fewer near the start) before byte `offset`,
 * read with pread through a read-only descriptor of its own (/proc/self/fd:
 * a stdout opened with `>` is write-only).
 */
export class TailReader {
  private readonly fd: number;
  constructor(writeFd: number) {
    this.fd = openSync(`/proc/self/fd/${writeFd}`, "r");
  }

  hash(offset: number): number {
    const len = Math.min(TAIL_BYTES, offset);
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, tail, got, len - got, offset - len + got);
      if (r <= 0) break;
      got += r;
    }
    let h = 0x811c9dc5 ^ got;
    for (let i = 0; i < got; i++) {
      h ^= tail[i]!;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** TailReader.hash once. */
export function tailHash(fd: number, offset: number): number {
  const t = new TailReader(fd);
  try {
    return t.hash(offset);
  } finally {
    t.close();
  }
}

/** An absolute path for identities that must survive a change of directory. */
export function absolute(path: string | undefined): string {
  return !path || path === "-" ? "-" : resolve(path);
}
