/**
 * Arguments several commands share, defined once and spread into `args`,
 * and small helpers for opening inputs and outputs.
 */
import { closeSync, fstatSync, ftruncateSync, openSync } from "node:fs";
import { libc } from "../native/libc";
import { InvalidInput } from "../errors";

export const nameArg = {
  name: { type: "string", description: "Pipeline name; stages started in other shells find the pipeline by it.", default: "default", valueHint: "P" },
} as const;

export const timeoutArg = {
  timeout: { type: "string", description: "Give up (exit 4) after waiting this many seconds for a peer that is alive but silent; 0 = wait forever. Dead peers are noticed without it.", default: "0", valueHint: "SECONDS" },
} as const;

export const sharedGroupArg = {
  "shared-group": { type: "boolean", description: "Accept segments that are writable by the owner's group (never by others).", default: false },
} as const;

export const verboseArg = {
  verbose: { type: "boolean", description: "Log every IPC call with its arguments and result on stderr.", default: false },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "Print the final report as JSON on stdout (or stderr when stdout carries frames).", default: false },
} as const;

export const EXIT_CODES = "Exit codes: 0 ok, 1 internal error, 2 invalid input or unavailable IPC resource, 3 stream incomplete, 4 a stage failed, 130/143 interrupted.";

/** Parses a number argument within [min, max]. */
export function num(value: unknown, flag: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (value === undefined || value === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max)
    throw new InvalidInput(`--${flag} ${String(value)} is not ${integer ? "an integer" : "a number"} in ${min}..${max}`);
  return n;
}

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

/**
 * Frames per worker process for a summary line: each count when there were
 * few, else how many processes and min/median/max (a run whose workers were
 * killed and replaced hundreds of times would print hundreds of numbers).
 */
export function perWorkerText(perWorker: Record<string, number>): string {
  const v = Object.values(perWorker);
  if (v.length <= 8) return `[${v.join(" ")}]`;
  const s = [...v].sort((a, b) => a - b);
  return `[${v.length} processes; frames min ${s[0]} median ${s[s.length >> 1]} max ${s[s.length - 1]}]`;
}
