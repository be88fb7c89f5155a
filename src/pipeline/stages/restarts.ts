/**
 * How often `run` may replace a crashed stage, per role: at most
 * RESTARTS_PER_SECOND (a faster death rate is slowed down), and not at all
 * after MAX_FUTILE_RESTARTS replacements in a row that died without moving
 * the stream on (a stage that dies on start-up every time does not loop).
 */
export const RESTARTS_PER_SECOND = 5;
export const MAX_FUTILE_RESTARTS = 3;

export class RestartLimiter {
  private readonly times: number[] = [];
  private lastMark = Number.NaN;
  private futile = 0;

  /**
   * Waits until one more restart fits in the last second and counts it; false
   * when the last MAX_FUTILE_RESTARTS replacements left `mark` (the role's
   * progress: frames committed or delivered) where it was. Workers pass no mark.
   */
  async acquire(mark?: number): Promise<boolean> {
    if (mark !== undefined) {
      this.futile = mark === this.lastMark ? this.futile + 1 : 0;
      this.lastMark = mark;
      if (this.futile >= MAX_FUTILE_RESTARTS) return false;
    }
    const now = performance.now();
    while (this.times.length && now - this.times[0]! > 1000) this.times.shift();
    if (this.times.length >= RESTARTS_PER_SECOND) await Bun.sleep(1000 - (now - this.times[0]!));
    this.times.push(performance.now());
    return true;
  }
}
