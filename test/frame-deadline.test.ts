/**
 * The frame deadline (I11) times a claim from when it was made, never from
 * when the frame was published: a frame that waited in a full ring for longer
 * than --frame-timeout must not get its new claimer SIGKILLed in the few
 * instructions between the claim CAS and the claim stamp. Real pipeline, real
 * processes: a `sleep` child stands in for a worker caught in that window (its
 * slot CLAIMED, claimedUs not written yet), and recover() is asked what it
 * would do, as a stage's tick does.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { openPipeline, type Pipeline } from "../src/pipeline/ring/pipeline";
import { recover } from "../src/pipeline/ring/recovery";
import { packState, S, State, W, workerEntry } from "../src/pipeline/layout";
import { startTimeOf } from "../src/pipeline/ipc/proc";
import { shim } from "../src/native/shim";
import { objectsOf, shmimg, uniqueName } from "./helpers";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A pipeline (2 slots, --frame-timeout 1) with slot 0 CLAIMED by a live stand-in worker whose claim is not stamped yet. */
function caughtBetweenCasAndStamp(claimingAgoUs: number): { p: Pipeline; owner: ReturnType<typeof Bun.spawn> } {
  const name = uniqueName("deadline");
  expect(shmimg(["init", "--name", name, "--max-size", "8x8", "--max-format", "gray8", "--slots", "2", "--frame-timeout", "1"]).code).toBe(0);
  const owner = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
  const p = openPipeline(name);
  cleanup.push(() => {
    owner.kill("SIGKILL");
    p.detach();
    shmimg(["clean", "--name", name, "--force"]);
    expect(objectsOf(name)).toEqual([]);
  });
  const now = shim.shim_now_us();
  // The frame was published 5 s ago (it waited in the ring) ...
  p.setSlotF64(p.raw, 0, S.n, 0);
  p.setSlotF64(p.raw, 0, S.stamp, now - 5e6);
  p.setSlotF64(p.raw, 0, S.ownerStart, 0);
  p.setSlotF64(p.raw, 0, S.claimedUs, 0);
  // ... and the stand-in registered as a worker and claimed it `claimingAgoUs` ago, without stamping the slot.
  const b = workerEntry(0);
  p.setF64(b + W.start, startTimeOf(owner.pid));
  p.setF64(b + W.claimingUs, now - claimingAgoUs);
  p.setI32(b + W.pid, owner.pid);
  p.setState(p.raw, 0, packState(State.CLAIMED, owner.pid));
  return { p, owner };
}

describe("frame deadline (I11)", () => {
  test("a claim caught between its CAS and its stamp is timed from the claim, not from the frame's publish time", async () => {
    const { p, owner } = caughtBetweenCasAndStamp(1_000);
    const r = recover(p);
    expect(r.killed).toEqual([]);
    expect(p.state(p.raw, 0)).toBe(packState(State.CLAIMED, owner.pid));
    await Bun.sleep(50);
    expect(owner.exitCode).toBeNull(); // still running: not SIGKILLed
  });

  test("a claim caught there for longer than --frame-timeout is hung: its owner is SIGKILLed", async () => {
    const { p, owner } = caughtBetweenCasAndStamp(2e6);
    const r = recover(p);
    expect(r.killed.map((k) => k.pid)).toEqual([owner.pid]);
    expect(r.killed[0]!.heldS).toBeGreaterThan(1.5);
    await owner.exited;
    expect(owner.signalCode).toBe("SIGKILL");
  });
});
