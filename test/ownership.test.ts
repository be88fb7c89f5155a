/**
 * Whose objects are these (I10 in layout.ts): nothing is removed, recycled or
 * attached unless the kernel's owner and creator uid and our header say it
 * is ours; a creation in progress is never stale; a run removes only the
 * objects it created; a pipeline removed under running stages stops them;
 * rings larger than a segment can map are refused before anything exists.
 *
 * The other-user tests run as a throwaway user (useradd when root, removed
 * at the end); not root: they are skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keysFor, hexKey } from "../src/pipeline/ipc/keys";
import { BUN, objectsOf, ROOT, SHMIMG, shmimg, spawnShmimg, tmp, uniqueName, waitFor, waitForLine } from "./helpers";

const ADMIN = join(ROOT, "test/fixtures/ipc-admin.ts");

function stat(name: string, extra: string[] = []): any {
  const r = shmimg(["stat", "--name", name, "--json", ...extra]);
  return r.code === 0 ? JSON.parse(r.stdout.toString()) : undefined;
}

/** Runs test/fixtures/ipc-admin.ts (as `user` when given). */
function admin(args: string[], user?: string): { code: number; stderr: string } {
  const r = Bun.spawnSync([...(user ? asUserPrefix(user) : []), BUN, ADMIN, ...args], { cwd: ROOT, stderr: "pipe", stdout: "pipe" });
  return { code: r.exitCode ?? 137, stderr: r.stderr.toString() };
}

function asUserPrefix(user: string): string[] {
  return ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", "--"];
}

function procState(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    return s.slice(s.lastIndexOf(")") + 2, s.lastIndexOf(")") + 3);
  } catch {
    return "";
  }
}

/** fnv1a32 over ASCII, as keys.ts hashes `uid:name`. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A name whose keys for `uid` equal the keys of `name` for our uid (22 bits: a few million tries). */
function collidingName(name: string, uid: number): string {
  const want = fnv(`${process.getuid!()}:${name}`) & 0x00fffffc;
  for (let i = 0; ; i++) {
    const candidate = `c${i.toString(36)}`;
    if ((fnv(`${uid}:${candidate}`) & 0x00fffffc) === want) return candidate;
  }
}

describe("rings that cannot be mapped", () => {
  test("init of a ring over 4 GiB is refused before shmget with exit 2 naming the limit; nothing is left", () => {
    const name = uniqueName("huge");
    const r = shmimg(["init", "--name", name, "--max-size", "4096x4096", "--max-format", "rgba32", "--slots", "64"]);
    expect(r.stderr).toMatch(/^ERROR: pipeline ".*": the raw ring needs \d+ bytes \(64 slots x 67108864 B\), more than one segment can be mapped \(4294967296 bytes/m);
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(2);
  });

  /** 1 KB of input whose first header claims a 16384x16384 rgba32 frame (1 GiB). */
  const hugeClaim = (): Buffer => {
    const head = Buffer.alloc(1024);
    head.writeUInt32LE(0x464d4853, 0);
    head.writeUInt16LE(1, 4);
    head.writeUInt16LE(32, 6);
    head.writeUInt32LE(16384, 8);
    head.writeUInt32LE(16384, 12);
    head.writeUInt32LE(3, 16);
    head.writeUInt32LE(16384 * 16384 * 4, 20);
    return head;
  };

  test("a 1 KB input whose header claims 16384x16384 rgba32 with 4 slots is exit 2 for run (ring over the map limit); nothing is left", () => {
    const name = uniqueName("dos");
    const r = shmimg(["run", "--name", name, "--op", "invert", "--slots", "4"], { stdin: hugeClaim() });
    expect(r.stderr).toMatch(/^ERROR: .*more than one segment can be mapped/m);
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(2);
  });

  test("the same input with the default 3 slots for 2 workers (3 GiB, mapped lazily) ends at once with exit 3, a partial frame, not a denial of service; nothing is left", () => {
    const name = uniqueName("dos3");
    const t0 = performance.now();
    const r = shmimg(["run", "--name", name, "--op", "invert", "--workers", "2"], { stdin: hugeClaim() });
    expect(r.stderr.toString()).toMatch(/^ERROR: partial frame at seq 0: expected 1073741824 bytes, got 992/m);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(3);
  });

  test("a segment left with an all-zero header by a creator that died at once is ours to clean", () => {
    const name = uniqueName("zero");
    const keys = keysFor(name, process.getuid!());
    expect(admin(["shm-create", hexKey(keys.raw), "8192"]).code).toBe(0); // that process has exited
    const r = shmimg(["clean", "--name", name]);
    expect(r.stderr).toContain(`removed shm ${hexKey(keys.raw)}`);
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe("creations in progress", () => {
  test("a creation in progress is never stale: clean --stale and a second init leave it; killed, it is stale and removed", async () => {
    const name = uniqueName("creating");
    for (const ending of ["continue", "kill"] as const) {
      const first = spawnShmimg(["init", "--name", name, "--max-size", "8x8"], { env: { SHMIMG_FAULT_STOP_CREATING: "1" } });
      await waitFor(() => procState(first.pid) === "T", 20_000, "the creator to stop mid-creation");
      expect(objectsOf(name).length).toBe(3);
      const clean = shmimg(["clean", "--stale"]);
      expect(clean.code).toBe(0);
      expect(objectsOf(name).length).toBe(3);
      const second = shmimg(["init", "--name", name, "--max-size", "8x8"]);
      expect(second.stderr).toContain(`being created by pid ${first.pid}`);
      expect(second.code).toBe(2);
      expect(objectsOf(name).length).toBe(3);
      if (ending === "continue") {
        first.kill("SIGCONT");
        expect(await first.exited).toBe(0);
        expect(stat(name)?.slots).toBeGreaterThan(0);
        expect(shmimg(["clean", "--name", name]).code).toBe(0);
      } else {
        first.kill("SIGKILL");
        await first.exited;
        const stale = shmimg(["clean", "--stale"]);
        expect(stale.stderr).toContain(`stale pipeline "${name}"`);
      }
      expect(objectsOf(name)).toEqual([]);
    }
  }, 60_000);

  test("two concurrent inits of one name: one wins and its pipeline works, the other exits 2", async () => {
    for (let round = 0; round < 6; round++) {
      const name = uniqueName("race");
      const a = spawnShmimg(["init", "--name", name, "--max-size", "8x8"]);
      const b = spawnShmimg(["init", "--name", name, "--max-size", "8x8"]);
      const codes = [await a.exited, await b.exited].sort();
      expect(codes).toEqual([0, 2]);
      expect(stat(name)?.live).toEqual({ producers: 0, workers: 0, consumers: 0 });
      expect(shmimg(["clean", "--name", name]).code).toBe(0);
      expect(objectsOf(name)).toEqual([]);
    }
  }, 60_000);
});

describe("removal under running stages", () => {
  test("clean --force while stages run: workers and consumer exit 2 saying the pipeline was removed; the producer at end of stream", async () => {
    const name = uniqueName("removed");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8", "--max-format", "gray8"]).code).toBe(0);
    const frames = shmimg(["gen", "--count", "4", "--size", "8x8", "--format", "gray8"]).stdout;
    const consumer = spawnShmimg(["consume", "--name", name, "--output", "/dev/null"]);
    const workers = [spawnShmimg(["work", "--name", name, "--op", "invert"]), spawnShmimg(["work", "--name", name, "--op", "invert"])];
    const producer = spawnShmimg(["produce", "--name", name], { stdin: "pipe" });
    const sink = producer.stdin as import("bun").FileSink;
    sink.write(frames.subarray(0, 2 * (32 + 64)));
    await sink.flush();
    await waitFor(() => stat(name)?.consumer.delivered === 2 && stat(name).live.workers === 2, 20_000, "two frames delivered");
    const clean = shmimg(["clean", "--name", name, "--force"]);
    expect(clean.stderr).toMatch(/removed sem .*shm .*shm /);
    expect(objectsOf(name)).toEqual([]);
    expect(clean.code).toBe(0);
    const explain = () => `${JSON.stringify(stat(name))}\n${Bun.spawnSync(["ps", "-eo", "pid,ppid,stat,etime,wchan:20,args"]).stdout.toString().split("\n").filter((l) => l.includes(name)).join("\n")}`;
    for (const s of [consumer, ...workers]) {
      const err = await waitForLine(s.stderr as ReadableStream<Uint8Array>, /ERROR: /, 20_000).catch((e) => {
        throw new Error(`${e.message}\n${explain()}`);
      });
      expect(err).toMatch(/^ERROR: pipeline ".*" was removed while this stage was using it \(semaphore set semid \d+: (EIDRM|EINVAL)\)/m);
      expect(await s.exited).toBe(2);
    }
    // The producer, blocked reading its input, notices at end of stream (or at its next frame after an idle gap).
    sink.end();
    const err = await waitForLine(producer.stderr as ReadableStream<Uint8Array>, /ERROR: /, 20_000);
    expect(err).toMatch(/^ERROR: pipeline ".*" was removed while this stage was using it/m);
    expect(await producer.exited).toBe(2);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("a stage started for a run that is already dead stops itself (PDEATHSIG armed too late) instead of keeping the pipeline in use", async () => {
    const name = uniqueName("orphan");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
    // --parent-pid names a process that is not this stage's parent: as if `run` had died before the stage armed PR_SET_PDEATHSIG.
    const w = spawnShmimg(["work", "--name", name, "--op", "invert", "--parent-pid", "1"]);
    expect(await Promise.race([w.exited, Bun.sleep(20_000).then(() => "still running")])).toBe(143);
    expect(stat(name)?.live.workers).toBe(0);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("a run whose pipeline was removed and re-created under its name removes only what it created", async () => {
    const name = uniqueName("rerun");
    const run = spawnShmimg(["run", "--name", name, "--op", "invert"], { stdin: "pipe", stdout: "pipe" });
    const sink = run.stdin as import("bun").FileSink;
    sink.write(shmimg(["gen", "--count", "2", "--size", "8x8"]).stdout);
    await sink.flush();
    await waitFor(() => stat(name)?.consumer.delivered === 2, 20_000, "two frames delivered");
    // The supervisor is held still so its teardown comes after the new init, whatever its stages do meanwhile.
    run.kill("SIGSTOP");
    expect(shmimg(["clean", "--name", name, "--force"]).code).toBe(0);
    expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
    const newer = stat(name).shmids;
    run.kill("SIGCONT");
    sink.end();
    await run.exited;
    expect(stat(name)?.shmids).toEqual(newer);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);
});

describe("another user's objects", () => {
  const user = `shmimg-t${process.pid % 100000}`;
  let uid = -1;
  let skip = "";

  beforeAll(() => {
    if (process.getuid!() !== 0) {
      skip = "not root: cannot create a throwaway user";
      return;
    }
    const r = Bun.spawnSync(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], { stderr: "pipe" });
    if (r.exitCode !== 0) {
      skip = `useradd ${user} failed: ${r.stderr.toString().trim()}`;
      return;
    }
    uid = Number(Bun.spawnSync(["id", "-u", user]).stdout.toString());
  });

  afterAll(() => {
    if (uid >= 0) Bun.spawnSync(["userdel", user]);
  });

  /** shmimg as the other user (the compiled binary, or bun src/cli.ts, both world-readable). */
  const asUser = (args: string[]) => {
    const r = Bun.spawnSync([...asUserPrefix(user), ...SHMIMG, ...args], { cwd: tmp(), stdout: "pipe", stderr: "pipe", env: { ...process.env, TMPDIR: "/tmp" } });
    return { code: r.exitCode ?? 137, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  test("a key collision with another user's pipeline is reported naming the owner; clean (even --force), clean --stale and init leave it alone", () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const mine = uniqueName("coll");
    const theirs = collidingName(mine, uid);
    expect(keysFor(theirs, uid)).toEqual(keysFor(mine, 0));
    const made = asUser(["init", "--name", theirs, "--max-size", "8x8"]);
    expect(made.code).toBe(0);
    const before = objectsOf(mine).sort(); // our keys for `mine` are theirs for `theirs`
    expect(before.length).toBe(3);
    for (const args of [["clean", "--name", mine], ["clean", "--name", mine, "--force"], ["init", "--name", mine, "--max-size", "8x8"]]) {
      const r = shmimg(args);
      expect(r.stderr).toMatch(new RegExp(`^ERROR: .*owned by uid ${uid} \\(${user}\\).*key collision with another user's object`, "m"));
      expect(r.code).toBe(2);
    }
    expect(shmimg(["clean", "--stale"]).code).toBe(0);
    expect(objectsOf(mine).sort()).toEqual(before);
    expect(asUser(["stat", "--name", theirs]).code).toBe(0);
    expect(asUser(["clean", "--name", theirs]).code).toBe(0);
    expect(objectsOf(mine)).toEqual([]);
  }, 60_000);

  test("a semaphore set opened to others (mode 0666) and forged by another user is refused, not trusted", () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const name = uniqueName("semmode");
    const keys = keysFor(name, 0);
    expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
    expect(admin(["sem-mode", hexKey(keys.sems), "0666"]).code).toBe(0);
    expect(admin(["sem-setval", hexKey(keys.sems), "3", "1"], user).code).toBe(0); // CONSUMERS = 1, by the other user
    const r = shmimg(["consume", "--name", name, "--output", "/dev/null"]);
    expect(r.stderr).toMatch(/^ERROR: semaphore set key 0x[0-9a-f]+ semid \d+: mode 0666 is not one shmimg creates/m);
    expect(r.code).toBe(2);
    expect(shmimg(["clean", "--name", name, "--force"]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("a set created by another user and given to us is refused (creator uid)", () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const name = uniqueName("semcuid");
    const keys = keysFor(name, 0);
    expect(admin(["sem-create", hexKey(keys.sems), "4"], user).code).toBe(0);
    try {
      expect(admin(["sem-owner", hexKey(keys.sems), "0"], user).code).toBe(0);
      for (const args of [["init", "--name", name, "--max-size", "8x8"], ["clean", "--name", name, "--force"]]) {
        const r = shmimg(args);
        expect(r.stderr).toMatch(new RegExp(`^ERROR: semaphore set key 0x[0-9a-f]+ \\(semid \\d+\\) is owned by uid 0 \\(root\\), created by uid ${uid} \\(${user}\\)`, "m"));
        expect(r.code).toBe(2);
      }
      expect(objectsOf(name).length).toBe(1);
    } finally {
      // Not ours: the test removes it the way its owner would.
      Bun.spawnSync(["ipcrm", "-S", hexKey(keys.sems)]);
    }
    expect(objectsOf(name)).toEqual([]);
  });

  for (const mode of ["0640", "0604", "0660"]) {
    test(`a segment with mode ${mode} is refused on attach${mode === "0660" ? " unless --shared-group" : ""}`, () => {
      if (skip) return console.log(`skipped: ${skip}`);
      const name = uniqueName("shmmode");
      const keys = keysFor(name, 0);
      expect(shmimg(["init", "--name", name, "--max-size", "8x8"]).code).toBe(0);
      for (const key of [keys.raw, keys.processed]) expect(admin(["shm-mode", hexKey(key), mode]).code).toBe(0);
      if (mode === "0660") expect(admin(["sem-mode", hexKey(keys.sems), mode]).code).toBe(0);
      const r = shmimg(["work", "--name", name, "--op", "invert", "--timeout", "5"]);
      expect(r.stderr).toMatch(new RegExp(`^ERROR: (segment key 0x[0-9a-f]+ shmid \\d+|semaphore set key 0x[0-9a-f]+ semid \\d+): mode ${mode} is not one shmimg creates`, "m"));
      expect(r.code).toBe(2);
      if (mode === "0660") expect(stat(name, ["--shared-group"])?.slots).toBeGreaterThan(0);
      expect(shmimg(["clean", "--name", name]).code).toBe(0);
      expect(objectsOf(name)).toEqual([]);
    });
  }
});
