/**
 * Messages that say what happened (issue 9, item 15): who a waiting stage is
 * really waiting for, a producer timeout that is not "invalid input", and one
 * ERROR line per cause under run.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { shmimg, spawnShmimg, tmp, uniqueName, waitFor, waitForLine } from "./helpers";
import { childrenOf, cmdline } from "./procs";

const dir = tmp();
const frames = (n: number, size = "8x8") => shmimg(["gen", "--count", String(n), "--size", size, "-q"]).stdout;
const errorLines = (text: string) => text.split("\n").filter((l) => l.startsWith("ERROR: "));
const statJson = (name: string) => {
  const r = shmimg(["stat", "-n", name, "--json"]);
  return r.code === 0 ? JSON.parse(r.stdout.toString()) : undefined;
};

/** The rest of a stream whose reader waitForLine released. */
async function readRest(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  return text;
}

describe("messages that do not mislead", () => {
  test("a worker held up by a stopped consumer says it waits for the consumer, not for a frame", async () => {
    const name = uniqueName("stopped-consumer");
    expect(shmimg(["init", "-n", name, "--max-size", "8x8", "--slots", "4", "-q"]).code).toBe(0);
    const consumer = spawnShmimg(["consume", "-n", name, "-o", join(dir, "sc.out")]);
    try {
      await waitFor(() => statJson(name)?.live.consumers === 1, 30_000, "the consumer joined");
      consumer.kill("SIGSTOP");
      const input = join(dir, "sc.shm");
      await Bun.write(input, frames(12));
      const feed = spawnShmimg(["produce", "-n", name, "-i", input]);
      const r = shmimg(["work", "-n", name, "--op", "invert", "--timeout", "1"]);
      expect(r.stderr).toMatch(/^ERROR: worker timed out after 1 s waiting for the consumer to free processed slot \d+ \(frame n=\d+ is ready; the consumer pid \d+ is stopped\)/m);
      expect(r.stderr).not.toContain("waiting for a frame to process");
      expect(r.code).toBe(4);
      feed.kill("SIGKILL");
      await feed.exited;
    } finally {
      consumer.kill("SIGCONT");
      consumer.kill("SIGKILL");
      await consumer.exited;
      shmimg(["clean", "-n", name, "--force"]);
    }
  });

  test("a producer that times out ends the stream as 'producer timed out', not 'invalid input'", async () => {
    const name = uniqueName("producer-timeout");
    expect(shmimg(["init", "-n", name, "--max-size", "8x8", "--slots", "4", "-q"]).code).toBe(0);
    try {
      // No worker: the ring fills after 4 frames and the producer gives up.
      const produce = shmimg(["produce", "-n", name, "--timeout", "1"], { stdin: frames(10) });
      expect(produce.stderr).toMatch(/^ERROR: producer timed out after 1 s waiting for a free raw slot/m);
      expect(produce.code).toBe(4);
      const worker = spawnShmimg(["work", "-n", name, "--op", "invert"]);
      const consume = shmimg(["consume", "-n", name, "-o", join(dir, "pt.out")]);
      expect(consume.stderr).toMatch(/^ERROR: stream incomplete \(producer timed out after seq 3\)/m);
      expect(consume.stderr).not.toContain("invalid input");
      expect(consume.code).toBe(3);
      expect(await worker.exited).toBe(0);
    } finally {
      shmimg(["clean", "-n", name, "--force"]);
    }
  });

  test("under run, one stopped producer gives one timeout ERROR line (not one per waiting stage)", async () => {
    const name = uniqueName("stopped-producer");
    const input = join(dir, "sp.shm");
    await Bun.write(input, frames(300));
    const run = spawnShmimg(["run", "-w", "2", "--fps", "20", "--timeout", "1", "-i", input, "-o", join(dir, "sp.out"), "-n", name]);
    let producer = 0;
    try {
      await waitFor(() => (producer = childrenOf(run.pid).find((c) => cmdline(c).includes("produce")) ?? 0) > 0, 30_000, "run's producer");
      await waitFor(() => (statJson(name)?.producer.published ?? 0) >= 2, 30_000, "frames published");
      process.kill(producer, "SIGSTOP");
      const stderr = await waitForLine(run.stderr as ReadableStream<Uint8Array>, /timed out/, 30_000);
      // Let the stopped producer go so run can finish (its SIGTERM waits for it).
      process.kill(producer, "SIGCONT");
      const rest = await readRest(run.stderr as ReadableStream<Uint8Array>);
      const code = await run.exited;
      const all = stderr + rest;
      expect(errorLines(all)).toHaveLength(1);
      expect(all).toMatch(/^ERROR: (worker timed out after 1 s waiting for a frame to process \(the producer pid \d+ is stopped\)|consumer timed out after 1 s)/m);
      expect(code).toBe(4);
    } finally {
      try {
        if (producer) process.kill(producer, "SIGCONT");
      } catch {} // already gone
    }
  });

  test("an op error that every worker hits is printed once", () => {
    const r = shmimg(["run", "-w", "2", "--op", "crop:100x100+0+0", "-o", join(dir, "crop.out")], { stdin: frames(20, "64x64") });
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^ERROR: op "crop:100x100\+0\+0": the rectangle 100x100/m);
    expect(r.code).toBe(2);
  });
});
