/**
 * The output's identity (I8 in layout.ts): the first consumer records what it
 * writes to; a consumer that resumes a stream at frame > 0 proves it
 * continues the same output before it truncates or appends anything.
 */
import { InvalidInput } from "../../errors";
import { identityOfFd, identityOfPath, tailHash, type Identity } from "../../io/identity";
import { O, OutKind, TAIL_BYTES } from "../layout";
import type { Pipeline } from "../ring/pipeline";

export interface OutputTarget {
  /** What the user named: "--output FILE", "stdout", "--output DIR". */
  label: string;
  /** The output format (index + 1 is recorded). */
  format: string;
  formats: readonly string[];
  /** The open fd (files, stdout), or -1 for a directory output. */
  fd: number;
  /** The directory, for -1. */
  dir?: string;
}

function current(t: OutputTarget): Identity {
  return t.fd >= 0 ? identityOfFd(t.fd) : identityOfPath(t.dir ?? "");
}

function kindOf(id: Identity): number {
  return id.kind === "file" ? OutKind.FILE : id.kind === "dir" ? OutKind.DIR : OutKind.STREAM;
}

/** Records the output of a stream that starts at frame 0 (written before the first delivery). */
export function recordOutput(p: Pipeline, t: OutputTarget): boolean {
  const id = current(t);
  p.setI32(O.format, t.formats.indexOf(t.format) + 1);
  p.setF64(O.dev, id.dev);
  p.setF64(O.ino, id.ino);
  p.setI32(O.kind, kindOf(id));
  return false;
}

/**
 * A consumer resuming at `offset` with `delivered` > 0: refuses (exit 2) another
 * format, another file or directory, a file shorter than the offset, or one
 * whose last bytes before the offset are not what was written. True when
 * the output is the recorded file (so it may be truncated to the offset).
 */
export function verifyOutput(p: Pipeline, t: OutputTarget, at: { delivered: number; offset: number; tailHash: number }): boolean {
  const kind = p.i32(O.kind);
  if (kind === OutKind.NONE) {
    recordOutput(p, t); // the previous consumer died before recording
    return false;
  }
  const why = (what: string, fix: string) =>
    new InvalidInput(`cannot resume pipeline "${p.name}" at frame ${at.delivered} into ${t.label}: ${what}; nothing was written. ${fix}`);
  const fmt = t.formats[p.i32(O.format) - 1] ?? `format #${p.i32(O.format)}`;
  if (fmt !== t.format) throw why(`the previous consumer wrote --out-format ${fmt}, not ${t.format}`, `Resume with --out-format ${fmt}.`);
  if (kind === OutKind.STREAM) return false; // a pipe cannot be checked (see the README's stdout guarantee)
  const id = current(t);
  const was = `device ${p.f64(O.dev)} inode ${p.f64(O.ino)}`;
  const same = id.dev === p.f64(O.dev) && id.ino === p.f64(O.ino) && kindOf(id) === kind;
  if (!same) {
    const now = id.kind === "missing" ? "it does not exist" : `it is ${id.kind === "stream" ? "a pipe or device" : `device ${id.dev} inode ${id.ino}`}`;
    throw why(`the previous consumer wrote ${kind === OutKind.DIR ? "the directory" : "the file"} ${was}, ${now}`, "Pass the original output (for stdout: `>>` or `1<>` it, `>` truncates), or start a new pipeline.");
  }
  if (kind !== OutKind.FILE) return true;
  if (id.size < at.offset) throw why(`it has ${id.size} bytes but ${at.offset} were recorded as written (truncated since, e.g. by \`>\`)`, "Start a new pipeline.");
  if (tailHash(t.fd, at.offset) !== at.tailHash)
    throw why(`its ${Math.min(TAIL_BYTES, at.offset)} bytes before offset ${at.offset} are not the ones the previous consumer wrote (the file was changed since)`, "Start a new pipeline.");
  return true;
}
