import { defineCommand } from "citty";
import { InvalidInput } from "../errors";
import { parseChain } from "../ops/chain";
import { byteMovers } from "../formats/choose";
import { checkName, MAX_FRAME_TIMEOUT_S } from "../pipeline/ring/pipeline";
import { usableCores } from "../pipeline/ipc/proc";
import { runPipeline, type RunReport } from "../pipeline/stages/supervisor";
import type { RunIdentity } from "../pipeline/stages/resume";
import { Heal, MAX_WORKERS } from "../pipeline/layout";
import { absolute, fnv1a, identityOfArg, identityOfFd } from "../io/identity";
import { log, printError } from "../log";
import { depthArg, failed, geometryArgs, inputArgs, jsonArg, jsonOutArg, latencyOutArg, num, outputArgs, reportTarget, timeoutArg, verboseArg, whenFull } from "./args";
import { checkFramesStdin, checkFramesStdout, isTerminal } from "../io/stdio";
import { count, perWorkerText, rates } from "./summary";
import { checkImageOutput, checkOneImageOutput, isImageFolderOrTemplate, isImageList } from "../formats/images";

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

/** "3 restarts (producer 1, workers 1, consumer 1)". */
function restartsText(r: RunReport): string {
  const by = r.restartsByRole;
  return `${count(r.restarts, "restart")}${r.restarts ? ` (producer ${by.producer}, workers ${by.worker}, consumer ${by.consumer})` : ""}`;
}

/** "2 workers", or with a pool that did not start them all "1 worker (pool of up to 16: no more were needed)". */
function workersText(r: RunReport, workers: number): string {
  const { max, started, added } = r.pool;
  if (max <= started) return count(workers, "worker");
  const why = added ? `${added} added as frames waited with a CPU idle` : "no more were needed";
  return `${count(started + added, "worker")} (pool of up to ${max}: ${why})`;
}

export function summary(r: RunReport, op: string, workers: number): string {
  const rate = rates(r.framesOut, r.bytesOut, r.wallS);
  const resumed = r.resumedAt === undefined ? "" : `, resumed after ${r.resumedAt} frames delivered by an earlier run`;
  return (
    `run: ${count(r.framesIn, "frame")} in, ${r.framesOut} out${resumed} through "${op}" with ${workersText(r, workers)} ${perWorkerText(r.perWorker)} in ${r.wallS.toFixed(3)} s${rate ? `: ${rate}` : ""}; ` +
    `${r.dropped} dropped, ${r.redone} redone, ${restartsText(r)}; ` +
    `producer blocked ${r.producerBlockedS.toFixed(3)} s, consumer waited ${r.consumerWaitS.toFixed(3)} s; exit ${r.code}`
  );
}

/**
 * Roles run can restart after they die (I9): the producer when its input can
 * be read again from a recorded position, the consumer when its output can be
 * truncated and continued. Pipes and terminals cannot.
 */
function healable(args: Record<string, unknown>): number {
  const images = (f: unknown) => f === "png" || f === "jpeg";
  const input = images(args["in-format"]) || isImageList(args.input as string | undefined) || identityOfArg(args.input as string | undefined, 0).kind === "file";
  const out = identityOfArg(args.output as string | undefined, 1);
  const named = !!args.output && args.output !== "-";
  const output = images(args["out-format"]) || isImageFolderOrTemplate(args.output as string | undefined) || out.kind === "file" || (named && out.kind === "missing");
  return (input ? Heal.PRODUCER : 0) | (output ? Heal.CONSUMER : 0);
}

/** What --resume compares: input (format, flags, file), op chain, output (format, path). */
function jobIdentity(args: Record<string, unknown>): RunIdentity {
  const path = args.input as string | undefined;
  const i = identityOfArg(path, 0);
  // A regular file is itself (--input F and < F are the same input); anything else is its path.
  const which = i.kind === "file" ? [i.dev, i.ino, i.size, i.mtimeMs] : [absolute(path)];
  const input = [args["in-format"], args.size, args["pix-fmt"], ...which];
  // A stdout redirected to a file is that file (device, inode); --output is its path (the consumer checks the inode).
  const out = args.output as string | undefined;
  const o = !out || out === "-" ? identityOfFd(1) : undefined;
  const output = [args["out-format"], absolute(out), ...(o?.kind === "file" ? [o.dev, o.ino] : [])];
  return { input: fnv1a(JSON.stringify(input)), op: fnv1a(String(args.op)), output: fnv1a(JSON.stringify(output)) };
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
    op: { type: "string", description: "Op chain, comma-separated (see `shmimg ops`): built-in ops and your own, ./op.ts[:k=v;k=v], native:./lib.so#NAME, exec:CMD, filter:CMD. Nothing converts implicitly: the chain is checked against the first frame, and an op that refuses its format names the conversion to put first.", default: "identity", valueHint: "CHAIN" },
    workers: { type: "string", alias: "w", description: "Most worker processes (the pool's ceiling), or auto: the CPUs this process may run on (its affinity mask, lowered by a cgroup CPU quota). run starts one fewer than the CPUs (at least 1; the producer and consumer need one) and adds workers up to N while frames wait for one and a CPU is idle: a CPU-bound op gets as many as there are CPUs, an op that blocks (exec:, filter:) up to N. Asking for more than the CPUs warns once.", default: "auto", valueHint: "N|auto" },
    "min-workers": { type: "string", description: "Workers run starts with and keeps (replacing any that die), at most --workers; default: one fewer than the CPUs, at least 1 (the producer and the consumer need a CPU too). Set it to --workers to have them all from the start (hot spares for a worker stopped or killed).", valueHint: "M" },
    name: { type: "string", alias: "n", description: "Pipeline name (default: run-PID, unique per run; printed at the start on a terminal, for --resume).", valueHint: "P" },
    resume: { type: "boolean", description: "Continue the pipeline of a run of the same command that was killed (kill -9, power cut of the processes): needs the same --name, input, --op and output; output byte-identical to an uninterrupted run.", default: false },
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
    if (workers > cores)
      log.warn(
        `run: --workers ${workers} is more than the ${cores} CPU${cores > 1 ? "s" : ""} this process may run on; run adds workers beyond ${cores} only while frames wait for a worker and a CPU is idle, as with ops that block (--workers auto uses ${cores})`,
      );
    const minWorkers = args["min-workers"] === undefined ? undefined : num(args["min-workers"], "min-workers", 1, workers);
    parseChain(args.op); // fail fast on a bad chain, before any process starts
    whenFull(args["when-full"]);
    depthArg(args.depth);
    num(args.timeout, "timeout", 0, 1e9, false);
    num(args["frame-timeout"], "frame-timeout", 0, MAX_FRAME_TIMEOUT_S, false);
    if (args.resume && !args.name) throw new InvalidInput("--resume needs the --name of the run to continue (a run without --name printed its name when it started)");
    const name = checkName(args.name ?? `run-${process.pid}`);
    const heal = healable(args);
    // A resumable run at a terminal names its pipeline (there is no summary after a kill -9); scripts pass --name.
    if (!args.name && heal === (Heal.PRODUCER | Heal.CONSUMER) && isTerminal(2)) log.info(`run: pipeline "${name}" (if this run is killed, the same command with --resume --name ${name} continues it)`);
    num(args.quality, "quality", 1, 100);
    // An output folder holding an earlier run's frames is refused before any process starts
    // (with --resume the frames there are this run's own).
    if (isImageFolderOrTemplate(args.output)) {
      if (!args.resume) checkImageOutput(args.output, args.overwrite, args.input, false);
    } else checkOneImageOutput(args.output, args.input);
    // Without --output every format writes frames to stdout (image files back to back).
    const framesToStdout = !args.output || args.output === "-";
    if (!args.input || args.input === "-") checkFramesStdin("run");
    if (framesToStdout) checkFramesStdout("run");
    const report = reportTarget("run", args, framesToStdout);
    const r = await runPipeline({
      name,
      workers,
      cores,
      minWorkers,
      op: args.op,
      producerArgs: pass(args, ["input", "in-format", "convert-444", "size", "pix-fmt", "depth", "when-full", "fps", "slots", "max-size", "max-format", "max-attempts", "frame-timeout"]),
      consumerArgs: pass(args, ["output", "out-format", "overwrite", "quality", "latency-out"]),
      stageArgs: pass(args, ["timeout", "verbose"]),
      byteMovers: byteMovers({ input: args.input, inFormat: args["in-format"], size: args.size, pixFmt: args["pix-fmt"], output: args.output, outFormat: args["out-format"] }),
      progress: isTerminal(2),
      heal,
      identity: jobIdentity(args),
      resume: args.resume,
    });
    if (isTerminal(2)) process.stderr.write("\r\x1b[K");
    report?.(r);
    if (r.error) printError(r.error);
    else if (consumerKilled(r)) printError(`the consumer died of signal ${r.codes.consumer - 128}: ${r.framesOut} of ${count(r.framesIn, "frame")} delivered; run again (frames after the last delivered one are lost with the pipeline)`);
    // A stage (or run itself) already said why on an ERROR line: no summary after it.
    if (!failed(r.code)) log.info(summary(r, args.op, workers));
    process.exitCode = r.code;
  },
});
