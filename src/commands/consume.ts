import { defineCommand } from "citty";
import { OUT_FORMATS } from "../formats";
import { openSink } from "../formats/open";
import { identityOfFd, TailReader } from "../io/identity";
import { recordOutput, verifyOutput } from "../pipeline/stages/output-identity";
import { readStreamInfo } from "../pipeline/ring/stream";
import { openPipeline } from "../pipeline/ring/pipeline";
import { openWhenCreated } from "../pipeline/ring/lifecycle";
import { consume, joinConsumer, leaveConsumer } from "../pipeline/stages/consume";
import { exitWithParent, installSignalFlags } from "../signals";
import { log } from "../log";
import { consumeReport, incompleteStream, progressLine } from "../pipeline/stages/consume-report";
import { LatencyLog } from "../io/latency-log";
import { jsonArg, jsonOutArg, latencyOutArg, nameArg, num, outputArgs, parentPidArg, waitForArg, reportTarget, sharedGroupArg, timeoutArg, verboseArg } from "./args";
import { consumeSummary } from "./summary";
import { checkFramesStdout, isTerminal } from "../io/stdio";

export const example = "shmimg consume --name cam --output out.shm";

export default defineCommand({
  meta: {
    name: "consume",
    description: "Write processed frames strictly in order; exits after the last frame of the stream.",
  },
  args: {
    ...nameArg,
    ...outputArgs,
    ...parentPidArg,
    ...waitForArg,
    ...latencyOutArg,
    ...verboseArg,
    ...jsonArg,
    ...jsonOutArg,
    ...timeoutArg,
    ...sharedGroupArg,
  },
  run({ args }) {
    installSignalFlags();
    if (args["parent-pid"]) exitWithParent(Number(args["parent-pid"]));
    const timeoutS = num(args.timeout, "timeout", 0, 1e9, false);
    const opts = { sharedGroup: args["shared-group"] };
    // run starts every stage at once: wait for the rings its producer creates.
    const p = args["wait-for"] ? openWhenCreated(args.name, Number(args["wait-for"]), opts) : openPipeline(args.name, opts);
    let closeOutput = () => {};
    let joined = false;
    let tail: TailReader | undefined;
    try {
      const at = joinConsumer(p);
      joined = true;
      const toStdout = !args.output || args.output === "-";
      // Every format writes to stdout without --output (image files back to back).
      if (toStdout) checkFramesStdout("consume");
      const report_ = reportTarget("consume", args, toStdout);
      // The output's identity (I8), once its format is known (with frame 0 when it is the input's).
      const label = toStdout ? "stdout" : `--output ${args.output}`;
      const check = (fd: number, format: string, dir?: string) => {
        const t = { label, format, formats: OUT_FORMATS, fd, dir };
        return at.delivered > 0 ? verifyOutput(p, t, at) : recordOutput(p, t);
      };
      if (at.delivered > 0) {
        if (toStdout && identityOfFd(1).kind !== "file") log.warn(`consume: resuming pipeline "${p.name}" at frame ${at.delivered} on stdout: bytes of a frame that was being written when the previous consumer died may appear twice`);
        else log.info(`consume: resuming pipeline "${p.name}" at frame ${at.delivered}, output offset ${at.offset}`);
      }
      const quality = num(args.quality ?? "90", "quality", 1, 100);
      const { sink, out, close } = openSink({
        output: args.output,
        outFormat: args["out-format"],
        overwrite: args.overwrite,
        quality,
        resume: at,
        stream: () => readStreamInfo(p),
        check,
        opened: (fd) => {
          tail = identityOfFd(fd).kind === "file" ? new TailReader(fd) : undefined;
        },
      });
      closeOutput = close;
      const lat = args["latency-out"] ? new LatencyLog() : undefined;
      const t0 = performance.now();
      const tty = isTerminal(2) && !process.env.SHMIMG_QUIET;
      const onProgress = tty ? (frames: number, bytes: number) => process.stderr.write(`\r\x1b[K${progressLine(p, at.delivered, frames, bytes, (performance.now() - t0) / 1000)}`) : undefined;
      // The output may be opened with frame 0 (its format is the input's): the tail reader comes with it.
      const s = consume(p, sink, out, { timeoutS, onLatency: lat?.add, onProgress, tailHash: (off: number) => (tail ? tail.hash(off) : 0) });
      if (tty) process.stderr.write("\r\x1b[K");
      const wallS = (performance.now() - t0) / 1000;
      sink.close();
      const report = consumeReport(p, s, wallS);
      report_?.(report);
      if (lat) lat.save(args["latency-out"]!);
      log.info(consumeSummary(p.name, report));
      const incomplete = incompleteStream(p, s);
      if (incomplete) throw incomplete;
    } finally {
      if (joined) leaveConsumer(p);
      tail?.close();
      closeOutput();
      p.detach();
    }
  },
});
