/**
 * Test helpers: run the real executable (the compiled ./shmimg when present,
 * else `bun src/cli.ts`), read stdout/stderr/exit together, list our IPC
 * objects with `ipcs`, and apply an op chain in-process for comparisons.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Chain, parseChain } from "../src/ops/chain";
import { NATIVE_HEADER, decodeHeader } from "../src/formats/native";
import { payloadBytes, type Geometry } from "../src/frame/format";

export const ROOT = resolve(import.meta.dir, "..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
const compiled = join(ROOT, "shmimg");
/** How to start shmimg: the compiled binary if built (make test builds it), else the script. */
export const SHMIMG: string[] = existsSync(compiled) && !process.env.SHMIMG_FROM_SOURCE ? [compiled] : [BUN, join(ROOT, "src/cli.ts")];

export interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs shmimg with args; stdin from a file path, a Buffer, or nothing. */
export function shmimg(args: string[], opts: { stdin?: string | Buffer; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Result {
  let stdin: any = "ignore";
  if (typeof opts.stdin === "string") stdin = Bun.file(opts.stdin);
  else if (opts.stdin) stdin = opts.stdin;
  const r = Bun.spawnSync([...SHMIMG, ...args], {
    stdin,
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 110_000,
  });
  return { code: r.exitCode ?? 128 + 9, stdout: r.stdout as Buffer, stderr: r.stderr.toString() };
}

type Spawned = ReturnType<typeof Bun.spawn>;
const spawned = new Set<Spawned>();

/**
 * Starts shmimg in the background (stderr piped). Every process started here
 * is SIGKILLed by the suite's final hook if a failed test left it running.
 */
export function spawnShmimg(args: string[], opts: { stdin?: "pipe" | string; stdout?: "pipe" | "ignore"; env?: Record<string, string> } = {}) {
  const p = Bun.spawn([...SHMIMG, ...args], {
    stdin: opts.stdin === "pipe" ? "pipe" : opts.stdin ? Bun.file(opts.stdin) : "ignore",
    stdout: opts.stdout ?? "ignore",
    stderr: "pipe",
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
  });
  spawned.add(p);
  p.exited.then(() => spawned.delete(p));
  return p;
}

/** SIGKILLs background processes that are still running; returns how many. */
export async function killStragglers(): Promise<number> {
  const left = [...spawned];
  for (const p of left) p.kill("SIGKILL");
  await Promise.all(left.map((p) => p.exited));
  return left.length;
}

/** Applies a chain op by op through fresh exact-size buffers (no Chain, no slots): an independent path. */
export function applyOpByOp(spec: string, g: Geometry, input: Uint8Array): [Uint8Array, Geometry] {
  let cur = input;
  let cg = g;
  for (const op of parseChain(spec)) {
    const og = op.out(cg);
    const next = new Uint8Array(payloadBytes(og.w, og.h, og.fmt));
    op.apply(cur, cg, next, og);
    cur = next;
    cg = og;
  }
  return [cur, cg];
}

/** Resolves after `ms` or when a stderr line matches (null = just wait ms while draining). */
export async function waitForLine(stream: ReadableStream<Uint8Array>, re: RegExp | null, ms: number): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const r = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
      if (!r || r.done) break;
      text += new TextDecoder().decode(r.value);
      if (re && re.test(text)) break;
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

/** Runs a shell line (for pipes between tools). */
export function sh(line: string, timeoutMs = 110_000): Result {
  const r = Bun.spawnSync(["bash", "-o", "pipefail", "-c", line], { stdout: "pipe", stderr: "pipe", cwd: ROOT, timeout: timeoutMs });
  return { code: r.exitCode ?? 137, stdout: r.stdout as Buffer, stderr: r.stderr.toString() };
}

export function tmp(prefix = "shmimg-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Keys of System V objects in shmimg's key space (top byte 0x5D), from `ipcs`. */
export function ourIpcObjects(): string[] {
  const out = Bun.spawnSync(["ipcs", "-m", "-s"]).stdout.toString();
  return out.split("\n").filter((l) => /^0x5d/i.test(l.trim()));
}

/** Removes the objects ourIpcObjects() lists (after a failed test). */
export function removeIpcObjects(lines: string[]): void {
  for (const l of lines) {
    const [, id] = l.trim().split(/\s+/);
    const isSem = l.trim().split(/\s+/).length === 5; // key semid owner perms nsems
    Bun.spawnSync(["ipcrm", isSem ? "-s" : "-m", id!]);
  }
}

/** Objects whose key belongs to pipeline `name` (keysFor). */
export function objectsOf(name: string): string[] {
  const { keysFor } = require("../src/pipeline/ipc/keys") as typeof import("../src/pipeline/ipc/keys");
  const k = keysFor(name, process.getuid!());
  const hex = [k.raw, k.processed, k.sems].map((x) => "0x" + (x >>> 0).toString(16).padStart(8, "0"));
  return ourIpcObjects().filter((l) => hex.some((h) => l.trim().startsWith(h)));
}

export function uniqueName(tag: string): string {
  return `t-${tag}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
}

/** Splits a native stream into frames. */
export function parseNative(buf: Uint8Array): { w: number; h: number; fmt: number; seq: number; payload: Uint8Array }[] {
  const frames = [];
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const info = decodeHeader(buf, off, i++, { w: 0, h: 0, fmt: 1, seq: 0, len: 0 });
    const payload = buf.subarray(off + NATIVE_HEADER, off + NATIVE_HEADER + info.len);
    frames.push({ w: info.w, h: info.h, fmt: info.fmt, seq: info.seq, payload });
    off += NATIVE_HEADER + info.len;
  }
  return frames;
}

/** Applies `spec` to every frame of a native stream in this process (the reference output). */
export function applyInProcess(input: Uint8Array, spec: string): Buffer {
  const { encodeHeader } = require("../src/formats/native") as typeof import("../src/formats/native");
  const chain = new Chain(parseChain(spec));
  const parts: Uint8Array[] = [];
  for (const f of parseNative(input)) {
    const g = chain.out({ w: f.w, h: f.h, fmt: f.fmt as 1 });
    const len = payloadBytes(g.w, g.h, g.fmt);
    const out = new Uint8Array(NATIVE_HEADER + len);
    chain.apply(f.payload, { w: f.w, h: f.h, fmt: f.fmt as 1 }, out.subarray(NATIVE_HEADER));
    encodeHeader(out, 0, { w: g.w, h: g.h, fmt: g.fmt, seq: f.seq, len });
    parts.push(out);
  }
  return Buffer.concat(parts);
}

export function readBytes(path: string): Buffer {
  return readFileSync(path);
}

/** Waits (bounded) for a predicate, polling every 10 ms. */
export async function waitFor(pred: () => boolean, ms: number, what: string, explain?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${explain ? `:\n${explain()}` : ""}`);
    await Bun.sleep(10);
  }
}
