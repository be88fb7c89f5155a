/**
 * S0 "short jobs": whole commands end to end (process start included), the
 * way a user runs them, on the same rawvideo file: `shmimg run` next to
 * ffmpeg (`-vf negate` / `hflip,negate`) and a GStreamer shmsink -> shmsrc
 * hop that applies no op, in the same run; plus `shmimg --version`, the floor
 * of any shmimg process. A tool that is missing is a skipped row with the
 * reason. Wall = first spawn to last exit, best of --repeat runs. shmimg runs
 * without the per-stage log (CPU from run's rusage, which covers its stages),
 * so it pays nothing the other tools do not.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { payloadBytes, parseFormat } from "../frame/format";
import { selfCommand } from "../pipeline/stages/spawn";
import { runCommands, which, type Command } from "./external";
import { genFile, runShm, type RunResult } from "./runners";
import { sized, type ShortJobsSpec } from "./table";
import type { Bench } from "./measure";
import type { ShortJobRow, ShortJobsScenario } from "./types";

/** GStreamer's shmsink leaves /dev/shm/shmpipe.PID.* behind when it is killed. */
const shmpipeFiles = (pid: number): string[] => {
  try {
    return readdirSync("/dev/shm")
      .filter((f) => f.startsWith(`shmpipe.${pid}.`))
      .map((f) => join("/dev/shm", f));
  } catch {
    return [];
  }
};

/** A native frame file turned into headerless rawvideo (what ffmpeg and GStreamer read). */
async function rawFile(b: Bench, tag: string, frames: number, size: string, format: string): Promise<string> {
  const native = b.file(`${tag}-native`, "shm");
  const raw = b.file(tag, "raw");
  await genFile(native, frames, size, format, 300);
  try {
    const r = Bun.spawnSync([...selfCommand(), "run", "--op", "identity", "--input", native, "--output", raw, "--out-format", "rawvideo"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, SHMIMG_QUIET: "1" } });
    if (r.exitCode !== 0) throw new Error(`converting ${native} to rawvideo failed: ${r.stderr.toString().trim()}`);
  } finally {
    rmSync(native, { force: true });
  }
  return raw;
}

export async function runShortJobs(b: Bench, spec: ShortJobsSpec): Promise<ShortJobsScenario> {
  const ffmpeg = which("ffmpeg");
  const gst = which("gst-launch-1.0");
  const incidents: string[] = [];
  const best = async (what: string, fn: () => Promise<RunResult>): Promise<{ wallS: number; error?: string; cpuS: number }> => {
    const m = await b.measure(what, fn);
    incidents.push(...m.incidents);
    if (!m.r) return { wallS: NaN, error: m.error, cpuS: NaN };
    return { wallS: m.r.wallS, cpuS: m.r.procs.reduce((a, p) => a + p.userS + p.sysS, 0) };
  };
  const version = await best(`${spec.id} shmimg --version`, () => runCommands([{ role: "shmimg --version", argv: [...selfCommand(), "--version"] }], b.timeoutS));
  const sc: ShortJobsScenario = { kind: "shortjobs", id: spec.id, title: "short jobs, end to end (process start included), rawvideo file -> /dev/null", versionS: version.wallS, jobs: [], incidents };
  for (const job of spec.jobs) {
    const frames = sized(job.frames, b.cfg.quick);
    const [w, h] = job.size.split("x").map(Number) as [number, number];
    const fb = payloadBytes(w, h, parseFormat(job.format)!);
    b.cfg.log(`${spec.id}: ${frames} frames of ${job.size} ${job.format} (${((frames * fb) / 1e6).toFixed(0)} MB) ...`);
    const file = await rawFile(b, `${spec.id}-${job.id}`, frames, job.size, job.format);
    const rows: ShortJobRow[] = [];
    const row = (tool: ShortJobRow["tool"], label: string, r: { wallS: number; error?: string; cpuS: number } | string): ShortJobRow =>
      typeof r === "string" ? { tool, label, wallS: NaN, cpuS: NaN, skipped: r } : { tool, label, wallS: r.wallS, cpuS: r.cpuS, error: r.error };
    try {
      const workers = b.cfg.nproc;
      rows.push(
        row("shm", `shmimg run --op ${job.op} (${workers} workers)`, await best(`${spec.id} ${job.id} shm`, () =>
          runShm({ dir: b.cfg.dir, file, workers, op: job.op, timeoutS: b.timeoutS, stageLog: false, extra: ["--in-format", "rawvideo", "--size", job.size, "--pix-fmt", job.format, "--out-format", "rawvideo"] }),
        )),
      );
      const ffArgs = ["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", job.format, "-s", job.size, "-i", file, "-vf", job.ffmpegFilter, "-f", "rawvideo", "-y", "/dev/null"];
      rows.push(row("ffmpeg", `ffmpeg -vf ${job.ffmpegFilter}`, ffmpeg ? await best(`${spec.id} ${job.id} ffmpeg`, () => runCommands([{ role: "ffmpeg", argv: [ffmpeg, ...ffArgs] }], b.timeoutS)) : "ffmpeg not found on PATH"));
      const gstRow = async () => {
        const sock = b.file(`${spec.id}-${job.id}-gst`, "sock");
        const caps = `video/x-raw,format=${job.format === "rgb24" ? "RGB" : "GRAY8"},width=${w},height=${h},framerate=30/1`;
        const cmds: Command[] = [
          // The sender ends with an error once the receiver has its frames and hangs up: 1 is its normal end here.
          { role: "gst shmsink", argv: [gst!, "-q", "filesrc", `location=${file}`, `blocksize=${fb}`, "!", "rawvideoparse", `width=${w}`, `height=${h}`, `format=${job.format === "rgb24" ? "rgb" : "gray8"}`, "framerate=30/1", "!", "shmsink", `socket-path=${sock}`, `shm-size=${Math.max(8 * fb, 1 << 20)}`, "wait-for-connection=true", "sync=false"], okCodes: [0, 1], leaves: shmpipeFiles },
          { role: "gst shmsrc", argv: [gst!, "-q", "shmsrc", `socket-path=${sock}`, `num-buffers=${frames}`, "!", caps, "!", "fakesink", "sync=false"], after: sock },
        ];
        return runCommands(cmds, b.timeoutS, [sock]);
      };
      rows.push(row("gst", "GStreamer shmsink -> shmsrc, 1 hop, no op", gst ? await best(`${spec.id} ${job.id} gst`, gstRow) : "gst-launch-1.0 not found on PATH"));
    } finally {
      rmSync(file, { force: true });
    }
    sc.jobs.push({ id: job.id, label: `${frames} frame${frames > 1 ? "s" : ""} ${job.size} ${job.format} "${job.op}"`, frames, frameBytes: fb, rows });
    for (const r of rows) b.cfg.log(`${spec.id} ${job.id}: ${r.label}: ${r.skipped ? `skipped (${r.skipped})` : r.error ? "failed" : `${(r.wallS * 1000).toFixed(0)} ms`}`);
  }
  return sc;
}
