import { defineCommand } from "citty";
import { openPipeline } from "../pipeline/ring/pipeline";
import { renderSnapshot, snapshot } from "../pipeline/ring/snapshot";
import { jsonArg, nameArg, sharedGroupArg } from "./args";

export const example = "shmimg stat --name cam --watch";

export default defineCommand({
  meta: { name: "stat", description: "Show a pipeline's header, slots and owners, cursors, stages and counters (the first thing to run when a pipeline stalls)." },
  args: {
    ...nameArg,
    ...jsonArg,
    ...sharedGroupArg,
    watch: { type: "boolean", description: "Refresh every 0.5 s until interrupted or the pipeline disappears.", default: false },
  },
  async run({ args }) {
    const show = () => {
      const p = openPipeline(args.name, { sharedGroup: args["shared-group"] });
      try {
        const s = snapshot(p);
        return args.json ? JSON.stringify(s) : renderSnapshot(s);
      } finally {
        p.detach();
      }
    };
    if (!args.watch) {
      process.stdout.write(show() + "\n");
      return;
    }
    for (;;) {
      const text = show();
      process.stdout.write(args.json ? text + "\n" : `\x1b[H\x1b[2J${text}\n`);
      await Bun.sleep(500);
    }
  },
});
