import { defineCommand } from "citty";
import { ShmimgError } from "../errors";
import { printError } from "../log";
import { formatName } from "../frame/format";
import { closeFd } from "../io/files";
import { openSource } from "../formats/open";
import { checkFramesStdin, writeOut } from "../io/stdio";
import { depthArg, inputArgs, jsonArg } from "./args";
import { count } from "./summary";

export const example = "shmimg probe out.shm    shmimg gen --count 5 --size 8x8 | shmimg probe -";

export interface ProbeReport {
  input: string;
  format: string;
  frames: number;
  /** Distinct "WxH format" with their frame counts, in order of first appearance. */
  geometries: { geometry: string; frames: number; firstSeq: number }[];
  payloadBytes: number;
  seq: { first: number; last: number; gaps: number; backwards: number } | null;
  /** The first error (the stream stops there), with the exit code it would give. */
  error: { message: string; code: number; afterFrames: number } | null;
}

/** Reads a stream without a pipeline: what ffprobe would say of it. */
export function probeStream(args: { input?: string; "in-format"?: string; size?: string; "pix-fmt"?: string; depth?: string }): ProbeReport {
  const r: ProbeReport = { input: String(args.input ?? "stdin"), format: String(args["in-format"] ?? "auto"), frames: 0, geometries: [], payloadBytes: 0, seq: null, error: null };
  const byGeometry = new Map<string, ProbeReport["geometries"][number]>();
  let fd = -1;
  try {
    const opened = openSource({ input: args.input, inFormat: args["in-format"], size: args.size, pixFmt: args["pix-fmt"], depth: depthArg(args.depth) });
    fd = opened.fd;
    const source = opened.source;
    r.format = source.name;
    for (let info = source.next(); info !== null; info = source.next()) {
      source.skipPayload(); // throws on a truncated frame: only complete frames are counted
      const g = `${info.w}x${info.h} ${formatName(info.fmt)}`;
      let e = byGeometry.get(g);
      if (!e) byGeometry.set(g, (e = { geometry: g, frames: 0, firstSeq: info.seq }));
      e.frames++;
      if (!r.seq) r.seq = { first: info.seq, last: info.seq, gaps: 0, backwards: 0 };
      else {
        if (info.seq > r.seq.last + 1) r.seq.gaps++;
        if (info.seq <= r.seq.last) r.seq.backwards++;
        r.seq.last = info.seq;
      }
      r.frames++;
      r.payloadBytes += info.len;
    }
  } catch (e) {
    if (!(e instanceof ShmimgError)) throw e;
    r.error = { message: e.message, code: e.code, afterFrames: r.frames };
  } finally {
    closeFd(fd);
  }
  r.geometries = [...byGeometry.values()];
  return r;
}

export function renderProbe(r: ProbeReport): string {
  const lines = [`input: ${r.input} (${r.format})`, `frames: ${r.frames}, ${r.payloadBytes} payload bytes`];
  if (r.geometries.length === 1) lines.push(`geometry: ${r.geometries[0]!.geometry} (every frame)`);
  else for (const g of r.geometries) lines.push(`geometry: ${g.geometry}: ${count(g.frames, "frame")}, first at seq ${g.firstSeq}`);
  if (r.seq) lines.push(`seq: ${r.seq.first}..${r.seq.last}, ${count(r.seq.gaps, "gap")}${r.seq.backwards ? `, ${r.seq.backwards} not increasing` : ""}`);
  lines.push(r.error ? `error: after ${count(r.error.afterFrames, "complete frame")}: ${r.error.message}` : "error: none");
  return lines.join("\n");
}

export default defineCommand({
  meta: { name: "probe", description: "Read a stream (a file or - for stdin) and print its frames, geometry, format, seq range and the first error, like ffprobe." },
  args: {
    file: { type: "positional", description: "The stream to read; - reads stdin.", required: true, valueHint: "FILE" },
    "in-format": inputArgs["in-format"],
    size: inputArgs.size,
    "pix-fmt": inputArgs["pix-fmt"],
    depth: inputArgs.depth,
    ...jsonArg,
  },
  run({ args }) {
    const path = args.file === "-" ? undefined : args.file;
    if (!path) checkFramesStdin("probe");
    const r = probeStream({ ...args, input: path });
    writeOut((args.json ? JSON.stringify(r) : renderProbe(r)) + "\n");
    // The report says what is wrong; the exit code says it too (2 invalid, 3 truncated).
    if (r.error) {
      printError(r.error.message);
      process.exitCode = r.error.code;
    }
  },
});
