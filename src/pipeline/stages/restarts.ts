/**
 * How often `run` may replace a crashed stage: at most RESTARTS_PER_SECOND
 * per role (a faster death rate is slowed down, not refused).
 */
export const RESTARTS_PER_SECOND = 5;

export class RestartLimiter {
  private readonly times: number[] = [];

  /** Waits until one more restart fits in the last second, then counts it. */
  async acquire(): Promise<void> {
    const now = performance.now();
    while (this.times.length && now - this.times[0]! > 1000) this.times.shift();
    if (this.times.length >= RESTARTS_PER_SECOND) await Bun.sleep(1000 - (now - this.times[0]!));
    this.times.push(performance.now());
  }
}
