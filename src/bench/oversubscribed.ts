/**
 * S5 "oversubscribed": the same stream with 1, cores, 2×cores and 8×cores
 * workers (start-up of the extra processes included: wall = spawn of `run` to
 * its exit, best of --repeat runs), and two pipelines at once on the same
 * cores. A pool that waits well stays flat past the core count.
 */
import { rmSync } from "node:fs";
import { MAX_WORKERS } from "../pipeline/layout";
import { genFile, runShm, type RunResult } from "./runners";
import { sized, type OversubscribedSpec } from "./table";
import type { Bench } from "./measure";
import type { OversubscribedRow, OversubscribedScenario } from "./types";

/** Two runs at once; wall = until both ended; other processes' CPU excludes the twin's. */
async function twoAtOnce(run: () => Promise<RunResult>): Promise<RunResult> {
  const t0 = performance.now();
  const [a, b] = await Promise.all([run(), run()]);
  const cpu = (r: RunResult) => r.procs.reduce((s, p) => s + p.userS + p.sysS, 0);
  return {
    wallS: (performance.now() - t0) / 1000,
    code: 0,
    procs: [...a.procs, ...b.procs],
    foreignCpuS: Math.max(0, Math.min(a.foreignCpuS - cpu(b), b.foreignCpuS - cpu(a))),
    stderr: a.stderr + b.stderr,
  };
}

export async function runOversubscribed(b: Bench, spec: OversubscribedSpec): Promise<OversubscribedScenario> {
  const cores = b.cfg.nproc;
  // --quick: fewer configurations (the smoke run must stay short).
  const counts = [...new Set((b.cfg.quick ? [1, cores, 8 * cores] : [1, cores, 2 * cores, 8 * cores]).map((n) => Math.min(n, MAX_WORKERS)))];
  const twins = [...new Set((b.cfg.quick ? [cores] : [cores, 2 * cores]).map((n) => Math.min(n, MAX_WORKERS)))];
  const incidents: string[] = [];
  const sc: OversubscribedScenario = { kind: "oversubscribed", id: spec.id, title: `more workers than cores (${cores} usable), wall incl. process start`, cores, workloads: [], incidents };
  for (const wl of spec.workloads) {
    const frames = sized(wl.frames, b.cfg.quick);
    const file = b.file(`${spec.id}-${wl.size}-${wl.format}`, "shm");
    b.cfg.log(`${spec.id}: generating ${frames} frames of ${wl.size} ${wl.format} ...`);
    await genFile(file, frames, wl.size, wl.format, 300);
    const rows: OversubscribedRow[] = [];
    try {
      const one = (workers: number) => () => runShm({ dir: b.cfg.dir, file, workers, op: wl.op, timeoutS: b.timeoutS });
      const measure = async (what: string, pipelines: number, workers: number, fn: () => Promise<RunResult>) => {
        const m = await b.measure(what, fn);
        incidents.push(...m.incidents);
        const wallS = m.r?.wallS ?? NaN;
        const cpuS = m.r ? m.r.procs.reduce((s, p) => s + p.userS + p.sysS, 0) : NaN;
        const vcsw = m.r ? m.r.procs.reduce((s, p) => s + p.vcsw + p.ivcsw, 0) : NaN;
        rows.push({ pipelines, workers, wallS, fps: (pipelines * frames) / wallS, cpuS, switches: vcsw, error: m.error });
        b.cfg.log(`${spec.id} ${wl.size} "${wl.op}": ${pipelines} pipeline(s) × ${workers} workers: ${m.r ? `${(wallS * 1000).toFixed(0)} ms` : "failed"}`);
      };
      for (const n of counts) await measure(`${spec.id} ${wl.op} ${n} workers`, 1, n, one(n));
      for (const n of twins) await measure(`${spec.id} ${wl.op} 2 pipelines × ${n} workers`, 2, n, () => twoAtOnce(one(n)));
    } finally {
      rmSync(file, { force: true });
    }
    sc.workloads.push({ label: `${frames.toLocaleString("en-US")} frames ${wl.size} ${wl.format} "${wl.op}"`, frames, rows });
  }
  return sc;
}
