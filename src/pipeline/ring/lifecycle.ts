/**
 * Creating over stale leftovers, waiting for a run's producer to create, and
 * removing a pipeline by name.
 */
import { InvalidInput } from "../../errors";
import { log } from "../../log";
import { hexKey, keysFor } from "../ipc/keys";
import { exists, foreign, inspect, inUse, isStale, removeObjects } from "../ipc/objects";
import { libc } from "../../native/libc";
import { shim, shmStat } from "../../native/shim";
import { checkSignals } from "../../signals";
import { R } from "../layout";
import { checkName, createPipeline, openPipeline, type CreateOptions, type OpenOptions, type Pipeline } from "./pipeline";

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
