/**
 * The latency file (`consume --latency-out`, `run --latency-out`, the
 * bench's pipe sink): per-frame records gathered in the last stage of a
 * pipeline and saved as a raw little-endian Float64Array file of pairs:
 * (latency µs = delivery minus the producer's publish stamp, or NaN without
 * stamps; delivery time µs, CLOCK_MONOTONIC). The delivery times give the
 * steady throughput of a run (frames delivered between two moments, no
 * start-up or tear-down in it); the latencies give the percentiles.
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
