/**
 * `shmimg bench`: runs the scenarios of the table (table.ts) that --only
 * selects, each by the runner for its kind, and checks the targets. A
 * scenario that fails is reported and the others still run.
 */
import { describeMachine } from "./machine";
import { Bench } from "./measure";
import { runLatency } from "./latency";
import { runMemory } from "./memory";
import { runThroughput } from "./throughput";
import { runShortJobs } from "./short-jobs";
import { runOversubscribed } from "./oversubscribed";
import { runOps } from "./own-ops";
import { SCENARIOS, type ScenarioSpec } from "./table";
import { evaluate } from "./targets";
import type { BenchConfig, BenchResult, ScenarioResult } from "./types";

export type * from "./types";

function runScenario(b: Bench, spec: ScenarioSpec): Promise<ScenarioResult> {
  switch (spec.kind) {
    case "throughput":
      return runThroughput(b, spec);
    case "latency":
      return runLatency(b, spec);
    case "memory":
      return runMemory(b, spec);
    case "shortjobs":
      return runShortJobs(b, spec);
    case "oversubscribed":
      return runOversubscribed(b, spec);
    case "ops":
      return Promise.resolve(runOps(b.cfg, spec));
  }
}

export async function runBench(cfg: BenchConfig): Promise<BenchResult> {
  const t0 = performance.now();
  const b = new Bench(cfg);
  const res: BenchResult = {
    machine: describeMachine(),
    quick: cfg.quick,
    dir: cfg.dir,
    pipeSize: cfg.pipeSize,
    feed: "every configuration reads the same pre-generated native file (stdin of the first process / run --input) and writes to /dev/null",
    scenarios: {},
    targets: [],
    totalS: 0,
    waitedS: 0,
    errors: b.errors,
    diagnostics: b.diagnostics,
  };
  const specs = SCENARIOS.filter((s) => cfg.only.size === 0 || cfg.only.has(s.id));
  for (const spec of specs) {
    try {
      res.scenarios[spec.id] = await runScenario(b, spec);
    } catch (e) {
      b.error(spec.id, (e as Error).message);
      cfg.log(`${spec.id}: FAILED: ${(e as Error).message}`);
    }
  }
  res.targets = evaluate(specs, res.scenarios);
  res.totalS = (performance.now() - t0) / 1000;
  res.waitedS = b.waitedS;
  return res;
}
