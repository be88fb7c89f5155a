/**
 * The IPC census: which System V objects in shmimg's key space (top byte
 * 0x5D) are this suite's. The machine is shared, so the suite checks and
 * removes only objects it can prove it made:
 *
 * - In a private IPC namespace (`make test` runs `unshare --ipc` when it can;
 *   detected by /proc/self/ns/ipc differing from init's), every object that
 *   appeared after the suite started is the suite's.
 * - Otherwise an object is the suite's when its pipeline name is one the
 *   suite chose (uniqueName) or carries a pid of a process the suite started
 *   (`run-PID`, `bench-PID-N`, `fzr-RUNNERPID-N`), or when a segment's creator
 *   (shm_cpid) is such a process; a semaphore set follows its segments' key.
 *   A lone semaphore set under a name the suite never saw cannot be told
 *   apart from a stranger's, so that one leak goes unnoticed there.
 *
 * Read from /proc/sysvipc (the kernel's own tables), not through src/.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { peekSegment } from "../src/pipeline/ipc/objects";
import { isOurKey, keysFor } from "../src/pipeline/ipc/keys";
import { shim } from "../src/native/shim";
import { suitePids } from "./spawning";

export interface IpcObject {
  kind: "shm" | "sem";
  key: number;
  id: number;
  /** Creator pid (segments only; the kernel does not keep one for semaphore sets). */
  cpid?: number;
}

/** "shm 0x5d12ab00 id 5": how objects print in failures. */
export function describeObject(o: IpcObject): string {
  return `${o.kind} 0x${o.key.toString(16).padStart(8, "0")} id ${o.id}`;
}

function table(file: string): string[][] {
  return readFileSync(file, "utf8").trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
}

/** Every object in shmimg's key space visible here. */
export function ipcObjects(): IpcObject[] {
  const shm = table("/proc/sysvipc/shm").map((f): IpcObject => ({ kind: "shm", key: Number(f[0]) >>> 0, id: Number(f[1]), cpid: Number(f[4]) }));
  const sem = table("/proc/sysvipc/sem").map((f): IpcObject => ({ kind: "sem", key: Number(f[0]) >>> 0, id: Number(f[1]) }));
  return [...shm, ...sem].filter((o) => isOurKey(o.key));
}

/** True when this process has an IPC namespace of its own (not init's). */
export function privateIpcNamespace(): boolean {
  try {
    return readlinkSync("/proc/self/ns/ipc") !== readlinkSync("/proc/1/ns/ipc");
  } catch {
    return false; // init's namespace unreadable (not root): assume shared
  }
}

const atStart = new Set(ipcObjects().map(describeObject));
const names = new Set<string>();

/** A pipeline name unique to this run (carries the runner's pid), remembered as the suite's. */
export function uniqueName(tag: string): string {
  const name = `t-${tag}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  names.add(name);
  return name;
}

/** True when `name` was chosen by the suite or carries a pid the suite started. */
export function suiteName(name: string): boolean {
  const m = /^[a-z]+-(\d+)(-|$)/.exec(name);
  return names.has(name) || (m !== null && suitePids.has(Number(m[1])));
}

const uid = process.getuid!();
const keysOf = (name: string) => Object.values(keysFor(name, uid));
const base = (key: number) => (key & ~3) >>> 0;

/** The suite's objects by name and creator alone (the rule for a shared namespace). */
export function ownedBySuite(all = ipcObjects()): IpcObject[] {
  const bases = new Set<number>();
  for (const n of [...names, ...[...suitePids].map((p) => `run-${p}`)]) bases.add(base(keysOf(n)[0]!));
  for (const o of all) {
    if (o.kind !== "shm" || bases.has(base(o.key))) continue;
    if (suitePids.has(o.cpid!) || suiteName(peekSegment(o.id, o.key)?.name ?? "")) bases.add(base(o.key));
  }
  return all.filter((o) => bases.has(base(o.key)));
}

/** The suite's objects: everything new in a private namespace, else ownedBySuite(). */
export function suiteObjects(): IpcObject[] {
  const all = ipcObjects();
  return privateIpcNamespace() ? all.filter((o) => !atStart.has(describeObject(o))) : ownedBySuite(all);
}

/** Objects at pipeline `name`'s keys, described (empty when nothing is left). */
export function objectsOf(name: string): string[] {
  const keys = new Set(keysOf(name));
  return ipcObjects().filter((o) => keys.has(o.key)).map(describeObject);
}

/** IPC_RMID on each object (the suite's leftovers after a failed test). */
export function removeObjects(objects: IpcObject[]): void {
  for (const o of objects) o.kind === "shm" ? shim.shim_shm_rmid(o.id) : shim.shim_sem_rmid(o.id);
}
