import { defineCommand } from "citty";
import { makeSink } from "../formats";
import { Output } from "../io/output";
import { openPipeline } from "../pipeline/ring/pipeline";
import { openWhenCreated } from "../pipeline/ring/lifecycle";
import { consume, joinConsumer, leaveConsumer } from "../pipeline/stages/consume";
import { Eos, EOS_NAMES, P } from "../pipeline/layout";
import { installSignalFlags } from "../signals";
import { shim } from "../native/shim";
import { ShmimgError, Exit } from "../errors";
import { log } from "../log";
import { snapshot } from "../pipeline/ring/snapshot";
import { LatencyLog } from "../bench/latency";
import { jsonArg, jsonOutArg, latencyOutArg, nameArg, num, outputArgs, parentPidArg, waitForArg, reportTarget, sharedGroupArg, timeoutArg, verboseArg } from "./args";
import { closeFd, openOutput } from "../io/files";
import { count, perWorkerText, rates } from "./summary";
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
    if (args["parent-pid"]) shim.shim_set_pdeathsig(15);
    const timeoutS = num(args.timeout, "timeout", 0, 1e9, false);
    const opts = { sharedGroup: args["shared-group"] };
    // run starts every stage at once: wait for the rings its producer creates.
    const p = args["wait-for"] ? openWhenCreated(args.name, Number(args["wait-for"]), opts) : openPipeline(args.name, opts);
    let fd = -1;
    let joined = false;
    try {
      const at = joinConsumer(p);
      joined = true;
      const outFormat = String(args["out-format"]);
      const toStdout = !args.output || args.output === "-";
      if (toStdout && outFormat !== "png") checkFramesStdout("consume");
      const report_ = reportTarget("consume", args, toStdout && outFormat !== "png");
      if (at.delivered > 0) {
        if (toStdout) log.warn(`consume: resuming pipeline "${p.name}" at frame ${at.delivered} on stdout: bytes of a frame that was being written when the previous consumer died may appear twice`);
        else log.info(`consume: resuming pipeline "${p.name}" at frame ${at.delivered}, output offset ${at.offset}`);
      }
      fd = outFormat === "png" ? -1 : openOutput(args.output, toStdout ? 0 : at.offset);
      const sink = makeSink(outFormat, { resumeOffset: at.offset, path: args.output, delivered: at.delivered });
      const out = new Output(fd, args.output ?? "stdout");
      const lat = args["latency-out"] ? new LatencyLog() : undefined;
      const t0 = performance.now();
      const tty = !!process.stderr.isTTY && !process.env.SHMIMG_QUIET;
      const onProgress = tty
        ? (frames: number, bytes: number) => {
            const s = (performance.now() - t0) / 1000;
            const total = p.i32(P.eos) !== Eos.NONE ? ` of ${p.f64(P.head) - at.delivered} (${((100 * frames) / Math.max(1, p.f64(P.head) - at.delivered)).toFixed(0)}%)` : "";
            process.stderr.write(`\r\x1b[Kconsume: ${frames} frames${total}, ${(frames / s).toFixed(0)} frames/s, ${(bytes / s / 1e6).toFixed(1)} MB/s`);
          }
        : undefined;
      const s = consume(p, sink, out, { timeoutS, onLatency: lat?.add, onProgress });
      if (tty) process.stderr.write("\r\x1b[K");
      const wallS = (performance.now() - t0) / 1000;
      sink.close();
      const snap = snapshot(p);
      const report = {
        frames: s.frames,
        bytes: s.bytes,
        wallS,
        framesPerS: s.frames / Math.max(wallS, 1e-9),
        mbPerS: s.bytes / Math.max(wallS, 1e-9) / 1e6,
        resumedAt: s.resumedAt,
        lastSeq: s.lastSeq,
        seqGaps: s.gaps,
        consumerWaitS: s.blockedUs / 1e6,
        producerBlockedS: snap.producer.blockedS,
        dropped: snap.producer.dropped,
        redone: snap.recovery.redone,
        perWorker: Object.fromEntries(snap.workers.map((w) => [w.pid, w.frames])),
        stream: snap.producer.eos,
      };
      report_?.(report);
      if (lat) lat.save(args["latency-out"]!);
      const eos = s.eos;
      const rate = rates(s.frames, s.bytes, wallS);
      log.info(
        `consume: ${count(s.frames, "frame")} (${(s.bytes / 1e6).toFixed(1)} MB) from "${p.name}"${s.resumedAt ? ` after resuming at ${s.resumedAt}` : ""} in ${wallS.toFixed(3)} s${rate ? `: ${rate}` : ""}; ${s.frames ? `last seq ${s.lastSeq}, ` : ""}${count(s.gaps, "seq gap")}, ${report.dropped} dropped, ${report.redone} redone; workers ${perWorkerText(report.perWorker)}; waited ${report.consumerWaitS.toFixed(3)} s, producer blocked ${report.producerBlockedS.toFixed(3)} s`,
      );
      if (eos !== Eos.OK) {
        const why = EOS_NAMES[eos] ?? `eos ${eos}`;
        const e = new ShmimgError(`stream incomplete (${why} after seq ${p.f64(P.eosSeq)}): delivered every complete frame, last seq delivered ${s.lastSeq}`, Exit.INCOMPLETE);
        // The producer already reported its own end (partial, invalid, full, signal); a dead producer it could not.
        e.secondary = eos !== Eos.PRODUCER_DIED;
        throw e;
      }
    } finally {
      if (joined) leaveConsumer(p);
      closeFd(fd);
      p.detach();
    }
  },
});
