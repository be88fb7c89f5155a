/**
 * Bring your own op, with real processes and real SysV objects: TS modules
 * (under run with 3 workers, under separate work stages, from another
 * directory), native kernels built from examples/ops by make, exec: with a
 * netpbm tool, filter: with the Python example; and each way an op can fail
 * (throws, non-zero native return, filter dies or replies the wrong size,
 * never returns, worker SIGSTOPped) ends with the documented exit code, every
 * earlier frame delivered, and no process or IPC object left.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeHeader, NATIVE_HEADER } from "../src/formats/native";
import { Chain, parseChain } from "../src/ops/chain";
import { applyInProcess, objectsOf, parseNative, ROOT, shmimg, spawnShmimg, tmp, uniqueName, waitFor } from "./helpers";

setDefaultTimeout(60_000);
const dir = tmp("shmimg-ownops-");
const FIX = join(ROOT, "test/fixtures/ops");
const LIB = join(ROOT, "examples/ops/libedge.so");

beforeAll(() => {
  const r = Bun.spawnSync(["make", "examples"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).not.toMatch(/error/);
  expect(r.exitCode).toBe(0);
});

function gen(count: number, size: string, format: string, seed = 1): Buffer {
  const r = shmimg(["gen", "--count", String(count), "--size", size, "--format", format, "--seed", String(seed)]);
  expect(r.code).toBe(0);
  return r.stdout;
}

function file(name: string, data: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

/** `count` gray8 16x16 frames; frame `bad` starts with byte 255, no other frame does. */
function framesWithBad(count: number, bad: number): Buffer {
  const len = 16 * 16;
  const out = Buffer.alloc(count * (NATIVE_HEADER + len));
  for (let k = 0; k < count; k++) {
    const off = k * (NATIVE_HEADER + len);
    encodeHeader(out, off, { w: 16, h: 16, fmt: 1, seq: k, len });
    for (let i = 0; i < len; i++) out[off + NATIVE_HEADER + i] = (k * 31 + i * 7) % 200;
    if (k === bad) out[off + NATIVE_HEADER] = 255;
  }
  return out;
}

/** The first n frames of a native stream, as bytes. */
function firstFrames(stream: Buffer, n: number): Buffer {
  const frames = parseNative(stream).slice(0, n);
  return stream.subarray(0, frames.reduce((s, f) => s + NATIVE_HEADER + f.payload.length, 0));
}

/** Pids of live processes whose command line contains `text` (stages of a pipeline, its filters). */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const state = readFileSync(`/proc/${d}/stat`, "latin1").split(") ")[1]?.[0];
      if (cmd.includes(text) && state !== "Z") pids.push(Number(d));
    } catch {}
  }
  return pids;
}

/**
 * No live process has `text` in its command line, within a bound: a filter
 * whose worker was SIGKILLed dies by PR_SET_PDEATHSIG, which the kernel
 * delivers asynchronously, so it may outlive `run` by a few milliseconds.
 */
async function noProcessesWith(text: string): Promise<void> {
  await waitFor(() => processesWith(text).length === 0, 10_000, `no process with "${text}" in its command line`, () => processesWith(text).join(" "));
}

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("ERROR:"));

describe("TypeScript op modules", () => {
  const input = gen(30, "24x16", "rgb24", 3);
  const swapped = (() => {
    // Independent reference: swap bytes 0 and 2 of every pixel in each payload.
    const out = Buffer.from(input);
    let off = 0;
    for (const f of parseNative(input)) {
      const p = off + NATIVE_HEADER;
      for (let i = 0; i < f.payload.length; i += 3) {
        out[p + i] = input[p + i + 2]!;
        out[p + i + 2] = input[p + i]!;
      }
      off = p + f.payload.length;
    }
    return out;
  })();

  test("a module op runs under run with 2 workers, from another directory, chained with built-ins", () => {
    // A relative path resolved against the working directory, not shmimg's.
    copyFileSync(join(ROOT, "examples/ops/swap-rb.ts"), join(dir, "swap.ts"));
    const name = uniqueName("mod-run");
    const r = shmimg(["run", "--name", name, "--workers", "2", "--op", "./swap.ts,identity", "--input", file("swap.in", input)], { cwd: dir });
    // 2 is the pool's ceiling: run starts 1 on 2 CPUs and adds the second only while frames wait.
    expect(r.stderr).toMatch(/through "\.\/swap\.ts,identity" with (1 worker \(pool of up to 2|2 workers)/);
    expect(Buffer.compare(r.stdout, swapped)).toBe(0);
    expect(r.code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("a module op runs in separate work stages", async () => {
    const name = uniqueName("mod-work");
    const out = join(dir, "mod-work.out");
    const op = join(ROOT, "examples/ops/swap-rb.ts") + ",invert";
    expect(shmimg(["init", "--name", name, "--max-size", "24x16", "--max-format", "rgb24", "--slots", "4", "--op", op]).code).toBe(0);
    const consumer = spawnShmimg(["consume", "--name", name, "--output", out]);
    const w1 = spawnShmimg(["work", "--name", name, "--op", op]);
    const w2 = spawnShmimg(["work", "--name", name, "--op", op]);
    const producer = spawnShmimg(["produce", "--name", name], { stdin: file("mod-work.in", input) });
    expect(await producer.exited).toBe(0);
    expect(await consumer.exited).toBe(0);
    expect(await w1.exited).toBe(0);
    expect(await w2.exited).toBe(0);
    expect(Buffer.compare(readFileSync(out), applyInProcess(swapped, "invert"))).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("a module op gets views cut to the payload: it cannot write past its output", () => {
    const file = join(FIX, "fill-all.ts");
    const chain = new Chain(parseChain(file));
    const src = new Uint8Array(100).fill(1);
    const dst = new Uint8Array(100).fill(5);
    chain.apply(src, { w: 4, h: 3, fmt: 1 }, dst);
    expect(Array.from(dst.subarray(0, 14))).toEqual([...Array(12).fill(9), 5, 5]);
    expect(require(file).seen).toEqual([12, 12]);
  });

  test("a separate stage checks its chain before it reads a frame (produce --create waits on an empty pipe)", async () => {
    const name = uniqueName("mod-early");
    const producer = spawnShmimg(["produce", "--create", "--name", name, "--op", join(FIX, "no-apply.ts")], { stdin: "pipe" });
    // Nothing is ever written to its stdin: only a check made before reading can end it.
    expect(await producer.exited).toBe(2);
    expect(await new Response(producer.stderr).text()).toMatch(/^ERROR: op module .*no-apply\.ts: field "apply" is missing/m);
    (producer.stdin as import("bun").FileSink).end();
    const worker = shmimg(["work", "--name", name, "--op", join(FIX, "no-default.ts")]);
    expect(worker.stderr).toMatch(/no-default\.ts: has no default export/);
    expect(worker.code).toBe(2);
    expect(objectsOf(name)).toEqual([]);
  });

  const loadErrors: [string, string, RegExp][] = [
    ["missing file", "./nope/op.ts", /ERROR: op module \.\/nope\/op\.ts: file .*nope\/op\.ts not found/],
    ["no default export", join(FIX, "no-default.ts"), /no-default\.ts: has no default export/],
    ["missing field", join(FIX, "no-apply.ts"), /no-apply\.ts: field "apply" is missing/],
    ["format the previous op does not produce", `grayscale,${join(ROOT, "examples/ops/swap-rb.ts")}`, /op "swap-rb" \(.*swap-rb\.ts\) does not accept gray8 input.*element 2 of .*the previous op "grayscale" produces only gray8/],
    ["bad parameters", `${join(ROOT, "examples/ops/swap-rb.ts")}:oops`, /parameter "oops" is not key=value/],
  ];
  for (const [what, op, re] of loadErrors) {
    test(`a module op with a ${what} is refused with exit 2 before any process starts`, () => {
      const name = uniqueName("mod-bad");
      const r = shmimg(["run", "--name", name, "--op", op, "--input", file("bad.in", input)]);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toContain("run:"); // no summary: nothing was started
      expect(r.stdout.length).toBe(0);
      expect(r.code).toBe(2);
      expect(objectsOf(name)).toEqual([]);
    });
  }
});

describe("native kernels", () => {
  test("the example's edge kernel equals the built-in sobel byte for byte, under run", () => {
    const input = gen(12, "37x23", "gray8", 5);
    const r = shmimg(["run", "--workers", "2", "--op", `native:${LIB}#edge`, "--input", file("edge.in", input)]);
    expect(Buffer.compare(r.stdout, applyInProcess(input, "sobel"))).toBe(0);
    expect(r.code).toBe(0);
  });

  test("NAME_out declares the output geometry and the accepted formats", () => {
    const input = gen(5, "31x17", "rgba32", 2);
    const r = shmimg(["run", "--op", `native:${LIB}#halve`, "--input", file("halve.in", input)]);
    expect(parseNative(r.stdout).map((f) => `${f.w}x${f.h}:${f.fmt}`)).toEqual(Array(5).fill("16x9:3"));
    expect(r.code).toBe(0);
    const bad = shmimg(["run", "--op", `native:${LIB}#edge`, "--input", file("edge-rgb.in", gen(2, "8x8", "rgb24"))]);
    expect(bad.stderr).toMatch(/does not accept rgb24 input; put "grayscale" before it/);
    expect(bad.code).toBe(2);
    const missing = shmimg(["run", "--op", `native:${LIB}#nosuch`, "--input", file("edge-rgb.in", gen(2, "8x8", "rgb24"))]);
    expect(missing.stderr).toMatch(/cannot load symbol "nosuch"/);
    expect(missing.code).toBe(2);
  });
});

describe("external commands", () => {
  for (const fmt of ["gray8", "rgb24", "rgba32"]) {
    test(`exec:pamflip -lr equals the built-in hflip byte for byte (${fmt})`, () => {
      const input = gen(6, "33x21", fmt, 4);
      const r = shmimg(["run", "--workers", "2", "--op", "exec:pamflip -lr", "--input", file(`flip-${fmt}.in`, input)]);
      expect(Buffer.compare(r.stdout, applyInProcess(input, "hflip"))).toBe(0);
      expect(r.code).toBe(0);
    });
  }

  for (const fmt of ["gray8", "rgb24"]) {
    test(`exec: ImageMagick works unchanged: convert -flop equals hflip (${fmt})`, () => {
      const input = gen(4, "29x17", fmt, 8);
      const r = shmimg(["run", "--workers", "2", "--op", "exec:convert pnm:- -flop pnm:-", "--input", file(`im-${fmt}.in`, input)]);
      expect(Buffer.compare(r.stdout, applyInProcess(input, "hflip"))).toBe(0);
      expect(r.code).toBe(0);
    });
  }

  test("exec: a 1080p frame streams through a command that writes while it reads (no pipe deadlock)", () => {
    const input = gen(2, "1920x1080", "rgb24", 6);
    const r = shmimg(["run", "--workers", "1", "--op", "exec:pamflip -lr", "--input", file("flip-big.in", input)]);
    expect(Buffer.compare(r.stdout, applyInProcess(input, "hflip"))).toBe(0);
    expect(r.code).toBe(0);
  });

  test("filter: the Python example runs once per worker and equals the built-in invert", async () => {
    const input = gen(20, "40x30", "rgb24", 7);
    const name = uniqueName("filter");
    const r = shmimg(["run", "--name", name, "--workers", "2", "--op", `filter:python3 ${join(ROOT, "examples/filter.py")}`, "--input", file("filter.in", input)]);
    expect(Buffer.compare(r.stdout, applyInProcess(input, "invert"))).toBe(0);
    expect(r.code).toBe(0);
    await noProcessesWith("examples/filter.py");
  });
});

describe("failures", () => {
  const input = framesWithBad(12, 6);
  const inputFile = file("bad6.in", input);

  /** Runs `op` over 12 frames of which seq 6 is bad: exit 4, one ERROR line, frames 0..5 delivered, nothing left. */
  async function expectStopsAtSix(op: string, errRe: RegExp, extra: string[] = []) {
    const name = uniqueName("fail");
    const r = shmimg(["run", "--name", name, "--workers", "3", "--max-attempts", "2", "--op", op, "--input", inputFile, ...extra]);
    const errs = errorLines(r.stderr);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(errRe);
    expect(Buffer.compare(r.stdout, firstFrames(input, 6))).toBe(0);
    expect(r.code).toBe(4);
    expect(objectsOf(name)).toEqual([]);
    await noProcessesWith(name);
    return r;
  }

  test("an op that throws: the frame is retried, then exit 4 naming seq, op and message", async () => {
    const r = await expectStopsAtSix(join(FIX, "throw-on-255.ts"), /^ERROR: frame seq 6: op ".*throw-on-255\.ts" failed 2 time\(s\) \(--max-attempts 2\): first byte is 255, refusing/);
    expect(r.stderr).toMatch(/frame seq 6: op .* failed \(attempt 1 of 2\).*handed back to be retried/);
  });

  test("a native kernel that returns non-zero: exit 4 naming its return value", async () => {
    await expectStopsAtSix(`native:${LIB}#fail_on:value=255`, /^ERROR: frame seq 6: op "native:.*libedge\.so#fail_on:value=255" failed 2 time\(s\).*: fail_on returned 7/);
  });

  test("a native kernel that writes past its output fails the frame before it is published", () => {
    const name = uniqueName("overrun");
    const r = shmimg(["run", "--name", name, "--max-attempts", "1", "--op", `native:${LIB}#overrun`, "--input", inputFile]);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^ERROR: frame seq 0: op ".*#overrun" failed 1 time\(s\).*overrun wrote past its 16x16 gray8 output \(256 bytes\)/)]);
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(4);
    expect(objectsOf(name)).toEqual([]);
  });

  test("a filter that dies: exit 4, its stderr prefixed, no filter process left", async () => {
    const script = join(FIX, "filter-die-on-255.py");
    await expectStopsAtSix(`filter:python3 ${script}`, /^ERROR: frame seq 6: op "filter:python3 .*" failed 2 time\(s\).*exited \(exit status 3\)/);
    await noProcessesWith("filter-die-on-255.py");
  });

  test("a filter that replies the wrong size: exit 4 naming both sizes", async () => {
    await expectStopsAtSix(`filter:python3 ${join(FIX, "filter-wrong-size-on-255.py")}`, /replied a 1x1 gray8 image, expected 16x16 gray8/);
    await noProcessesWith("filter-wrong-size-on-255.py");
  });

  test("an exec: command that fails: exit 4 with its exit status, stderr prefixed", async () => {
    const r = await expectStopsAtSix(`exec:python3 ${join(FIX, "filter-die-on-255.py")}`, /exit status 3/);
    expect(r.stderr).not.toMatch(/^Traceback/m);
  });

  test("an op that never returns: --frame-timeout kills its worker, the frame is redone, then poisoned (exit 4)", async () => {
    const r = await expectStopsAtSix(join(FIX, "spin-on-255.ts"), /frame seq 6 .*2 times/, ["--frame-timeout", "1"]);
    expect(r.stderr).toMatch(/held frame seq 6 for \d+\.\d s, longer than --frame-timeout 1 s; killed it \(SIGKILL\)/);
  }, 60_000);

  test("a SIGSTOPped worker holding a frame is killed after --frame-timeout and its frame redone by another", async () => {
    const name = uniqueName("stopped");
    const out = join(dir, "stopped.out");
    const data = gen(24, "16x16", "gray8", 9);
    const op = `${join(FIX, "slow.ts")}:ms=150`;
    expect(shmimg(["init", "--name", name, "--max-size", "16x16", "--max-format", "gray8", "--slots", "4", "--frame-timeout", "1"]).code).toBe(0);
    expect(JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString()).frameTimeoutS).toBe(1);
    const consumer = spawnShmimg(["consume", "--name", name, "--output", out]);
    const stopped = spawnShmimg(["work", "--name", name, "--op", op]);
    const producer = spawnShmimg(["produce", "--name", name], { stdin: file("stopped.in", data) });
    // Stop the worker while it holds a claim (it spends nearly all its time inside the op).
    const holds = () => {
      const s = JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString());
      return s.slotStates.some((x: any) => x.raw === "CLAIMED" && x.rawOwner === stopped.pid);
    };
    for (;;) {
      await waitFor(holds, 30_000, "the worker to claim a frame");
      process.kill(stopped.pid, "SIGSTOP");
      if (holds()) break;
      process.kill(stopped.pid, "SIGCONT");
    }
    const helper = spawnShmimg(["work", "--name", name, "--op", op]);
    // A stall fails here, saying where, instead of at the test's timeout.
    const ended = await Promise.race([consumer.exited, Bun.sleep(40_000).then(() => "stalled")]);
    if (ended === "stalled") throw new Error(`stalled:\n${shmimg(["stat", "--name", name]).stdout}`);
    expect(ended).toBe(0);
    expect(await producer.exited).toBe(0);
    expect(await helper.exited).toBe(0);
    await stopped.exited;
    expect(stopped.signalCode).toBe("SIGKILL");
    const logs = (await new Response(consumer.stderr).text()) + (await new Response(producer.stderr).text()) + (await new Response(helper.stderr).text());
    expect(logs).toContain(`worker pid ${stopped.pid} held frame seq`);
    expect(Buffer.compare(readFileSync(out), applyInProcess(data, "invert"))).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("--timeout does not fire while a worker is busy with a long frame (busy is progress)", () => {
    const name = uniqueName("busy");
    const data = gen(2, "16x16", "gray8", 3);
    const r = shmimg(["run", "--name", name, "--workers", "1", "--timeout", "1", "--op", `${join(FIX, "slow.ts")}:ms=2500`, "--input", file("busy.in", data)]);
    expect(r.stderr).not.toContain("timed out");
    expect(Buffer.compare(r.stdout, applyInProcess(data, "invert"))).toBe(0);
    expect(r.code).toBe(0);
  }, 60_000);
});

describe("shmimg ops", () => {
  test("says how to write each kind of op, with the examples' paths", () => {
    const r = shmimg(["ops"]);
    for (const s of ["scale", "examples/ops/swap-rb.ts", "native/shmimg_op.h", "examples/ops/edge.c", "exec:pamflip -lr", "examples/filter.py", "--frame-timeout"]) expect(r.stdout.toString()).toContain(s);
    expect(r.code).toBe(0);
  });
});
