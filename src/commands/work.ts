import { defineCommand } from "citty";
import { Chain, parseChain } from "../ops/chain";
import { openPipeline } from "../pipeline/ring/pipeline";
import { openWhenCreated } from "../pipeline/ring/lifecycle";
import { work, type WorkStep } from "../pipeline/stages/work";
import { exitWithParent, installSignalFlags } from "../signals";
import { log } from "../log";
import { count } from "./summary";
import { nameArg, num, parentPidArg, waitForArg, sharedGroupArg, timeoutArg, verboseArg } from "./args";

/**
 * Fault injection for the crash tests, read here and never in the stage loop
 * (a library user of work() cannot trigger it): SHMIMG_FAULT_KILL_AT_SEQ=N
 * makes this worker SIGKILL itself at frame seq N, at step
 * SHMIMG_FAULT_KILL_PHASE ("writing", the default, or "published"). An
 * environment variable rather than a flag so that `run`'s workers inherit it.
 */
function faultFromEnv(env = process.env): ((step: WorkStep, seq: number) => void) | undefined {
  if (env.SHMIMG_FAULT_KILL_AT_SEQ === undefined) return undefined;
  const at = Number(env.SHMIMG_FAULT_KILL_AT_SEQ);
  const when: WorkStep = env.SHMIMG_FAULT_KILL_PHASE === "published" ? "published" : "writing";
  return (step, seq) => {
    if (seq === at && step === when) process.kill(process.pid, "SIGKILL");
  };
}

export const example = "shmimg work --name cam --op grayscale,blur,threshold:128";

export default defineCommand({
  meta: {
    name: "work",
    description: "Claim raw frames, apply an op chain, commit results to the processed ring. Run any number at once.",
  },
  args: {
    ...nameArg,
    op: { type: "string", description: "Op chain, comma-separated (see `shmimg ops`): built-in ops and your own, ./op.ts[:k=v;k=v], native:./lib.so#NAME, exec:CMD, filter:CMD. Nothing converts implicitly: threshold and sobel take gray8, blur/gaussian/brightness/contrast take gray8/rgb24/rgba32, so put grayscale or rgb first for yuv420p (y4m) frames.", required: true, valueHint: "CHAIN" },
    "max-frames": { type: "string", description: "Exit after this many frames (0 = until the stream ends).", default: "0", valueHint: "N" },
    ...parentPidArg,
    ...waitForArg,
    ...verboseArg,
    ...timeoutArg,
    ...sharedGroupArg,
  },
  run({ args }) {
    installSignalFlags();
    if (args["parent-pid"]) exitWithParent(Number(args["parent-pid"]));
    const chain = new Chain(parseChain(args.op));
    const timeoutS = num(args.timeout, "timeout", 0, 1e9, false);
    const maxFrames = num(args["max-frames"], "max-frames", 0, Number.MAX_SAFE_INTEGER);
    const opts = { sharedGroup: args["shared-group"] };
    // run starts every stage at once: wait for the rings its producer creates.
    const p = args["wait-for"] ? openWhenCreated(args.name, Number(args["wait-for"]), opts) : openPipeline(args.name, opts);
    try {
      const s = work(p, chain, { timeoutS, maxFrames, onStep: faultFromEnv() });
      log.info(`work: ${count(s.frames, "frame")} through "${chain.spec}" in "${p.name}", busy ${(s.busyUs / 1e6).toFixed(3)} s, waiting ${(s.waitUs / 1e6).toFixed(3)} s`);
    } finally {
      p.detach();
    }
  },
});
