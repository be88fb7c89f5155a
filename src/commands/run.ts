import { defineCommand } from "citty";
import { parseChain } from "../ops/chain";
import { checkName } from "../pipeline/ring/pipeline";
import { runPipeline, type RunReport } from "../pipeline/stages/supervisor";
import { log, printError } from "../log";
import { depthArg, failed, geometryArgs, inputArgs, jsonArg, jsonOutArg, latencyOutArg, num, outputArgs, reportTarget, timeoutArg, verboseArg, whenFull } from "./args";
import { checkFramesStdin, checkFramesStdout } from "../io/stdio";
import { count, perWorkerText, rates } from "./summary";
import { checkImageOutput, checkOneImageOutput, isImageFolderOrTemplate } from "../formats/images";

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
    op: { type: "string", description: "Op chain, comma-separated (see `shmimg ops`). Nothing converts implicitly: the chain is checked against the first frame, and an op that refuses its format names the conversion to put first.", default: "identity", valueHint: "CHAIN" },
    workers: { type: "string", alias: "w", description: "Number of worker processes.", default: "2", valueHint: "N" },
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
    const workers = num(args.workers, "workers", 1, 32);
    parseChain(args.op); // fail fast on a bad chain, before any process starts
    whenFull(args["when-full"]);
    depthArg(args.depth);
    num(args.timeout, "timeout", 0, 1e9, false);
    const name = checkName(args.name ?? `run-${process.pid}`);
    num(args.quality, "quality", 1, 100);
    // An output folder holding an earlier run's frames is refused before any process starts.
    if (isImageFolderOrTemplate(args.output)) checkImageOutput(args.output, args.overwrite, args.input, false);
    else checkOneImageOutput(args.output, args.input);
    // Without --output every format writes frames to stdout (image files back to back).
    const framesToStdout = !args.output || args.output === "-";
    if (!args.input || args.input === "-") checkFramesStdin("run");
    if (framesToStdout) checkFramesStdout("run");
    const report = reportTarget("run", args, framesToStdout);
    const r = await runPipeline({
      name,
      workers,
      op: args.op,
      producerArgs: pass(args, ["input", "in-format", "convert-444", "size", "pix-fmt", "depth", "when-full", "fps", "slots", "max-size", "max-format", "max-attempts"]),
      consumerArgs: pass(args, ["output", "out-format", "overwrite", "quality", "latency-out"]),
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
