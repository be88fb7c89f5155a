import { defineCommand } from "citty";
import { InvalidInput } from "../errors";
import { parseChain } from "../ops/chain";
import { checkName } from "../pipeline/ring/pipeline";
import { usableCores } from "../pipeline/ipc/proc";
import { MAX_WORKERS } from "../pipeline/layout";
import { runPipeline, type RunReport } from "../pipeline/stages/supervisor";
import { log, printError } from "../log";
import { failed, geometryArgs, inputArgs, jsonArg, jsonOutArg, latencyOutArg, num, outputArgs, reportTarget, timeoutArg, verboseArg, whenFull } from "./args";
import { checkFramesStdin, checkFramesStdout } from "../io/stdio";
import { count, perWorkerText, rates } from "./summary";

/** Turns parsed args back into flags for a child stage. */
function pass(args: Record<string, unknown>, names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const v = args[n];
    if (v === undefined || v === false || v === "") continue;
    out.push(`--${n}`);
    if (v !== true) out.push(String(v));
  }
  return out;
}

export function summary(r: RunReport, op: string, workers: number): string {
  const rate = rates(r.framesOut, r.bytesOut, r.wallS);
  return (
    `run: ${count(r.framesIn, "frame")} in, ${r.framesOut} out through "${op}" with ${count(workers, "worker")} ${perWorkerText(r.perWorker)} in ${r.wallS.toFixed(3)} s${rate ? `: ${rate}` : ""}; ` +
    `${r.dropped} dropped, ${r.redone} redone, ${count(r.restarts, "restart")}; ` +
    `producer blocked ${r.producerBlockedS.toFixed(3)} s, consumer waited ${r.consumerWaitS.toFixed(3)} s; exit ${r.code}`
  );
}

/** The consumer was killed (no stage could say so): run reports it. */
function consumerKilled(r: RunReport): boolean {
  const c = r.codes.consumer;
  return c > 128 && c !== 130 && c !== 141 && c !== 143;
}

export const example = "shmimg gen --count 1000 --size 640x480 | shmimg run --workers 2 --op grayscale,blur > out.shm";

export default defineCommand({
  meta: {
    name: "run",
    description: "Create a pipeline, run producer, N workers and consumer as separate processes, report, remove everything.",
  },
  args: {
    op: { type: "string", description: "Op chain, comma-separated (see `shmimg ops`). Nothing converts implicitly: threshold and sobel take gray8, blur/gaussian/brightness/contrast take gray8/rgb24/rgba32, so put grayscale or rgb first for yuv420p (y4m) frames.", default: "identity", valueHint: "CHAIN" },
    workers: { type: "string", alias: "w", description: "Number of worker processes, or auto: the CPUs this process may run on (its affinity mask, lowered by a cgroup CPU quota). More workers than that only take turns on the same CPUs; run then warns once.", default: "auto", valueHint: "N|auto" },
    name: { type: "string", alias: "n", description: "Pipeline name (default: run-PID, unique per run).", valueHint: "P" },
    ...inputArgs,
    ...outputArgs,
    ...geometryArgs,
    ...timeoutArg,
    ...jsonArg,
    ...jsonOutArg,
    ...verboseArg,
    ...latencyOutArg,
  },
  async run({ args }) {
    const cores = usableCores();
    const workers = args.workers === "auto" ? Math.min(cores, MAX_WORKERS) : num(args.workers, "workers", 1, MAX_WORKERS);
    if (workers > cores) log.warn(`run: --workers ${workers} is more than the ${cores} CPU${cores > 1 ? "s" : ""} this process may run on; the extra workers take turns on them (--workers auto uses ${cores})`);
    parseChain(args.op); // fail fast on a bad chain, before any process starts
    whenFull(args["when-full"]);
    num(args.timeout, "timeout", 0, 1e9, false);
    const name = checkName(args.name ?? `run-${process.pid}`);
    if (args["in-format"] === "png" && !args.input) throw new InvalidInput("--in-format png needs --input DIR|GLOB");
    const framesToStdout = (!args.output || args.output === "-") && args["out-format"] !== "png";
    if (!args.input || args.input === "-") checkFramesStdin("run");
    if (framesToStdout) checkFramesStdout("run");
    const report = reportTarget("run", args, framesToStdout);
    const r = await runPipeline({
      name,
      workers,
      op: args.op,
      producerArgs: pass(args, ["input", "in-format", "size", "pix-fmt", "when-full", "fps", "slots", "max-size", "max-format", "max-attempts"]),
      consumerArgs: pass(args, ["output", "out-format", "latency-out"]),
      stageArgs: pass(args, ["timeout", "verbose"]),
      progress: !!process.stderr.isTTY,
    });
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
    report?.(r);
    if (r.error) printError(r.error);
    else if (consumerKilled(r)) printError(`the consumer died of signal ${r.codes.consumer - 128}: ${r.framesOut} of ${count(r.framesIn, "frame")} delivered; run again (frames after the last delivered one are lost with the pipeline)`);
    // A stage (or run itself) already said why on an ERROR line: no summary after it.
    if (!failed(r.code)) log.info(summary(r, args.op, workers));
    process.exitCode = r.code;
  },
});
