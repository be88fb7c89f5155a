/**
 * Bench scenario OPS: what each kind of op a user brings costs per frame, and
 * the same kernel in C against the built-in TS op. Measured in this process
 * through Chain.apply, i.e. exactly what a worker does between claim and
 * publish (the ring transport around it is the same for every kind and is
 * measured by S1/S2):
 *
 *   copy through each kind at 64x64 and 1920x1080 rgb24: a TS module
 *   (dst.set(src)), a native kernel (memcpy: examples/ops/libedge.so#fail_on
 *   with a value no byte has), exec:cat (a process per frame) and filter:cat
 *   (one process, a PNM stream), against dst.set(src) called directly;
 *   overhead = kind - direct copy.
 *
 *   sobel on 1920x1080 gray8: built-in TS `sobel` vs the C `edge` of
 *   examples/ops/edge.c (byte-identical output, checked here too).
 *
 * The native rows need `make examples`; without the library they are skipped
 * with a note.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Format, payloadBytes, type Geometry } from "../frame/format";
import { Chain, parseChain } from "../ops/chain";

import type { OpsSpec } from "./table";
import type { BenchConfig, OpsScenario } from "./types";

type OwnOpsResult = OpsScenario;

/** examples/ops/libedge.so next to the working directory or to this executable's checkout. */
function exampleLib(): string | undefined {
  for (const base of [process.cwd(), dirname(process.execPath), join(import.meta.dir, "../..")]) {
    const p = join(base, "examples/ops/libedge.so");
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Median ms of fn over at least `min` calls and about `budgetMs`, after 3 warm-up calls. */
function median(fn: () => void, budgetMs: number, min = 5): number {
  for (let i = 0; i < 3; i++) fn();
  const times: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs || times.length < min) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

function frame(g: Geometry): { src: Uint8Array; dst: Uint8Array } {
  const n = payloadBytes(g.w, g.h, g.fmt);
  const src = new Uint8Array(n);
  for (let i = 0; i < n; i++) src[i] = Math.imul(i, 0x9e3779b1) >>> 25; // < 128: fail_on:value=255 never fires
  return { src, dst: new Uint8Array(n) };
}

export function runOps(cfg: BenchConfig, spec: OpsSpec): OpsScenario {
  return measureOwnOps(cfg.quick, cfg.log, spec.id);
}

export function measureOwnOps(quick: boolean, log: (line: string) => void, id = "OPS"): OwnOpsResult {
  const budget = quick ? 150 : 600;
  const res: OwnOpsResult = { kind: "ops", id, title: `${id}: per-frame cost of each kind of op (in-process Chain.apply, median µs/frame; overhead = minus the direct copy)`, rows: [], notes: [] };
  const lib = exampleLib();
  if (!lib) res.notes.push("native rows skipped: examples/ops/libedge.so not found (run `make examples` in the checkout)");
  const dir = mkdtempSync(join(tmpdir(), "shmimg-ownops-"));
  const copyModule = join(dir, "copy.ts");
  writeFileSync(copyModule, `export default { name: "copy", formats: ["gray8", "rgb24", "rgba32"], apply(src, dst) { dst.set(src); } };\n`);
  try {
    for (const [w, h] of [
      [64, 64],
      [1920, 1080],
    ] as const) {
      const g: Geometry = { w, h, fmt: Format.rgb24 };
      const size = `${w}x${h} rgb24`;
      const { src, dst } = frame(g);
      const direct = median(() => dst.set(src), budget);
      res.rows.push({ what: "copy, direct dst.set(src) (baseline)", size, ms: direct });
      const kinds: [string, string][] = [
        ["TS module", copyModule],
        ...(lib ? ([["native kernel", `native:${lib}#fail_on:value=255`]] as [string, string][]) : []),
        ["exec:cat (process per frame)", "exec:cat"],
        ["filter:cat (one process, PNM stream)", "filter:cat"],
      ];
      for (const [what, spec] of kinds) {
        log(`OPS: ${what} ${size}`);
        const chain = new Chain(parseChain(spec));
        const ms = median(() => chain.apply(src, g, dst), budget, what.startsWith("exec") && w > 64 ? 3 : 5);
        if (Buffer.compare(Buffer.from(dst), Buffer.from(src)) !== 0) throw new Error(`${spec} did not copy the frame`);
        res.rows.push({ what: `copy through ${what}`, size, ms, overheadMs: ms - direct });
      }
    }
    if (lib) {
      const g: Geometry = { w: 1920, h: 1080, fmt: Format.gray8 };
      const { src } = frame(g);
      const outs: Uint8Array[] = [];
      let ts = 0;
      let c = 0;
      for (const [what, spec] of [
        ["sobel, built-in TS op", "sobel"],
        ["sobel, C kernel (examples/ops/edge.c)", `native:${lib}#edge`],
      ]) {
        log(`OPS: ${what}`);
        const chain = new Chain(parseChain(spec!));
        const dst = new Uint8Array(payloadBytes(g.w, g.h, g.fmt));
        const ms = median(() => chain.apply(src, g, dst), budget);
        outs.push(dst);
        if (spec === "sobel") ts = ms;
        else c = ms;
        res.rows.push({ what: what!, size: "1920x1080 gray8", ms });
      }
      if (Buffer.compare(Buffer.from(outs[0]!), Buffer.from(outs[1]!)) !== 0) res.notes.push("C edge and TS sobel outputs differ");
      res.cSpeedup = ts / c;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

export function ownOpsTable(r: OwnOpsResult): string[] {
  const out = [r.title, ""];
  const us = (ms: number) => (ms * 1000).toFixed(1).padStart(11);
  out.push(`${"op".padEnd(50)}${"frame".padEnd(17)}${"µs/frame".padStart(11)}${"overhead".padStart(11)}`);
  for (const row of r.rows) out.push(`${row.what.padEnd(50)}${row.size.padEnd(17)}${us(row.ms)}${row.overheadMs === undefined ? "" : us(row.overheadMs)}`);
  if (r.cSpeedup !== undefined) out.push("", `C kernel vs built-in TS op (sobel, 1080p gray8): ${r.cSpeedup.toFixed(2)}x`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out;
}

if (import.meta.main) {
  process.stdout.write(ownOpsTable(measureOwnOps(process.argv.includes("--quick"), (l) => process.stderr.write(`${l}\n`))).join("\n") + "\n");
}
