/** Process helpers for crash tests: children of a pid, their roles, RSS. */
import { readFileSync } from "node:fs";

export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** Live children of pid running shmimg subcommand `role` (produce, work, consume). */
export function stagesOf(pid: number, role: string): number[] {
  return childrenOf(pid).filter((c) => {
    const args = cmdline(c);
    return args.includes(role) && !readState(c).startsWith("Z");
  });
}

function readState(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    return s.slice(s.lastIndexOf(")") + 2, s.lastIndexOf(")") + 3);
  } catch {
    return "Z";
  }
}

export function alive(pid: number): boolean {
  return readState(pid) !== "Z";
}
