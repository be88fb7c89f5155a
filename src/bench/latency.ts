/**
 * The latency scenario (S3): frames paced at a fixed rate, publish-to-
 * delivery latency per frame (CLOCK_MONOTONIC), through the shm pipeline
 * (the producer stamps each frame as it publishes it; the consumer records
 * when it has it) and through the pipe chain (a paced, stamping pipe-work
 * source; the frame-aware sink records). The first frames (warm-up: stages
 * still starting) are left out of the steady percentiles.
 */
import { rmSync } from "node:fs";
import { summarize, type LatencySummary } from "./stats";
import { genFile, runChain, runShm, self, type RunResult } from "./runners";
import { sized, workerCounts, type LatencySpec } from "./table";
import { maxRss } from "./throughput";
import type { Bench, Measured } from "./measure";
import type { Kind, LatencyRow, LatencyScenario } from "./types";

const EMPTY: LatencySummary = summarize(new Float64Array(0));

function latencyRow(b: Bench, sc: LatencyScenario, warmup: number, base: { id: string; label: string; kind: Kind; workers: number }, m: Measured): LatencyRow {
  const frames = sc.frames;
  if (!m.r) return { ...base, frames, warmup, fps: NaN, steady: EMPTY, all: EMPTY, peakRss: 0, procStats: [], foreignShare: 0, error: m.error, incidents: m.incidents };
  const r: RunResult = m.r;
  const s = r.deliveries?.lat ?? new Float64Array(0);
  if (s.length !== frames) b.errors.push(`${sc.id} ${base.label}: ${s.length} latency samples for ${frames} frames`);
  return {
    ...base,
    frames,
    warmup,
    fps: frames / r.wallS,
    steady: summarize(s.subarray(Math.min(warmup, s.length))),
    all: summarize(s),
    peakRss: maxRss(r.procs),
    procStats: r.procs,
    foreignShare: r.foreignCpuS / (r.wallS * b.cfg.nproc),
    incidents: m.incidents,
  };
}

const show = (row: LatencyRow) => (row.error ? `failed` : `p50 ${row.steady.p50Us.toFixed(1)} µs, p99 ${row.steady.p99Us.toFixed(1)} µs, max ${row.steady.maxUs.toFixed(0)} µs`);

export async function runLatency(b: Bench, spec: LatencySpec): Promise<LatencyScenario> {
  const { dir, pipeSize } = b.cfg;
  const { id, size, format, op, fps } = spec;
  const frames = sized(spec.frames, b.cfg.quick);
  const warmup = sized(spec.warmup, b.cfg.quick);
  const timeoutS = frames / fps + 15;
  const file = b.file(`${id}-${size}`, "shm");
  b.cfg.log(`${id}: generating ${frames} frames of ${size} ${format} ...`);
  await genFile(file, frames, size, format, 120);
  const sc: LatencyScenario = { kind: "latency", id, title: `latency, ${size} ${format} "${op}" paced at ${fps} frames/s`, size, format, op, fps, frames, rows: [] };
  try {
    for (const n of workerCounts(spec.workers, b.cfg.maxWorkers)) {
      const m = await b.measure(`${id} shm ${n} worker(s)`, () => runShm({ dir, file, workers: n, op, fps, deliveries: true, timeoutS }), 1);
      const row = latencyRow(b, sc, warmup, { id: `shm-${n}w`, label: `shm run, ${n} worker${n > 1 ? "s" : ""}`, kind: "shm", workers: n }, m);
      sc.rows.push(row);
      b.cfg.log(`${id}: shm ${n} worker(s) ${show(row)}`);
    }
    const latFile = b.file(`${id}-pipe-latency`, "f64");
    const stages = [
      { role: "producer (pipe-work source)", argv: self("pipe-work", "--mode", "source", "--fps", String(fps)) },
      { role: "worker (pipe-work)", argv: self("pipe-work", "--op", op) },
      { role: "consumer (pipe-work sink)", argv: self("pipe-work", "--mode", "sink", "--stamped", "--latency-out", latFile) },
    ];
    const m = await b.measure(`${id} pipe chain`, () => runChain({ dir, file, stages, pipeSize, timeoutS, deliveriesFile: latFile }), 1);
    const row = latencyRow(b, sc, warmup, { id: "pipe-1w", label: "pipe chain, 1 worker", kind: "pipe", workers: 1 }, m);
    sc.rows.push(row);
    b.cfg.log(`${id}: pipe chain ${show(row)}`);
  } finally {
    rmSync(file, { force: true });
  }
  return sc;
}
