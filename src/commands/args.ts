/**
 * Arguments several commands share, defined once and spread into `args`,
 * and the parsers for their values. Only commands import this module.
 */
import { writeFileSync } from "node:fs";
import { InvalidInput } from "../errors";
import { writeOut } from "../io/stdio";
import { parseFormat, parseSize } from "../frame/format";
import { Chain, parseChain } from "../ops/chain";
import { ringOptions, type Geometry } from "../pipeline/ring/sizing";
import { DEFAULT_FRAME_TIMEOUT_S, MAX_FRAME_TIMEOUT_S, type CreateOptions } from "../pipeline/ring/pipeline";
import type { WhenFull } from "../pipeline/stages/produce";
import { MAX_WORKERS } from "../pipeline/layout";
import { usableCores } from "../pipeline/ipc/proc";

export const nameArg = {
  name: { type: "string", alias: "n", description: "Pipeline name; stages started in other shells find the pipeline by it.", default: "default", valueHint: "P" },
} as const;

export const timeoutArg = {
  timeout: { type: "string", description: "Give up (exit 4) after waiting this many seconds for a peer that is alive but silent; 0 = wait forever. Dead peers are noticed without it.", default: "0", valueHint: "SECONDS" },
} as const;

export const sharedGroupArg = {
  "shared-group": { type: "boolean", description: "Accept segments that are writable by the owner's group (never by others).", default: false },
} as const;

export const verboseArg = {
  verbose: { type: "boolean", description: "Log every IPC call with its arguments and result on stderr.", default: false },
} as const;

/** Accepted by every command (the top level adds it to each one's args). */
export const commonArgs = {
  quiet: { type: "boolean", alias: "q", description: "Print no [info] lines or summary; warnings and ERROR lines stay.", default: false },
} as const;

/** Marks arguments used between `run` and its stages (or by bench): accepted, hidden from --help. */
export const internal = { internal: true } as const;

export const parentPidArg = {
  "parent-pid": { type: "string", description: "(used by run) Exit when this process dies.", valueHint: "PID", internal: true },
} as const;

/** work and consume started by run at the same time as its producer. */
export const waitForArg = {
  "wait-for": { type: "string", description: "(used by run) First wait until the producer with this pid has created the pipeline.", valueHint: "PID", internal: true },
} as const;

export const latencyOutArg = {
  "latency-out": { type: "string", description: "(bench) The consumer saves per frame (publish-to-delivery latency µs, delivery time µs) as float64 pairs to this file.", valueHint: "FILE", internal: true },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "Print the final report as JSON on stdout.", default: false },
} as const;

/** For commands whose stdout may carry frames: the report then needs a file of its own. */
export const jsonOutArg = {
  "json-out": { type: "string", description: "Write the final report as JSON to this file (needed for --json when frames go to stdout).", valueHint: "FILE" },
} as const;

/**
 * Where a command's --json report goes: stdout when it carries no frames,
 * else only --json-out FILE, so the report never shares a stream with frames
 * or logs. Checked before anything starts; undefined when no report is asked.
 */
export function reportTarget(command: string, args: Record<string, unknown>, framesToStdout: boolean): ((report: unknown) => void) | undefined {
  const file = args["json-out"] ? String(args["json-out"]) : undefined;
  if (file) return (r) => writeFileSync(file, JSON.stringify(r) + "\n");
  if (!args.json) return undefined;
  if (framesToStdout) throw new InvalidInput(`${command} --json: the frames go to stdout, so the report would share it; give -o FILE for the frames or --json-out FILE for the report`);
  return (r) => writeOut(JSON.stringify(r) + "\n");
}

/** Exit codes whose cause was printed on an ERROR line (no summary after it). */
export function failed(code: number): boolean {
  return code === 1 || code === 2 || code === 3 || code === 4;
}

export const EXIT_CODES = "Exit codes: 0 ok, 1 internal error, 2 invalid input or unavailable IPC resource, 3 stream incomplete, 4 a stage failed, 130/143 interrupted.";

/** Parses a number argument within [min, max]. */
export function num(value: unknown, flag: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (value === undefined || value === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max)
    throw new InvalidInput(`--${flag} ${String(value)} is not ${integer ? "an integer" : "a number"} in ${min}..${max}`);
  return n;
}

export const geometryArgs = {
  slots: { type: "string", description: "Slots per ring (frames in flight); default: about 8 MiB per ring, at least one per worker plus one (run: --workers; init: the CPUs) up to 256 MiB per ring, 3..64.", valueHint: "K" },
  "max-size": { type: "string", description: "Largest frame the rings must hold, as WIDTHxHEIGHT.", valueHint: "WxH" },
  "max-format": { type: "string", description: "Largest pixel format the rings must hold (gray8, rgb24, rgba32, yuv420p).", default: "rgba32", valueHint: "F" },
  "max-attempts": { type: "string", description: "Attempts at one frame (a worker died on it, its op failed, or it hung past --frame-timeout) before the stream fails with exit 4.", default: "3", valueHint: "N" },
  "frame-timeout": { type: "string", description: "A worker holding one frame longer than this many seconds is hung (endless op, silent filter, SIGSTOP): the first stage to notice SIGKILLs it and the frame is redone; 0 = no limit.", default: String(DEFAULT_FRAME_TIMEOUT_S), valueHint: "SECONDS" },
} as const;

export const inputArgs = {
  input: { type: "string", alias: "i", description: "Read frames from this file (default: stdin), or image files from a directory or a quoted glob.", valueHint: "FILE" },
  "in-format": { type: "string", description: "Input format: auto (sniffed from the first bytes; a directory or glob is images), native, pnm, y4m, rawvideo, png, jpeg.", default: "auto", valueHint: "F" },
  "convert-444": { type: "boolean", description: "Accept y4m C444 input by converting it to rgb24 (BT.601 limited range; pixels change). Without it C444 is refused.", default: false },
  size: { type: "string", description: "Frame size for --in-format rawvideo.", valueHint: "WxH" },
  "pix-fmt": { type: "string", description: "Pixel format for --in-format rawvideo: gray, rgb24, rgba, yuv420p.", valueHint: "F" },
  "when-full": { type: "string", description: "When the raw ring is full: block (wait), drop (skip the frame, counted), fail (stop, exit 3).", default: "block", valueHint: "MODE" },
  fps: { type: "string", description: "Publish at most this many frames per second (a paced live source); 0 = as fast as possible.", default: "0", valueHint: "N" },
  depth: { type: "string", description: "8: scale 16-bit PNG samples to 8 bits as netpbm's pamdepth 255 does (without it, 16-bit PNGs are refused).", valueHint: "8" },
} as const;

/** --depth: only 8 (16-bit PNG input scaled to 8 bits) exists. */
export function depthArg(v: unknown): 8 | undefined {
  if (v === undefined) return undefined;
  if (v === "8") return 8;
  throw new InvalidInput(`--depth ${String(v)} is not 8 (the only conversion offered: 16-bit PNG samples to 8 bits)`);
}

export const outputArgs = {
  output: { type: "string", alias: "o", description: "Write frames to this file (default: stdout); image files go to a directory (DIR/: names kept), a template ('out/%06d.png') or one file (one.png).", valueHint: "FILE" },
  "out-format": { type: "string", description: "Output format: auto (from the --output extension, else the input's format), native, pnm, y4m, rawvideo, png, jpeg.", default: "auto", valueHint: "F" },
  overwrite: { type: "boolean", description: "Remove the image files an earlier run left in the --output directory (else such a directory is refused).", default: false },
  quality: { type: "string", description: "JPEG quality for --out-format jpeg, 1..100.", default: "90", valueHint: "Q" },
} as const;

export function whenFull(v: unknown): WhenFull {
  if (v === "block" || v === "drop" || v === "fail") return v;
  throw new InvalidInput(`--when-full "${String(v)}" is not one of block, drop, fail`);
}


/** Ring geometry from --max-size/--max-format/--slots/--max-attempts, else the first frame, and the op chain. */
export function ringArgs(name: string, args: Record<string, unknown>, first?: Geometry, opSpec?: string): CreateOptions {
  let max: Geometry;
  if (args["max-size"]) {
    const s = parseSize(String(args["max-size"]));
    if (!s) throw new InvalidInput(`--max-size "${args["max-size"]}" is not WIDTHxHEIGHT with both in 1..16384`);
    const f = parseFormat(String(args["max-format"] ?? "rgba32"));
    if (!f) throw new InvalidInput(`--max-format "${args["max-format"]}" is not one of gray8, rgb24, rgba32, yuv420p`);
    max = { w: s.w, h: s.h, fmt: f };
  } else if (first) max = first;
  else throw new InvalidInput("--max-size WxH is required: the rings are sized for the largest frame");
  const chain = opSpec ? new Chain(parseChain(opSpec)) : undefined;
  return ringOptions({
    name,
    max,
    chainOut: chain && ((g) => chain.out(g)),
    slots: args.slots ? num(args.slots, "slots", 2, 1024) : undefined,
    workers: args.workers ? num(args.workers, "workers", 1, MAX_WORKERS) : usableCores(),
    maxAttempts: num(args["max-attempts"] ?? "3", "max-attempts", 1, 1000),
    frameTimeoutS: num(args["frame-timeout"] ?? String(DEFAULT_FRAME_TIMEOUT_S), "frame-timeout", 0, MAX_FRAME_TIMEOUT_S, false),
  });
}
