import { defineCommand } from "citty";
import { createOrRecycle } from "../pipeline/ring/lifecycle";
import { hexKey } from "../pipeline/ipc/keys";
import { log } from "../log";
import { geometryArgs, nameArg, ringArgs, verboseArg } from "./args";

/**
 * Fault injection for the creation-race tests, read here so the pipeline
 * layer reads no environment: SHMIMG_FAULT_STOP_CREATING=1 makes init stop
 * itself (SIGSTOP) with every object made but the pipeline not yet published.
 */
function faultFromEnv(env = process.env): (() => void) | undefined {
  return env.SHMIMG_FAULT_STOP_CREATING === "1" ? () => process.kill(process.pid, "SIGSTOP") : undefined;
}

export const example = "shmimg init --name cam --max-size 1920x1080 --max-format rgb24 --slots 8";

export default defineCommand({
  meta: {
    name: "init",
    description: "Create a pipeline's objects: raw and processed segments and a semaphore set (mode 0600).",
  },
  args: {
    ...nameArg,
    ...verboseArg,
    ...geometryArgs,
    op: { type: "string", description: "Op chain the workers will run, so the processed ring is sized for its output (needed when the chain enlarges frames).", valueHint: "CHAIN" },
  },
  run({ args }) {
    const o = ringArgs(args.name, args, undefined, args.op);
    const p = createOrRecycle({ ...o, beforePublish: faultFromEnv() });
    const msg = `init: pipeline "${o.name}" ready: ${o.slots} slots of ${p.rawSlotBytes} B raw (shm ${hexKey(p.keys.raw)}), ${p.procSlotBytes} B processed (shm ${hexKey(p.keys.processed)}), sem ${hexKey(p.keys.sems)}`;
    p.detach();
    log.info(msg);
  },
});
