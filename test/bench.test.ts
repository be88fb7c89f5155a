/**
 * `shmimg bench`: the --quick smoke run completes, prints the table and valid
 * JSON with every scenario. Never asserts speed (numbers depend on the
 * machine and on whatever else runs on it).
 */
import { describe, expect, test } from "bun:test";
import { applyInProcess, shmimg, tmp } from "./helpers";
import { loadDeliveries } from "../src/io/latency-log";

describe("bench", () => {
  test("pipe-work (the plain-pipe baseline) computes what the shm workers compute", () => {
    const gen = shmimg(["gen", "--count", "300", "--size", "33x17", "--format", "rgb24", "--seed", "5"]);
    expect(gen.code).toBe(0);
    for (const op of ["invert,hflip", "identity", "grayscale,gaussian,sobel"]) {
      const r = shmimg(["pipe-work", "--op", op], { stdin: gen.stdout });
      expect(r.code).toBe(0);
      expect(Buffer.compare(r.stdout, applyInProcess(gen.stdout, op))).toBe(0);
    }
  });

  test("pipe-work --mode sink forwards the stream unchanged and records one delivery per frame", () => {
    const gen = shmimg(["gen", "--count", "2000", "--size", "40x30", "--format", "gray8", "--seed", "9"]);
    const out = `${tmp()}/deliveries.f64`;
    const r = shmimg(["pipe-work", "--mode", "sink", "--latency-out", out], { stdin: gen.stdout });
    expect(r.code).toBe(0);
    expect(Buffer.compare(r.stdout, gen.stdout)).toBe(0);
    const d = loadDeliveries(out);
    expect(d.at.length).toBe(2000);
    for (let i = 1; i < d.at.length; i++) expect(d.at[i]!).toBeGreaterThanOrEqual(d.at[i - 1]!);
  });

  test("pipe-work is hidden from --help; a bad --only is refused", () => {
    const help = shmimg(["--help"]);
    expect(help.stdout.toString()).toContain("bench");
    expect(help.stdout.toString()).not.toContain("pipe-work");
    const bad = shmimg(["bench", "--only", "S9"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ERROR: .*S9/m);
  });

  test("bench --quick --json runs every scenario, prints the table on stderr and JSON on stdout", () => {
    const r = shmimg(["bench", "--quick", "--json"], { timeoutMs: 115_000 });
    const table = r.stderr;
    for (const head of ["S0  ", "S1  ", "S2  ", "S3  ", "S4  ", "MEM ", "S5  ", "targets"]) expect(table).toMatch(new RegExp(`^${head}`, "m"));
    expect(table).toContain("frames/s");
    expect(table).toContain("p99");

    const j = JSON.parse(r.stdout.toString());
    // Exit 1 only when some configuration could not be measured, and then it says which.
    expect([0, 1]).toContain(r.code);
    if (r.code === 1) expect(j.errors.length).toBeGreaterThan(0);
    expect(j.quick).toBe(true);
    expect(j.machine.nproc).toBeGreaterThan(0);
    expect(typeof j.machine.cpuModel).toBe("string");
    for (const id of ["S1", "S2", "S4"]) {
      const s = j.scenarios[id];
      expect(s).toBeDefined();
      const kinds = new Set(s.rows.map((row: { kind: string }) => row.kind));
      for (const k of ["shm", "pipe", "cat", "cpu", "memcpy"]) expect(kinds.has(k)).toBe(true);
      for (const row of s.rows) {
        expect(typeof row.label).toBe("string");
        if (!row.error) expect(row.fps).toBeGreaterThan(0);
      }
    }
    const s3 = j.scenarios.S3;
    expect(s3.rows.map((row: { id: string }) => row.id)).toEqual(expect.arrayContaining(["shm-1w", "pipe-1w"]));
    for (const row of s3.rows) if (!row.error) expect(row.steady.p50Us).toBeGreaterThan(0);
    const mem = j.scenarios.MEM;
    const roles = mem.procs.map((p: { role: string }) => p.role);
    expect(roles).toEqual(expect.arrayContaining(["supervisor", "producer", "worker 1", "consumer"]));
    for (const p of mem.procs) for (const b of p.rss) expect(b).toBeGreaterThan(0);
    // S0: three short jobs, each with shmimg's wall and ffmpeg/GStreamer measured or skipped with a reason.
    const s0 = j.scenarios.S0;
    expect(s0.versionS).toBeGreaterThan(0);
    expect(s0.jobs.map((job: { id: string }) => job.id)).toEqual(["1f", "30f", "600f"]);
    for (const job of s0.jobs) {
      expect(job.rows.map((row: { tool: string }) => row.tool)).toEqual(["shm", "ffmpeg", "gst"]);
      for (const row of job.rows) if (!row.error) expect(row.skipped ? row.skipped.length : row.wallS).toBeGreaterThan(0);
    }
    // S5: 1, cores and 8×cores workers, and two pipelines at once, per workload.
    const s5 = j.scenarios.S5;
    expect(s5.workloads.length).toBe(2);
    const n = j.machine.nproc;
    for (const w of s5.workloads) {
      expect(w.rows.filter((row: { pipelines: number }) => row.pipelines === 1).map((row: { workers: number }) => row.workers)).toEqual([...new Set([1, n, Math.min(8 * n, 32)])]);
      expect(w.rows.some((row: { pipelines: number }) => row.pipelines === 2)).toBe(true);
      for (const row of w.rows) if (!row.error) expect(row.wallS).toBeGreaterThan(0);
    }
    expect(j.targets.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(["S0-1f-ms", "S0-1f-version", "S0-30f-ffmpeg", "S0-600f-gst"]));
    expect(j.targets.length).toBeGreaterThan(0);
    for (const t of j.targets) expect(typeof t.met).toBe("boolean");
  }, 120_000);
});
