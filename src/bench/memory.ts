/**
 * The memory scenario (MEM): the same pipeline over growing frame counts;
 * every process's peak RSS (VmHWM at exit) and live JS objects after a full
 * GC, matched by role (workers in pid order). Bounded memory means the peak
 * does not grow with the stream.
 */
import { rmSync } from "node:fs";
import { genFile, runShm } from "./runners";
import type { ProcStat } from "./proc-stats";
import { sized, type MemorySpec } from "./table";
import type { Bench } from "./measure";
import type { MemoryScenario } from "./types";

/** Processes by role ("worker 1", "worker 2" in pid order). */
function byRole(ps: ProcStat[]): Map<string, ProcStat> {
  const m = new Map<string, ProcStat>();
  const count = new Map<string, number>();
  for (const p of [...ps].sort((a, b) => a.pid - b.pid)) {
    const k = (count.get(p.role) ?? 0) + 1;
    count.set(p.role, k);
    m.set(p.role === "worker" ? `worker ${k}` : p.role, p);
  }
  return m;
}

const rank = (r: string) => ["supervisor", "producer", "worker", "consumer"].findIndex((x) => r.startsWith(x));

export async function runMemory(b: Bench, spec: MemorySpec): Promise<MemoryScenario> {
  const { id, size, format, op } = spec;
  const counts = sized(spec.counts, b.cfg.quick);
  const workers = Math.min(spec.workers, b.cfg.maxWorkers);
  const per: ProcStat[][] = [];
  const walls: number[] = [];
  const incidents: string[] = [];
  for (const count of counts) {
    const file = b.file(`${id}-${count}`, "shm");
    b.cfg.log(`${id}: ${count} frames of ${size} ${format} "${op}", ${workers} workers ...`);
    await genFile(file, count, size, format, 120);
    try {
      const m = await b.measure(`${id} ${count} frames`, () => runShm({ dir: b.cfg.dir, file, workers, op, timeoutS: b.timeoutS }), 1);
      incidents.push(...m.incidents);
      per.push(m.r?.procs ?? []);
      walls.push(m.r?.wallS ?? NaN);
    } finally {
      rmSync(file, { force: true });
    }
  }
  const maps = per.map(byRole);
  const roles = [...maps[0]!.keys()].filter((k) => maps.every((m) => m.has(k)));
  roles.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return {
    kind: "memory",
    id,
    title: `peak RSS per process, ${size} ${format} "${op}", ${workers} workers`,
    size,
    format,
    op,
    workers,
    counts,
    procs: roles.map((role) => {
      const rss = maps.map((m) => m.get(role)!.peakRss);
      const liveObjects = maps.map((m) => m.get(role)!.objectsLive ?? NaN);
      return { role, rss, liveObjects, growth: rss[0]! > 0 ? rss[1]! / rss[0]! - 1 : NaN, growthAfter: rss.length > 2 && rss[1]! > 0 ? rss[2]! / rss[1]! - 1 : NaN };
    }),
    wallS: walls,
    incidents,
  };
}
