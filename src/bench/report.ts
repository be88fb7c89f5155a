/** The bench's human-readable table (the JSON is the BenchResult itself). */
import { machineLine } from "./machine";
import { ownOpsTable } from "./own-ops";
import type { BenchResult, LatencyScenario, MemoryScenario, OversubscribedScenario, ScenarioResult, ShortJobsScenario, ThroughputScenario } from "./types";

const MB = (b: number) => (b > 0 ? `${(b / 2 ** 20).toFixed(1)} MiB` : "-");

function pad(cells: string[][], right: boolean[]): string[] {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  return cells.map((r) => "  " + r.map((s, c) => (right[c] ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join("  ").trimEnd());
}

function num(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return "n/a";
  if (v >= 100000) return Math.round(v).toLocaleString("en-US");
  if (v >= 1000) return v.toFixed(0);
  return v.toFixed(digits);
}

function throughputTable(s: ThroughputScenario): string[] {
  const head = ["config", "procs", "frames/s", "MB/s", "e2e f/s", "vs pipe", "mem% (passes)", "peak RSS"];
  const rows = s.rows.map((r) => r.error ? [r.label, String(r.procs), "failed", "", "", "", "", ""] : [
    r.label,
    String(r.procs),
    num(r.fps) + (r.foreignShare > BUSY ? "*" : ""),
    num(r.mbps),
    r.kind === "cpu" || r.kind === "memcpy" ? "-" : num(r.fpsE2E),
    r.vsPipe === null ? "-" : `${r.vsPipe.toFixed(2)}×`,
    r.memFrac === null ? "-" : `${(r.memFrac * 100).toFixed(0)}% (×${r.touches})`,
    r.kind === "cpu" || r.kind === "memcpy" ? "-" : MB(r.peakRss),
  ]);
  const out = [`${s.id.padEnd(3)} ${s.title}; ${(s.frameBytes / 1e6).toFixed(3)} MB/frame; memory ceiling ${(s.memcpy.bps / 1e9).toFixed(2)} GB/s (${s.memcpy.processes} copy loops; 1 loop ${(s.memcpy.oneBps / 1e9).toFixed(2)} GB/s)`];
  out.push(...pad([head, ...rows], [false, true, true, true, true, true, true, true]));
  const shm = s.rows.filter((r) => r.kind === "shm");
  const one = shm.find((r) => r.workers === 1);
  if (one && shm.length > 1) out.push(`  workers scaling: ${shm.map((r) => `${r.workers}w ${(r.fps / one.fps).toFixed(2)}×`).join(", ")}`);
  const st = s.rows.filter((r) => (r.kind === "shm" || r.kind === "pipe" || r.kind === "cat") && !r.error);
  if (st.length) out.push(`  start/stop cost (wall - frames / steady rate): ${st.map((r) => `${r.id} ${r.startS.toFixed(2)} s`).join(", ")}`);
  const cpu = s.rows.find((r) => r.cpu);
  if (cpu?.cpu) out.push(`  CPU ceiling: frames through a ring of slots ${num(cpu.cpu.ringFps)} f/s (shown); cache-hot single buffer ${num(cpu.cpu.hotFps)} f/s`);
  out.push(...incidents(s.rows));
  out.push(...busy(s.rows));
  return out;
}

/** Other processes used more than this share of the CPUs during a run: the row is marked. */
const BUSY = 0.05;

function busy(rows: { label: string; foreignShare: number }[]): string[] {
  return rows.filter((r) => r.foreignShare > BUSY).map((r) => `  * ${r.label}: other processes used ${(r.foreignShare * 100).toFixed(0)}% of the CPUs during the run`);
}

function incidents(rows: { label: string; error?: string; incidents: string[] }[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const i of r.incidents) out.push(`  ! ${r.label}: attempt failed: ${i}`);
    if (r.error) out.push(`  ! ${r.label}: no measurement`);
  }
  return out;
}

function latencyTable(s: LatencyScenario): string[] {
  const head = ["config", "frames", "achieved f/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "max incl. warm-up", "peak RSS"];
  const rows = s.rows.map((r) => r.error ? [r.label, "failed", "", "", "", "", "", "", "", ""] : [
    r.label,
    `${r.frames - r.warmup}+${r.warmup}`,
    num(r.fps),
    num(r.steady.p50Us),
    num(r.steady.p90Us),
    num(r.steady.p99Us),
    num(r.steady.p999Us),
    num(r.steady.maxUs, 0),
    num(r.all.maxUs, 0),
    MB(r.peakRss),
  ]);
  const w = s.rows[0]?.warmup ?? 0;
  return [
    `${s.id.padEnd(3)} ${s.title}; publish -> consumer has it, CLOCK_MONOTONIC; first ${w} frames (warm-up: stages still starting) excluded`,
    ...pad([head, ...rows], [false, true, true, true, true, true, true, true, true, true]),
    ...incidents(s.rows),
    ...busy(s.rows),
  ];
}

function memoryTable(s: MemoryScenario): string[] {
  const c = s.counts.map((n) => n.toLocaleString("en-US"));
  const head = ["process", ...c, "growth", ...(c.length > 2 ? ["then"] : []), "live JS objects after GC"];
  const sign = (g: number) => (Number.isFinite(g) ? `${g >= 0 ? "+" : ""}${(g * 100).toFixed(1)}%` : "n/a");
  const rows = s.procs.map((p) => [p.role, ...p.rss.map(MB), sign(p.growth), ...(c.length > 2 ? [sign(p.growthAfter)] : []), p.liveObjects.map((n) => (Number.isFinite(n) ? String(n) : "?")).join(" / ")]);
  const note = `peak RSS (VmHWM at exit) for ${c.join(" / ")} frames; growth = ${c[1]} vs ${c[0]} (the target)${c.length > 2 ? `, then = ${c[2]} vs ${c[1]} (levels off?)` : ""}`;
  return [`${s.id.padEnd(3)} ${s.title}`, `  ${note}`, ...pad([head, ...rows], [false, ...c.map(() => true), true, ...(c.length > 2 ? [true] : []), true]), ...s.incidents.map((i) => `  ! attempt failed: ${i}`)];
}

function shortJobsTable(s: ShortJobsScenario): string[] {
  const out = [`${s.id.padEnd(3)} ${s.title}; \`shmimg --version\` ${(s.versionS * 1000).toFixed(0)} ms`];
  for (const j of s.jobs) {
    const shm = j.rows.find((r) => r.tool === "shm");
    const head = ["config", "wall", "CPU", "vs shmimg"];
    const rows = j.rows.map((r) => [
      r.label,
      r.skipped ? `skipped: ${r.skipped}` : r.error ? "failed" : `${(r.wallS * 1000).toFixed(0)} ms`,
      Number.isFinite(r.cpuS) ? `${(r.cpuS * 1000).toFixed(0)} ms` : "-",
      shm && r !== shm && Number.isFinite(r.wallS) && Number.isFinite(shm.wallS) ? `${(r.wallS / shm.wallS).toFixed(2)}×` : "-",
    ]);
    out.push(`  ${j.label} (${((j.frames * j.frameBytes) / 1e6).toFixed(1)} MB)`, ...pad([head, ...rows], [false, true, true, true]).map((l) => "  " + l));
  }
  return [...out, ...s.incidents.map((i) => `  ! attempt failed: ${i}`)];
}

function oversubscribedTable(s: OversubscribedScenario): string[] {
  const out = [`${s.id.padEnd(3)} ${s.title}`];
  for (const w of s.workloads) {
    const ok = w.rows.filter((r) => r.pipelines === 1 && Number.isFinite(r.wallS));
    const best = ok.length ? Math.min(...ok.map((r) => r.wallS)) : NaN;
    const head = ["pipelines × workers", "wall", "frames/s", "vs best", "CPU", "ctx switches"];
    const rows = w.rows.map((r) => [
      `${r.pipelines} × ${r.workers}`,
      r.error ? "failed" : `${(r.wallS * 1000).toFixed(0)} ms`,
      num(r.fps),
      Number.isFinite(best) && Number.isFinite(r.wallS) ? `${(r.wallS / (r.pipelines * best)).toFixed(2)}×` : "-",
      Number.isFinite(r.cpuS) ? `${r.cpuS.toFixed(2)} s` : "-",
      Number.isFinite(r.switches) ? String(r.switches) : "-",
    ]);
    out.push(`  ${w.label} (vs best = wall / (pipelines × best single wall))`, ...pad([head, ...rows], [false, true, true, true, true, true]).map((l) => "  " + l));
  }
  return [...out, ...s.incidents.map((i) => `  ! attempt failed: ${i}`)];
}

function scenarioTable(s: ScenarioResult): string[] {
  switch (s.kind) {
    case "throughput":
      return throughputTable(s);
    case "latency":
      return latencyTable(s);
    case "memory":
      return memoryTable(s);
    case "shortjobs":
      return shortJobsTable(s);
    case "oversubscribed":
      return oversubscribedTable(s);
    case "ops":
      return ownOpsTable(s);
  }
}

export function renderTable(r: BenchResult): string {
  const out: string[] = [];
  out.push(`shmimg bench${r.quick ? " --quick" : ""}: ${machineLine(r.machine)}`);
  out.push(`frames from files in ${r.dir}, output /dev/null; pipes ${(r.pipeSize / 1024).toFixed(0)} KiB; frames/s = steady (delivery times at the last stage, after the first tenth of the frames), e2e = frames / wall incl. process start`);
  out.push("");
  for (const s of Object.values(r.scenarios)) out.push(...scenarioTable(s), "");
  if (r.targets.length) {
    out.push("targets");
    out.push(...pad([["", "target", "goal", "measured"], ...r.targets.map((t) => [t.met ? "met" : "NOT met", t.what, t.goal, t.value])], [false, false, false, true]));
    out.push("");
  }
  for (const e of r.errors) out.push(`error: ${e}`);
  out.push(`total ${r.totalS.toFixed(1)} s${r.waitedS > 0 ? ` (${r.waitedS.toFixed(1)} s of it waiting for other processes to leave the CPUs)` : ""}`);
  return out.join("\n") + "\n";
}
