/**
 * Logging: consola on stderr (stdout carries frames and --json). ERROR lines
 * are printed by the top level in the exact form `ERROR: ...`.
 */
import { createConsola } from "consola";

export const log = createConsola(<Parameters<typeof createConsola>[0]>{
  stdout: process.stderr,
  stderr: process.stderr,
  // Stages started by `run` print only warnings and errors; run reports for them.
  level: process.env.SHMIMG_QUIET ? 1 : 3,
  fancy: false,
  formatOptions: { date: false, colors: false, compact: true },
});

export function printError(message: string): void {
  process.stderr.write(`ERROR: ${message.replace(/\n/g, " ")}\n`);
}
