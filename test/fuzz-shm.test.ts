/**
 * Fuzz, the shared-memory half: the corruption patterns a hostile or buggy
 * process can leave in a live pipeline's segments (slot state words, slot
 * lengths, DONE everywhere, abort codes and seqs, end-of-stream codes),
 * written into a running pipeline (producer paced at 20 frames/s, two
 * workers, a consumer, all separate processes).
 *
 * Property: no hang. Every stage exits soon after the corruption (the issue
 * asks for 2 s; the bound asserted is generous because the machine is
 * shared, and the measured worst case is printed), with exit 2 (or the code
 * the planted abort reason documents), at least one ERROR line names the
 * corruption, no number read from the segment is printed unvalidated, and
 * `clean --force` leaves nothing.
 */
import { describe, expect, test } from "bun:test";
import { toArrayBuffer } from "bun:ffi";
import { keysFor } from "../src/pipeline/ipc/keys";
import { libc } from "../src/native/libc";
import { shim, shmStat } from "../src/native/shim";
import { Abort, EV_GEN, EV_WORK, LINE, P, PROC_SLOT_TABLE, R, RAW_SLOT_TABLE, S, State } from "../src/pipeline/layout";
import { objectsOf, ROOT, SHMIMG, shmimg, spawnShmimg, uniqueName, waitFor } from "./helpers";

const K = 8;
/** Generous: the property is "exits within 2 s"; a loaded 2-core machine gets slack. */
const EXIT_BOUND_MS = 20_000;

interface Mapped {
  raw: DataView;
  proc: DataView;
  rawI32: Int32Array;
  procI32: Int32Array;
  addrs: number[];
}

function mapPipeline(name: string): Mapped {
  const keys = keysFor(name, process.getuid!());
  const map = (key: number) => {
    const shmid = libc.shmget(key, 0, 0);
    const st = shmStat(shmid);
    if (typeof st === "number") throw new Error(`shmStat ${st}`);
    const addr = libc.shmat(shmid, null, 0);
    return { addr, buf: toArrayBuffer(addr, 0, st.segsz) };
  };
  const r = map(keys.raw);
  const p = map(keys.processed);
  return { raw: new DataView(r.buf), proc: new DataView(p.buf), rawI32: new Int32Array(r.buf), procI32: new Int32Array(p.buf), addrs: [r.addr, p.addr] };
}

/** A corruption: writes into the mapped segments; `codes` are the exits the stages may end with. */
interface Pattern {
  what: string;
  apply(m: Mapped): void;
  codes: number[];
  /** Text some stage's ERROR line must contain. */
  says: RegExp;
}

const rawSlot = (i: number) => RAW_SLOT_TABLE + i * LINE;
const procSlot = (i: number) => PROC_SLOT_TABLE + i * LINE;

function wakeWorkers(m: Mapped, addr: number): void {
  Atomics.add(m.rawI32, (EV_WORK + EV_GEN) >> 2, 1);
  shim.shim_futex_wake(addr + EV_WORK + EV_GEN, 0x7fffffff);
}

const PATTERNS: Pattern[] = [
  {
    what: "a raw slot state word held at 0xFFFFFFFF",
    apply: (m) => {
      // Slot head+3 is FREE now and the producer will not reach it for ~150 ms.
      const head = m.raw.getFloat64(P.head, true);
      Atomics.store(m.rawI32, rawSlot((head + 3) % K) >> 2, -1);
    },
    codes: [2],
    says: /corrupt raw slot \d+ .*state word 0xffffffff/,
  },
  {
    what: "a READY raw state word with owner bits",
    apply: (m) => {
      const head = m.raw.getFloat64(P.head, true);
      Atomics.store(m.rawI32, rawSlot((head + 3) % K) >> 2, (0x1234 << 4) | State.READY);
    },
    codes: [2],
    says: /corrupt raw slot \d+ .*ownerless state with owner bits/,
  },
  {
    what: "a processed state word that is no state (7)",
    apply: (m) => {
      Atomics.store(m.procI32, procSlot(5) >> 2, 7);
    },
    codes: [2],
    says: /corrupt processed slot 5 .*holds state 7/,
  },
  {
    what: "every processed slot set to DONE once",
    apply: (m) => {
      for (let i = 0; i < K; i++) Atomics.store(m.procI32, procSlot(i) >> 2, State.DONE);
    },
    codes: [2],
    says: /corrupt (processed slot \d+|cursors)/,
  },
  {
    what: "a READY raw frame whose length does not match its geometry",
    apply: (m) => {
      const head = m.raw.getFloat64(P.head, true);
      const n = head + 3;
      const b = rawSlot(n % K);
      m.raw.setFloat64(b + S.n, n, true);
      m.raw.setFloat64(b + S.seq, n, true);
      m.raw.setUint32(b + S.w, 8, true);
      m.raw.setUint32(b + S.h, 8, true);
      m.raw.setUint32(b + S.fmt, 1, true);
      m.raw.setUint32(b + S.len, 0xfffffff0, true);
      Atomics.compareExchange(m.rawI32, b >> 2, State.FREE, State.READY);
      wakeWorkers(m, m.addrs[0]!);
    },
    codes: [2],
    says: /corrupt raw slot \d+ .*field length 4294967280/,
  },
  {
    what: "an abort code no stage writes (99)",
    apply: (m) => {
      Atomics.store(m.rawI32, R.abort >> 2, 99);
    },
    codes: [2],
    says: /abort code 99 is not one shmimg writes/,
  },
  {
    what: "a poisoned-frame abort whose seq is not a frame number",
    apply: (m) => {
      m.raw.setFloat64(R.abortSeqF, 5.17e-307, true);
      Atomics.store(m.rawI32, R.abort >> 2, Abort.POISONED);
    },
    codes: [4],
    says: /a frame \(its recorded seq is not a frame number/,
  },
  {
    what: "an end-of-stream code no producer writes (99)",
    apply: (m) => {
      Atomics.store(m.rawI32, P.eos >> 2, 99);
    },
    codes: [2],
    says: /end-of-stream code 99 is not one shmimg writes/,
  },
];

function stat(name: string): any {
  const r = shmimg(["stat", "--name", name, "--json"]);
  return r.code === 0 ? JSON.parse(r.stdout.toString()) : undefined;
}

async function corruptLive(pattern: Pattern): Promise<{ ms: number; codes: number[]; stderr: string }> {
  const name = uniqueName("shmfuzz");
  expect(shmimg(["init", "--name", name, "--max-size", "8x8", "--max-format", "gray8", "--slots", String(K)]).code).toBe(0);
  const stages = [
    spawnShmimg(["consume", "--name", name, "--output", "/dev/null"]),
    spawnShmimg(["work", "--name", name, "--op", "invert"]),
    spawnShmimg(["work", "--name", name, "--op", "invert"]),
  ];
  const cmd = `${SHMIMG.join(" ")} gen --count 1000000 --size 8x8 --format gray8 2>/dev/null | exec ${SHMIMG.join(" ")} produce --name ${name} --fps 20`;
  const producer = Bun.spawn(["bash", "-c", cmd], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
  stages.push(producer as any);
  const stderrs = stages.map((s) => new Response(s.stderr as ReadableStream).text());
  let m: Mapped | undefined;
  try {
    await waitFor(() => (stat(name)?.consumer.delivered ?? 0) >= 3 && stat(name).live.workers === 2, 20_000, "the pipeline to run");
    m = mapPipeline(name);
    const t0 = performance.now();
    pattern.apply(m);
    const exits: number[] = [];
    const codes = await Promise.race([
      Promise.all(
        stages.map(async (s) => {
          const c = await s.exited;
          exits.push(performance.now() - t0);
          return c;
        }),
      ),
      Bun.sleep(EXIT_BOUND_MS).then(() => undefined),
    ]);
    if (!codes) throw new Error(`${pattern.what}: ${stages.length - exits.length} stage(s) still running ${EXIT_BOUND_MS / 1000} s after the corruption:\n${JSON.stringify(stat(name))}`);
    return { ms: Math.max(...exits), codes, stderr: (await Promise.all(stderrs)).join("") };
  } finally {
    for (const s of stages) s.kill("SIGKILL");
    await Promise.all(stages.map((s) => s.exited));
    if (m) for (const a of m.addrs) libc.shmdt(a);
    shmimg(["clean", "--name", name, "--force"]);
    expect(objectsOf(name)).toEqual([]);
  }
}

describe("fuzz: shared memory", () => {
  test(`corruption of a live pipeline (${PATTERNS.length} patterns: slot states, lengths, DONE everywhere, abort codes, eos) stops every stage with a documented code; no hang`, async () => {
    const times: string[] = [];
    const failures: string[] = [];
    for (const pattern of PATTERNS) {
      const r = await corruptLive(pattern);
      times.push(`${pattern.what}: ${r.ms.toFixed(0)} ms`);
      const problems: string[] = [];
      if (!r.codes.every((c) => pattern.codes.includes(c))) problems.push(`exit codes ${JSON.stringify(r.codes)}, want only ${JSON.stringify(pattern.codes)}`);
      if (!pattern.says.test(r.stderr)) problems.push(`no ERROR line matching ${pattern.says}`);
      if (/e-30\d/.test(r.stderr)) problems.push("an unvalidated number from the segment was printed");
      if (!/^ERROR: /m.test(r.stderr)) problems.push("no ERROR line");
      if (problems.length) failures.push(`${pattern.what}: ${problems.join("; ")}\n${r.stderr}`);
    }
    console.log(`fuzz shm: every stage exited after the corruption within (worst stage per pattern):\n  ${times.join("\n  ")}`);
    expect(failures).toEqual([]);
  }, 300_000);
});
