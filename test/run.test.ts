import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyInProcess, notePid, objectsOf, parseNative, ROOT, shmimg, SHMIMG, spawnShmimg, tmp, uniqueName, waitFor } from "./helpers";

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


describe("start-up", () => {
  test("workers and consumer started with --wait-for before the pipeline exists wait for the rings that producer creates", async () => {
    const name = uniqueName("early");
    const parent = ["--parent-pid", String(process.pid)];
    const gen = shmimg(["gen", "--count", "200", "--size", "16x8", "--format", "rgb24", "--seed", "5"]);
    const output = join(dir, "early.out");
    // The producer creates the rings only once its first frame arrives on stdin.
    const producer = spawnShmimg(["produce", "--create", "--name", name, "--op", "invert", ...parent], { stdin: "pipe" });
    const early = ["--wait-for", String(producer.pid), ...parent];
    const worker = spawnShmimg(["work", "--name", name, "--op", "invert", ...early]);
    const consumer = spawnShmimg(["consume", "--name", name, "--output", output, ...early]);
    let exited = false;
    worker.exited.then(() => (exited = true));
    consumer.exited.then(() => (exited = true));
    // Both are polling for the rings (main thread asleep in usleep), not gone with ENOENT.
    const asleep = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/wchan`, "utf8").includes("nanosleep");
      } catch {
        return false;
      }
    };
    await waitFor(() => exited || (asleep(worker.pid) && asleep(consumer.pid)), 20_000, "worker and consumer waiting for the rings");
    expect(exited).toBe(false);
    expect(objectsOf(name)).toEqual([]);
    const stdin = producer.stdin as import("bun").FileSink;
    stdin.write(gen.stdout);
    await stdin.end();
    const codes = await Promise.all([producer.exited, worker.exited, consumer.exited]);
    expect(await new Response(consumer.stderr).text()).toContain("consume: 200 frames");
    expect(Buffer.compare(readFileSync(output), applyInProcess(gen.stdout, "invert"))).toBe(0);
    expect(codes).toEqual([0, 0, 0]);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
  });
});

describe("workers and cores", () => {
  /** shmimg pinned to CPU 0 (taskset execs it: the pid is shmimg's). */
  const pinned = (args: string[]) => {
    const r = Bun.spawnSync(["taskset", "-c", "0", ...SHMIMG, ...args], { stdout: "pipe", stderr: "pipe", cwd: ROOT, timeout: 110_000 });
    notePid(r.pid);
    return { code: r.exitCode ?? 137, stderr: r.stderr.toString(), stdout: r.stdout };
  };

  test("--workers defaults to the CPUs the process may run on; asking for more warns once", () => {
    const gen = shmimg(["gen", "--count", "20", "--size", "8x8", "--format", "gray8"]);
    const input = join(dir, "cores.in");
    writeFileSync(input, gen.stdout);
    const one = pinned(["run", "--op", "invert", "--input", input, "--output", "/dev/null"]);
    expect(one.stderr).toContain("with 1 worker ");
    expect(one.stderr).not.toContain("more than the");
    expect(one.code).toBe(0);
    const auto = pinned(["run", "--workers", "auto", "--op", "invert", "--input", input, "--output", "/dev/null"]);
    expect(auto.stderr).toContain("with 1 worker ");
    expect(auto.code).toBe(0);
    const many = pinned(["run", "--workers", "3", "--op", "invert", "--input", input, "--output", "/dev/null"]);
    expect(many.stderr.match(/--workers 3 is more than the 1 CPU this process may run on/g)?.length).toBe(1);
    expect(many.stderr).toContain("20 frames in, 20 out");
    expect(many.stderr).toContain("with 1 worker (pool of up to 3: no more were needed)");
    expect(many.code).toBe(0);
  });

  test("--workers above the CPUs: a CPU-bound op gets no extra worker; an op that blocks gets them while frames wait", () => {
    const gen = shmimg(["gen", "--count", "3000", "--size", "16x16", "--format", "gray8"]);
    const input = join(dir, "pool.in");
    writeFileSync(input, gen.stdout);
    const busy = pinned(["run", "--workers", "4", "--op", "invert", "--input", input, "--output", join(dir, "pool-busy.out"), "--json"]);
    expect(busy.code).toBe(0);
    const b = JSON.parse(busy.stdout.toString());
    expect(b.pool).toEqual({ max: 4, started: 1, added: 0 });
    expect(b.workerPids).toHaveLength(1);
    expect(Buffer.compare(readFileSync(join(dir, "pool-busy.out")), applyInProcess(gen.stdout, "invert"))).toBe(0);
    // 40 frames that each wait 50 ms in a command: one worker would take 2 s; the CPUs idle meanwhile.
    const slow = join(dir, "pool-slow.in");
    writeFileSync(slow, shmimg(["gen", "--count", "40", "--size", "16x16", "--format", "gray8"]).stdout);
    const blocking = pinned(["run", "--workers", "4", "--op", "exec:sh -c 'sleep 0.05; cat'", "--input", slow, "--output", join(dir, "pool-slow.out"), "--json"]);
    expect(blocking.code).toBe(0);
    const r = JSON.parse(blocking.stdout.toString());
    expect(r.pool.started).toBe(1);
    expect(r.pool.added).toBeGreaterThanOrEqual(1);
    expect(r.workerPids.length).toBe(1 + r.pool.added);
    expect(blocking.stderr).toMatch(/frames wait for a worker while a CPU is idle; (one more worker|\d more workers) \(\d of at most 4\)/);
    expect(Buffer.compare(readFileSync(join(dir, "pool-slow.out")), readFileSync(slow))).toBe(0);
    // --min-workers: started at once and kept, whatever the CPUs; never above --workers.
    const all = pinned(["run", "--workers", "3", "--min-workers", "3", "--op", "invert", "--input", input, "--output", "/dev/null", "--json"]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout.toString()).pool).toEqual({ max: 3, started: 3, added: 0 });
    expect(all.stderr).toContain("with 3 workers [");
    const over = pinned(["run", "--workers", "2", "--min-workers", "3", "--op", "invert", "--input", input, "--output", "/dev/null"]);
    expect(over.stderr).toMatch(/^ERROR: --min-workers 3 is not an integer in 1\.\.2/m);
    expect(over.code).toBe(2);
  });
});
