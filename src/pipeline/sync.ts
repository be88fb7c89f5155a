/**
 * Waiting without a syscall per frame while the peer is awake.
 *
 * An event is a futex word `gen` plus a `sleepers` count on its own cache line.
 * post(): gen += 1, then FUTEX_WAKE only if sleepers > 0.
 * waitFor(): spin on the condition briefly, then yield (3+ processes on 2
 * cores: a spinner must not steal the core its peer needs), then sleep:
 *   g = gen; sleepers += 1; if (!cond()) FUTEX_WAIT(gen, g, tick); sleepers -= 1
 * Lost wake-ups are impossible: the waiter increments `sleepers` before its
 * last check of cond(), the poster changes `gen` after publishing and reads
 * `sleepers` after that; both are sequentially consistent atomics, so either
 * the waiter's check sees the publication or the poster sees the sleeper (and
 * FUTEX_WAIT returns at once because gen != g). Every sleep is bounded by the
 * tick so the caller can look at its peers (dead owners, timeouts, signals).
 */
import { shim } from "../native/shim";
import { libc } from "../native/libc";
import { checkSignals } from "../signals";
import { EV_GEN, EV_SLEEPERS } from "./layout";
import type { Segment } from "./segment";

/**
 * Spin budget before sleeping. Kept small: on 2 cores with 4-5 stage
 * processes a long spin burns the core the peer needs (measured with
 * `shmimg bench`: 200 spins + 8 yields was slower than 32 + 4).
 */
export const SPINS = 32;
export const YIELDS = 4;

export class Event {
  private readonly gen: number;
  private readonly sleepers: number;
  private readonly genAddr: number;
  /** Futex wake-ups issued (for metrics). */
  wakes = 0;
  /** Times this process went to sleep here. */
  sleeps = 0;

  constructor(
    private readonly seg: Segment,
    offset: number,
  ) {
    this.gen = (offset + EV_GEN) >> 2;
    this.sleepers = (offset + EV_SLEEPERS) >> 2;
    this.genAddr = seg.addr + offset + EV_GEN;
  }

  /** Publishes "something changed"; call after the state store it announces. */
  post(): void {
    Atomics.add(this.seg.i32, this.gen, 1);
    if (Atomics.load(this.seg.i32, this.sleepers) > 0) {
      this.wakes++;
      shim.shim_futex_wake(this.genAddr, 0x7fffffff);
    }
  }

  /**
   * Returns when cond() is true. Calls tick() at least every tickMs while
   * waiting (it may throw to give up); checks signals on every wake-up.
   */
  waitFor(cond: () => boolean, tick: () => void, tickMs = 100): void {
    for (let i = 0; i < SPINS; i++) if (cond()) return;
    for (let i = 0; i < YIELDS; i++) {
      libc.sched_yield();
      if (cond()) return;
    }
    let last = shim.shim_now_us();
    const i32 = this.seg.i32;
    for (;;) {
      const g = Atomics.load(i32, this.gen);
      Atomics.add(i32, this.sleepers, 1);
      if (cond()) {
        Atomics.sub(i32, this.sleepers, 1);
        return;
      }
      this.sleeps++;
      shim.shim_futex_wait(this.genAddr, g, tickMs * 1000);
      Atomics.sub(i32, this.sleepers, 1);
      checkSignals();
      if (cond()) return;
      const now = shim.shim_now_us();
      if (now - last >= tickMs * 1000) {
        last = now;
        tick();
      }
    }
  }
}
