/**
 * The test helpers, by concern: spawning.ts (starting shmimg, waiting for
 * events, temp dirs), census.ts (which IPC objects are the suite's),
 * reference.ts (reference implementations), procs.ts (process trees).
 * Import from here or from the module itself.
 */
export * from "./spawning";
export * from "./census";
export * from "./reference";
