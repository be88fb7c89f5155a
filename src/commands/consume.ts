import { defineCommand } from "citty";
import { makeSink, OUT_FORMATS } from "../formats";
import { identityOfFd, TailReader } from "../io/identity";
import { recordOutput, verifyOutput, type OutputTarget } from "../pipeline/stages/output-identity";
import { Output } from "../io/output";
import { openPipeline } from "../pipeline/ring/pipeline";
import { openWhenCreated } from "../pipeline/ring/lifecycle";
import { consume, joinConsumer, leaveConsumer } from "../pipeline/stages/consume";
import { exitWithParent, installSignalFlags } from "../signals";
import { log } from "../log";
import { consumeReport, incompleteStream, progressLine } from "../pipeline/stages/consume-report";
import { LatencyLog } from "../io/latency-log";
import { jsonArg, jsonOutArg, latencyOutArg, nameArg, num, outputArgs, parentPidArg, waitForArg, reportTarget, sharedGroupArg, timeoutArg, verboseArg } from "./args";
import { closeFd, openOutput } from "../io/files";
import { consumeSummary } from "./summary";
import { checkFramesStdout } from "../io/stdio";

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
    let fd = -1;
    let joined = false;
    let tail: TailReader | undefined;
    try {
      const at = joinConsumer(p);
      joined = true;
      const outFormat = String(args["out-format"]);
      const toStdout = !args.output || args.output === "-";
      if (toStdout && outFormat !== "png") checkFramesStdout("consume");
      const report_ = reportTarget("consume", args, toStdout && outFormat !== "png");
      const target = (fd: number): OutputTarget => ({ label: toStdout ? "stdout" : `--output ${args.output}`, format: outFormat, formats: OUT_FORMATS, fd, dir: args.output });
      const check = (fd: number) => (at.delivered > 0 ? verifyOutput(p, target(fd), at) : recordOutput(p, target(fd)));
      if (at.delivered > 0) {
        if (toStdout && identityOfFd(1).kind !== "file") log.warn(`consume: resuming pipeline "${p.name}" at frame ${at.delivered} on stdout: bytes of a frame that was being written when the previous consumer died may appear twice`);
        else log.info(`consume: resuming pipeline "${p.name}" at frame ${at.delivered}, output offset ${at.offset}`);
      }
      fd = outFormat === "png" ? -1 : openOutput(args.output, at.offset, check);
      const sink = makeSink(outFormat, { resumeOffset: at.offset, path: args.output, delivered: at.delivered });
      if (fd < 0) check(-1); // a directory output exists once the sink made it
      tail = fd >= 0 && identityOfFd(fd).kind === "file" ? new TailReader(fd) : undefined;
      const out = new Output(fd, args.output ?? "stdout");
      const lat = args["latency-out"] ? new LatencyLog() : undefined;
      const t0 = performance.now();
      const tty = !!process.stderr.isTTY && !process.env.SHMIMG_QUIET;
      const onProgress = tty ? (frames: number, bytes: number) => process.stderr.write(`\r\x1b[K${progressLine(p, at.delivered, frames, bytes, (performance.now() - t0) / 1000)}`) : undefined;
      const s = consume(p, sink, out, { timeoutS, onLatency: lat?.add, onProgress, tailHash: tail && ((off: number) => tail!.hash(off)) });
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
      closeFd(fd);
      p.detach();
    }
  },
});
