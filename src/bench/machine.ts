/** What the numbers were measured on. */
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import pkg from "../../package.json" with { type: "json" };

export interface Machine {
  nproc: number;
  cpuModel: string;
  hypervisor: boolean;
  memTotalGiB: number;
  kernel: string;
  bun: string;
  shmimg: string;
  date: string;
}

export function describeMachine(): Machine {
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {}
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "";
  return {
    nproc: availableParallelism(),
    cpuModel: model,
    hypervisor: /\bhypervisor\b/.test(flags),
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    bun: Bun.version,
    shmimg: pkg.version,
    date: new Date().toISOString(),
  };
}

export function machineLine(m: Machine): string {
  return `${m.nproc} × ${m.cpuModel}${m.hypervisor ? " (VM)" : ""}, ${m.memTotalGiB} GiB, ${m.kernel}, bun ${m.bun}, shmimg ${m.shmimg}`;
}
