/**
 * Seeing what runs: `ls`, `stat` without --name, `stat --watch` ending with
 * the pipeline, and `probe` on streams good and bad.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHMIMG, sh, shmimg, spawnShmimg, tmp, uniqueName, waitFor } from "./helpers";
import { openPipeline } from "../src/pipeline/ring/pipeline";
import { snapshot } from "../src/pipeline/ring/snapshot";
import { renderWatch } from "../src/pipeline/ring/overview";

const dir = tmp();
const frames = (n: number, size = "8x8", format = "rgb24") => shmimg(["gen", "--count", String(n), "--size", size, "--format", format, "-q"]).stdout;

type Row = { name: string; state: string; producers: number; workers: number; consumers: number; framesIn: number; framesOut: number; ageS: number };
const rows = (): Row[] => JSON.parse(shmimg(["ls", "--json"]).stdout.toString());
const rowOf = (name: string) => rows().find((r) => r.name === name);

describe("ls and stat", () => {
  test("ls lists my pipelines with state, stages alive, frames in and out, and age", async () => {
    const idle = uniqueName("ls-idle");
    const busy = uniqueName("ls-busy");
    expect(shmimg(["init", "-n", idle, "--max-size", "8x8", "-q"]).code).toBe(0);
    expect(shmimg(["init", "-n", busy, "--max-size", "8x8", "-q"]).code).toBe(0);
    try {
      expect(rowOf(idle)).toMatchObject({ state: "idle", producers: 0, workers: 0, consumers: 0, framesIn: 0, framesOut: 0 });
      const worker = spawnShmimg(["work", "-n", busy, "--op", "invert"]);
      await waitFor(() => rowOf(busy)?.workers === 1, 30_000, "the worker counted in ls");
      // The stream has not started: the worker waits for frames.
      expect(rowOf(busy)).toMatchObject({ state: "running", producers: 0, workers: 1, consumers: 0, framesIn: 0, framesOut: 0 });
      const input = join(dir, "ls.shm");
      writeFileSync(input, frames(6));
      expect(shmimg(["produce", "-n", busy, "-i", input, "-q"]).code).toBe(0);
      expect(shmimg(["consume", "-n", busy, "-o", join(dir, "ls.out"), "-q"]).code).toBe(0);
      expect(await worker.exited).toBe(0);
      expect(rowOf(busy)).toMatchObject({ state: "finished", framesIn: 6, framesOut: 6 });
      const text = shmimg(["ls"]).stdout.toString();
      expect(text).toMatch(/^NAME +STATE +STAGES P\/W\/C +FRAMES IN +OUT +AGE$/m);
      expect(text).toMatch(new RegExp(`^${busy} +finished +0/0/0 +6 +6 +\\d+s$`, "m"));
    } finally {
      shmimg(["clean", "-n", idle]);
      shmimg(["clean", "-n", busy]);
    }
  });

  test("stat without --name shows the only pipeline, or the list when there are several", () => {
    // Runs in a private IPC namespace (unshare --ipc), so the test's pipelines are all there is.
    const before = rows();
    const a = uniqueName("stat-a");
    const b = uniqueName("stat-b");
    expect(shmimg(["init", "-n", a, "--max-size", "8x8", "-q"]).code).toBe(0);
    try {
      if (before.length === 0) {
        const only = shmimg(["stat"]);
        expect(only.stdout.toString()).toContain(`pipeline "${a}"`);
        expect(only.code).toBe(0);
      }
      expect(shmimg(["init", "-n", b, "--max-size", "8x8", "-q"]).code).toBe(0);
      const list = shmimg(["stat"]);
      expect(list.stdout.toString()).toMatch(new RegExp(`^${a} +idle`, "m"));
      expect(list.stdout.toString()).toMatch(new RegExp(`^${b} +idle`, "m"));
      expect(list.code).toBe(0);
      const watch = shmimg(["stat", "--watch"]);
      expect(watch.stderr).toContain("give -n NAME to watch one");
      expect(watch.code).toBe(2);
    } finally {
      shmimg(["clean", "-n", a]);
      shmimg(["clean", "-n", b]);
    }
  });

  test("stat --watch of a run ends with exit 0 and a last line when the pipeline finishes, with no escape codes when not a TTY", async () => {
    const name = uniqueName("watch");
    const input = join(dir, "watch.shm");
    writeFileSync(input, frames(30));
    const run = spawnShmimg(["run", "--fps", "15", "-i", input, "-o", join(dir, "watch.out"), "-n", name, "-q"]);
    await waitFor(() => rowOf(name) !== undefined, 30_000, "the run's pipeline");
    const watch = spawnShmimg(["stat", "-n", name, "--watch"], { stdout: "pipe" });
    const [watchCode, runCode] = await Promise.all([watch.exited, run.exited]);
    const out = await new Response(watch.stdout as ReadableStream).text();
    const err = await new Response(watch.stderr as ReadableStream).text();
    expect(err).toBe("");
    expect(out).not.toContain("\x1b");
    expect(out).toMatch(new RegExp(`^pipeline "${name}"`, "m"));
    expect(out).toMatch(/^busy slots/m);
    expect(out.trimEnd().split("\n").pop()).toBe(`stat: pipeline "${name}" finished: 30 frames delivered (last seq 29)`);
    expect(runCode).toBe(0);
    expect(watchCode).toBe(0);
  });

  test("stat --watch of an init pipeline ends when its stream is delivered and the consumer left", async () => {
    const name = uniqueName("watch-init");
    expect(shmimg(["init", "-n", name, "--max-size", "8x8", "-q"]).code).toBe(0);
    try {
      const watch = spawnShmimg(["stat", "-n", name, "--watch"], { stdout: "pipe" });
      expect(shmimg(["produce", "-n", name, "-q"], { stdin: frames(4) }).code).toBe(0);
      const worker = spawnShmimg(["work", "-n", name, "--op", "invert"]);
      expect(shmimg(["consume", "-n", name, "-o", join(dir, "watch-init.out"), "-q"]).code).toBe(0);
      expect(await worker.exited).toBe(0);
      const code = await watch.exited;
      const out = await new Response(watch.stdout as ReadableStream).text();
      expect(out.trimEnd().split("\n").pop()).toBe(`stat: pipeline "${name}" finished: 4 frames delivered (last seq 3)`);
      expect(code).toBe(0);
    } finally {
      shmimg(["clean", "-n", name]);
    }
  });
});

describe("stat --watch on a terminal", () => {
  test("the view fits the terminal: summary and busy slots, the rest counted", () => {
    const name = uniqueName("fit");
    expect(shmimg(["init", "-n", name, "--max-size", "8x8", "--slots", "32", "-q"]).code).toBe(0);
    try {
      // No worker: 20 frames stay READY in 20 slots.
      expect(shmimg(["produce", "-n", name, "-q"], { stdin: frames(20) }).code).toBe(0);
      const p = openPipeline(name);
      let view: string;
      try {
        view = renderWatch(snapshot(p), 12, 60, 3);
      } finally {
        p.detach();
      }
      const lines = view.split("\n");
      expect(lines.length).toBeLessThanOrEqual(12);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
      expect(view).toContain("busy slots (20 of 32)");
      expect(view).toMatch(/\.\.\. \d+ more busy slots/);
      // On a real terminal of 12 rows x 60 columns, with its escape codes.
      const bin = SHMIMG.map((a) => `'${a}'`).join(" ");
      const tty = sh(`script -qec "stty rows 12 cols 60; timeout -s INT 2 ${bin} stat -n ${name} --watch" /dev/null`);
      const screen = tty.stdout.toString();
      expect(screen).toContain("\x1b[H\x1b[2J");
      const drawn = screen.split("\x1b[H\x1b[2J").pop()!.trimEnd().split(/\r?\n/);
      expect(drawn.length).toBeLessThanOrEqual(12);
      for (const l of drawn) expect(l.length).toBeLessThanOrEqual(60);
    } finally {
      shmimg(["clean", "-n", name]);
    }
  });
});

describe("probe", () => {
  test("probe FILE reports frames, geometry, format, seq range and no error", () => {
    const file = join(dir, "probe.shm");
    writeFileSync(file, frames(7, "5x3", "gray8"));
    const r = shmimg(["probe", file]);
    expect(r.stdout.toString()).toBe(`input: ${file} (native)\nframes: 7, 105 payload bytes\ngeometry: 5x3 gray8 (every frame)\nseq: 0..6, 0 gaps\nerror: none\n`);
    expect(r.code).toBe(0);
  });

  test("probe - reads stdin; mixed geometries are listed; --json", () => {
    const mixed = Buffer.concat([frames(2, "4x4"), frames(3, "2x2", "gray8")]);
    const r = shmimg(["probe", "-", "--json"], { stdin: mixed });
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.frames).toBe(5);
    expect(rep.geometries).toEqual([
      { geometry: "4x4 rgb24", frames: 2, firstSeq: 0 },
      { geometry: "2x2 gray8", frames: 3, firstSeq: 0 },
    ]);
    expect(rep.seq).toEqual({ first: 0, last: 2, gaps: 0, backwards: 1 });
    expect(rep.error).toBeNull();
    expect(r.code).toBe(0);
  });

  test("probe of a truncated stream counts the complete frames, names the error and exits 3", () => {
    const whole = frames(3);
    const r = shmimg(["probe", "-"], { stdin: whole.subarray(0, whole.length - 10) });
    expect(r.stdout.toString()).toContain("frames: 2, 384 payload bytes");
    expect(r.stdout.toString()).toMatch(/^error: after 2 complete frames: partial frame at seq 2/m);
    expect(r.stderr).toMatch(/^ERROR: partial frame at seq 2/m);
    expect(r.code).toBe(3);
  });

  test("probe reads the other formats through their sources (y4m)", () => {
    const y4m = shmimg(["run", "--out-format", "y4m", "-q"], { stdin: frames(3, "4x4", "yuv420p") }).stdout;
    const r = shmimg(["probe", "-", "--in-format", "y4m"], { stdin: y4m });
    expect(r.stdout.toString()).toContain("input: stdin (y4m)");
    expect(r.stdout.toString()).toContain("geometry: 4x4 yuv420p (every frame)");
    expect(r.code).toBe(0);
  });
});
