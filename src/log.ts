/**
 * Logging on stderr (stdout carries frames and --json): consola's `[info] ...`
 * and `[warn] ...` lines. ERROR lines are printed by the top level in the exact
 * form `ERROR: ...`.
 *
 * consola is loaded on the first line logged, not at start: its module set-up
 * (an Intl.Segmenter, ICU) cost every process ~1–3 ms of its start, and most
 * processes (stages under `run`, --quiet) never log a line.
 */
import type { ConsolaInstance } from "consola";

type Level = 1 | 3;

class Log {
  /** 1: warnings only (stages under `run`, --quiet); 3: info too. */
  level: Level = process.env.SHMIMG_QUIET ? 1 : 3;
  private impl: ConsolaInstance | undefined;

  info(...parts: unknown[]): void {
    if (this.level >= 3) this.consola().info(parts.map(String).join(" "));
  }

  warn(...parts: unknown[]): void {
    if (this.level >= 1) this.consola().warn(parts.map(String).join(" "));
  }

  private consola(): ConsolaInstance {
    if (!this.impl) {
      const { createConsola } = require("consola") as typeof import("consola");
      this.impl = createConsola(<Parameters<typeof createConsola>[0]>{
        stdout: process.stderr,
        stderr: process.stderr,
        level: this.level,
        fancy: false,
        formatOptions: { date: false, colors: false, compact: true },
      });
    }
    this.impl.level = this.level;
    return this.impl;
  }
}

export const log = new Log();

export function printError(message: string): void {
  process.stderr.write(`ERROR: ${message.replace(/\n/g, " ")}\n`);
}
