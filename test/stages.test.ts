import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyInProcess, objectsOf, parseNative, ROOT, shmimg, spawnShmimg, tmp, notePid, uniqueName, waitFor } from "./helpers";
import { encodeHeader, NATIVE_HEADER } from "../src/formats/native";

const dir = tmp();

const spawnStage = spawnShmimg;

function gen(count: number, size: string, format = "rgb24", seed = 1): Buffer {
  const r = shmimg(["gen", "--count", String(count), "--size", size, "--format", format, "--seed", String(seed)]);
  expect(r.code).toBe(0);
  return r.stdout;
}

/** One native frame with header fields overridden (for invalid-input cases). */
function frame(f: { w: number; h: number; fmt: number; seq: number; len: number }, payloadLen = f.len, magic?: number): Buffer {
  const b = Buffer.alloc(NATIVE_HEADER + payloadLen, 7);
  encodeHeader(b, 0, f);
  if (magic !== undefined) b.writeUInt32LE(magic, 0);
  return b;
}

describe("separate-shell mode", () => {
  test("init, then produce, two work and consume as separate processes, then clean", async () => {
    const name = uniqueName("shell");
    const input = join(dir, "shell.in");
    const output = join(dir, "shell.out");
    writeFileSync(input, gen(500, "40x30"));
    const init = shmimg(["init", "--name", name, "--max-size", "40x30", "--max-format", "rgb24", "--slots", "4"]);
    expect(init.stderr).toContain(`pipeline "${name}" ready`);
    expect(init.code).toBe(0);
    expect(objectsOf(name).length).toBe(3);
    const consumer = spawnStage(["consume", "--name", name, "--output", output]);
    const workers = [spawnStage(["work", "--name", name, "--op", "grayscale,vflip"]), spawnStage(["work", "--name", name, "--op", "grayscale,vflip"])];
    const producer = spawnStage(["produce", "--name", name], { stdin: input });
    const codes = await Promise.all([producer.exited, consumer.exited, ...workers.map((w) => w.exited)]);
    expect(await new Response(consumer.stderr).text()).toContain("consume: 500 frames");
    expect(Buffer.compare(readFileSync(output), applyInProcess(readFileSync(input), "grayscale,vflip"))).toBe(0);
    expect(codes).toEqual([0, 0, 0, 0]);
    const clean = shmimg(["clean", "--name", name]);
    expect(clean.stderr).toContain("removed");
    expect(objectsOf(name)).toEqual([]);
    expect(shmimg(["clean", "--name", name]).code).toBe(0); // idempotent
  });

  test("init refuses a live pipeline of the same name; clean refuses it while stages are attached unless --force", async () => {
    const name = uniqueName("live");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
    const again = shmimg(["init", "--name", name, "--max-size", "8x8"]);
    expect(again.stderr).toMatch(/^ERROR: .*already exists/m);
    expect(again.code).toBe(2);
    const worker = spawnStage(["work", "--name", name, "--op", "invert"]);
    await waitFor(() => JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString()).live.workers === 1, 10_000, "the worker to attach");
    const refused = shmimg(["clean", "--name", name]);
    expect(refused.stderr).toMatch(/^ERROR: .*in use/m);
    expect(refused.code).toBe(2);
    const forced = shmimg(["clean", "--name", name, "--force"]);
    expect(forced.code).toBe(0);
    worker.kill("SIGKILL");
    await worker.exited;
    expect(objectsOf(name)).toEqual([]);
  });

  test("stages pointed at a missing pipeline exit 2 naming the call, errno and remedy", () => {
    for (const cmd of [["produce"], ["work", "--op", "invert"], ["consume"], ["stat"]]) {
      const r = shmimg([...cmd, "--name", uniqueName("missing")], { stdin: Buffer.alloc(0) });
      expect(r.stderr).toMatch(/^ERROR: semget\(key=0x5d[0-9a-f]+, .*ENOENT\. No pipeline named/m);
      expect(r.code).toBe(2);
    }
  });
});


describe("backpressure", () => {
  test("a slow consumer makes the producer wait; nothing is lost and the summary reports the blocked time", async () => {
    const input = join(dir, "bp.in");
    writeFileSync(input, gen(300, "64x64", "gray8"));
    const run = spawnShmimg(["run", "--workers", "2", "--op", "invert", "--slots", "4", "--input", input], { stdout: "pipe" });
    // Read the output slowly: 4 KiB every 2 ms.
    const reader = (run.stdout as ReadableStream<Uint8Array>).getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      chunks.push(r.value);
      await Bun.sleep(2 * Math.ceil(r.value.length / 4096)); // however much one read returned
    }
    const stderr = await new Response(run.stderr).text();
    const out = Buffer.concat(chunks);
    expect(Buffer.compare(out, applyInProcess(readFileSync(input), "invert"))).toBe(0);
    const blocked = Number(/producer blocked ([\d.]+) s/.exec(stderr)?.[1]);
    expect(blocked).toBeGreaterThan(0.05);
    expect(await run.exited).toBe(0);
  });

  test("--when-full drop skips frames while the ring is full, counts them, and the consumer sees the seq gaps", async () => {
    const input = join(dir, "drop.in");
    writeFileSync(input, gen(400, "64x64", "gray8"));
    const r = shmimg(["run", "--workers", "1", "--op", "blur:3", "--slots", "2", "--when-full", "drop", "--input", input]);
    const frames = parseNative(r.stdout);
    const dropped = Number(/(\d+) dropped/.exec(r.stderr)?.[1]);
    expect(frames.length + dropped).toBe(400);
    expect(dropped).toBeGreaterThan(0);
    const seqs = frames.map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // in order, gaps allowed
    expect(r.code).toBe(0);
  });

  test("--when-full fail stops at the first full ring with exit 3, delivering what was accepted", () => {
    const input = join(dir, "fail.in");
    writeFileSync(input, gen(400, "64x64", "gray8"));
    const r = shmimg(["run", "--workers", "1", "--op", "blur:3", "--slots", "2", "--when-full", "fail", "--input", input]);
    expect(r.stderr).toMatch(/^ERROR: raw ring full at frame seq \d+ \(--when-full fail\)/m);
    const frames = parseNative(r.stdout);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: frames.length }, (_, i) => i));
    expect(r.code).toBe(3);
  });
});

describe("partial and invalid input", () => {
  const good = () => gen(5, "8x4", "rgb24");

  test("input ending inside a payload: every complete frame is delivered, then exit 3 naming seq and byte counts", () => {
    const all = good();
    const cut = all.subarray(0, all.length - 10);
    const r = shmimg(["run", "--op", "identity"], { stdin: cut });
    expect(parseNative(r.stdout).length).toBe(4);
    expect(r.stderr).toMatch(/^ERROR: partial frame at seq 4: expected 96 bytes, got 86/m);
    expect(r.code).toBe(3);
  });

  test("input ending inside a header: exit 3, the frames before it delivered", () => {
    const all = good();
    const cut = Buffer.concat([all, all.subarray(0, 10)]);
    const r = shmimg(["run", "--op", "identity"], { stdin: cut });
    expect(parseNative(r.stdout).length).toBe(5);
    expect(r.stderr).toMatch(/^ERROR: partial frame at seq 5: expected 32 header bytes, got 10/m);
    expect(r.code).toBe(3);
  });

  const cases: [string, Buffer, RegExp][] = [
    ["bad magic", frame({ w: 8, h: 4, fmt: 2, seq: 5, len: 96 }, 96, 0x12345678), /native frame #5: field magic is 0x12345678/],
    ["unknown format", frame({ w: 8, h: 4, fmt: 9, seq: 5, len: 96 }), /seq 5 .*field format is 9/],
    ["zero width", frame({ w: 0, h: 4, fmt: 2, seq: 5, len: 0 }), /seq 5 .*field width is 0/],
    ["oversized height", frame({ w: 8, h: 70000, fmt: 1, seq: 5, len: 8 }, 8), /seq 5 .*field height is 70000/],
    ["length mismatch", frame({ w: 8, h: 4, fmt: 2, seq: 5, len: 95 }, 95), /seq 5 .*field length is 95, but 8x4 rgb24 needs 96/],
    ["frame larger than a slot", frame({ w: 16, h: 16, fmt: 2, seq: 5, len: 768 }), /frame seq 5: 16x16 rgb24 is 768 bytes, larger than a raw slot/],
  ];
  for (const [what, bad, re] of cases) {
    test(`invalid input (${what}): exit 2, one ERROR line naming seq and field, earlier frames delivered`, () => {
      const r = shmimg(["run", "--op", "invert"], { stdin: Buffer.concat([good(), bad]) });
      expect(parseNative(r.stdout).length).toBe(5);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR: "));
      expect(errors.length).toBe(1);
      expect(errors[0]).toMatch(re);
      expect(r.code).toBe(2);
    });
  }

  test("an op chain that refuses the frame's format stops the run with exit 2 naming the op", () => {
    const r = shmimg(["run", "--op", "sobel"], { stdin: good() });
    expect(r.stderr).toMatch(/^ERROR: .*sobel.*rgb24/m);
    expect(r.code).toBe(2);
  });
});

describe("the compiled binary", () => {
  test("runs from another directory on its own embedded copy of native/libshim.so, not the checkout's", async () => {
    const bin = join(ROOT, "shmimg");
    if (!existsSync(bin)) throw new Error("./shmimg is not built: run `make test`, which builds it first");
    const elsewhere = tmp("shmimg-bin-");
    const copy = join(elsewhere, "shmimg");
    copyFileSync(bin, copy);
    chmodSync(copy, 0o755);
    const g = Bun.spawnSync([copy, "gen", "--count", "20", "--size", "16x16"], { cwd: "/" });
    // TMPDIR: where each process writes its private copy of the library before dlopen.
    const run = Bun.spawn([copy, "run", "--workers", "2", "--op", "invert"], { cwd: "/", stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, TMPDIR: elsewhere } });
    notePid(run.pid);
    const maps = () => (existsSync(`/proc/${run.pid}/maps`) ? readFileSync(`/proc/${run.pid}/maps`, "utf8") : "");
    await waitFor(() => maps().includes(`${elsewhere}/shmimg-shim-`), 20_000, "the run to load its copy of the shim", maps);
    expect(maps()).not.toContain(join(ROOT, "native"));
    (run.stdin as import("bun").FileSink).write(g.stdout);
    await (run.stdin as import("bun").FileSink).end();
    const out = Buffer.from(await new Response(run.stdout).arrayBuffer());
    expect(Buffer.compare(out, applyInProcess(g.stdout as Buffer, "invert"))).toBe(0);
    expect(await run.exited).toBe(0);
  });
});

describe("demos", () => {
  test("golden demo: deterministic counts and checksum, OK line, exit 0, identical on every run", () => {
    const a = Bun.spawnSync([join(ROOT, "run_demo.sh"), "--mode=golden"], { cwd: ROOT });
    const b = Bun.spawnSync([join(ROOT, "run_demo.sh")], { cwd: ROOT });
    const out = a.stdout.toString();
    expect(out).toContain("frames in: 240");
    expect(out).toContain("frames out: 240");
    expect(out).toMatch(/OK: golden scenario completed\n$/);
    expect(b.stdout.toString()).toBe(out);
    expect(a.exitCode).toBe(0);
  });

  test("failure demo: prints the ERROR line and exit=2, exits 2", () => {
    const r = Bun.spawnSync([join(ROOT, "run_demo.sh"), "--mode=failure"], { cwd: ROOT });
    const out = r.stdout.toString();
    expect(out).toContain("ERROR: invalid input or unavailable IPC resource\n");
    expect(out).toMatch(/exit=2\n$/);
    expect(r.exitCode).toBe(2);
  });
});
