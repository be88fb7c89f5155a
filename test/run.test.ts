import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyInProcess, objectsOf, parseNative, shmimg, tmp } from "./helpers";

const dir = tmp();

describe("run", () => {
  test("10,000 frames through run with 3 workers equal the op chain applied in-process, in order", () => {
    const input = join(dir, "in.shm");
    const gen = shmimg(["gen", "--count", "10000", "--size", "32x24", "--format", "rgb24", "--seed", "3"]);
    expect(gen.code).toBe(0);
    writeFileSync(input, gen.stdout);
    const t0 = performance.now();
    const r = shmimg(["run", "--workers", "3", "--op", "invert,hflip", "--name", `t-run10k-${process.pid}`], { stdin: input });
    const secs = (performance.now() - t0) / 1000;
    console.log(`10,000 frames 32x24 rgb24 invert,hflip, 3 workers: ${(10000 / secs).toFixed(0)} frames/s end to end (incl. process start)`);
    expect(r.stderr).toContain("10000 frames in, 10000 out");
    const frames = parseNative(r.stdout);
    expect(frames.length).toBe(10000);
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 10000 }, (_, i) => i));
    expect(Buffer.compare(r.stdout, applyInProcess(gen.stdout, "invert,hflip"))).toBe(0);
    expect(objectsOf(`t-run10k-${process.pid}`)).toEqual([]);
    expect(r.code).toBe(0);
  });

  test("an op that changes format and size (grayscale,downscale2x) fits the processed ring", () => {
    const gen = shmimg(["gen", "--count", "50", "--size", "33x17", "--format", "rgba32"]);
    const r = shmimg(["run", "--workers", "2", "--op", "grayscale,blur,threshold:128,downscale2x"], { stdin: gen.stdout });
    expect(Buffer.compare(r.stdout, applyInProcess(gen.stdout, "grayscale,blur,threshold:128,downscale2x"))).toBe(0);
    expect(objectsOf(`run-${r.pid}`)).toEqual([]); // the default name, run-PID, removed at the end
    expect(r.code).toBe(0);
  });

  test("an empty input is an empty, successful stream", () => {
    const r = shmimg(["run", "--op", "invert"], { stdin: Buffer.alloc(0) });
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(0);
  });

  test("a bad op chain is refused before anything starts", () => {
    const r = shmimg(["run", "--op", "invert,frobnicate"], { stdin: Buffer.alloc(0) });
    expect(r.stderr).toMatch(/^ERROR: .*frobnicate/m);
    expect(r.code).toBe(2);
  });
});
