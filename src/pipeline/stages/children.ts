/**
 * The stage processes `run` started: spawning them, waiting for the next one
 * to exit, and stopping them. A stop is SIGTERM, then SIGKILL for a child
 * still alive after STOP_GRACE_MS (stopped with SIGSTOP, or stuck), named in
 * a warning so the user learns which stage ignored SIGTERM.
 */
import type { Subprocess } from "bun";
import { log } from "../../log";
import { KEEP_IGNORED_ENV, keepIgnored } from "../../signals";
import { exitCodeOf, selfCommand } from "./spawn";

export type Role = "producer" | "worker" | "consumer";
export type Child = { role: Role; proc: Subprocess<any, any, any> };

export interface SpawnStdio {
  stdin: "inherit" | "ignore";
  stdout: "inherit" | "ignore" | "pipe";
}

/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 2000;

export class Children {
  private readonly live = new Set<Child>();
  /** Pids this supervisor stopped: their 143 is our doing, not a failure. */
  private readonly stopped = new Set<number>();
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private readonly self = selfCommand();
  /** Signals `run` inherited ignored; its stages keep them ignored too. */
  readonly keepIgnored = keepIgnored();
  private readonly env = { ...process.env, SHMIMG_QUIET: "1", [KEEP_IGNORED_ENV]: String(this.keepIgnored) };

  constructor(private readonly parentArgs: string[]) {}

  get size(): number {
    return this.live.size;
  }

  /** Starts `shmimg <args...> --parent-pid <run>` as a stage of `role`. */
  spawn(role: Role, args: string[], stdio: SpawnStdio, envDefaults: Record<string, string> = {}): Child {
    // envDefaults apply unless the user's environment sets the same variable.
    const proc = Bun.spawn([...this.self, ...args, ...this.parentArgs], { ...stdio, stderr: "inherit", env: { ...envDefaults, ...this.env } });
    const c: Child = { role, proc };
    this.live.add(c);
    return c;
  }

  /** Pids of the live children (of one role, or all). */
  pids(role?: Role): number[] {
    return [...this.live].filter((c) => !role || c.role === role).map((c) => c.proc.pid);
  }

  /** The next child to exit (removed from the live set), or undefined after `ms`. */
  async next(ms: number): Promise<Child | undefined> {
    // A cleared timer, not Bun.sleep: a pending sleep would keep the process
    // alive up to `ms` after the last child exited (Ctrl-C must end at once).
    let timer: Timer | undefined;
    const exited = await Promise.race([
      ...[...this.live].map((c) => c.proc.exited.then(() => c)),
      new Promise<undefined>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
    if (exited) this.live.delete(exited);
    return exited;
  }

  /** Did we stop this child (so its 143/130/4 is our decision)? */
  stoppedByUs(c: Child): boolean {
    return this.stopped.has(c.proc.pid);
  }

  /** SIGTERM now, SIGKILL after STOP_GRACE_MS if it is still there. */
  stop(c: Child): void {
    if (this.stopped.has(c.proc.pid)) return;
    this.stopped.add(c.proc.pid);
    c.proc.kill("SIGTERM");
    const t = setTimeout(() => {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
      log.warn(`run: ${c.role} pid ${c.proc.pid} ignored SIGTERM for ${STOP_GRACE_MS / 1000} s (stopped or stuck); sent SIGKILL`);
      c.proc.kill("SIGKILL");
    }, STOP_GRACE_MS);
    // Cleared as soon as the child is gone: a pending timer would keep `run`
    // alive for the whole grace after its last child exited.
    void c.proc.exited.then(() => clearTimeout(t));
    this.timers.push(t);
  }

  stopAll(): void {
    for (const c of this.live) this.stop(c);
  }

  /** Last resort on the way out: nothing we started outlives `run`. */
  killAll(): void {
    for (const c of this.live) c.proc.kill("SIGKILL");
    for (const t of this.timers) clearTimeout(t);
  }
}

export { exitCodeOf };
