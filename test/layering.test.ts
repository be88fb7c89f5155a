/**
 * The layers of src/ import only downward (README "Layout"):
 * src/pipeline/layout.ts <- ipc/ <- ring/ <- stages/ <- src/commands/, and
 * src/bench/ is a library that commands use, never the other way round.
 * Read from the source text: every `import ... from "..."` and `import("...")`.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** [file, imported file] pairs, both relative to src/ (relative imports only). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)"(\.[^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)));
}

const all = filesUnder(SRC).map((f) => ({ file: relative(SRC, f), imports: importsOf(f) }));

/** Files under `from` that import something under one of `banned`: "file -> import". */
function violations(from: string, banned: string[]): string[] {
  return all.filter((f) => f.file.startsWith(from)).flatMap((f) => f.imports.filter((i) => banned.some((b) => i.startsWith(b))).map((i) => `${f.file} -> ${i}`));
}

describe("layering", () => {
  test("the import scan sees the imports (stages import ring, commands import stages)", () => {
    expect(violations("pipeline/stages/", ["pipeline/ring/"]).length).toBeGreaterThan(0);
    expect(violations("commands/", ["pipeline/stages/"]).length).toBeGreaterThan(0);
  });

  test("pipeline/ipc imports neither ring/ nor stages/", () => {
    expect(violations("pipeline/ipc/", ["pipeline/ring/", "pipeline/stages/"])).toEqual([]);
  });

  test("pipeline/ring does not import stages/", () => {
    expect(violations("pipeline/ring/", ["pipeline/stages/"])).toEqual([]);
  });

  test("pipeline/layout.ts imports nothing of the pipeline's", () => {
    expect(violations("pipeline/layout.ts", ["pipeline/"])).toEqual([]);
  });

  test("nothing under src/pipeline imports src/commands", () => {
    expect(violations("pipeline/", ["commands/"])).toEqual([]);
  });

  test("src/bench does not import src/commands (commands use the bench library, not the other way round)", () => {
    expect(violations("bench/", ["commands/"])).toEqual([]);
  });

  test("no stage reads a single environment variable (fault injection is a hook set by the command layer)", () => {
    const reads = all.filter((f) => f.file.startsWith("pipeline/")).filter((f) => /process\.env(\.|\[)/.test(readFileSync(join(SRC, f.file), "utf8")));
    expect(reads.map((f) => f.file)).toEqual([]);
  });
});
