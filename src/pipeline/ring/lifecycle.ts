/**
 * Creating over stale leftovers, waiting for a run's producer to create, and
 * removing a pipeline by name or by the ids its creator recorded (I10 in
 * layout.ts).
 */
import { InvalidInput } from "../../errors";
import { log } from "../../log";
import { keysFor } from "../ipc/keys";
import { libc } from "../../native/libc";
import { shim, shmStat } from "../../native/shim";
import { checkSignals } from "../../signals";
import { R } from "../layout";
import { collision, exists, idsOf, inspect, inUse, isStale, removeObjects, type ObjectIds } from "../ipc/objects";
import { checkName, createPipeline, openPipeline, type CreateOptions, type OpenOptions, type Pipeline } from "./pipeline";

/** Creates the pipeline; recycles a stale one of the same name, refuses a live one or another's object. */
export function createOrRecycle(o: CreateOptions): Pipeline {
  checkName(o.name);
  const objs = inspect(o.name);
  if (exists(objs)) {
    const c = collision(objs);
    if (c) throw new InvalidInput(c);
    if (!isStale(objs)) {
      const raw = objs.raw;
      const who = !raw
        ? "partly created"
        : raw.header === "creating"
          ? `being created by pid ${raw.creatorPid}`
          : `creator pid ${raw.creatorPid}${raw.runPid ? `, run pid ${raw.runPid}` : ", made by init"}, ${raw.nattch} attached`;
      throw new InvalidInput(`pipeline "${o.name}" already exists (${who}, ${objs.liveStages} live stages); use another --name, or stop its stages and remove it with \`shmimg clean --name ${o.name}\``);
    }
    const removed = removeObjects(objs, idsOf(objs));
    log.warn(`recycled stale pipeline "${o.name}" left by a dead process: removed ${removed.join(", ")}`);
  }
  return createPipeline(o);
}

export interface CleanResult {
  removed: string[];
  refused?: string;
}

/**
 * Removes pipeline `name`; refuses one in use unless force. Idempotent.
 * Objects that are not provably this pipeline's are left alone and reported
 * (refused), --force or not.
 */
export function cleanByName(name: string, force: boolean): CleanResult {
  checkName(name);
  const objs = inspect(name);
  if (!exists(objs)) return { removed: [] };
  const c = collision(objs);
  if (inUse(objs) && !force)
    return {
      removed: [],
      refused: c ?? `pipeline "${name}" is in use (${objs.raw?.nattch ?? 0} + ${objs.proc?.nattch ?? 0} attached, ${objs.liveStages} live stages); stop its stages first or pass --force`,
    };
  const removed = removeObjects(objs, idsOf(objs));
  return c ? { removed, refused: c } : { removed };
}

/**
 * Removes what a creator made, by the ids it recorded: a `run` that ends
 * (or dies) after its pipeline was removed and a new one of the same name
 * made leaves the new one alone.
 */
export function removeCreated(name: string, ids: ObjectIds): string[] {
  return removeObjects(inspect(name), ids);
}

/** The ids of an attached pipeline (what a run that takes one over may remove). */
export function idsOfPipeline(p: Pipeline): ObjectIds {
  return { raw: p.raw.shmid, proc: p.proc.shmid, semid: p.semid };
}

/** The line `produce --create` prints for `run`: "created raw=SHMID proc=SHMID sem=SEMID". */
export function createdLine(p: Pipeline): string {
  return `created raw=${p.raw.shmid} proc=${p.proc.shmid} sem=${p.semid}\n`;
}

/** Parses createdLine(); ids it lacks stay undefined (nothing of theirs is removed). */
export function parseCreated(line: string): ObjectIds {
  const id = (k: string) => {
    const m = new RegExp(`\\b${k}=(\\d+)`).exec(line);
    return m ? Number(m[1]) : undefined;
  };
  return { raw: id("raw"), proc: id("proc"), semid: id("sem") };
}

/**
 * For a stage `run` starts at the same time as the producer (start-up runs in
 * parallel, see supervisor.ts): waits until the producer `producerPid` has
 * created pipeline `name`, i.e. the processed segment (created last) names it
 * as creator (IPC_STAT, no attach: attaching a stale pipeline of the same name
 * would make it look in use to the producer about to recycle it), and R.runPid
 * is set (the producer sets it after the delivery record is initialised);
 * returns it attached. Polls every 0.5 ms for the first 0.2 s (the producer
 * is starting too), then every 10 ms (it may be waiting for its first frame
 * on a slow input). Never gives up on its own: the supervisor stops it if the
 * producer fails, and PDEATHSIG if the supervisor dies.
 */
export function openWhenCreated(name: string, producerPid: number, o: OpenOptions = {}): Pipeline {
  checkName(name);
  const keys = keysFor(name, process.getuid!());
  const t0 = shim.shim_now_us();
  for (;;) {
    checkSignals();
    const id = libc.shmget(keys.processed, 0, 0);
    const st = id >= 0 ? shmStat(id) : -1;
    if (typeof st !== "number" && st.cpid === producerPid) {
      let p: Pipeline | undefined;
      try {
        p = openPipeline(name, o);
      } catch {
        // Still being initialised: look again.
      }
      if (p && p.i32(R.runPid) !== 0) return p;
      p?.detach();
    }
    libc.usleep(shim.shim_now_us() - t0 < 200_000 ? 500 : 10_000);
  }
}
