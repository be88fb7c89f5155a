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
import { shim } from "../../native/shim";
import { libc } from "../../native/libc";
import { checkSignals } from "../../signals";
import { EV_GEN, EV_SLEEPERS } from "../layout";
import type { Segment } from "../ipc/segment";

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

  /** Leaves the sleepers count (m: mark index or negative). */
  private awake(m: number): void {
    const i32 = this.seg.i32;
    if (m < 0) Atomics.sub(i32, this.sleepers, 1);
    // If recovery took us out already (it saw us dead: cannot happen while we
    // run, but be exact), do not take ourselves out twice.
    else if (Atomics.compareExchange(i32, m, 1, 0) === 1) Atomics.sub(i32, this.sleepers, 1);
  }

  /**
   * Takes a dead process out of the sleepers count if its mark says it was
   * counted (the caller has made sure the process is dead and that nobody
   * else handles the same mark, e.g. by a CAS on its table entry).
   */
  releaseSleeper(mark: number): void {
    if (Atomics.compareExchange(this.seg.i32, mark >> 2, 1, 0) === 1) Atomics.sub(this.seg.i32, this.sleepers, 1);
  }

  /** Sets the sleepers count to 0: only for a role that has a single member that just joined. */
  resetSleepers(): void {
    Atomics.store(this.seg.i32, this.sleepers, 0);
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
   * mark: byte offset of an i32 in the same segment set to 1 while this
   * process is counted in `sleepers`, so that recovery can take a SIGKILLed
   * sleeper out of the count (releaseSleeper); -1 for none.
   */
  waitFor(cond: () => boolean, tick: () => void, tickMs = 100, mark = -1): void {
    for (let i = 0; i < SPINS; i++) if (cond()) return;
    for (let i = 0; i < YIELDS; i++) {
      libc.sched_yield();
      if (cond()) return;
    }
    let last = shim.shim_now_us();
    const i32 = this.seg.i32;
    const m = mark >> 2;
    for (;;) {
      const g = Atomics.load(i32, this.gen);
      // Counted, then marked; unmarked, then uncounted: a process killed in
      // between leaves the count one too high (a spare wake-up), never too low.
      Atomics.add(i32, this.sleepers, 1);
      if (mark >= 0) Atomics.store(i32, m, 1);
      if (cond()) {
        this.awake(m);
        return;
      }
      this.sleeps++;
      shim.shim_futex_wait(this.genAddr, g, tickMs * 1000);
      this.awake(m);
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
