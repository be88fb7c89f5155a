/**
 * Starting the real executable from tests: the compiled ./shmimg when present
 * (make test builds it), else `bun src/cli.ts`. stdout, stderr and the exit
 * code are read together. Every process started here is remembered: its pid
 * marks the IPC objects it makes as the suite's (census.ts), and one still
 * running when the suite ends is SIGKILLed by the final hook (setup.ts).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
const compiled = join(ROOT, "shmimg");
/** How to start shmimg: the compiled binary if built, else the script. */
export const SHMIMG: string[] = existsSync(compiled) && !process.env.SHMIMG_FROM_SOURCE ? [compiled] : [BUN, join(ROOT, "src/cli.ts")];

export interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
  pid: number;
}

/** Pids of every process this suite started (the test runner included). */
export const suitePids = new Set<number>([process.pid]);

/** Records a process a test started without these helpers, so its objects count as the suite's. */
export function notePid(pid: number): void {
  suitePids.add(pid);
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
  notePid(r.pid);
  return { code: r.exitCode ?? 128 + 9, stdout: r.stdout as Buffer, stderr: r.stderr.toString(), pid: r.pid };
}

/** Runs a shell line (pipes between tools, closed or terminal descriptors); bash -o pipefail. */
export function sh(line: string, timeoutMs = 110_000): Result {
  const r = Bun.spawnSync(["bash", "-o", "pipefail", "-c", line], { stdout: "pipe", stderr: "pipe", cwd: ROOT, timeout: timeoutMs });
  notePid(r.pid);
  return { code: r.exitCode ?? 137, stdout: r.stdout as Buffer, stderr: r.stderr.toString(), pid: r.pid };
}

type Spawned = ReturnType<typeof Bun.spawn>;
const running = new Set<Spawned>();

/** Starts shmimg in the background (stderr piped). */
export function spawnShmimg(args: string[], opts: { stdin?: "pipe" | string; stdout?: "pipe" | "ignore"; env?: Record<string, string> } = {}) {
  const p = Bun.spawn([...SHMIMG, ...args], {
    stdin: opts.stdin === "pipe" ? "pipe" : opts.stdin ? Bun.file(opts.stdin) : "ignore",
    stdout: opts.stdout ?? "ignore",
    stderr: "pipe",
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
  });
  notePid(p.pid);
  running.add(p);
  p.exited.then(() => running.delete(p));
  return p;
}

/** SIGKILLs background processes that are still running; returns how many. */
export async function killStragglers(): Promise<number> {
  const left = [...running];
  for (const p of left) p.kill("SIGKILL");
  await Promise.all(left.map((p) => p.exited));
  return left.length;
}

/** Resolves when a line of `stream` matches `re`; throws (with what was read) after `ms`. */
export async function waitForLine(stream: ReadableStream<Uint8Array>, re: RegExp, ms: number): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (!re.test(text)) {
      const left = deadline - Date.now();
      const r = left > 0 ? await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]) : null;
      if (!r || r.done) throw new Error(`${r ? "stream ended" : `timed out after ${ms} ms`} waiting for ${re}; read: ${JSON.stringify(text)}`);
      text += new TextDecoder().decode(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

/** Waits (bounded) for a predicate, polling every 10 ms. */
export async function waitFor(pred: () => boolean, ms: number, what: string, explain?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${explain ? `:\n${explain()}` : ""}`);
    await Bun.sleep(10);
  }
}

const tempDirs: string[] = [];

/** A temporary directory, removed after the suite (setup.ts) or by removeTempDirs(). */
export function tmp(prefix = "shmimg-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
