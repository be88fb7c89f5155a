/**
 * Frame pacing (`produce --fps`, the bench's paced pipe source): frame k is
 * released at t0 + (k + 1) / fps. Sleeping most of the gap keeps a core free
 * for the workers and the consumer on a small machine; the last 150 µs are
 * spun, because a sleep can overshoot by that much.
 */
import { libc } from "../native/libc";
import { shim } from "../native/shim";

const SPIN_US = 150;

export class Pacer {
  private readonly t0 = shim.shim_now_us();
  private readonly gapUs: number;

  /** `sleep` false: busy-wait the whole gap. */
  constructor(fps: number, private readonly sleep = true) {
    this.gapUs = 1e6 / fps;
  }

  /** Returns when frame k (0-based) is due. */
  wait(k: number): void {
    const due = this.t0 + (k + 1) * this.gapUs;
    if (this.sleep) {
      const left = due - shim.shim_now_us();
      if (left > 2 * SPIN_US) libc.usleep(Math.floor(left - SPIN_US));
    }
    while (shim.shim_now_us() < due) {}
  }
}
