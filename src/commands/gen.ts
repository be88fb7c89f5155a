import { defineCommand } from "citty";
import { ptr } from "bun:ffi";
import { InvalidInput } from "../errors";
import { parseFormat, parseSize, payloadBytes } from "../frame/format";
import { frameOffset, makePattern } from "../frame/gen";
import { NativeSink } from "../formats/native";
import { Output } from "../io/output";
import { log } from "../log";
import { num } from "./args";
import { count as plural } from "./summary";
import { checkFramesStdout } from "../io/stdio";

export const example = "shmimg gen --count 100 --size 320x240 --format rgb24 --seed 7 > frames.shm";

export default defineCommand({
  meta: {
    name: "gen",
    description: "Write deterministic synthetic frames in the native stream format to stdout.",
  },
  args: {
    count: { type: "string", description: "Number of frames to write.", required: true, valueHint: "N" },
    size: { type: "string", description: "Frame size as WIDTHxHEIGHT.", required: true, valueHint: "WxH" },
    format: { type: "string", description: "Pixel format: gray8, rgb24, rgba32 or yuv420p.", default: "rgb24", valueHint: "F" },
    seed: { type: "string", description: "Seed of the pattern; the same seed gives the same bytes.", default: "1", valueHint: "S" },
  },
  run({ args }) {
    const count = num(args.count, "count", 0, Number.MAX_SAFE_INTEGER);
    const size = parseSize(args.size);
    if (!size) throw new InvalidInput(`--size "${args.size}" is not WIDTHxHEIGHT with both in 1..16384`);
    const fmt = parseFormat(args.format);
    if (!fmt) throw new InvalidInput(`--format "${args.format}" is not one of gray8, rgb24, rgba32, yuv420p`);
    const seed = num(args.seed, "seed", 0, 0xffffffff);
    checkFramesStdout("gen");
    const len = payloadBytes(size.w, size.h, fmt);
    const pattern = makePattern(size.w, size.h, fmt, seed);
    const base = ptr(pattern);
    const out = new Output(1, "stdout");
    const sink = new NativeSink();
    const info = { w: size.w, h: size.h, fmt, seq: 0, len };
    const perBatch = Math.max(1, Math.min(32, Math.floor((1 << 20) / (len + 32))));
    for (let i = 0; i < count; ) {
      for (let k = 0; k < perBatch && i < count; k++, i++) {
        info.seq = i;
        sink.add(out, info, base + frameOffset(i, len));
      }
      out.flush();
      sink.flushed();
    }
    // `base` is a raw pointer into `pattern`: keep the array alive until here.
    pattern.fill(0, 0, 0);
    log.info(`gen: wrote ${plural(count, "frame")} of ${size.w}x${size.h} ${args.format} (${count * (len + 32)} bytes)`);
  },
});
