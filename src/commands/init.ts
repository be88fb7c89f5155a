import { defineCommand } from "citty";
import { InvalidInput } from "../errors";
import { parseFormat, parseSize, payloadBytes, type Format } from "../frame/format";
import { autoSlots } from "../pipeline/pipeline";
import { createOrRecycle } from "../pipeline/lifecycle";
import { Chain, parseChain } from "../ops/chain";
import { hexKey } from "../pipeline/keys";
import { log } from "../log";
import { nameArg, num, verboseArg } from "./shared";

export const geometryArgs = {
  slots: { type: "string", description: "Slots per ring (frames in flight); default: about 32 MiB per ring, 4..64 slots.", valueHint: "K" },
  "max-size": { type: "string", description: "Largest frame the rings must hold, as WIDTHxHEIGHT.", valueHint: "WxH" },
  "max-format": { type: "string", description: "Largest pixel format the rings must hold (gray8, rgb24, rgba32, yuv420p).", default: "rgba32", valueHint: "F" },
  "max-attempts": { type: "string", description: "Deaths of a worker on the same frame before the stream fails with exit 4.", default: "3", valueHint: "N" },
} as const;

/** Ring geometry from --max-size/--max-format/--slots and an optional op chain (sizes the processed ring). */
export function ringOptions(name: string, args: Record<string, unknown>, first?: { w: number; h: number; fmt: Format }, opSpec?: string) {
  let w: number, h: number, fmt: Format;
  if (args["max-size"]) {
    const s = parseSize(String(args["max-size"]));
    if (!s) throw new InvalidInput(`--max-size "${args["max-size"]}" is not WIDTHxHEIGHT with both in 1..16384`);
    const f = parseFormat(String(args["max-format"] ?? "rgba32"));
    if (!f) throw new InvalidInput(`--max-format "${args["max-format"]}" is not one of gray8, rgb24, rgba32, yuv420p`);
    ({ w, h } = s);
    fmt = f;
  } else if (first) {
    ({ w, h, fmt } = first);
  } else throw new InvalidInput("--max-size WxH is required: the rings are sized for the largest frame");
  const rawBytes = payloadBytes(w, h, fmt);
  let procBytes = rawBytes;
  if (opSpec) {
    const chain = new Chain(parseChain(opSpec));
    // The chain may be unable to accept the max format (e.g. sobel on rgba32): size for what it accepts.
    for (const f of [1, 2, 3, 4] as Format[]) {
      if (payloadBytes(w, h, f) > rawBytes) continue;
      try {
        const o = chain.out({ w, h, fmt: f });
        procBytes = Math.max(procBytes, payloadBytes(o.w, o.h, o.fmt));
      } catch {}
    }
  }
  const slots = args.slots ? num(args.slots, "slots", 2, 1024) : autoSlots(Math.max(rawBytes, procBytes));
  const maxAttempts = num(args["max-attempts"] ?? "3", "max-attempts", 1, 1000);
  return { name, slots, maxW: w, maxH: h, maxFormat: fmt, procSlotBytes: procBytes, maxAttempts };
}

export const example = "shmimg init --name cam --max-size 1920x1080 --max-format rgb24 --slots 8";

export default defineCommand({
  meta: {
    name: "init",
    description: "Create a pipeline's objects: raw and processed segments and a semaphore set (mode 0600).",
  },
  args: {
    ...nameArg,
    ...verboseArg,
    ...geometryArgs,
    op: { type: "string", description: "Op chain the workers will run, so the processed ring is sized for its output (needed when the chain enlarges frames).", valueHint: "CHAIN" },
  },
  run({ args }) {
    const o = ringOptions(args.name, args, undefined, args.op);
    const p = createOrRecycle(o);
    const msg = `init: pipeline "${o.name}" ready: ${o.slots} slots of ${p.rawSlotBytes} B raw (shm ${hexKey(p.keys.raw)}), ${p.procSlotBytes} B processed (shm ${hexKey(p.keys.processed)}), sem ${hexKey(p.keys.sems)}`;
    p.detach();
    log.info(msg);
  },
});
