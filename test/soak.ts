/**
 * Soak (`make soak`; not part of `bun test`: the name does not end in .test.ts).
 *
 *   shmimg gen --count N --size 32x32 --format gray8 | shmimg run --workers 3 --op invert --json --output FILE
 *
 * while this script SIGKILLs a random worker of the run every ~0.5 s and
 * samples VmHWM / VmRSS of the run process and of every stage it started.
 * At the end it prints frames in/out, kills, frames redone, frames lost, two
 * checks (tee keeps a copy of the input): the input is gen's documented
 * pattern (regenerated here), and the output is every frame in seq order
 * 0..N-1 with payload = 255 - the input payload; and each process's peak
 * RSS at its first and last sample. Exits 1 when a frame was lost, the output
 * is wrong, the run failed, or an IPC object was left behind.
 *
 * Options: --frames N (default 1000000), --workers N (3), --kill-ms MS (500,
 * 0 = never kill), --seed S (1), --keep (keep the output file).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frameOffset, makePattern } from "../src/frame/gen";
import { objectsOf, ROOT, SHMIMG } from "./helpers";

// ------------------------------------------------------------------ options

function option(flag: string, def: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`soak: ${flag} needs a non-negative integer, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}
const FRAMES = option("--frames", 1_000_000);
const WORKERS = Math.max(1, option("--workers", 3));
const KILL_MS = option("--kill-ms", 500);
const SEED = option("--seed", 1);
const KEEP = process.argv.includes("--keep");
const W = 32;
const H = 32;
const LEN = W * H; // gray8
const FRAME_BYTES = 32 + LEN;
const SAMPLE_MS = 100;

// ------------------------------------------------------------------ /proc

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  return (readText(`/proc/${pid}/task/${pid}/children`) ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
}

function argsOf(pid: number): string[] {
  return (readText(`/proc/${pid}/cmdline`) ?? "").split("\0");
}

/** Process state letter (R, S, Z, ...), or "" when gone. */
function stateOf(pid: number): string {
  const s = readText(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(")") + 2, s.lastIndexOf(")") + 3) : "";
}

function alive(pid: number): boolean {
  const s = stateOf(pid);
  return s !== "" && s !== "Z" && s !== "X";
}

/** VmHWM and VmRSS in KiB, or undefined when the process is gone (or a zombie). */
function memOf(pid: number): { hwm: number; rss: number } | undefined {
  const s = readText(`/proc/${pid}/status`);
  if (!s) return undefined;
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(s);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(s);
  if (!hwm || !rss || Number(hwm[1]) === 0) return undefined; // gone, or still between fork and exec
  return { hwm: Number(hwm[1]), rss: Number(rss[1]) };
}

type Role = "run" | "producer" | "worker" | "consumer";

function roleOf(args: string[]): Role | undefined {
  if (args.includes("produce")) return "producer";
  if (args.includes("work")) return "worker";
  if (args.includes("consume")) return "consumer";
  return undefined;
}

interface Proc {
  pid: number;
  role: Role;
  first: { t: number; hwm: number; rss: number };
  /** The first sample at least 1 s after the first (start-up is over; for spotting growth). */
  warm?: { t: number; hwm: number; rss: number };
  last: { t: number; hwm: number; rss: number };
  killed: boolean;
}

// ------------------------------------------------------------------ run

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const dir = mkdtempSync(join(tmpdir(), "shmimg-soak-"));
const out = join(dir, "soak.out");
const inPath = join(dir, "soak.in");
const name = `soak-${process.pid}`;
const bin = SHMIMG.map(q).join(" ");
const line =
  `${bin} gen --count ${FRAMES} --size ${W}x${H} --format gray8 --seed ${SEED} | tee ${q(inPath)} | ` +
  `${bin} run --workers ${WORKERS} --op invert --name ${name} --json --output ${q(out)}; ` +
  `echo "soak-pipestatus \${PIPESTATUS[*]}" >&2`;

console.log(`soak: ${FRAMES} frames ${W}x${H} gray8 through \`run --workers ${WORKERS} --op invert\`, ${KILL_MS ? `a random worker SIGKILLed every ~${KILL_MS} ms` : "no kills"}`);
const t0 = performance.now();
const shell = Bun.spawn(["bash", "-c", line], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
const stdoutP = new Response(shell.stdout).text();
const stderrP = new Response(shell.stderr).text();
let shellDone = false;
void shell.exited.then(() => (shellDone = true));

let runPid = 0;
const stopRun = () => {
  if (runPid && alive(runPid)) process.kill(runPid, "SIGTERM");
  else shell.kill("SIGTERM");
};
process.on("SIGINT", stopRun);
process.on("SIGTERM", stopRun);

// The run process: bash's child whose arguments hold "run" and our name.
while (!runPid && !shellDone) {
  runPid = childrenOf(shell.pid!).find((c) => {
    const a = argsOf(c);
    return a.includes("run") && a.includes(name);
  }) ?? 0;
  if (!runPid) await Bun.sleep(5);
}

const procs = new Map<number, Proc>();
let kills = 0;
let killFailures = 0;
let samples = 0;

function sample(): void {
  const now = (performance.now() - t0) / 1000;
  const seen: [number, Role][] = [[runPid, "run"]];
  for (const c of childrenOf(runPid)) {
    const role = roleOf(argsOf(c));
    if (role) seen.push([c, role]);
  }
  for (const [pid, role] of seen) {
    const m = memOf(pid);
    if (!m) continue;
    const p = procs.get(pid);
    const s = { t: now, ...m };
    if (p) {
      p.last = s;
      if (!p.warm && now - p.first.t >= 1) p.warm = s;
    } else procs.set(pid, { pid, role, first: s, last: s, killed: false });
  }
  samples++;
}

function killOne(): void {
  const workers = childrenOf(runPid).filter((c) => roleOf(argsOf(c)) === "worker" && alive(c));
  if (!workers.length) return;
  const pid = workers[Math.floor(Math.random() * workers.length)]!;
  try {
    process.kill(pid, "SIGKILL");
    kills++;
    const p = procs.get(pid);
    if (p) p.killed = true;
    else procs.set(pid, { pid, role: "worker", first: { t: 0, hwm: 0, rss: 0 }, last: { t: 0, hwm: 0, rss: 0 }, killed: true });
  } catch {
    killFailures++; // it exited on its own between the listing and the kill
  }
}

let nextKill = performance.now() + KILL_MS;
let nextSample = performance.now();
while (!shellDone && runPid) {
  const now = performance.now();
  if (now >= nextSample) {
    sample();
    nextSample = now + SAMPLE_MS;
  }
  if (KILL_MS && now >= nextKill) {
    killOne();
    nextKill = now + KILL_MS * (0.8 + 0.4 * Math.random()); // ~0.5 s, jittered so kills hit every phase
  }
  await Bun.sleep(Math.max(1, Math.min(nextSample, KILL_MS ? nextKill : Infinity) - performance.now()));
}
await shell.exited;
const wallS = (performance.now() - t0) / 1000;
const stdout = await stdoutP;
const stderr = await stderrP;

// ------------------------------------------------------------------ results

const problems: string[] = [];
const pipestatus = /^soak-pipestatus (\d+) (\d+) (\d+)$/m.exec(stderr);
const [genCode, teeCode, runCode] = pipestatus ? [Number(pipestatus[1]), Number(pipestatus[2]), Number(pipestatus[3])] : [-1, -1, -1];
if (!runPid) problems.push("the run process was never seen");
if (genCode !== 0) problems.push(`gen exited ${genCode}`);
if (teeCode !== 0) problems.push(`tee exited ${teeCode}`);
if (runCode !== 0) problems.push(`run exited ${runCode}`);

let report: { framesIn: number; framesOut: number; redone: number; restarts: number; bytesOut: number; wallS: number; code: number } | undefined;
try {
  report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
} catch {
  problems.push(`no JSON report on stdout: ${JSON.stringify(stdout.slice(0, 300))}`);
}
const framesIn = report?.framesIn ?? NaN;
const framesOut = report?.framesOut ?? NaN;
const lost = framesIn - framesOut;
if (framesIn !== FRAMES) problems.push(`frames in ${framesIn}, expected ${FRAMES}`);
if (lost !== 0) problems.push(`${lost} frame(s) lost`);

// Frame by frame: the input (as tee saw it) must be gen's pattern, and the
// output must be seq 0..N-1 in order, 32x32 gray8, payload = 255 - input payload.
// Checked separately, so a wrong input is not blamed on the pipeline.
const tv = performance.now();
interface Check {
  frames: number;
  inputBad: number;
  firstInputBad?: string;
  error?: string;
}
function headerError(buf: Buffer, o: number, i: number): string | undefined {
  const magic = buf.readUInt32LE(o);
  const w = buf.readUInt32LE(o + 8);
  const h = buf.readUInt32LE(o + 12);
  const fmt = buf.readUInt32LE(o + 16);
  const len = buf.readUInt32LE(o + 20);
  const seq = Number(buf.readBigUInt64LE(o + 24));
  if (magic !== 0x464d4853 || buf.readUInt16LE(o + 4) !== 1 || buf.readUInt16LE(o + 6) !== 32 || w !== W || h !== H || fmt !== 1 || len !== LEN)
    return `frame #${i} (byte ${i * FRAME_BYTES}): bad header magic 0x${magic.toString(16)} ${w}x${h} fmt ${fmt} len ${len}`;
  if (seq !== i) return `frame #${i}: seq ${seq}, expected ${i} (order broken, or a frame lost or doubled)`;
  return undefined;
}
function readFull(fd: number, buf: Buffer, n: number): number {
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, null);
    if (r === 0) break;
    got += r;
  }
  return got;
}
const verify = (): Check => {
  const res: Check = { frames: 0, inputBad: 0 };
  for (const [what, path] of [["input", inPath], ["output", out]] as const) {
    let size = -1;
    try {
      size = statSync(path).size;
    } catch {}
    if (size !== FRAMES * FRAME_BYTES) return { ...res, error: `${what} has ${size} bytes, expected ${FRAMES} x ${FRAME_BYTES} = ${FRAMES * FRAME_BYTES}` };
  }
  const pattern = Buffer.from(makePattern(W, H, 1, SEED));
  const per = 16384;
  const inBuf = Buffer.alloc(per * FRAME_BYTES);
  const outBuf = Buffer.alloc(per * FRAME_BYTES);
  const inWords = new Uint32Array(inBuf.buffer, inBuf.byteOffset, inBuf.length >> 2);
  const inFd = openSync(inPath, "r");
  const outFd = openSync(out, "r");
  let i = 0;
  try {
    while (i < FRAMES) {
      const want = Math.min(per, FRAMES - i) * FRAME_BYTES;
      if (readFull(inFd, inBuf, want) !== want || readFull(outFd, outBuf, want) !== want) return { ...res, frames: i, error: `a file ends early after frame ${i}` };
      const i0 = i;
      for (let o = 0; o < want; o += FRAME_BYTES, i++) {
        const e = headerError(inBuf, o, i);
        if (e) return { ...res, frames: i, error: `input ${e}` };
        const off = frameOffset(i, LEN);
        if (Buffer.compare(inBuf.subarray(o + 32, o + 32 + LEN), pattern.subarray(off, off + LEN)) !== 0 && res.inputBad++ === 0)
          res.firstInputBad = `frame seq ${i}: the payload gen wrote differs from gen's pattern at offset ${off}`;
      }
      for (let k = 0; k < want >> 2; k++) inWords[k] = ~inWords[k]!; // 255 - v for every byte (headers are not compared)
      i = i0;
      for (let o = 0; o < want; o += FRAME_BYTES, i++) {
        const e = headerError(outBuf, o, i);
        if (e) return { ...res, frames: i, error: `output ${e}` };
        if (Buffer.compare(outBuf.subarray(o + 32, o + 32 + LEN), inBuf.subarray(o + 32, o + 32 + LEN)) !== 0) return { ...res, frames: i, error: `output frame seq ${i}: payload is not 255 - input payload` };
      }
      res.frames = i;
    }
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  return res;
};
const checked = verify();
const verifyS = (performance.now() - tv) / 1000;
if (checked.error) problems.push(checked.error);
if (checked.inputBad) problems.push(`gen wrote ${checked.inputBad} frame(s) whose payload is not its own pattern (a bug in gen, not in the pipeline); first: ${checked.firstInputBad}`);
if (!KEEP) rmSync(dir, { recursive: true, force: true });

const left = objectsOf(name);
if (left.length) problems.push(`IPC objects left behind: ${left.join(" | ")}`);
if (KILL_MS && wallS > (3 * KILL_MS) / 1000 && kills === 0) problems.push("no worker was killed");

// ------------------------------------------------------------------ print

const mib = (kib: number) => (kib / 1024).toFixed(1).padStart(8);
const all = [...procs.values()];
const order: Role[] = ["run", "producer", "consumer"];
const rows = all.filter((p) => order.includes(p.role)).sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
const workers = all.filter((p) => p.role === "worker");
const sampled = workers.filter((p) => p.first.t > 0);
const survivors = sampled.filter((p) => !p.killed).sort((a, b) => a.first.t - b.first.t);
const longest = [...sampled].sort((a, b) => b.last.t - b.first.t - (a.last.t - a.first.t)).slice(0, 3);
const runS = report?.wallS ?? wallS;

console.log(`  wall ${wallS.toFixed(1)} s (run ${runS.toFixed(1)} s: ${(framesOut / runS).toFixed(0)} frames/s); output check ${verifyS.toFixed(1)} s; ${samples} RSS samples every ${SAMPLE_MS} ms`);
console.log(`  frames in ${framesIn}, out ${framesOut}, lost ${lost}`);
console.log(`  kills sent ${kills}${killFailures ? ` (${killFailures} more found their worker already gone)` : ""}, worker restarts by run ${report?.restarts ?? "?"}, frames redone ${report?.redone ?? "?"}`);
console.log(
  `  input:  ${checked.inputBad ? `WRONG: ${checked.inputBad} of ${FRAMES} frames from gen differ from gen's pattern (first: ${checked.firstInputBad})` : `${checked.frames} frames from gen match gen's pattern`}`,
);
console.log(`  output: ${checked.error ? `WRONG after ${checked.frames} good frames: ${checked.error}` : `${checked.frames} frames verified: seq 0..${FRAMES - 1} in order, payload = 255 - input payload`}`);
console.log(`  gen exit ${genCode}, tee exit ${teeCode}, run exit ${runCode}; IPC objects left: ${left.length}`);
console.log(`  memory (MiB) at each process's first and last sample (t = seconds since start):`);
console.log(`    role       pid  first: t   HWM      RSS  | 1 s later: HWM  | last: t    HWM      RSS   note`);
const row = (p: Proc, note = "") =>
  console.log(
    `    ${p.role.padEnd(9)}${String(p.pid).padStart(8)}${p.first.t.toFixed(1).padStart(8)}${mib(p.first.hwm)} ${mib(p.first.rss)}  |${p.warm ? mib(p.warm.hwm) : "       -"}         |${p.last.t.toFixed(1).padStart(7)}${mib(p.last.hwm)} ${mib(p.last.rss)}   ${note}`,
  );
for (const p of rows) row(p);
for (const p of longest) row(p, `longest-lived worker${p.killed ? ", killed" : ""}`);
for (const p of survivors) if (!longest.includes(p)) row(p, "survived to the end");
if (sampled.length) {
  const stat = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return `${mib(xs[0]!).trim()} / ${mib(xs[xs.length >> 1]!).trim()} / ${mib(xs.at(-1)!).trim()}`;
  };
  console.log(
    `    all ${workers.length} workers (${workers.filter((p) => p.killed).length} killed, ${workers.length - sampled.length} never sampled): ` +
      `first HWM min/median/max ${stat(sampled.map((p) => p.first.hwm))}, last HWM ${stat(sampled.map((p) => p.last.hwm))}, last RSS ${stat(sampled.map((p) => p.last.rss))}`,
  );
}
const runLines = stderr.split("\n").filter((l) => /ERROR|run: \d+ frames/.test(l));
for (const l of runLines) console.log(`  ${l}`);

if (problems.length) {
  console.log(`SOAK FAILED:\n  ${problems.join("\n  ")}`);
  if (!runLines.length) console.log(stderr.split("\n").slice(-20).join("\n"));
  process.exit(1);
}
console.log("SOAK OK");
