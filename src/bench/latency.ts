/**
 * Latency samples (µs) gathered in a stage and saved as a raw little-endian
 * Float64Array file, plus the percentile summary the bench prints.
 */
import { writeFileSync, readFileSync } from "node:fs";

/** Grow-only sample buffer; `add` is a bound arrow so it can be passed as a callback. */
export class LatencyLog {
  private buf = new Float64Array(4096);
  count = 0;

  add = (us: number): void => {
    if (this.count === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.count++] = us;
  };

  samples(): Float64Array {
    return this.buf.subarray(0, this.count);
  }

  save(path: string): void {
    const s = this.samples();
    writeFileSync(path, new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  }
}

export function loadSamples(path: string): Float64Array {
  const b = readFileSync(path);
  const copy = new Uint8Array(b.length - (b.length % 8));
  copy.set(b.subarray(0, copy.length));
  return new Float64Array(copy.buffer);
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

/** Nearest-rank percentiles over the samples (sorted copy). */
export function summarize(samples: Float64Array): LatencySummary {
  const s = Float64Array.from(samples).sort();
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
