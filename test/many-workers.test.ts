/**
 * Many hand-started workers on tiny frames (issue 14). The wake-up rules
 * (layout.ts E1-E3) hold wake-ups back while a worker is awake or a wake-up
 * is on its way. Workers that count as awake but are dead (SIGKILL) or
 * stopped (SIGSTOP) must not stall the stream: every frame is delivered
 * once, in order, and equals the op applied in-process.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyInProcess, objectsOf, shmimg, spawnShmimg, tmp, uniqueName, waitFor } from "./helpers";

const dir = tmp();
const FRAMES = 60_000;

function stat(name: string): any {
  const r = shmimg(["stat", "--name", name, "--json"]);
  return r.code === 0 ? JSON.parse(r.stdout.toString()) : undefined;
}

describe("many workers on tiny frames", () => {
  test("12 hand-started workers, 4 SIGKILLed and 2 SIGSTOPped mid-stream: every frame delivered once, in order, exact", async () => {
    const name = uniqueName("many");
    const data = shmimg(["gen", "--count", String(FRAMES), "--size", "4x4", "--format", "gray8", "--seed", "3"]).stdout;
    const input = join(dir, "many.in");
    const output = join(dir, "many.out");
    writeFileSync(input, data);
    expect(shmimg(["init", "--name", name, "--max-size", "4x4", "--max-format", "gray8", "--frame-timeout", "1"]).code).toBe(0);
    const consumer = spawnShmimg(["consume", "--name", name, "--output", output]);
    const workers = Array.from({ length: 12 }, () => spawnShmimg(["work", "--name", name, "--op", "invert"]));
    await waitFor(() => stat(name)?.live.workers === 12, 30_000, "12 workers attached");
    // Paced so that the stream lasts ~3 s and the kills land in the middle of it.
    const producer = spawnShmimg(["produce", "--name", name, "--input", input, "--fps", "20000"]);
    await waitFor(() => (stat(name)?.consumer.delivered ?? 0) > 5_000, 30_000, "5,000 frames delivered");
    const killed = workers.slice(0, 4);
    const stopped = workers.slice(4, 6);
    for (const w of killed) {
      w.kill("SIGKILL");
      await Bun.sleep(100);
    }
    for (const w of stopped) process.kill(w.pid, "SIGSTOP");
    const deliveredAtKills = stat(name)?.consumer.delivered ?? 0;
    expect(deliveredAtKills).toBeLessThan(FRAMES); // the kills happened while frames were still flowing
    // Liveness, not speed: a stream paced to ~3 s that stalls on held-back wake-ups would take minutes.
    const ended = await Promise.race([consumer.exited, Bun.sleep(30_000).then(() => "stalled")]);
    if (ended === "stalled") throw new Error(`stalled after ${stat(name)?.consumer.delivered} of ${FRAMES} frames:\n${shmimg(["stat", "--name", name]).stdout}`);
    expect(ended).toBe(0);
    expect(await producer.exited).toBe(0);
    // Output: every frame once, in order, inverted.
    expect(Buffer.compare(readFileSync(output), applyInProcess(data, "invert"))).toBe(0);
    // A stopped worker holding a frame was SIGKILLed after --frame-timeout 1 s; the others are still stopped.
    for (const w of stopped) {
      try {
        process.kill(w.pid, "SIGKILL");
      } catch {}
    }
    const codes = await Promise.all(workers.slice(6).map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    await Promise.all(workers.map((w) => w.exited));
    expect(shmimg(["clean", "--name", name]).code).toBe(0);
    expect(objectsOf(name)).toEqual([]);
  }, 120_000);
});
