/**
 * Crash safety with real processes and real SysV objects: kill -9 any stage
 * and lose nothing; stale objects are recycled; foreign or corrupt segments
 * are refused without being touched. Every test ends with no object left.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toArrayBuffer } from "bun:ffi";
import { applyInProcess, objectsOf, parseNative, ROOT, SHMIMG, shmimg, spawnShmimg, tmp, uniqueName, waitFor, waitForLine, BUN } from "./helpers";
import { stagesOf } from "./procs";
import { keysFor } from "../src/pipeline/ipc/keys";
import { libc } from "../src/native/libc";
import { shim } from "../src/native/shim";
import { RAW_SLOT_TABLE } from "../src/pipeline/layout";

const dir = tmp();

function genFile(path: string, count: number, size: string, format = "rgb24", seed = 1): Buffer {
  const r = shmimg(["gen", "--count", String(count), "--size", size, "--format", format, "--seed", String(seed)]);
  expect(r.code).toBe(0);
  writeFileSync(path, r.stdout);
  return r.stdout;
}

const spawn = spawnShmimg;

function stat(name: string): any {
  const r = shmimg(["stat", "--name", name, "--json"]);
  return r.code === 0 ? JSON.parse(r.stdout.toString()) : undefined;
}

/** A pipeline made by init (16x16 rgb24, 4 slots) and 100 frames to feed it, for separate-shell crash tests. */
function initSmall(tag: string) {
  const name = uniqueName(tag);
  const input = join(dir, `${tag}.in`);
  const output = join(dir, `${tag}.out`);
  const data = genFile(input, 100, "16x16");
  expect(shmimg(["init", "--name", name, "--max-size", "16x16", "--max-format", "rgb24", "--slots", "4"]).code).toBe(0);
  return { name, input, output, data };
}

/** Starts its consumer (to the output file) and producer (from the input file). */
function startEnds(run: ReturnType<typeof initSmall>) {
  return { consumer: spawn(["consume", "--name", run.name, "--output", run.output]), producer: spawn(["produce", "--name", run.name], { stdin: run.input }) };
}

/** Every stage ends with 0, `redone` frames were redone, the output is the inverted input, and clean leaves nothing. */
async function expectCompleted(run: ReturnType<typeof initSmall>, ends: ReturnType<typeof startEnds>, worker: ReturnType<typeof spawn>, redone: number) {
  expect(await ends.consumer.exited).toBe(0);
  expect(await ends.producer.exited).toBe(0);
  expect(await worker.exited).toBe(0);
  expect(stat(run.name).recovery.redone).toBe(redone);
  expect(Buffer.compare(readFileSync(run.output), applyInProcess(run.data, "invert"))).toBe(0);
  expect(shmimg(["clean", "--name", run.name]).code).toBe(0);
  expect(objectsOf(run.name)).toEqual([]);
}

describe("worker crashes", () => {
  test("chaos: 20+ SIGKILLs of random workers during a 20,000+-frame run lose, duplicate and reorder nothing", async () => {
    // Frames are fed through a pipe in chunks until at least 20,000 frames went in
    // AND at least 20 workers were killed, so the test cannot pass by being quick.
    const frameBytes = 32 + 96 * 72 * 3;
    const data = shmimg(["gen", "--count", "60000", "--size", "96x72", "--format", "rgb24", "--seed", "5"]).stdout;
    const output = join(dir, "chaos.out");
    const name = uniqueName("chaos");
    const run = spawn(["run", "--name", name, "--workers", "3", "--op", "blur:2,gaussian", "--output", output, "--json"], { stdin: "pipe", stdout: "pipe" });
    let kills = 0;
    let written = 0;
    const feeding = (async () => {
      try {
        while (written < 60000 && (written < 20000 || kills < 20)) {
          (run.stdin as import("bun").FileSink).write(data.subarray(written * frameBytes, (written + 250) * frameBytes));
          await (run.stdin as import("bun").FileSink).flush();
          written += 250;
        }
        await (run.stdin as import("bun").FileSink).end();
      } catch {
        // The run ended early (it failed): the assertions below say how.
      }
    })();
    let exited = false;
    run.exited.then(() => (exited = true));
    const stderrText = new Response(run.stderr).text(); // drained while it runs
    const deadline = Date.now() + 150_000;
    while (!exited) {
      if (Date.now() > deadline) {
        // Say where it stalled before failing.
        const state = shmimg(["stat", "--name", name]).stdout.toString();
        run.kill("SIGKILL");
        throw new Error(`chaos run stalled after ${written} frames and ${kills} kills:\n${state}`);
      }
      const workers = stagesOf(run.pid, "work");
      if (workers.length) {
        process.kill(workers[Math.floor(Math.random() * workers.length)]!, "SIGKILL");
        kills++;
      }
      // A replacement needs ~0.1-0.2 s to start on 2 cores: kill less often than that.
      await Bun.sleep(300);
    }
    await feeding;
    const report = JSON.parse(await new Response(run.stdout).text());
    const stderr = await stderrText;
    console.log(`chaos: ${written} frames, ${kills} SIGKILLs, ${report.restarts} restarts, ${report.redone} frames redone, ${report.framesIn - report.framesOut} lost, ${report.wallS.toFixed(1)} s`);
    expect(stderr).not.toContain("ERROR");
    expect(report.framesIn).toBe(written);
    expect(report.framesOut).toBe(written);
    expect(Buffer.compare(readFileSync(output), applyInProcess(data.subarray(0, written * frameBytes), "blur:2,gaussian"))).toBe(0);
    expect(written).toBeGreaterThanOrEqual(20000);
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(report.redone).toBeGreaterThan(0);
    expect(objectsOf(name)).toEqual([]);
    expect(await run.exited).toBe(0);
  }, 240_000);

  test("a frame that kills its worker every time fails the run with exit 4 naming its seq, after max attempts", () => {
    const input = join(dir, "poison.in");
    genFile(input, 50, "16x16");
    const name = uniqueName("poison");
    const r = shmimg(["run", "--name", name, "--workers", "2", "--op", "invert", "--input", input, "--max-attempts", "3"], { env: { SHMIMG_FAULT_KILL_AT_SEQ: "17" } });
    expect(r.stderr).toMatch(/^ERROR: frame seq 17 killed its worker 3 times/m);
    expect(parseNative(r.stdout).map((f) => f.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(4);
  });

  test("separate shells: with no worker alive, producer and consumer say so and continue when a worker starts", async () => {
    const name = uniqueName("noworker");
    const input = join(dir, "nw.in");
    const output = join(dir, "nw.out");
    const data = genFile(input, 200, "32x32");
    expect(shmimg(["init", "--name", name, "--max-size", "32x32", "--max-format", "rgb24", "--slots", "4"]).code).toBe(0);
    const consumer = spawn(["consume", "--name", name, "--output", output]);
    const producer = spawn(["produce", "--name", name], { stdin: input });
    // The dying worker takes frame 50 down with it.
    const w1 = spawn(["work", "--name", name, "--op", "invert"], { env: { SHMIMG_FAULT_KILL_AT_SEQ: "50" } });
    expect(await w1.exited).not.toBe(0);
    await waitFor(() => (stat(name)?.live.workers ?? 1) === 0, 5000, "no live worker");
    // The consumer notices on its next wait tick (100 ms); only then start a worker.
    expect(await waitForLine(consumer.stderr, /no worker is alive/, 10_000)).toContain("no worker is alive");
    const w2 = spawn(["work", "--name", name, "--op", "invert"]);
    expect(await consumer.exited).toBe(0);
    expect(await producer.exited).toBe(0);
    expect(await w2.exited).toBe(0);
    expect(Buffer.compare(readFileSync(output), applyInProcess(data, "invert"))).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);
});

describe("consumer and producer crashes", () => {
  test("a consumer killed mid-stream and started again with the same --output resumes; the file is byte-identical", async () => {
    const name = uniqueName("resume");
    const input = join(dir, "resume.in");
    const output = join(dir, "resume.out");
    const data = genFile(input, 3000, "64x48");
    expect(shmimg(["init", "--name", name, "--max-size", "64x48", "--max-format", "rgb24", "--slots", "8"]).code).toBe(0);
    const workers = [spawn(["work", "--name", name, "--op", "grayscale,blur"]), spawn(["work", "--name", name, "--op", "grayscale,blur"])];
    const producer = spawn(["produce", "--name", name], { stdin: input });
    for (let round = 0; round < 3; round++) {
      const c = spawn(["consume", "--name", name, "--output", output]);
      await waitFor(() => existsSync(output) && statSync(output).size > (round + 1) * 200_000, 20_000, "output to grow");
      c.kill("SIGKILL");
      await c.exited;
    }
    const last = spawn(["consume", "--name", name, "--output", output]);
    const lastErr = await new Response(last.stderr).text();
    expect(lastErr).toMatch(/resuming pipeline .* at frame \d+, output offset \d+/);
    expect(await last.exited).toBe(0);
    expect(Buffer.compare(readFileSync(output), applyInProcess(data, "grayscale,blur"))).toBe(0);
    expect(await producer.exited).toBe(0);
    for (const w of workers) expect(await w.exited).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("a producer killed inside a frame: every complete frame is delivered, the half frame never is, consumer exits 3 naming the last seq", async () => {
    const name = uniqueName("prodkill");
    const stream = shmimg(["gen", "--count", "31", "--size", "64x64", "--format", "rgb24"]).stdout;
    const frameBytes = 32 + 64 * 64 * 3;
    expect(shmimg(["init", "--name", name, "--max-size", "64x64", "--max-format", "rgb24", "--slots", "8"]).code).toBe(0);
    const output = join(dir, "prodkill.out");
    const consumer = spawn(["consume", "--name", name, "--output", output]);
    const worker = spawn(["work", "--name", name, "--op", "invert"]);
    const producer = spawn(["produce", "--name", name], { stdin: "pipe" });
    (producer.stdin as import("bun").FileSink).write(stream.subarray(0, 30 * frameBytes + 1000)); // 30 frames and part of the 31st
    await (producer.stdin as import("bun").FileSink).flush();
    await waitFor(() => stat(name)?.producer.published === 30, 10_000, "30 frames published");
    // The producer now holds frame 31's slot, blocked inside its payload.
    await waitFor(() => stat(name)?.slotStates.some((s: any) => s.raw === "WRITING" && s.rawOwner === producer.pid), 10_000, "the producer writing frame 31");
    producer.kill("SIGKILL");
    await producer.exited;
    const err = await new Response(consumer.stderr).text();
    expect(err).toMatch(/^ERROR: stream incomplete \(producer died after seq 29\): delivered every complete frame, last seq delivered 29/m);
    expect(await consumer.exited).toBe(3);
    expect(await worker.exited).toBe(0);
    const expected = applyInProcess(stream.subarray(0, 30 * frameBytes), "invert");
    expect(Buffer.compare(readFileSync(output), expected)).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("a process killed while holding the recovery lock does not wedge the pipeline (SEM_UNDO)", async () => {
    const run = initSmall("lock");
    const holder = Bun.spawn([BUN, join(ROOT, "test/fixtures/hold-lock.ts"), run.name], { stdout: "pipe", stderr: "inherit" });
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    holder.kill("SIGKILL");
    await holder.exited;
    // Recovery needs the lock: a worker dies holding frame 10, another must redo it.
    const ends = startEnds(run);
    const dying = spawn(["work", "--name", run.name, "--op", "invert"], { env: { SHMIMG_FAULT_KILL_AT_SEQ: "10" } });
    await dying.exited;
    await expectCompleted(run, ends, spawn(["work", "--name", run.name, "--op", "invert"]), 1);
  }, 60_000);

  test("a worker killed after publishing its result but before freeing the raw frame: the frame is delivered once and not redone", async () => {
    // The consumer delivers frame 10 and frees its processed slot before any
    // stage notices the dead owner; recovery must then free the raw slot, not
    // hand the frame out again (a second result would block that slot for good).
    const run = initSmall("published");
    const ends = startEnds(run);
    const dying = spawn(["work", "--name", run.name, "--op", "invert"], { env: { SHMIMG_FAULT_KILL_AT_SEQ: "10", SHMIMG_FAULT_KILL_PHASE: "published" } });
    expect(await dying.exited).not.toBe(0);
    await waitFor(() => stat(run.name)?.consumer.delivered === 11, 10_000, "frame 10 delivered");
    const w = spawn(["work", "--name", run.name, "--op", "invert"]);
    await waitFor(() => stat(run.name)?.consumer.delivered === 100, 20_000, "all 100 frames delivered", () => shmimg(["stat", "--name", run.name]).stdout.toString());
    await expectCompleted(run, ends, w, 0);
  }, 60_000);
});

describe("sleepers", () => {
  test("a worker SIGKILLed while asleep is taken out of the WORK sleepers count by the next recovery", async () => {
    const name = uniqueName("sleeper");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8", "--max-format", "gray8", "--slots", "4"]).code).toBe(0);
    const a = spawn(["work", "--name", name, "--op", "invert"]);
    await waitFor(() => stat(name)?.events.work.sleepers === 1, 10_000, "worker A asleep");
    a.kill("SIGKILL");
    await a.exited;
    expect(stat(name).events.work.sleepers).toBe(1); // A is still counted
    const b = spawn(["work", "--name", name, "--op", "invert"]);
    await waitFor(() => stat(name)?.workers.some((w: any) => w.pid === b.pid) && !stat(name).workers.some((w: any) => w.pid === a.pid && w.alive), 10_000, "worker B registered");
    // B ticks every 100 ms while it waits, finds A dead and marked, takes it out.
    const settled = () => {
      const s = stat(name);
      return s?.workers.some((w: any) => w.pid === b.pid && w.asleep) && !s.workers.some((w: any) => w.pid === a.pid && w.asleep) && s.events.work.sleepers === 1;
    };
    await waitFor(settled, 10_000, "B asleep, A taken out of the count");
    // With A still counted the count would be 2 while B sleeps (1 only in B's brief wake-ups).
    const samples: number[] = [];
    for (let k = 0; k < 5; k++, await Bun.sleep(50)) samples.push(stat(name).events.work.sleepers);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1);
    b.kill("SIGTERM");
    expect(await b.exited).toBe(143);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 30_000);
});

/**
 * Every stage of pipeline `name` has detached and exited (live-stage counts
 * drop at exit, SEM_UNDO; the creating producer is gone): only then is it stale. A stage that has detached
 * may still be exiting, and then the pipeline is rightly not stale yet.
 */
function stagesGone(name: string): boolean {
  const s = stat(name);
  return s !== undefined && s.attached === 0 && s.live.producers + s.live.workers + s.live.consumers === 0 && !s.producer.alive;
}

describe("stale and foreign objects", () => {
  test("objects left by a SIGKILLed run are recycled by the next run of that name and listed by clean --stale", async () => {
    const name = uniqueName("stale");
    const run = spawn(["run", "--name", name, "--op", "invert"], { stdin: "pipe", stdout: "pipe" });
    (run.stdin as import("bun").FileSink).write(shmimg(["gen", "--count", "3", "--size", "8x8"]).stdout);
    await (run.stdin as import("bun").FileSink).flush();
    await waitFor(() => objectsOf(name).length === 3 && stat(name)?.producer.published === 3, 10_000, "pipeline to exist");
    run.kill("SIGKILL");
    await run.exited;
    // Its stages get SIGTERM from the kernel (PDEATHSIG), detach and exit; the objects stay.
    await waitFor(() => stagesGone(name), 10_000, "stages to detach and exit");
    expect(objectsOf(name).length).toBe(3);
    const again = shmimg(["run", "--name", name, "--op", "invert"], { stdin: shmimg(["gen", "--count", "2", "--size", "8x8"]).stdout });
    expect(again.stderr).toContain(`recycled stale pipeline "${name}"`);
    expect(parseNative(again.stdout).length).toBe(2);
    expect(again.code).toBe(0);
    expect(objectsOf(name)).toEqual([]);

    // And clean --stale finds one left the same way.
    const run2 = spawn(["run", "--name", name, "--op", "invert"], { stdin: "pipe", stdout: "pipe" });
    (run2.stdin as import("bun").FileSink).write(shmimg(["gen", "--count", "1", "--size", "8x8"]).stdout);
    await (run2.stdin as import("bun").FileSink).flush();
    await waitFor(() => stat(name)?.producer.published === 1, 10_000, "pipeline to exist");
    run2.kill("SIGKILL");
    await run2.exited;
    await waitFor(() => stagesGone(name), 10_000, "stages to detach and exit");
    const clean = shmimg(["clean", "--stale"]);
    expect(clean.stderr).toContain(`stale pipeline "${name}"`);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("a foreign segment planted at our key is refused and left untouched", () => {
    const name = uniqueName("foreign");
    const key = keysFor(name, process.getuid!()).raw;
    const shmid = libc.shmget(key, 4096, 0o1000 | 0o2000 | 0o600);
    expect(shmid).toBeGreaterThanOrEqual(0);
    try {
      const addr = libc.shmat(shmid, null, 0);
      const view = new Uint8Array(toArrayBuffer(addr, 0, 4096));
      view.fill(0xab);
      libc.shmdt(addr);
      const r = shmimg(["run", "--name", name, "--op", "invert"], { stdin: shmimg(["gen", "--count", "2", "--size", "8x8"]).stdout });
      expect(r.stderr).toMatch(/^ERROR: key 0x[0-9a-f]+ \(shmid \d+\) holds a segment that is not shmimg's; it was left alone/m);
      expect(r.code).toBe(2);
      shmimg(["clean", "--stale"]);
      const addr2 = libc.shmat(shmid, null, 0);
      expect(new Uint8Array(toArrayBuffer(addr2, 0, 4096)).every((b) => b === 0xab)).toBe(true);
      libc.shmdt(addr2);
    } finally {
      shim.shim_shm_rmid(shmid);
    }
    expect(objectsOf(name)).toEqual([]);
  });

  test("a corrupted header in a live segment stops a stage with exit 2 naming key and shmid; never a crash or hang", () => {
    const name = uniqueName("corrupt");
    expect(shmimg(["init", "--name", name, "--max-size", "16x16"]).code).toBe(0);
    const keys = keysFor(name, process.getuid!());
    const shmid = libc.shmget(keys.raw, 0, 0);
    const addr = libc.shmat(shmid, null, 0);
    const head = new Uint8Array(toArrayBuffer(addr, 0, 64));
    const saved = head.slice();
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    try {
      for (const field of [[4, 8], [24, 28], [28, 32], [36, 40], [48, 52], [0, 4]]) {
        head.set(saved);
        for (let b = field[0]!; b < field[1]!; b++) head[b] = rnd();
        const r = shmimg(["work", "--name", name, "--op", "invert", "--timeout", "5"]);
        expect(r.stderr).toMatch(/^ERROR: segment key 0x[0-9a-f]+ shmid \d+: .*refusing to attach/m);
        expect(r.code).toBe(2);
      }
      // Slot fields out of range: a READY slot claiming an impossible length.
      head.set(saved);
      const table = RAW_SLOT_TABLE;
      const slots = new DataView(toArrayBuffer(addr, table, 64));
      slots.setFloat64(8, 0, true); // n = 0
      slots.setUint32(24, 16, true);
      slots.setUint32(28, 16, true);
      slots.setUint32(32, 2, true);
      slots.setUint32(36, 0xffffff00, true); // length
      slots.setInt32(0, 2, true); // READY
      const r = shmimg(["work", "--name", name, "--op", "invert", "--timeout", "5"]);
      expect(r.stderr).toMatch(/^ERROR: corrupt raw slot 0 .*field length/m);
      expect(r.code).toBe(2);
    } finally {
      libc.shmdt(addr);
    }
    expect(shmimg(["clean", "--name", name, "--force"]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });
});

describe("signals and pipes", () => {
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    test(`${sig} to run stops its stages, removes its objects and exits ${code}`, async () => {
      const name = uniqueName("sig");
      const run = spawn(["run", "--name", name, "--op", "invert"], { stdin: "pipe", stdout: "pipe" });
      (run.stdin as import("bun").FileSink).write(shmimg(["gen", "--count", "5", "--size", "8x8"]).stdout);
      await (run.stdin as import("bun").FileSink).flush();
      await waitFor(() => stat(name)?.consumer.delivered === 5, 10_000, "frames delivered");
      run.kill(sig);
      expect(await run.exited).toBe(code);
      expect(objectsOf(name)).toEqual([]);
      expect(stagesOf(run.pid, "work")).toEqual([]);
    }, 30_000);
  }

  test("SIGTERM to a stage in a separate shell detaches it cleanly (exit 143)", async () => {
    const name = uniqueName("stagesig");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
    const w = spawn(["work", "--name", name, "--op", "invert"]);
    await waitFor(() => stat(name)?.live.workers === 1, 10_000, "worker attached");
    w.kill("SIGTERM");
    expect(await w.exited).toBe(143);
    expect(stat(name).live.workers).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("run ... | head -c 1000 ends quietly and leaks nothing", () => {
    const name = uniqueName("pipe");
    const r = Bun.spawnSync(["bash", "-c", `${SHMIMG.join(" ")} gen --count 2000 --size 64x64 2>/dev/null | ${SHMIMG.join(" ")} run --name ${name} --op invert | head -c 1000 | wc -c; echo "status=\${PIPESTATUS[1]}"`], { cwd: ROOT, stderr: "pipe" });
    const out = r.stdout.toString();
    expect(out).toMatch(/^\s*1000\n/);
    expect(r.stderr.toString()).not.toContain("ERROR");
    expect(out).toMatch(/status=(0|141)/);
    expect(objectsOf(name)).toEqual([]);
  });
});
