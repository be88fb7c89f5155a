/**
 * Preloaded by bun test (bunfig.toml): after the whole suite, no System V
 * object in shmimg's key space (0x5D......) may remain.
 */
import { afterAll, expect } from "bun:test";
import { ourIpcObjects } from "./helpers";

afterAll(() => {
  expect(ourIpcObjects()).toEqual([]);
});
