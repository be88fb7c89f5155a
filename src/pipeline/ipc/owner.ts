/**
 * Whose object is this: the owner, creator and mode rules that segments and
 * semaphore sets share (I10). An object is ours only when the kernel says both
 * its owner uid and its creator uid are ours; it is usable only with the mode
 * `init` creates (0600), or 0660 when the user opted into --shared-group
 * (the documented way to let the owner's group attach after an IPC_SET).
 */
import { readFileSync } from "node:fs";

export const MODE_PRIVATE = 0o600;
export const MODE_SHARED_GROUP = 0o660;

export interface Ownership {
  uid: number;
  cuid: number;
  mode: number;
}

/** "uid 1001 (alice)" when the name is known, else "uid 1001". */
export function describeUid(uid: number): string {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.split(":")[2] === String(uid));
    return line ? `uid ${uid} (${line.split(":")[0]})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

/** True when the kernel records us as both owner and creator. */
export function isMine(o: Ownership): boolean {
  const me = process.getuid!();
  return o.uid === me && o.cuid === me;
}

/** Why an object may not be attached (owner, creator or mode), or undefined. */
export function ownershipProblem(o: Ownership, sharedGroup = false): string | undefined {
  const me = process.getuid!();
  if (o.uid !== me) return `owned by ${describeUid(o.uid)}, not by you (uid ${me})`;
  if (o.cuid !== me) return `created by ${describeUid(o.cuid)}, not by you (uid ${me}), then given to you`;
  if (o.mode === MODE_PRIVATE || (sharedGroup && o.mode === MODE_SHARED_GROUP)) return undefined;
  return `mode 0${o.mode.toString(8)} is not one shmimg creates (0600${sharedGroup ? ", or 0660 with --shared-group" : "; 0660 is accepted with --shared-group"})`;
}
