/**
 * Creating over stale leftovers, and removing a pipeline by name.
 */
import { InvalidInput } from "../../errors";
import { log } from "../../log";
import { hexKey } from "../ipc/keys";
import { exists, foreign, inspect, inUse, isStale, removeObjects } from "../ipc/objects";
import { checkName, createPipeline, type CreateOptions, type Pipeline } from "./pipeline";

/** Creates the pipeline; recycles a stale one of the same name, refuses a live or foreign one. */
export function createOrRecycle(o: CreateOptions): Pipeline {
  checkName(o.name);
  const objs = inspect(o.name);
  if (exists(objs)) {
    const f = foreign(objs);
    if (f) throw new InvalidInput(`key ${hexKey(f.key)} (shmid ${f.shmid}) holds a segment that is not shmimg's; it was left alone. Use another --name.`);
    if (!isStale(objs)) {
      const who = objs.raw ? `creator pid ${objs.raw.creatorPid}${objs.raw.runPid ? `, run pid ${objs.raw.runPid}` : ", made by init"}, ${objs.raw.nattch} attached` : "partly created";
      throw new InvalidInput(`pipeline "${o.name}" already exists (${who}, ${objs.liveStages} live stages); use another --name, or stop its stages and remove it with \`shmimg clean --name ${o.name}\``);
    }
    const removed = removeObjects(objs);
    log.warn(`recycled stale pipeline "${o.name}" left by a dead process: removed ${removed.join(", ")}`);
  }
  return createPipeline(o);
}

export interface CleanResult {
  removed: string[];
  refused?: string;
}

/** Removes pipeline `name`; refuses one in use unless force. Idempotent. */
export function cleanByName(name: string, force: boolean): CleanResult {
  checkName(name);
  const objs = inspect(name);
  if (!exists(objs)) return { removed: [] };
  const f = foreign(objs);
  const busy = inUse(objs);
  if (busy && !force)
    return {
      removed: [],
      refused: `pipeline "${name}" is in use (${objs.raw?.nattch ?? 0} + ${objs.proc?.nattch ?? 0} attached, ${objs.liveStages} live stages); stop its stages first or pass --force`,
    };
  const removed = removeObjects(objs);
  if (f) log.warn(`left alone: key ${hexKey(f.key)} (shmid ${f.shmid}) is not a shmimg segment`);
  return { removed };
}
