/**
 * Frame pacing (`produce --fps`, the bench's paced pipe source): frame k is
 * released at t0 + (k + 1) / fps. Sleeping most of the gap keeps a core free
 * for the workers and the consumer on a small machine; the last 150 µs are
 * spun, because a sleep can overshoot by that much. Sleeps are cut into
 * ≤ 20 ms pieces with a signal check after each, so Ctrl-C ends a slowly
 * paced stream at once.
 */
import { libc } from "../native/libc";
import { shim } from "../native/shim";
import { checkSignals } from "../signals";

const SPIN_US = 150;
const SLICE_US = 20_000;

export class Pacer {
  private readonly t0 = shim.shim_now_us();
  private readonly gapUs: number;

  /** `sleep` false: busy-wait the whole gap. */
  constructor(fps: number, private readonly sleep = true) {
    this.gapUs = 1e6 / fps;
  }

  /** Returns when frame k (0-based) is due; throws Interrupted on a signal (checkSignals). */
  wait(k: number): void {
    const due = this.t0 + (k + 1) * this.gapUs;
    if (this.sleep) {
      for (let left = due - shim.shim_now_us(); left > 2 * SPIN_US; left = due - shim.shim_now_us()) {
        libc.usleep(Math.floor(Math.min(left - SPIN_US, SLICE_US)));
        checkSignals();
      }
    }
    while (shim.shim_now_us() < due) {}
    checkSignals();
  }
}
