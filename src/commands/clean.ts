import { defineCommand } from "citty";
import { ShmimgError, Exit } from "../errors";
import { cleanByName } from "../pipeline/ring/lifecycle";
import { idsOf, isStale, listOurPipelines, removeObjects } from "../pipeline/ipc/objects";
import { hexKey } from "../pipeline/ipc/keys";
import { log } from "../log";
import { nameArg, verboseArg } from "./args";

export const example = "shmimg clean --name cam    shmimg clean --stale";

export default defineCommand({
  meta: {
    name: "clean",
    description: "Remove a pipeline's objects (idempotent), or with --stale every stale shmimg object of yours.",
  },
  args: {
    ...verboseArg,
    ...nameArg,
    force: { type: "boolean", description: "Remove even if processes are attached or stages are alive.", default: false },
    stale: { type: "boolean", description: "List and remove every stale shmimg pipeline of this user (creator and stages dead, nothing attached).", default: false },
  },
  run({ args }) {
    if (args.stale) {
      const all = listOurPipelines();
      let n = 0;
      for (const pl of all) {
        if (!isStale(pl)) continue;
        // By the ids just inspected: whatever replaced them since is left alone.
        const removed = removeObjects(pl, idsOf(pl));
        n++;
        log.info(`clean: stale pipeline "${pl.name}" (keys ${hexKey(pl.keys.raw)}..): removed ${removed.join(", ")}`);
      }
      log.info(`clean: ${n} stale pipeline(s) removed, ${all.length - n} live or foreign left alone`);
      return;
    }
    const r = cleanByName(args.name, args.force);
    if (r.refused) {
      if (r.removed.length) log.info(`clean: pipeline "${args.name}": removed ${r.removed.join(", ")}`);
      throw new ShmimgError(r.refused, Exit.INVALID);
    }
    log.info(r.removed.length ? `clean: pipeline "${args.name}": removed ${r.removed.join(", ")}` : `clean: pipeline "${args.name}": nothing to remove`);
  },
});
