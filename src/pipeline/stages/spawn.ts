/**
 * Starting stage processes of this same executable: the compiled binary runs
 * itself; in development `bun src/cli.ts` runs the script again.
 */
export function selfCommand(): string[] {
  const main = Bun.main;
  if (main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/")) return [process.execPath];
  return [process.execPath, main];
}

/** 128 + signal number for a child killed by a signal, else its exit code. */
export function exitCodeOf(proc: { exitCode: number | null; signalCode: NodeJS.Signals | string | number | null }): number {
  if (proc.exitCode !== null) return proc.exitCode;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15, SIGABRT: 6 };
  if (typeof proc.signalCode === "number") return 128 + proc.signalCode;
  return 128 + (signals[proc.signalCode ?? ""] ?? 0);
}
