/**
 * Waiting without a syscall per frame while the peer is awake.
 *
 * An event is a futex word `gen` plus a `sleepers` count on its own cache line.
 * post(): gen += 1, then FUTEX_WAKE of ONE sleeper only if sleepers > 0;
 * postAll(): the same, waking every sleeper (end of stream, abort, recovery).
 * waitFor(): spin briefly only when it pays (see Spin below), then sleep:
 *   g = gen; sleepers += 1; if (!cond()) FUTEX_WAIT(gen, g, tick); sleepers -= 1
 * Lost wake-ups are impossible: the waiter increments `sleepers` before its
 * last check of cond(), the poster changes `gen` after publishing and reads
 * `sleepers` after that; both are sequentially consistent atomics, so either
 * the waiter's check sees the publication or the poster sees the sleeper (and
 * FUTEX_WAIT returns at once because gen != g). Every sleep is bounded by the
 * tick so the caller can look at its peers (dead owners, timeouts, signals).
 *
 * Waking one (layout.ts E1, E2): every post() with a sleeper counted wakes one
 * sleeper, unless a wake-up issued less than WAKE_PENDING_MS ago has not been
 * taken yet (WORK only): the worker that takes it clears the stamp before its
 * next scan, which sees what the skipped post published. The woken worker
 * takes a batch and, if it leaves work behind and fewer workers than cores
 * minus one are awake, posts again (the claim scan does). The producer posts
 * a small frame only when no worker is awake to take it (E3). So each publication still
 * reaches a worker that will scan, but a frame wakes at most one worker and a
 * burst of frames wakes them one at a time, not all (no thundering herd).
 * Conditions every waiter must see (eos, abort, a recovered frame) use
 * postAll().
 */
import { shim } from "../../native/shim";
import { checkSignals } from "../../signals";
import { EV_GEN, EV_SLEEPERS, EV_WAKING } from "../layout";
import { runnableTasks, usableCores } from "../ipc/proc";
import type { Segment } from "../ipc/segment";

/** Spin budget limits, µs: never longer than a sleep + wake-up costs on a VM (~30-60 µs), times a margin. */
export const SPIN_MIN_US = 2;
export const SPIN_MAX_US = 200;
export const SPIN_START_US = 50;

/**
 * When a waiting stage may spin, and for how long (one per process).
 *  - Only while what it waits for is in flight (a peer is writing that very
 *    frame: the caller says so), so an idle pipeline never burns a core.
 *  - Never when more tasks are runnable than this process has cores
 *    (/proc/loadavg's running count against the affinity / cgroup quota,
 *    re-read at most every ms): a spinner would then steal the CPU the peer
 *    it waits for needs (issue 14: more workers than cores).
 *  - For at most a budget learned from whether spinning found the condition:
 *    a hit after e µs raises the budget to 2e (at most SPIN_MAX_US), a miss
 *    halves it (at least SPIN_MIN_US).
 */
export class Spin {
  budgetUs = SPIN_START_US;
  hits = 0;
  misses = 0;
  /** Waits that skipped spinning because the machine was oversubscribed. */
  crowded = 0;
  private checkedAt = -1e9;
  private free = true;

  constructor(readonly cores = usableCores()) {}

  /** True when spinning would not take a CPU from a runnable task (cached for 1 ms). */
  allowed(now: number): boolean {
    if (now - this.checkedAt >= 1000) {
      this.checkedAt = now;
      const running = runnableTasks();
      // 0 = unknown: trust the core count alone (1 core never spins).
      this.free = this.cores > 1 && running <= this.cores;
    }
    return this.free;
  }

  hit(afterUs: number): void {
    this.hits++;
    this.budgetUs = Math.min(SPIN_MAX_US, Math.max(this.budgetUs, 2 * afterUs));
  }

  miss(): void {
    this.misses++;
    this.budgetUs = Math.max(SPIN_MIN_US, this.budgetUs / 2);
  }
}

/** This process's spin policy (shared by its events: one process waits on one thing at a time). */
export const spin = new Spin();

/** A wake-up not taken by a worker after this long is issued again (layout.ts E2). */
export const WAKE_PENDING_MS = 5;
/** Marks a `waking` stamp as set (a stamp of 0 ms would otherwise read as "none"). */
const WAKING_SET = 1 << 30;
const MS_MASK = WAKING_SET - 1;

export class Event {
  private readonly gen: number;
  private readonly sleepers: number;
  /** i32 index of the `waking` stamp (E2), or -1: this event wakes on every post. */
  private readonly waking: number;
  private readonly genAddr: number;
  /** Futex wake-ups issued (for metrics). */
  wakes = 0;
  /** Posts that found a wake-up already on its way (E2). */
  skipped = 0;
  /** Times this process went to sleep here. */
  sleeps = 0;

  /** oneWakeAtATime: the WORK event (many sleepers): post() follows E2. */
  constructor(
    private readonly seg: Segment,
    offset: number,
    oneWakeAtATime = false,
  ) {
    this.gen = (offset + EV_GEN) >> 2;
    this.sleepers = (offset + EV_SLEEPERS) >> 2;
    this.waking = oneWakeAtATime ? (offset + EV_WAKING) >> 2 : -1;
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

  /** Someone is counted asleep here (a post would wake it). */
  hasSleepers(): boolean {
    return Atomics.load(this.seg.i32, this.sleepers) > 0;
  }

  /**
   * Publishes "something changed" to one sleeper (up to `n`: one per frame
   * made claimable, at most the cores); call after the state store it
   * announces. mayWait false: never defer to a wake-up on its way (E2), for
   * frames so large that the woken worker's batch holds only this one.
   */
  post(n = 1, mayWait = true): void {
    const i32 = this.seg.i32;
    const g = Atomics.add(i32, this.gen, 1) + 1;
    if (Atomics.load(i32, this.sleepers) <= 0) return;
    if (this.waking < 0) {
      this.wakes++;
      shim.shim_futex_wake(this.genAddr, n);
      return;
    }
    // E2: a wake-up on its way will be followed by a scan that sees what we published.
    const nowMs = Math.floor(shim.shim_now_us() / 1000) & MS_MASK;
    const w = Atomics.load(i32, this.waking);
    if (mayWait && w !== 0 && ((nowMs - (w & MS_MASK)) & MS_MASK) < WAKE_PENDING_MS) {
      this.skipped++;
      return;
    }
    const stamp = nowMs | WAKING_SET;
    Atomics.store(i32, this.waking, stamp); // before the wake: the woken clears it after
    this.wakes++;
    if (shim.shim_futex_wake(this.genAddr, n) > 0) return;
    // Nobody was queued (the counted sleepers were on their way in or out):
    // no one will take this stamp, so take it back, and wake again if someone
    // posted meanwhile (that post may have been skipped because of our stamp).
    if (Atomics.compareExchange(i32, this.waking, stamp, 0) === stamp && Atomics.load(i32, this.gen) !== g && Atomics.load(i32, this.sleepers) > 0) {
      this.wakes++;
      shim.shim_futex_wake(this.genAddr, 1);
    }
  }

  /** E2: this process leaves a wait and will scan next, so a wake-up on its way is taken. */
  private tookWake(): void {
    if (this.waking >= 0 && Atomics.load(this.seg.i32, this.waking) !== 0) Atomics.store(this.seg.i32, this.waking, 0);
  }

  /** Sleepers counted now (some may be on their way out). */
  sleeping(): number {
    return Atomics.load(this.seg.i32, this.sleepers);
  }

  /** Publishes a change every sleeper must see (end of stream, abort, recovery). */
  postAll(): void {
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
   * inFlight: true while a peer is producing what cond() waits for (then a
   * short spin may beat a sleep and wake-up; see Spin).
   */
  waitFor(cond: () => boolean, tick: () => void, tickMs = 100, mark = -1, inFlight?: () => boolean): void {
    if (inFlight && inFlight()) {
      const t0 = shim.shim_now_us();
      if (spin.allowed(t0)) {
        const end = t0 + spin.budgetUs;
        for (;;) {
          for (let k = 0; k < 16; k++) {
            if (cond()) {
              spin.hit(shim.shim_now_us() - t0);
              return;
            }
          }
          if (shim.shim_now_us() >= end) break;
        }
        spin.miss();
      } else spin.crowded++;
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
        this.tookWake(); // the caller scans next (E2)
        return;
      }
      this.sleeps++;
      shim.shim_futex_wait(this.genAddr, g, tickMs * 1000);
      this.awake(m);
      this.tookWake(); // before cond(): E2
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
