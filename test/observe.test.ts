import { describe, expect, test } from "bun:test";
import { objectsOf, ROOT, SHMIMG, shmimg, spawnShmimg, uniqueName, waitFor } from "./helpers";

describe("watching a pipeline", () => {
  test("stat shows geometry, live stages, slot owners and cursors of a pipeline started in other shells", async () => {
    const name = uniqueName("stat");
    expect(shmimg(["init", "--name", name, "--max-size", "16x16", "--max-format", "gray8", "--slots", "3"]).code).toBe(0);
    const worker = Bun.spawn([...SHMIMG, "work", "--name", name, "--op", "invert"], { cwd: ROOT, stderr: "pipe" });
    const json = () => JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString());
    await waitFor(() => json().live.workers === 1, 10_000, "the worker to attach");
    const s = json();
    expect(s.slots).toBe(3);
    expect(s.maxGeometry).toBe("16x16 gray8");
    expect(s.workers.map((w: any) => [w.pid, w.alive])).toEqual([[worker.pid, true]]);
    expect(s.slotStates.map((x: any) => x.raw)).toEqual(["FREE", "FREE", "FREE"]);
    expect(s.producer.eos).toBe("streaming");
    const text = shmimg(["stat", "--name", name]).stdout.toString();
    expect(text).toContain(`pipeline "${name}"`);
    expect(text).toContain("live stages: producers 0, workers 1, consumers 0");
    expect(text).toMatch(/slot +raw state/);
    worker.kill("SIGTERM");
    expect(await worker.exited).toBe(143);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("a worker that starts after another has finished does not take over its table entry (its counts stay readable)", async () => {
    const name = uniqueName("late");
    expect(shmimg(["init", "--name", name, "--max-size", "16x16", "--max-format", "gray8", "--slots", "4"]).code).toBe(0);
    const first = spawnShmimg(["work", "--name", name, "--op", "invert"]);
    const consumer = spawnShmimg(["consume", "--name", name, "--output", "/dev/null"]);
    expect(shmimg(["produce", "--name", name], { stdin: shmimg(["gen", "--count", "40", "--size", "16x16", "--format", "gray8"]).stdout }).code).toBe(0);
    expect(await consumer.exited).toBe(0);
    expect(await first.exited).toBe(0);
    expect(shmimg(["work", "--name", name, "--op", "invert"]).code).toBe(0); // nothing left: registers and exits
    const workers = JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString()).workers.map((w: any) => [w.pid, w.frames]);
    expect(workers).toContainEqual([first.pid, 40]);
    expect(workers.length).toBe(2);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  });

  test("stat shows a stopped worker as stopped, not alive, and how long its frame has been claimed", async () => {
    const name = uniqueName("stopped");
    expect(shmimg(["init", "--name", name, "--max-size", "2048x2048", "--max-format", "rgb24", "--slots", "2"]).code).toBe(0);
    // A frame slow enough (40 x gaussian on 2048x2048) to find its worker holding it.
    const worker = spawnShmimg(["work", "--name", name, "--op", Array(40).fill("gaussian").join(",")]);
    const json = () => JSON.parse(shmimg(["stat", "--name", name, "--json"]).stdout.toString());
    try {
      await waitFor(() => json().live.workers === 1, 20_000, "the worker to attach");
      expect(shmimg(["produce", "--name", name], { stdin: shmimg(["gen", "--count", "1", "--size", "2048x2048", "--format", "rgb24"]).stdout }).code).toBe(0);
      await waitFor(() => json().slotStates.some((x: any) => x.raw === "CLAIMED"), 20_000, "the worker to claim the frame");
      worker.kill("SIGSTOP");
      await waitFor(() => json().workers[0].state === "stopped", 20_000, "stat to show the worker stopped");
      const s = json();
      const claimed = s.slotStates.find((x: any) => x.raw === "CLAIMED");
      expect(claimed.rawOwner).toBe(worker.pid);
      expect(claimed.claimAgeS).toBeGreaterThanOrEqual(0);
      expect(claimed.claimAgeS).toBeLessThan(600);
      const text = shmimg(["stat", "--name", name]).stdout.toString();
      expect(text).toMatch(new RegExp(`pid ${worker.pid} stopped `));
      expect(text).toMatch(new RegExp(`CLAIMED \\(${worker.pid}\\).* \\d+\\.\\d s ago`));
    } finally {
      worker.kill("SIGKILL");
      await worker.exited;
    }
    expect(shmimg(["clean", "--name", name, "--force"]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);

  test("--verbose logs every IPC call with arguments and result", () => {
    const name = uniqueName("verbose");
    const r = shmimg(["init", "--name", name, "--max-size", "8x8", "--verbose"]);
    expect(r.stderr).toMatch(/\[ipc \d+\] semget\(0x5d[0-9a-f]+, 4, 1920\) = \d+/);
    expect(r.stderr).toMatch(/\[ipc \d+\] shmget\(0x5d[0-9a-f]+, \d+, 1920\) = \d+/);
    expect(r.stderr).toMatch(/\[ipc \d+\] shmat\(\d+, NULL, 0\) = 0x[0-9a-f]+/);
    const missing = shmimg(["stat", "--name", uniqueName("nope"), "--verbose"]);
    expect(missing.stderr).toMatch(/semget\(0x5d[0-9a-f]+, 4, 0\) = -1 ENOENT/);
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(r.code).toBe(0);
  });

  test("run --json reports frames, bytes, time, per-worker counts, blocked time and redone frames", () => {
    const gen = shmimg(["gen", "--count", "300", "--size", "16x16"]);
    const out = `/tmp/shmimg-json-${process.pid}.out`;
    const r = shmimg(["run", "--workers", "2", "--op", "invert", "--output", out, "--json"], { stdin: gen.stdout });
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.framesIn).toBe(300);
    expect(rep.framesOut).toBe(300);
    expect(rep.bytesOut).toBe(300 * (32 + 768));
    expect(Object.values(rep.perWorker).reduce((a: number, b: any) => a + b, 0)).toBe(300);
    expect(rep.wallS).toBeGreaterThan(0);
    expect(typeof rep.producerBlockedS).toBe("number");
    expect(rep.redone).toBe(0);
    expect(r.stderr).toMatch(/run: 300 frames in, 300 out .* frames\/s/);
    expect(r.code).toBe(0);
  });
});
