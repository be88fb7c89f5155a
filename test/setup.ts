/**
 * Preloaded by bun test (bunfig.toml): after the whole suite, no System V
 * object of the suite's may remain (census.ts says which are the suite's; a
 * stranger's pipeline on the same machine is never touched). Whatever a
 * failed test left behind (background stages, objects) is killed and removed
 * first, so a red run does not leave the machine dirty, and then reported.
 * Temporary directories made through tmp() are removed.
 */
import { afterAll, expect } from "bun:test";
import { describeObject, removeObjects, suiteObjects } from "./census";
import { killStragglers, removeTempDirs } from "./spawning";

afterAll(async () => {
  const stragglers = await killStragglers();
  const left = suiteObjects();
  removeObjects(left);
  removeTempDirs();
  expect({ stragglers, left: left.map(describeObject) }).toEqual({ stragglers: 0, left: [] });
});
