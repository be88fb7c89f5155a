/**
 * The stage processes `run` started: spawning them, waiting for the next one
 * to exit, and stopping them (SIGTERM).
 */
import type { Subprocess } from "bun";
import { exitCodeOf, selfCommand } from "./spawn";

export type Role = "producer" | "worker" | "consumer";
export type Child = { role: Role; proc: Subprocess<any, any, any> };

export interface SpawnStdio {
  stdin: "inherit" | "ignore";
  stdout: "inherit" | "ignore" | "pipe";
}

export class Children {
  private readonly live = new Set<Child>();
  /** Pids this supervisor stopped: their 143 is our doing, not a failure. */
  private readonly stopped = new Set<number>();
  private readonly self = selfCommand();
  private readonly env = { ...process.env, SHMIMG_QUIET: "1" };

  constructor(private readonly parentArgs: string[]) {}

  get size(): number {
    return this.live.size;
  }

  /** Starts `shmimg <args...> --parent-pid <run>` as a stage of `role`. */
  spawn(role: Role, args: string[], stdio: SpawnStdio): Child {
    const proc = Bun.spawn([...this.self, ...args, ...this.parentArgs], { ...stdio, stderr: "inherit", env: this.env });
    const c: Child = { role, proc };
    this.live.add(c);
    return c;
  }

  /** The next child to exit (removed from the live set), or undefined after `ms`. */
  async next(ms: number): Promise<Child | undefined> {
    const exited = await Promise.race([...[...this.live].map((c) => c.proc.exited.then(() => c)), Bun.sleep(ms).then(() => undefined)]);
    if (exited) this.live.delete(exited);
    return exited;
  }

  /** Did we stop this child (so its 143/130/4 is our decision)? */
  stoppedByUs(c: Child): boolean {
    return this.stopped.has(c.proc.pid);
  }

  stop(c: Child): void {
    this.stopped.add(c.proc.pid);
    c.proc.kill("SIGTERM");
  }

  stopAll(): void {
    for (const c of this.live) this.stop(c);
  }

  /** Last resort on the way out: nothing we started outlives `run`. */
  killAll(): void {
    for (const c of this.live) c.proc.kill("SIGKILL");
  }
}

export { exitCodeOf };
