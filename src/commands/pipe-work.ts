/**
 * `shmimg pipe-work` (hidden; started by `shmimg bench`): the plain-pipe
 * baseline the shared-memory pipeline is measured against (bench/pipe-stages.ts)
 * and the in-process ceilings (bench/ceilings.ts). Modes: work (default),
 * source, sink, cpu, memcpy; cpu and memcpy print one JSON line on stdout.
 */
import { defineCommand } from "citty";
import { openSync } from "node:fs";
import { InvalidInput } from "../errors";
import { Chain, parseChain } from "../ops/chain";
import { parseFormat, parseSize } from "../frame/format";
import { LatencyLog } from "../io/latency-log";
import { pipeSink, pipeSource, pipeWork } from "../bench/pipe-stages";
import { cpuCeiling, memcpyCeiling } from "../bench/ceilings";
import { num } from "./args";

export const example = "shmimg gen --count 100 --size 640x480 | shmimg pipe-work --op invert > out.shm";

export default defineCommand({
  meta: { name: "pipe-work", description: "(bench) stdio op worker and in-process ceilings.", hidden: true },
  args: {
    mode: { type: "string", description: "work, source, sink, cpu or memcpy.", default: "work" },
    op: { type: "string", description: "Op chain (work, cpu).", default: "identity" },
    input: { type: "string", description: "Read frames from this file (default stdin)." },
    fps: { type: "string", description: "(source) frames per second, 0 = unpaced.", default: "0" },
    pace: { type: "string", description: "(source) sleep (sleep, then spin the last 150 µs, as produce --fps) or spin (busy-wait throughout).", default: "sleep" },
    "latency-out": { type: "string", description: "(sink) save per-frame (latency µs, delivery time µs) float64 pairs here." },
    stamped: { type: "boolean", description: "(sink) frames carry a source stamp: record latencies.", default: false },
    size: { type: "string", description: "(cpu) frame size WxH." },
    format: { type: "string", description: "(cpu) pixel format.", default: "rgb24" },
    count: { type: "string", description: "(cpu) frames.", default: "100" },
    seed: { type: "string", description: "(cpu) pattern seed.", default: "1" },
    bytes: { type: "string", description: "(memcpy) buffer size.", default: "4096" },
    seconds: { type: "string", description: "(memcpy) measuring time.", default: "1" },
    "start-at": { type: "string", description: "(memcpy) start at this Date.now() (ms), so parallel copies overlap.", default: "0" },
  },
  run({ args }) {
    const inFd = args.input && args.input !== "-" ? openSync(args.input, "r") : 0;
    switch (args.mode) {
      case "work": {
        pipeWork(new Chain(parseChain(args.op)), inFd, 1);
        return;
      }
      case "source": {
        if (args.pace !== "sleep" && args.pace !== "spin") throw new InvalidInput(`--pace ${args.pace}: use sleep or spin`);
        pipeSource(inFd, num(args.fps, "fps", 0, 1e6, false), args.pace === "sleep");
        return;
      }
      case "sink": {
        const log = args["latency-out"] ? new LatencyLog() : undefined;
        pipeSink(inFd, log, args.stamped);
        if (log) log.save(args["latency-out"]!);
        return;
      }
      case "cpu": {
        const size = parseSize(String(args.size ?? ""));
        const fmt = parseFormat(args.format);
        if (!size || !fmt) throw new InvalidInput("--size WxH and --format are required for --mode cpu");
        const r = cpuCeiling(size.w, size.h, fmt, args.op, num(args.count, "count", 1, 1e9), num(args.seed, "seed", 0, 0xffffffff));
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      case "memcpy": {
        const at = num(args["start-at"], "start-at", 0, Number.MAX_SAFE_INTEGER);
        while (Date.now() < at) Bun.sleepSync(1);
        const r = memcpyCeiling(num(args.bytes, "bytes", 1, 1 << 30), num(args.seconds, "seconds", 0.01, 60, false));
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
    }
    throw new InvalidInput(`--mode ${args.mode} is not one of work, source, sink, cpu, memcpy`);
  },
});
