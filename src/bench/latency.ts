/**
 * Per-frame records gathered in the last stage of a pipeline and saved as a
 * raw little-endian Float64Array file of pairs: (latency µs = delivery minus
 * the producer's publish stamp, or NaN without stamps; delivery time µs,
 * CLOCK_MONOTONIC). The delivery times give the steady throughput of a run
 * (frames delivered between two moments, no start-up or tear-down in it);
 * the latencies give the percentiles.
 */
import { writeFileSync, readFileSync } from "node:fs";
import { shim } from "../native/shim";

/** Grow-only record buffer; `add` is a bound arrow so it can be passed as a callback. */
export class LatencyLog {
  private buf = new Float64Array(8192);
  count = 0;

  /** One delivered frame: its latency (NaN when unknown), stamped with the delivery time now. */
  add = (us: number): void => {
    if (2 * this.count + 2 > this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    const i = 2 * this.count++;
    this.buf[i] = us;
    this.buf[i + 1] = shim.shim_now_us();
  };

  save(path: string): void {
    const s = this.buf.subarray(0, 2 * this.count);
    writeFileSync(path, new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  }
}

export interface Deliveries {
  /** Latency per frame, µs (NaN when the frames carried no stamp). */
  lat: Float64Array;
  /** Delivery time per frame, µs (CLOCK_MONOTONIC). */
  at: Float64Array;
}

export function loadDeliveries(path: string): Deliveries {
  const b = readFileSync(path);
  const n = Math.floor(b.length / 16);
  const all = new Float64Array(2 * n);
  new Uint8Array(all.buffer).set(b.subarray(0, 16 * n));
  const lat = new Float64Array(n);
  const at = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lat[i] = all[2 * i]!;
    at[i] = all[2 * i + 1]!;
  }
  return { lat, at };
}

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
