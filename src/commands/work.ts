import { defineCommand } from "citty";
import { Chain, parseChain } from "../ops/chain";
import { openPipeline } from "../pipeline/ring/pipeline";
import { openWhenCreated } from "../pipeline/ring/lifecycle";
import { work } from "../pipeline/stages/work";
import { installSignalFlags } from "../signals";
import { shim } from "../native/shim";
import { log } from "../log";
import { nameArg, num, sharedGroupArg, timeoutArg, verboseArg } from "./args";

export const example = "shmimg work --name cam --op grayscale,blur,threshold:128";

export default defineCommand({
  meta: {
    name: "work",
    description: "Claim raw frames, apply an op chain, commit results to the processed ring. Run any number at once.",
  },
  args: {
    ...nameArg,
    op: { type: "string", description: "Op chain, comma-separated (see `shmimg ops`). Nothing converts implicitly: threshold and sobel take gray8, blur/gaussian/brightness/contrast take gray8/rgb24/rgba32, so put grayscale or rgb first for yuv420p (y4m) frames.", required: true, valueHint: "CHAIN" },
    "max-frames": { type: "string", description: "Exit after this many frames (0 = until the stream ends).", default: "0", valueHint: "N" },
    "parent-pid": { type: "string", description: "(used by run) Exit when this process dies; wait until this run's producer has created the pipeline.", valueHint: "PID" },
    ...verboseArg,
    ...timeoutArg,
    ...sharedGroupArg,
  },
  run({ args }) {
    installSignalFlags();
    if (args["parent-pid"]) shim.shim_set_pdeathsig(15);
    const chain = new Chain(parseChain(args.op));
    const timeoutS = num(args.timeout, "timeout", 0, 1e9, false);
    const maxFrames = num(args["max-frames"], "max-frames", 0, Number.MAX_SAFE_INTEGER);
    const opts = { sharedGroup: args["shared-group"] };
    // run starts every stage at once: wait for the rings its producer creates.
    const p = args["parent-pid"] ? openWhenCreated(args.name, Number(args["parent-pid"]), opts) : openPipeline(args.name, opts);
    try {
      const s = work(p, chain, { timeoutS, maxFrames });
      log.info(`work: ${s.frames} frames through "${chain.spec}" in "${p.name}", busy ${(s.busyUs / 1e6).toFixed(3)} s, waiting ${(s.waitUs / 1e6).toFixed(3)} s`);
    } finally {
      p.detach();
    }
  },
});
