/**
 * The README's drawing of the shared layout is a copy of the one in
 * src/pipeline/layout.ts, and that drawing names the offsets the constants
 * define: a change to either that the other does not follow fails here.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { C, D, EV_DONE, EV_RAW_FREED, EV_WORK, H, LINE, MAX_WORKERS, P, PROC_SLOT_TABLE, R, RAW_SLOT_TABLE, S, WORKERS_OFF } from "../src/pipeline/layout";

const ROOT = join(import.meta.dir, "..");

/** layout.ts's drawing: its opening comment from "RAW SEGMENT" up to the line before "Frame n always lives". */
function layoutDrawing(): string {
  const text = readFileSync(join(ROOT, "src/pipeline/layout.ts"), "utf8");
  const lines = text.slice(0, text.indexOf("*/")).split("\n").map((l) => l.replace(/^ \* ?/, ""));
  const from = lines.findIndex((l) => l.includes("RAW SEGMENT"));
  const to = lines.findIndex((l) => l.startsWith("Frame n always lives"));
  return lines.slice(from, to).join("\n").trimEnd();
}

/** The README's copy: the first fenced block after "### Shared layout". */
function readmeDrawing(): string {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = text.slice(text.indexOf("### Shared layout"));
  const start = section.indexOf("```\n") + 4;
  return section.slice(start, section.indexOf("```", start)).trimEnd();
}

describe("the layout drawing", () => {
  test("README.md shows layout.ts's drawing of the segments, semaphores and slot entry, unchanged", () => {
    expect(readmeDrawing()).toBe(layoutDrawing());
  });

  test("the drawing's byte offsets are the constants' (segment lines and slot entry fields)", () => {
    const d = layoutDrawing();
    const lineAt = (label: string) => Number(new RegExp(`^ \\| (\\d+) +(?:line \\d+ +)?${label}`, "m").exec(d)?.[1]);
    expect(lineAt("PRODUCER line")).toBe(P.head);
    expect(lineAt("CONSUMER line")).toBe(3 * LINE);
    expect(C.pid).toBeGreaterThanOrEqual(3 * LINE);
    expect(lineAt("event RAW_FREED")).toBe(EV_RAW_FREED);
    expect(lineAt("event WORK")).toBe(EV_WORK);
    expect(lineAt("event DONE")).toBe(EV_DONE);
    expect(lineAt("RECOVERY line")).toBe(R.redone);
    expect(lineAt("DELIVERY record")).toBe(D.gen);
    expect(lineAt(`worker table: ${MAX_WORKERS} entries`)).toBe(WORKERS_OFF);
    expect(lineAt("raw slot table")).toBe(RAW_SLOT_TABLE);
    expect(lineAt("processed slot table")).toBe(PROC_SLOT_TABLE);
    expect(lineAt("pipeline name")).toBe(H.name);
    // Slot entry: "  8 n           f64 ..." and "24 w, 28 h, 32 format, 36 payload length".
    const entry = d.slice(d.indexOf("SLOT ENTRY"));
    const fields: Record<string, number> = {};
    for (const m of entry.matchAll(/(?:^|, ) *(\d+) (state|attempts|n|seq|w|h|format|payload length|stamp|ownerStart|claimedUs)\b/gm)) fields[m[2]!] = Number(m[1]);
    expect(fields).toEqual({ state: S.state, attempts: S.attempts, n: S.n, seq: S.seq, w: S.w, h: S.h, format: S.fmt, "payload length": S.len, stamp: S.stamp, ownerStart: S.ownerStart, claimedUs: S.claimedUs });
  });
});
