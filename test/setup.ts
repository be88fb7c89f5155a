/**
 * Preloaded by bun test (bunfig.toml): after the whole suite, no System V
 * object in shmimg's key space (0x5D......) may remain. Whatever a failed test
 * left behind (background stages, objects) is killed and removed first, so a
 * red run does not leave the machine dirty, and then reported.
 */
import { afterAll, expect } from "bun:test";
import { killStragglers, ourIpcObjects, removeIpcObjects } from "./helpers";

afterAll(async () => {
  const stragglers = await killStragglers();
  const left = ourIpcObjects();
  removeIpcObjects(left);
  expect({ stragglers, left }).toEqual({ stragglers: 0, left: [] });
});
