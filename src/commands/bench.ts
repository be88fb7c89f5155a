import { defineCommand } from "citty";
import { existsSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidInput } from "../errors";
import { runBench } from "../bench/scenarios";
import { renderTable } from "../bench/report";
import { pipeMaxSize } from "../bench/sys";
import { SCENARIOS as TABLE } from "../bench/table";
import { num } from "./args";

const SCENARIOS = TABLE.map((s) => s.id);

/** A tmpfs with room for the frame files when there is one, else the temp dir. */
function defaultDir(): string {
  try {
    const s = statfsSync("/dev/shm");
    if (s.bavail * s.bsize > 4 * 2 ** 30) return "/dev/shm";
  } catch {}
  return tmpdir();
}

export const example = "shmimg bench --quick --json > bench.json";

export default defineCommand({
  meta: {
    name: "bench",
    description: "Measure the shm pipeline against a plain-pipe chain, pipe transport, memcpy and in-process ceilings (S1-S4, memory); see BENCHMARKS.md.",
  },
  args: {
    quick: { type: "boolean", description: "A ~30 s smoke version (fewer frames; numbers are indicative only).", default: false },
    json: { type: "boolean", description: "Print the results as JSON on stdout (the table then goes to stderr).", default: false },
    "max-workers": { type: "string", description: "S4 runs 1, 2, ... up to this many workers (default: number of CPUs, at least 2, at most 4).", valueHint: "N" },
    only: { type: "string", description: `Comma-separated scenarios to run: ${SCENARIOS.join(", ")} (default: all).`, valueHint: "LIST" },
    dir: { type: "string", description: "Directory for the frame files (default: /dev/shm when it has room, else the temp dir).", valueHint: "DIR" },
    "pipe-size": { type: "string", description: "Pipe buffer for the pipe chains, bytes (default: /proc/sys/fs/pipe-max-size; 0 = kernel default 64 KiB).", valueHint: "BYTES" },
    repeat: { type: "string", description: "Runs per throughput configuration; the best steady rate is kept (default 3, --quick 1).", valueHint: "N" },
    "run-timeout": { type: "string", description: "Stop a run that takes longer than this and count it as hung (default 60, --quick 20).", valueHint: "SECONDS" },
  },
  async run({ args }) {
    const cpus = navigator.hardwareConcurrency || 2;
    const maxWorkers = args["max-workers"] ? num(args["max-workers"], "max-workers", 1, 32) : Math.max(2, Math.min(cpus, 4));
    const only = new Set((args.only ?? "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean));
    for (const s of only) if (!SCENARIOS.includes(s)) throw new InvalidInput(`--only ${s}: not one of ${SCENARIOS.join(", ")}`);
    const pipeSize = args["pipe-size"] !== undefined ? num(args["pipe-size"], "pipe-size", 0, 1 << 30) : pipeMaxSize();
    const repeat = args.repeat !== undefined ? num(args.repeat, "repeat", 1, 20) : args.quick ? 1 : 3;
    const parent = args.dir ?? defaultDir();
    if (!existsSync(parent)) throw new InvalidInput(`--dir ${parent} does not exist`);
    const dir = mkdtempSync(join(parent, "shmimg-bench-"));
    const tty = !args.json && !!process.stderr.isTTY;
    const log = (line: string) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    try {
      const runTimeoutS = args["run-timeout"] !== undefined ? num(args["run-timeout"], "run-timeout", 0.1, 3600, false) : undefined;
      const result = await runBench({ quick: args.quick, dir, maxWorkers, pipeSize, repeat, only, nproc: cpus, runTimeoutS, log });
      if (tty) process.stderr.write("\r\x1b[K");
      result.dir = parent;
      const table = renderTable(result);
      if (args.json) {
        process.stderr.write(table);
        process.stdout.write(JSON.stringify(result, null, 1) + "\n");
      } else process.stdout.write(table);
      process.exitCode = result.errors.length ? 1 : 0;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
