/**
 * Signals in stage processes: SIGINT/SIGTERM/SIGHUP set a flag in the C shim
 * (no SA_RESTART, so blocking read/futex return EINTR) and every loop calls
 * checkSignals(), which throws Interrupted; the stage then detaches and exits
 * 130 (SIGINT) or 143 (SIGTERM/SIGHUP). SIGPIPE is ignored: EPIPE is handled.
 * A signal the process inherited ignored (`nohup` ignores SIGHUP, `&` without
 * job control ignores SIGINT) stays ignored, in `run` and in every stage it
 * starts: Bun.spawn resets dispositions, so `run` names them in
 * KEEP_IGNORED_ENV for its children.
 */
import { readFileSync } from "node:fs";
import { shim } from "./native/shim";
import { ShmimgError } from "./errors";

export class Interrupted extends ShmimgError {
  constructor(readonly signal: number) {
    super(`interrupted by ${signal === 2 ? "SIGINT" : signal === 15 ? "SIGTERM" : `signal ${signal}`}`, signal === 2 ? 130 : 143);
    // Under run the supervisor sent it and reports for the whole pipeline.
    this.secondary = true;
  }
}

/** Environment variable through which `run` passes its inherited-ignored signals (bit 1 << sig). */
export const KEEP_IGNORED_ENV = "SHMIMG_KEEP_IGNORED";

/** Signals among SIGHUP/SIGINT/SIGTERM ignored on entry (bit 1 << sig), from /proc/self/status SigIgn. */
export function inheritedIgnored(): number {
  let mask = 0n;
  try {
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) mask = BigInt(`0x${m[1]}`);
  } catch {
    return 0;
  }
  let bits = 0;
  for (const sig of [1, 2, 15]) if ((mask >> BigInt(sig - 1)) & 1n) bits |= 1 << sig;
  return bits;
}

/** The mask to keep ignored here: what this process inherited, plus what `run` inherited. */
export function keepIgnored(): number {
  return inheritedIgnored() | (Number(process.env[KEEP_IGNORED_ENV] ?? 0) & ((1 << 1) | (1 << 2) | (1 << 15)));
}

let installed = false;
export function installSignalFlags(): void {
  if (installed) return;
  installed = true;
  shim.shim_signals_install(keepIgnored());
}

/**
 * A stage `run` started (--parent-pid) gets SIGTERM when `run` dies
 * (PR_SET_PDEATHSIG). A `run` that died before the signal was armed sends
 * nothing, and the stage would stay attached for ever (its pipeline never
 * stale): after arming it, the stage checks that its parent is still `run`
 * and otherwise stops itself with the same SIGTERM (handled by the flag).
 */
export function exitWithParent(parentPid: number): void {
  shim.shim_set_pdeathsig(15);
  if (process.ppid !== parentPid) process.kill(process.pid, "SIGTERM");
}

export function checkSignals(): void {
  const s = shim.shim_signal_pending();
  if (s !== 0) throw new Interrupted(s);
}
