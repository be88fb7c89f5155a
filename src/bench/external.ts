/**
 * Timing other programs next to shmimg (S0): ffmpeg, a GStreamer shmsink ->
 * shmsrc hop, and `shmimg --version` as the floor of any shmimg process. Each
 * configuration is a list of commands started at once (wall = first spawn to
 * last exit); a command may wait for a path to exist before it starts (the
 * GStreamer receiver needs the sender's socket).
 */
import { existsSync, rmSync } from "node:fs";
import type { Subprocess } from "bun";
import { foreign, fromRusage, mark } from "./proc-stats";
import { BenchError, type RunResult } from "./runners";

export interface Command {
  role: string;
  argv: string[];
  /** Start only once this path exists (polled every 0.2 ms, within the run's timeout). */
  after?: string;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /** Files this process may leave behind when killed (e.g. shmsink's /dev/shm/shmpipe.PID.*), removed after it exits. */
  leaves?: (pid: number) => string[];
}

/** The first of `names` found on PATH, or undefined. */
export function which(...names: string[]): string | undefined {
  for (const n of names) {
    const p = Bun.which(n);
    if (p) return p;
  }
  return undefined;
}

/** Runs the commands at once; throws BenchError when one fails or the run exceeds timeoutS. */
export async function runCommands(cmds: Command[], timeoutS: number, cleanup: string[] = []): Promise<RunResult> {
  const m0 = mark();
  const t0 = performance.now();
  const deadline = t0 + timeoutS * 1000;
  const procs: Subprocess<any, any, any>[] = [];
  const errs: Promise<string>[] = [];
  try {
    for (const c of cmds) {
      while (c.after && !existsSync(c.after)) {
        if (performance.now() > deadline) throw new BenchError(`${c.role}: ${c.after} did not appear within ${timeoutS} s`);
        await Bun.sleep(0.2);
      }
      const p = Bun.spawn(c.argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      procs.push(p);
      errs.push(new Response(p.stderr).text());
    }
    let timer: Timer | undefined;
    const all = Promise.all(procs.map((p) => p.exited)).then(() => true);
    const ok = await Promise.race([all, new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - performance.now()))))]);
    clearTimeout(timer);
    const wallS = (performance.now() - t0) / 1000;
    if (!ok) throw new BenchError(`${cmds.map((c) => c.role).join(" + ")} did not finish within ${timeoutS} s`);
    const stderr = (await Promise.all(errs)).join("");
    cmds.forEach((c, i) => {
      const code = procs[i]!.exitCode ?? 128;
      if (!(c.okCodes ?? [0]).includes(code)) throw new BenchError(`${c.role} (${c.argv.join(" ")}) exited ${code}: ${stderr.trim().slice(0, 400)}`);
    });
    const stats = procs.map((p, i) => fromRusage(cmds[i]!.role, p));
    return { wallS, code: 0, procs: stats, foreignCpuS: foreign(m0, stats), stderr };
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    procs.forEach((p, i) => {
      for (const f of cmds[i]!.leaves?.(p.pid) ?? []) rmSync(f, { force: true });
    });
    for (const f of cleanup) rmSync(f, { force: true });
  }
}
