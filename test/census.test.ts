/**
 * The suite's leak check claims only what the suite made: on a shared
 * machine another user's or another checkout's pipeline must survive it.
 */
import { describe, expect, test } from "bun:test";
import { describeObject, objectsOf, ownedBySuite, uniqueName } from "./census";
import { ROOT, SHMIMG, shmimg, spawnShmimg, waitFor } from "./spawning";

/** init outside the helpers, as a stranger on the same machine would. */
function strangerInit(name: string): number {
  const r = Bun.spawnSync([...SHMIMG, "init", "--name", name, "--max-size", "8x8"], { cwd: ROOT, stderr: "pipe" });
  return r.exitCode;
}

describe("the IPC census", () => {
  test("a pipeline the suite did not start is not the suite's; one it named or whose creator it started is", () => {
    const stranger = `someone-else-x${Math.floor(Math.random() * 1e9).toString(36)}`;
    const named = uniqueName("census");
    const byCreator = `plain-x${Math.floor(Math.random() * 1e9).toString(36)}`;
    try {
      expect(strangerInit(stranger)).toBe(0);
      expect(shmimg(["init", "--name", named, "--max-size", "8x8"]).code).toBe(0);
      expect(shmimg(["init", "--name", byCreator, "--max-size", "8x8"]).code).toBe(0);
      const owned = new Set(ownedBySuite().map(describeObject));
      expect(objectsOf(stranger).length).toBe(3);
      expect(objectsOf(stranger).filter((o) => owned.has(o))).toEqual([]);
      expect(objectsOf(named).filter((o) => owned.has(o)).length).toBe(3);
      // A semaphore set has no creator pid: it follows its segments' key.
      expect(objectsOf(byCreator).filter((o) => owned.has(o)).length).toBe(3);
    } finally {
      for (const n of [stranger, named, byCreator]) shmimg(["clean", "--name", n]);
    }
    expect([stranger, named, byCreator].flatMap(objectsOf)).toEqual([]);
  });

  test("a run under its default name (run-PID) killed with SIGKILL leaves objects the census counts as the suite's", async () => {
    const run = spawnShmimg(["run", "--op", "invert"], { stdin: "pipe" });
    const name = `run-${run.pid}`;
    try {
      // One frame makes the rings; stdin stays open, so the run waits for more.
      (run.stdin as import("bun").FileSink).write(shmimg(["gen", "--count", "1", "--size", "8x8"]).stdout);
      await (run.stdin as import("bun").FileSink).flush();
      await waitFor(() => objectsOf(name).length === 3, 20_000, `${name}'s three objects`);
      run.kill("SIGKILL"); // no clean-up: its stages exit (parent death) and leave the objects
      await run.exited;
      const owned = new Set(ownedBySuite().map(describeObject));
      expect(objectsOf(name).filter((o) => owned.has(o)).length).toBe(3);
    } finally {
      await waitFor(() => shmimg(["clean", "--name", name]).code === 0, 20_000, `clean ${name}`);
    }
    expect(objectsOf(name)).toEqual([]);
  }, 60_000);
});
