/**
 * Logging on stderr (stdout carries frames and --json): `[info] ...` and
 * `[warn] ...` lines. ERROR lines are printed by the top level in the exact
 * form `ERROR: ...`. Hand-written rather than consola: consola's module set-up
 * (an Intl.Segmenter, ICU) cost every process ~1–3 ms of its start, and
 * shmimg only ever printed these two kinds of line.
 */
type Level = 1 | 3;

class Log {
  /** 1: warnings only (stages under `run`, --quiet); 3: info too. */
  level: Level = process.env.SHMIMG_QUIET ? 1 : 3;

  info(...parts: unknown[]): void {
    if (this.level >= 3) line("info", parts);
  }

  warn(...parts: unknown[]): void {
    if (this.level >= 1) line("warn", parts);
  }
}

function line(tag: string, parts: unknown[]): void {
  process.stderr.write(`[${tag}] ${parts.map(String).join(" ")}\n`);
}

export const log = new Log();

export function printError(message: string): void {
  process.stderr.write(`ERROR: ${message.replace(/\n/g, " ")}\n`);
}
