/**
 * Measuring on a shared machine: before each run, wait (within a budget)
 * until other processes leave the CPUs alone; run each configuration
 * --repeat times and keep the best, repeating runs that other processes
 * disturbed; record failed attempts as incidents. One Bench per `shmimg bench`.
 */
import { join } from "node:path";
import { LIMITS, sized } from "./table";
import { machineBusyS } from "./proc-stats";
import type { RunResult } from "./runners";
import type { BenchConfig } from "./types";

/** Before a run, wait while other processes use at least this share of the CPUs ... */
const QUIET_SHARE = 0.1;
/** ... for at most this long over the whole bench. */
const QUIET_BUDGET_S = 60;
/** A run during which other processes used more than this share of the CPUs is repeated. */
const DISTURBED = 0.15;

export interface Measured {
  r?: RunResult;
  error?: string;
  incidents: string[];
}

export class Bench {
  readonly errors: string[] = [];
  /** Full messages of failed attempts (with `shmimg stat` of a hung run). */
  readonly diagnostics: string[] = [];
  /** Per run: a run that takes longer is stopped and counted as hung. */
  readonly timeoutS: number;
  /** The memory ceiling's measuring time. */
  readonly memcpyS: number;
  private files = 0;
  private quietLeftS: number;
  /** Seconds spent waiting for other processes to calm down. */
  waitedS = 0;

  constructor(readonly cfg: BenchConfig) {
    this.timeoutS = cfg.runTimeoutS ?? sized(LIMITS.timeoutS, cfg.quick);
    this.memcpyS = sized(LIMITS.memcpyS, cfg.quick);
    this.quietLeftS = cfg.quick ? 5 : QUIET_BUDGET_S;
  }

  /** A new file name in the bench's directory. */
  file(tag: string, ext: string): string {
    return join(this.cfg.dir, `${tag}-${process.pid}-${++this.files}.${ext}`);
  }

  /** Records a failure that leaves a configuration without numbers. */
  error(what: string, message: string): void {
    this.errors.push(`${what}: ${message}`);
  }

  /**
   * Waits (from a budget of QUIET_BUDGET_S for the whole bench) until other
   * processes use less than QUIET_SHARE of the CPUs, sampled over 250 ms: the
   * bench often shares its machine (builds, test suites).
   */
  async quiet(): Promise<void> {
    while (this.quietLeftS > 0) {
      const b0 = machineBusyS();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await Bun.sleep(250);
      const c = process.cpuUsage(c0);
      const s = (performance.now() - t0) / 1000;
      const share = (machineBusyS() - b0 - (c.user + c.system) / 1e6) / (s * this.cfg.nproc);
      if (share < QUIET_SHARE) return;
      this.quietLeftS -= s;
      this.waitedS += s;
    }
  }

  /**
   * Runs a configuration `times` (--repeat) times and keeps the best (highest
   * `score`; default: shortest wall), preferring runs during which other
   * processes used less than DISTURBED of the CPUs: a disturbed run is
   * repeated (at most `times` extra runs). A failed or hung attempt is
   * recorded as an incident and retried once; when no attempt succeeds the
   * row carries the error.
   */
  async measure(what: string, fn: () => Promise<RunResult>, times = this.cfg.repeat, score: (r: RunResult) => number = (r) => -r.wallS): Promise<Measured> {
    const incidents: string[] = [];
    const clean: RunResult[] = [];
    const disturbed: RunResult[] = [];
    let failed = 0;
    while (clean.length < times && clean.length + disturbed.length < 2 * times && failed < 2) {
      await this.quiet();
      try {
        const r = await fn();
        if (r.foreignCpuS / (r.wallS * this.cfg.nproc) > DISTURBED) {
          disturbed.push(r);
          this.cfg.log(`${what}: other processes used ${((100 * r.foreignCpuS) / (r.wallS * this.cfg.nproc)).toFixed(0)}% of the CPUs; measuring again`);
        } else clean.push(r);
      } catch (e) {
        failed++;
        const full = (e as Error).message;
        const msg = full.split("\n")[0]!.slice(0, 400);
        incidents.push(msg);
        this.diagnostics.push(`${what}: ${full}`);
        this.cfg.log(`${what}: attempt failed: ${msg}`);
      }
    }
    const pool = clean.length ? clean : disturbed;
    if (!pool.length) {
      const error = incidents[incidents.length - 1] ?? "failed";
      this.errors.push(`${what}: ${error}`);
      return { error, incidents };
    }
    const best = pool.reduce((a, r) => (score(r) > score(a) ? r : a));
    return { r: best, incidents };
  }
}
