/**
 * `run` heals every stage, and a whole killed run resumes where it stopped
 * (issue 15); a resumed consumer proves it continues the same output (issue
 * 9.5); run does not hang on a stopped child (9.1) and keeps signals it
 * inherited ignored (9.12).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyInProcess, objectsOf, parseNative, sh, SHMIMG, shmimg, spawnShmimg, tmp, uniqueName, waitFor } from "./helpers";
import { childrenOf, stagesOf } from "./procs";
import { openPipeline } from "../src/pipeline/ring/pipeline";
import { ownerOf, R, State, stateOf, U } from "../src/pipeline/layout";
import { BATCH_FRAMES } from "../src/pipeline/stages/work";

const dir = tmp();
const FRAMES = 2400;
const input = join(dir, "in.shm");
const data = shmimg(["gen", "--count", String(FRAMES), "--size", "64x48", "--format", "rgb24", "--seed", "15"]).stdout;
writeFileSync(input, data);
const reference = applyInProcess(data, "invert");

/** Frames committed by the producer and delivered by the consumer, read from the live pipeline (undefined while it does not exist). */
function progressOf(name: string): { committed: number; delivered: number; recorded: boolean; runPid: number } | undefined {
  try {
    const p = openPipeline(name);
    try {
      return { committed: p.position().n + 1, delivered: p.delivered(), recorded: p.i32(U.recorded) === 1, runPid: p.i32(R.runPid) };
    } finally {
      p.detach();
    }
  } catch {
    return undefined;
  }
}

/** Does pid hold a raw frame (CLAIMED) in pipeline `name`? */
function holdsFrame(name: string, pid: number): boolean {
  const p = openPipeline(name);
  try {
    for (let i = 0; i < p.K; i++) {
      const w = p.state(p.raw, i);
      if (stateOf(w) === State.CLAIMED && ownerOf(w) === pid) return true;
    }
    return false;
  } finally {
    p.detach();
  }
}

function processState(pid: number): string {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "latin1");
    return st[st.lastIndexOf(")") + 2]!;
  } catch {
    return "X";
  }
}

const ROLE_NAMES = { produce: "producer", work: "worker", consume: "consumer" } as const;

describe("run heals every stage when both ends are files", () => {
  for (const role of ["produce", "work", "consume"] as const) {
    test(`a ${ROLE_NAMES[role]} SIGKILLed three times under run: exit 0 and the output is byte-identical`, async () => {
      const name = uniqueName(`heal-${role}`);
      const output = join(dir, `heal-${role}.out`);
      const run = spawnShmimg(["run", "--name", name, "--workers", "2", "--min-workers", "2", "--op", "invert", "--fps", "500", "--input", input, "--output", output]);
      const stderr = new Response(run.stderr).text();
      const measure = () => {
        const pr = progressOf(name);
        return pr ? (role === "produce" ? pr.committed : pr.delivered) : -1;
      };
      let kills = 0;
      let last = 0;
      while (kills < 3) {
        // Kill only after the current process moved the stream on (a replacement that never gets to work is a different test).
        await waitFor(() => measure() > last + 30 && stagesOf(run.pid, role).length > 0, 60_000, `the ${ROLE_NAMES[role]} to make progress after kill ${kills}`);
        last = measure();
        process.kill(stagesOf(run.pid, role)[0]!, "SIGKILL");
        kills++;
      }
      const code = await run.exited;
      const err = await stderr;
      expect(last).toBeLessThan(FRAMES); // every kill hit a running stream
      expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
      expect(err).toContain(`${FRAMES} frames in, ${FRAMES} out`);
      expect(err).toContain(`restarts (producer ${role === "produce" ? 3 : 0}, workers ${role === "work" ? 3 : 0}, consumer ${role === "consume" ? 3 : 0})`);
      expect(err).not.toContain("ERROR");
      expect(objectsOf(name)).toEqual([]);
      expect(code).toBe(0);
    }, 120_000);
  }
});

describe("restart limits per role", () => {
  for (const [role, code] of [["produce", 3], ["consume", 4]] as const) {
    test(`a ${ROLE_NAMES[role]} that dies on start-up every time is replaced 3 times, not for ever (exit ${code})`, async () => {
      const name = uniqueName(`futile-${role}`);
      const run = spawnShmimg(["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "500", "--input", input, "--output", join(dir, `futile-${role}.out`)]);
      const stderr = new Response(run.stderr).text();
      await waitFor(() => (progressOf(name)?.delivered ?? 0) > 10, 60_000, "the stream going");
      let exited = false;
      run.exited.then(() => (exited = true));
      let kills = 0;
      // Every stage of this role is killed as soon as it appears, before it can move the stream on.
      while (!exited && kills < 20) {
        for (const pid of stagesOf(run.pid, role)) {
          try {
            process.kill(pid, "SIGKILL");
            kills++;
          } catch {}
        }
        await Bun.sleep(5);
      }
      const err = await stderr;
      expect(err).toContain(`the ${ROLE_NAMES[role]} died again without moving the stream on after its last restarts; not starting another`);
      expect(kills).toBeGreaterThanOrEqual(4); // the first one and 3 replacements
      expect(kills).toBeLessThan(20);
      expect(objectsOf(name)).toEqual([]);
      expect(await run.exited).toBe(code);
    }, 120_000);
  }
});

describe("run cannot heal a stage whose end is a pipe", () => {
  test("a producer reading a pipe, SIGKILLed: every complete frame is delivered and run exits 3", async () => {
    const name = uniqueName("heal-pipe-in");
    const output = join(dir, "pipe-in.out");
    const run = spawnShmimg(["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "500", "--output", output], { stdin: "pipe" });
    const sink = run.stdin as import("bun").FileSink;
    sink.write(data);
    void Promise.resolve(sink.flush()).catch(() => {});
    const stderr = new Response(run.stderr).text();
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 50 && stagesOf(run.pid, "produce").length > 0, 60_000, "frames delivered");
    process.kill(stagesOf(run.pid, "produce")[0]!, "SIGKILL");
    const code = await run.exited;
    const err = await stderr;
    const out = readFileSync(output);
    const frames = parseNative(out).length;
    expect(frames).toBeGreaterThan(50);
    expect(frames).toBeLessThan(FRAMES);
    expect(Buffer.compare(out, reference.subarray(0, out.length))).toBe(0);
    expect(err).toMatch(/producer pid \d+ died \(SIGKILL\); its input is a pipe or terminal/);
    expect(code).toBe(3);
    try {
      sink.end();
    } catch {}
  }, 120_000);

  test("a consumer writing to a pipe, SIGKILLed: run stops the pipeline and exits 4", async () => {
    const name = uniqueName("heal-pipe-out");
    const run = spawnShmimg(["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "500", "--input", input], { stdout: "pipe" });
    const stdout = new Response(run.stdout).arrayBuffer();
    const stderr = new Response(run.stderr).text();
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 50 && stagesOf(run.pid, "consume").length > 0, 60_000, "frames delivered");
    process.kill(stagesOf(run.pid, "consume")[0]!, "SIGKILL");
    const code = await run.exited;
    const out = Buffer.from(await stdout);
    expect(Buffer.compare(out, reference.subarray(0, out.length))).toBe(0);
    expect(await stderr).toMatch(/^ERROR: the consumer \(pid \d+\) died \(SIGKILL\) after delivering \d+ frames; its output is a pipe or terminal/m);
    expect(objectsOf(name)).toEqual([]);
    expect(code).toBe(4);
  }, 120_000);
});

/** Pipelines of killed runs: removed after the file even when a test failed before resuming them. */
const killedRuns = new Set<string>();
afterAll(() => {
  for (const name of killedRuns) shmimg(["clean", "--name", name, "--force"]);
});

/** SIGKILLs run and every stage it started, all at once (a power cut of the processes). */
async function killWholeRun(run: { pid: number; exited: Promise<number> }, name: string): Promise<void> {
  killedRuns.add(name);
  const pids = [run.pid, ...childrenOf(run.pid)];
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  await run.exited;
  await waitFor(() => pids.every((pid) => !isRunning(pid)), 10_000, "the killed run's processes to go");
}

function isRunning(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !"ZX".includes(s[s.lastIndexOf(")") + 2]!);
  } catch {
    return false;
  }
}

describe("run --resume", () => {
  test("a whole run SIGKILLed three times at random moments and resumed each time: identical output, fewer frames processed than four full runs", async () => {
    const name = uniqueName("resume-run");
    const output = join(dir, "resume-run.out");
    const args = ["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "600", "--input", input, "--output", output];
    const delivered: number[] = [];
    for (let k = 0; k < 3; k++) {
      const before = k === 0 ? 0 : delivered[k - 1]!;
      const run = spawnShmimg(k === 0 ? args : [...args, "--resume"]);
      await waitFor(() => progressOf(name)?.runPid === run.pid && progressOf(name)!.delivered > before, 60_000, `run ${k} to deliver`);
      await Bun.sleep(Math.random() * 800); // then a random moment, not a condition: the point is an arbitrary one
      await killWholeRun(run, name);
      delivered.push(progressOf(name)!.delivered);
      expect(delivered[k]!).toBeGreaterThan(before);
    }
    const last = shmimg([...args, "--resume", "--json"]);
    const report = JSON.parse(last.stdout.toString());
    const processed = Object.values(report.perWorker as Record<string, number>).reduce((a, b) => a + b, 0);
    console.log(`resume: delivered after each kill ${delivered.join(", ")}; ${processed} frames processed in total for ${FRAMES}`);
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(last.stderr).toContain(`resumed after ${delivered[2]} frames delivered by an earlier run`);
    expect(report.resumedAt).toBe(delivered[2]);
    expect(delivered[2]!).toBeGreaterThan(0);
    // A worker counts its frames once per batch: one SIGKILLed after publishing
    // a batch's frames and before adding them leaves them uncounted (seen: 2399).
    expect(processed).toBeGreaterThanOrEqual(FRAMES - 3 * BATCH_FRAMES);
    expect(processed).toBeLessThan(4 * FRAMES);
    expect(objectsOf(name)).toEqual([]);
    expect(last.code).toBe(0);
  }, 120_000);

  test("--resume refuses (exit 2, saying why) another op chain, input or output, and then continues the right one", async () => {
    const name = uniqueName("resume-refuse");
    const output = join(dir, "resume-refuse.out");
    const args = ["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "600", "--input", input, "--output", output];
    const run = spawnShmimg(args);
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 100, 60_000, "frames delivered");
    await killWholeRun(run, name);
    const stat = JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString());
    expect(stat.run.heals).toEqual(["producer", "consumer"]);
    expect(stat.run.committed.n + 1).toBeGreaterThanOrEqual(stat.consumer.delivered);
    expect(stat.run.committed.inputPosition).toBe((stat.run.committed.n + 1) * (32 + 64 * 48 * 3));
    const before = readFileSync(output);
    const other = join(dir, "other-input.shm");
    writeFileSync(other, data.subarray(0, 100 * (32 + 64 * 48 * 3)));
    const cases: [string[], RegExp][] = [
      [args.map((a) => (a === "invert" ? "hflip" : a)), /another op chain/],
      [args.map((a) => (a === input ? other : a)), /another input/],
      [args.map((a) => (a === output ? join(dir, "elsewhere.out") : a)), /another output/],
    ];
    for (const [argv, why] of cases) {
      const r = shmimg([...argv, "--resume"]);
      expect(r.stderr).toMatch(/^ERROR: --resume: pipeline "[^"]+" was started with another/m);
      expect(r.stderr).toMatch(why);
      expect(r.code).toBe(2);
    }
    expect(Buffer.compare(readFileSync(output), before)).toBe(0); // nothing was touched
    const ok = shmimg([...args, "--resume"]);
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(ok.code).toBe(0);
    const gone = shmimg([...args, "--resume"]);
    expect(gone.stderr).toMatch(/^ERROR: --resume: cannot attach pipeline/m);
    expect(gone.code).toBe(2);
  }, 120_000);

  test("stdin and stdout redirected to files: --resume < in >> out continues, another stdout file is refused, --input F and < F are the same input", async () => {
    const name = uniqueName("resume-stdio");
    const output = join(dir, "resume-stdio.out");
    const cmd = `${SHMIMG.map((a) => `'${a}'`).join(" ")} run --name ${name} --workers 2 --op invert --fps 600`;
    const first = Bun.spawn(["bash", "-c", `exec ${cmd} --input '${input}' > '${output}'`], { stdout: "ignore", stderr: "ignore" });
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 100, 60_000, "frames delivered");
    await killWholeRun(first, name);
    const elsewhere = sh(`${cmd} --resume < '${input}' >> '${join(dir, "resume-stdio-other.out")}'`);
    expect(elsewhere.stderr).toMatch(/^ERROR: --resume: pipeline "[^"]+" was started with another output/m);
    expect(elsewhere.code).toBe(2);
    const again = sh(`${cmd} --resume < '${input}' >> '${output}'`);
    expect(again.stderr).toMatch(/resumed after \d+ frames delivered by an earlier run/);
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(again.code).toBe(0);
  }, 120_000);

  test("a run without --resume recycles the killed run's pipeline and starts the job again", async () => {
    const name = uniqueName("resume-recycle");
    const output = join(dir, "resume-recycle.out");
    const args = ["run", "--name", name, "--workers", "2", "--op", "invert", "--fps", "600", "--input", input, "--output", output];
    const run = spawnShmimg(args);
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 100, 60_000, "frames delivered");
    await killWholeRun(run, name);
    const again = shmimg(args);
    expect(again.stderr).toContain("recycled stale pipeline");
    expect(again.stderr).not.toContain("resumed after");
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(again.code).toBe(0);
  }, 120_000);
});

describe("a resumed consumer continues only the output it left (issue 9.5)", () => {
  test("another file, another --out-format or a changed tail is refused with exit 2 and left untouched; the right file resumes", async () => {
    const name = uniqueName("identity");
    const output = join(dir, "identity.out");
    expect(shmimg(["init", "--name", name, "--max-size", "64x48", "--max-format", "rgb24", "--slots", "8"]).code).toBe(0);
    const producer = spawnShmimg(["produce", "--name", name, "--input", input]);
    const worker = spawnShmimg(["work", "--name", name, "--op", "invert"]);
    const first = spawnShmimg(["consume", "--name", name, "--output", output]);
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 100, 60_000, "frames delivered");
    first.kill("SIGKILL");
    await first.exited;
    const p = openPipeline(name);
    const offset = p.delivery().offset;
    p.detach();
    const foreign = join(dir, "foreign.bin");
    const foreignBytes = Buffer.alloc(5_000_000, 7);
    writeFileSync(foreign, foreignBytes);
    const a = shmimg(["consume", "--name", name, "--output", foreign]);
    expect(a.stderr).toMatch(/^ERROR: cannot resume pipeline .* into --output .*foreign\.bin: the previous consumer wrote the file device \d+ inode \d+, it is device \d+ inode \d+/m);
    expect(a.code).toBe(2);
    expect(Buffer.compare(readFileSync(foreign), foreignBytes)).toBe(0);
    const kept = readFileSync(output);
    const b = shmimg(["consume", "--name", name, "--output", output, "--out-format", "pnm"]);
    expect(b.stderr).toMatch(/the previous consumer wrote --out-format native, not pnm/);
    expect(b.code).toBe(2);
    const changed = Buffer.from(kept);
    changed[offset - 10] = changed[offset - 10]! ^ 0xff;
    writeFileSync(output, changed);
    const c = shmimg(["consume", "--name", name, "--output", output]);
    expect(c.stderr).toMatch(/bytes before offset \d+ are not the ones the previous consumer wrote/);
    expect(c.code).toBe(2);
    expect(Buffer.compare(readFileSync(output), changed)).toBe(0);
    writeFileSync(output, kept);
    const d = shmimg(["consume", "--name", name, "--output", output]);
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(d.code).toBe(0);
    expect(await producer.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
  }, 120_000);
});

describe("run's children and signals (issue 9.1, 9.12)", () => {
  test("a worker stopped with SIGSTOP does not keep run alive: it is SIGKILLed after the grace, named, and the output is complete", async () => {
    const name = uniqueName("stopped");
    const output = join(dir, "stopped.out");
    const run = spawnShmimg(["run", "--name", name, "--workers", "2", "--min-workers", "2", "--op", "invert", "--fps", "500", "--input", input, "--output", output]);
    const stderr = new Response(run.stderr).text();
    await waitFor(() => stagesOf(run.pid, "work").length === 2 && (progressOf(name)?.delivered ?? 0) > 10, 60_000, "workers running");
    // An idle worker: one stopped while it holds a frame blocks the stream until --timeout / --frame-timeout.
    const stopped = stagesOf(run.pid, "work")[0]!;
    for (;;) {
      process.kill(stopped, "SIGSTOP");
      await waitFor(() => processState(stopped) === "T", 10_000, "the worker stopped");
      if (!holdsFrame(name, stopped)) break;
      process.kill(stopped, "SIGCONT");
      await Bun.sleep(Math.random() * 20); // try again at another moment
    }
    const code = await run.exited;
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(await stderr).toContain(`worker pid ${stopped} ignored SIGTERM for 2 s (stopped or stuck); sent SIGKILL`);
    expect(code).toBe(0);
  }, 120_000);

  test("with the only worker stopped and --timeout 1, the consumer's timeout ends run (exit 4) instead of a hang", async () => {
    const name = uniqueName("stopped-timeout");
    const run = spawnShmimg(["run", "--name", name, "--workers", "1", "--op", "invert", "--fps", "500", "--timeout", "1", "--input", input, "--output", join(dir, "stopped-timeout.out")]);
    const stderr = new Response(run.stderr).text();
    await waitFor(() => stagesOf(run.pid, "work").length === 1 && (progressOf(name)?.delivered ?? 0) > 10, 60_000, "the worker running");
    const stopped = stagesOf(run.pid, "work")[0]!;
    process.kill(stopped, "SIGSTOP");
    const code = await run.exited;
    const err = await stderr;
    expect(err).toMatch(/^ERROR: (producer|consumer) timed out after 1 s/m); // whichever waiter notices first
    expect(err).toContain(`worker pid ${stopped} ignored SIGTERM`);
    expect(objectsOf(name)).toEqual([]);
    expect(code).toBe(4);
  }, 120_000);

  for (const [sig, trap] of [["SIGHUP", "HUP"], ["SIGINT", "INT"]] as const) {
    test(`${sig} inherited ignored (nohup, & without job control) stays ignored in run and its stages`, async () => {
      const name = uniqueName(`ign-${trap}`);
      const output = join(dir, `ign-${trap}.out`);
      const line = `trap '' ${trap}; exec ${SHMIMG.map((a) => `'${a}'`).join(" ")} run --name ${name} --workers 2 --op invert --fps 500 --input '${input}' --output '${output}'`;
      const sh = Bun.spawn(["bash", "-c", line], { stdout: "ignore", stderr: "pipe" });
      const stderr = new Response(sh.stderr).text();
      await waitFor(() => stagesOf(sh.pid, "consume").length === 1 && (progressOf(name)?.delivered ?? 0) > 10, 60_000, "the run going");
      for (const pid of [sh.pid, ...childrenOf(sh.pid)]) process.kill(pid, sig);
      const code = await sh.exited;
      const err = await stderr;
      expect(err).not.toContain("ERROR");
      expect(`${readFileSync(output).length} bytes; ${err}`).toBe(`${reference.length} bytes; ${err}`);
      expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
      expect(code).toBe(0);
    }, 120_000);
  }
});

describe("a stage in a separate shell keeps an inherited-ignored SIGHUP (issue 9.12)", () => {
  test("nohup'd consume survives SIGHUP and delivers the whole stream", async () => {
    const name = uniqueName("ign-stage");
    const output = join(dir, "ign-stage.out");
    expect(shmimg(["init", "--name", name, "--max-size", "64x48", "--max-format", "rgb24", "--slots", "8"]).code).toBe(0);
    const line = `trap '' HUP; exec ${SHMIMG.map((a) => `'${a}'`).join(" ")} consume --name ${name} --output '${output}'`;
    const consumer = Bun.spawn(["bash", "-c", line], { stdout: "ignore", stderr: "pipe" });
    const stderr = new Response(consumer.stderr).text();
    const worker = spawnShmimg(["work", "--name", name, "--op", "invert"]);
    const producer = spawnShmimg(["produce", "--name", name, "--input", input, "--fps", "500"]);
    await waitFor(() => (progressOf(name)?.delivered ?? 0) > 10, 60_000, "frames delivered");
    process.kill(consumer.pid, "SIGHUP");
    expect(await producer.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    const code = await consumer.exited;
    expect(await stderr).not.toContain("ERROR");
    expect(Buffer.compare(readFileSync(output), reference)).toBe(0);
    expect(code).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
  }, 120_000);
});

describe("formats other than native resume at the recorded position", () => {
  // Each input format is made from the native input by an uninterrupted run, and
  // each healed run must equal an uninterrupted run of the same command.
  const cases: { label: string; inFormat: string; outFormat: string; pixFmt: string; role: "produce" | "consume" }[] = [
    { label: "pnm input", inFormat: "pnm", outFormat: "native", pixFmt: "rgb24", role: "produce" },
    { label: "y4m input (stream header read again)", inFormat: "y4m", outFormat: "native", pixFmt: "yuv420p", role: "produce" },
    { label: "png folder input (file index)", inFormat: "png", outFormat: "native", pixFmt: "rgb24", role: "produce" },
    { label: "y4m output (header written once)", inFormat: "native", outFormat: "y4m", pixFmt: "yuv420p", role: "consume" },
    { label: "png folder output", inFormat: "native", outFormat: "png", pixFmt: "rgb24", role: "consume" },
  ];
  for (const c of cases) {
    test(`${c.label}: the ${ROLE_NAMES[c.role]} SIGKILLed twice under run, output identical to an uninterrupted run`, async () => {
      const n = 600;
      const native = join(dir, `fmt-${c.inFormat}-${c.outFormat}.shm`);
      writeFileSync(native, shmimg(["gen", "--count", String(n), "--size", "32x24", "--format", c.pixFmt, "--seed", "4"]).stdout);
      let src = native;
      if (c.inFormat !== "native") {
        src = join(dir, `fmt-src-${c.inFormat}${c.inFormat === "png" ? "" : `.${c.inFormat}`}`);
        expect(shmimg(["run", "--op", "identity", "--input", native, "--out-format", c.inFormat, "--output", src]).code).toBe(0);
      }
      const outPath = (tag: string) => join(dir, `fmt-out-${c.inFormat}-${c.outFormat}-${tag}`);
      const args = (out: string) => ["run", "--workers", "2", "--op", "invert", "--fps", "300", "--in-format", c.inFormat, "--input", src, "--out-format", c.outFormat, "--output", out];
      const ref = shmimg(args(outPath("ref")));
      expect(ref.code).toBe(0);
      const name = uniqueName(`fmt-${c.inFormat}-${c.outFormat}`);
      const run = spawnShmimg([...args(outPath("healed")), "--name", name]);
      const stderr = new Response(run.stderr).text();
      const measure = () => {
        const pr = progressOf(name);
        return pr ? (c.role === "produce" ? pr.committed : pr.delivered) : -1;
      };
      let last = 0;
      for (let kill = 0; kill < 2; kill++) {
        await waitFor(() => measure() > last + 20 && stagesOf(run.pid, c.role).length > 0, 60_000, `progress after kill ${kill}`);
        last = measure();
        process.kill(stagesOf(run.pid, c.role)[0]!, "SIGKILL");
      }
      const code = await run.exited;
      const err = await stderr;
      expect(last).toBeLessThan(n);
      expect(err).toContain(`${ROLE_NAMES[c.role] === "producer" ? "producer 2" : "consumer 2"}`);
      const read = (p: string) => (c.outFormat === "png" ? Buffer.concat(require("node:fs").readdirSync(p).sort().map((f: string) => readFileSync(join(p, f)))) : readFileSync(p));
      expect(Buffer.compare(read(outPath("healed")), read(outPath("ref")))).toBe(0);
      expect(code).toBe(0);
    }, 120_000);
  }
});

describe("the position record is untrusted input (I6)", () => {
  test("a committed position that is not a non-negative integer stops a resuming producer with exit 2", () => {
    const name = uniqueName("qcorrupt");
    expect(shmimg(["init", "--name", name, "--max-size", "64x48", "--max-format", "rgb24", "--slots", "8"]).code).toBe(0);
    try {
      const p = openPipeline(name);
      try {
        p.commitPosition(5, -3, 6);
        expect(() => p.position()).toThrow(/corrupt producer position record/);
      } finally {
        p.detach();
      }
      const r = shmimg(["produce", "--name", name, "--input", input, "--resume"]);
      expect(r.stderr).toMatch(/^ERROR: corrupt producer position record in pipeline "[^"]+" \(shmid \d+\): n=5 position=-3 index=6/m);
      expect(r.code).toBe(2);
    } finally {
      shmimg(["clean", "--name", name, "--force"]);
    }
  });
});
