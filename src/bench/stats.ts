/** Statistics over the per-frame records of a latency file (io/latency-log.ts). */

/**
 * Steady delivery rate: frames from index `from` to the last over the time
 * between their deliveries (frames delivered in one batch share a time).
 */
export function steadyRate(at: Float64Array, from: number): { frames: number; seconds: number; fps: number } {
  const last = at.length - 1;
  if (from < 0 || from >= last) return { frames: 0, seconds: NaN, fps: NaN };
  const frames = last - from;
  const seconds = (at[last]! - at[from]!) / 1e6;
  return { frames, seconds, fps: seconds > 0 ? frames / seconds : NaN };
}

export interface LatencySummary {
  count: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

/** Nearest-rank percentiles over the samples (sorted copy; NaNs ignored). */
export function summarize(samples: Float64Array): LatencySummary {
  const s = Float64Array.from(samples.filter((x) => !Number.isNaN(x))).sort();
  const n = s.length;
  const at = (q: number) => (n === 0 ? NaN : s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return {
    count: n,
    minUs: n ? s[0]! : NaN,
    p50Us: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    p999Us: at(0.999),
    maxUs: n ? s[n - 1]! : NaN,
    meanUs: n ? sum / n : NaN,
  };
}
