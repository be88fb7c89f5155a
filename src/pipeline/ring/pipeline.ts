/**
 * A pipeline = raw segment + processed segment + semaphore set, found by name.
 * create() makes all three (IPC_EXCL, 0600) and removes what it made if any
 * step fails; open() attaches and validates all three. Field accessors here
 * are the only code that turns layout offsets into typed-array indices.
 */
import { shim, shmStat } from "../../native/shim";
import { errnoName } from "../../native/libc";

import { InvalidInput } from "../../errors";
import { keysFor, hexKey, NAME_RE, type Keys } from "../ipc/keys";
import { attachSegment, createSegment, publishSegment, Segment, tooLarge } from "../ipc/segment";
import { createSems, openSems, semRemoved } from "../ipc/sems";
import { Event } from "./event";
import {
  Abort,
  D,
  P,
  Q,
  R,
  EV_DONE,
  EV_RAW_FREED,
  EV_WORK,
  H,
  KIND_PROCESSED,
  KIND_RAW,
  LINE,
  MAX_SEGMENT_BYTES,
  MAX_SLOTS,
  S,
  segmentGeometry,
  W,
  WORKER_ENTRIES,
} from "../layout";
import { payloadBytes, type Format } from "../../frame/format";

export interface CreateOptions {
  name: string;
  slots: number;
  maxW: number;
  maxH: number;
  maxFormat: Format;
  /** Payload capacity of a processed slot (>= what the op chain produces). */
  procSlotBytes?: number;
  maxAttempts?: number;
  /** Seconds a worker may hold one frame before it is SIGKILLed (I11); 0 = no deadline. */
  frameTimeoutS?: number;
  /** Pid of the `run` that will own the pipeline (R.runPid), written before it is published. */
  runPid?: number;
  /** Called with every object made but the pipeline not yet published (fault injection: set by the command layer). */
  beforePublish?: () => void;
}

/** --frame-timeout default: a frame held longer than a minute means a hung worker (I11). */
export const DEFAULT_FRAME_TIMEOUT_S = 60;
export const MAX_FRAME_TIMEOUT_S = 1e6;

export function checkName(name: string): string {
  if (!NAME_RE.test(name)) throw new InvalidInput(`--name "${name}" is not a valid pipeline name: use 1-63 characters from A-Z a-z 0-9 . _ -`);
  return name;
}

/** Bytes per ring the automatic slot count aims at (see autoSlots). */
export const RING_BUDGET_BYTES = 8 << 20;
/** The one-slot-per-worker floor stops here (a 64-CPU machine, 1080p frames: 43 slots, not 65). */
export const RING_MAX_BYTES = 256 << 20;
export const MIN_AUTO_SLOTS = 3;
export const MAX_AUTO_SLOTS = 64;

/**
 * Slot count chosen when --slots is not given: about RING_BUDGET_BYTES per
 * ring, but at least one slot per worker plus one for the producer (and at
 * least 3), at most 64. Small rings are faster, measured on a 2-vCPU VM:
 * every slot's pages are faulted in on the first lap (30 frames of 640x360
 * `hflip,invert`: 92 ms with 48 slots, 85 with 12), and a ring that stays in
 * the cache is copied faster (600 frames of 1080p `invert`: 770 ms with 3
 * slots, 855 with 4, 950 with 5; worker and producer CPU both ~20% lower).
 * The worker floor keeps a big machine's workers busy on big frames, up to
 * RING_MAX_BYTES per ring.
 */
export function autoSlots(slotBytes: number, workers: number): number {
  const bytes = Math.max(slotBytes, 1);
  const floor = Math.max(MIN_AUTO_SLOTS, Math.min(MAX_AUTO_SLOTS, workers + 1, Math.floor(RING_MAX_BYTES / bytes)));
  return Math.max(floor, Math.min(MAX_AUTO_SLOTS, Math.floor(RING_BUDGET_BYTES / bytes)));
}

export class Pipeline {
  readonly K: number;
  readonly rawFreed: Event;
  readonly work: Event;
  readonly done: Event;
  /** Slot payload views, created once (no per-frame allocation). */
  readonly rawViews: Uint8Array[];
  readonly procViews: Uint8Array[];

  constructor(
    readonly name: string,
    readonly keys: Keys,
    readonly raw: Segment,
    readonly proc: Segment,
    readonly semid: number,
  ) {
    this.K = raw.slots;
    this.rawFreed = new Event(raw, EV_RAW_FREED);
    this.work = new Event(raw, EV_WORK, true);
    this.done = new Event(raw, EV_DONE);
    this.rawViews = Array.from({ length: this.K }, (_, i) => raw.payloadView(i));
    this.procViews = Array.from({ length: this.K }, (_, i) => proc.payloadView(i));
  }

  // ---- header ----
  get maxAttempts(): number {
    return this.raw.u32[H.maxAttempts >> 2]!;
  }
  /** --frame-timeout in µs (I11); 0 = no deadline. Validated on open. */
  get frameTimeoutUs(): number {
    return this.raw.f64[R.frameTimeoutUs >> 3]!;
  }
  get creatorPid(): number {
    return this.raw.u32[H.creatorPid >> 2]!;
  }
  get rawSlotBytes(): number {
    return this.raw.geo.slotBytes;
  }
  get procSlotBytes(): number {
    return this.proc.geo.slotBytes;
  }
  maxGeometry(): { w: number; h: number; fmt: number } {
    const u = this.raw.u32;
    return { w: u[H.maxW >> 2]!, h: u[H.maxH >> 2]!, fmt: u[H.maxFormat >> 2]! };
  }

  // ---- control fields (offsets from layout.ts) ----
  i32(off: number): number {
    return Atomics.load(this.raw.i32, off >> 2);
  }
  setI32(off: number, v: number): void {
    Atomics.store(this.raw.i32, off >> 2, v);
  }
  casI32(off: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.raw.i32, off >> 2, from, to) === from;
  }
  f64(off: number): number {
    return this.raw.f64[off >> 3]!;
  }
  setF64(off: number, v: number): void {
    this.raw.f64[off >> 3] = v;
  }

  // ---- slots: seg is this.raw or this.proc ----
  state(seg: Segment, i: number): number {
    return Atomics.load(seg.i32, (seg.slotTable + i * LINE) >> 2);
  }
  setState(seg: Segment, i: number, word: number): void {
    Atomics.store(seg.i32, (seg.slotTable + i * LINE) >> 2, word);
  }
  casState(seg: Segment, i: number, from: number, to: number): boolean {
    return Atomics.compareExchange(seg.i32, (seg.slotTable + i * LINE) >> 2, from, to) === from;
  }
  slotF64(seg: Segment, i: number, field: number): number {
    return seg.f64[(seg.slotTable + i * LINE + field) >> 3]!;
  }
  setSlotF64(seg: Segment, i: number, field: number, v: number): void {
    seg.f64[(seg.slotTable + i * LINE + field) >> 3] = v;
  }
  slotU32(seg: Segment, i: number, field: number): number {
    return seg.u32[(seg.slotTable + i * LINE + field) >> 2]!;
  }
  setSlotU32(seg: Segment, i: number, field: number, v: number): void {
    seg.u32[(seg.slotTable + i * LINE + field) >> 2] = v;
  }

  /**
   * Reads and bounds-checks a slot's frame description (I6). Throws
   * InvalidInput naming the segment, slot and field when anything is off.
   */
  slotFrame(seg: Segment, i: number, into: SlotFrame): SlotFrame {
    const n = this.slotF64(seg, i, S.n);
    const w = this.slotU32(seg, i, S.w);
    const h = this.slotU32(seg, i, S.h);
    const fmt = this.slotU32(seg, i, S.fmt);
    const len = this.slotU32(seg, i, S.len);
    if (!Number.isInteger(n) || n < 0 || n % this.K !== i) throw this.corrupt(seg, i, `field n=${n} does not belong to slot ${i} of ${this.K}`);
    if (w < 1 || h < 1 || w > 16384 || h > 16384) throw this.corrupt(seg, i, `field size ${w}x${h} out of range`);
    if (fmt < 1 || fmt > 4) throw this.corrupt(seg, i, `field format ${fmt} unknown`);
    if (len !== payloadBytes(w, h, fmt as Format)) throw this.corrupt(seg, i, `field length ${len} does not match ${w}x${h} format ${fmt}`);
    if (len > seg.geo.slotBytes) throw this.corrupt(seg, i, `field length ${len} exceeds the slot size ${seg.geo.slotBytes}`);
    const seq = this.slotF64(seg, i, S.seq);
    if (!Number.isInteger(seq) || seq < 0) throw this.corrupt(seg, i, `field seq=${seq} is not a frame number`);
    into.n = n;
    into.w = w;
    into.h = h;
    into.fmt = fmt as Format;
    into.len = len;
    into.seq = seq;
    into.stamp = this.slotF64(seg, i, S.stamp);
    return into;
  }

  /**
   * The error for a slot field out of range (built only when one is). Sets
   * the abort reason CORRUPT for every other stage first (I6): the caller
   * throws the returned error.
   */
  corrupt(seg: Segment, i: number, what: string): InvalidInput {
    return this.corruptSegment(`${seg === this.raw ? "raw" : "processed"} slot ${i}`, seg.shmid, what);
  }

  /** As corrupt(), for any part of the segment (`where`: "raw slot 3", "producer line"). */
  corruptSegment(where: string, shmid: number, what: string): InvalidInput {
    this.casI32(R.abort, Abort.NONE, Abort.CORRUPT);
    this.postAll();
    return new InvalidInput(`corrupt ${where} in pipeline "${this.name}" (shmid ${shmid}): ${what}; every stage of the pipeline stops. Stop the pipeline and run \`shmimg clean --name ${this.name} --force\``);
  }

  // ---- delivery record (see D in layout.ts) ----
  delivery(): Delivery {
    const base = (Atomics.load(this.raw.i32, D.gen >> 2) & 1 ? D.copy1 : D.copy0) >> 3;
    const f = this.raw.f64;
    const odd = Atomics.load(this.raw.i32, D.gen >> 2) & 1;
    return { delivered: f[base]!, offset: f[base + 1]!, lastSeq: f[base + 2]!, tailHash: this.raw.u32[(odd ? D.hash1 : D.hash0) >> 2]! };
  }

  /** Workers registered in the worker table now (pid > 0: not reserved, not left, maybe dead but not yet recovered). */
  liveWorkers(): number {
    let live = 0;
    for (const b of WORKER_ENTRIES) if (this.i32(b + W.pid) > 0) live++;
    return live;
  }

  delivered(): number {
    const base = (Atomics.load(this.raw.i32, D.gen >> 2) & 1 ? D.copy1 : D.copy0) >> 3;
    return this.raw.f64[base]!;
  }
  /** Crash-atomic: writes the spare copy, then flips gen (the publishing store, pairs with delivery()). */
  recordDelivery(delivered: number, offset: number, lastSeq: number, tailHash = 0): void {
    const gen = Atomics.load(this.raw.i32, D.gen >> 2);
    const odd = (gen + 1) & 1;
    const base = (odd ? D.copy1 : D.copy0) >> 3;
    const f = this.raw.f64;
    f[base] = delivered;
    f[base + 1] = offset;
    f[base + 2] = lastSeq;
    this.raw.u32[(odd ? D.hash1 : D.hash0) >> 2] = tailHash;
    Atomics.store(this.raw.i32, D.gen >> 2, gen + 1);
  }

  /**
   * How the pipeline was removed under us, or undefined while it exists: the
   * set fails with EIDRM/EINVAL once removed; the raw segment stays mapped
   * but IPC_STAT shows it marked for removal (SHM_DEST). Two syscalls: call
   * it on ticks, not per frame.
   */
  removal(): string | undefined {
    const gone = semRemoved(this.semid);
    if (gone) return `semaphore set semid ${this.semid}: ${gone}`;
    const st = shmStat(this.raw.shmid);
    if (typeof st === "number") return `raw segment shmid ${this.raw.shmid}: IPC_STAT ${errnoName(st)}`;
    if (st.dest) return `raw segment shmid ${this.raw.shmid} is marked for removal (SHM_DEST)`;
    return undefined;
  }

  // ---- producer position record (see Q and I7 in layout.ts) ----
  /** The last committed frame: n (-1 when none), input position and source index after it. */
  position(): Position {
    const gen = Atomics.load(this.raw.i32, Q.gen >> 2);
    if (gen === 0) return { n: -1, pos: 0, index: 0 };
    const base = (gen & 1 ? Q.copy1 : Q.copy0) >> 3;
    const f = this.raw.f64;
    const at = { n: f[base]!, pos: f[base + 1]!, index: f[base + 2]! };
    // I6: a resumed producer seeks to pos, recovery sets head from n.
    if (![at.n, at.pos, at.index].every((v) => Number.isSafeInteger(v) && v >= 0))
      throw new InvalidInput(`corrupt producer position record in pipeline "${this.name}" (shmid ${this.raw.shmid}): n=${at.n} position=${at.pos} index=${at.index}; stop the pipeline and run \`shmimg clean --name ${this.name} --force\``);
    return at;
  }
  /** Commits frame n (I7): writes the spare copy, then flips gen (the commit point, pairs with position()). */
  commitPosition(n: number, pos: number, index: number): void {
    const gen = Atomics.load(this.raw.i32, Q.gen >> 2);
    const base = ((gen + 1) & 1 ? Q.copy1 : Q.copy0) >> 3;
    const f = this.raw.f64;
    f[base] = n;
    f[base + 1] = pos;
    f[base + 2] = index;
    Atomics.store(this.raw.i32, Q.gen >> 2, gen + 1);
  }

  /** Wakes every sleeper (on eos, abort, recovery). */
  postAll(): void {
    this.rawFreed.postAll();
    this.work.postAll();
    this.done.postAll();
  }

  detach(): void {
    this.raw.detach();
    this.proc.detach();
  }
}

export interface Delivery {
  delivered: number;
  offset: number;
  lastSeq: number;
  /** Checksum of the output's last TAIL_BYTES before offset (0 when not a file). */
  tailHash: number;
}

export interface Position {
  n: number;
  pos: number;
  index: number;
}

export interface SlotFrame {
  n: number;
  w: number;
  h: number;
  fmt: Format;
  len: number;
  seq: number;
  stamp: number;
}

export function newSlotFrame(): SlotFrame {
  return { n: 0, w: 0, h: 0, fmt: 1, len: 0, seq: 0, stamp: 0 };
}

export function createPipeline(o: CreateOptions): Pipeline {
  checkName(o.name);
  if (!Number.isInteger(o.slots) || o.slots < 2 || o.slots > MAX_SLOTS) throw new InvalidInput(`--slots ${o.slots} is outside 2..${MAX_SLOTS}`);
  const uid = process.getuid!();
  const keys = keysFor(o.name, uid);
  const rawBytes = payloadBytes(o.maxW, o.maxH, o.maxFormat);
  const procBytes = Math.max(o.procSlotBytes ?? rawBytes, 1);
  const common = { name: o.name, slots: o.slots, maxW: o.maxW, maxH: o.maxH, maxFormat: o.maxFormat, maxAttempts: o.maxAttempts ?? 3 };
  // Both rings must be mappable before anything is created (exit 2, nothing left).
  for (const [kind, bytes] of [[KIND_RAW, rawBytes], [KIND_PROCESSED, procBytes]] as const) {
    const geo = segmentGeometry(kind, o.slots, bytes);
    if (geo.segBytes > MAX_SEGMENT_BYTES) throw tooLarge(o.name, kind, o.slots, bytes, geo.segBytes);
  }
  const made: (() => void)[] = [];
  try {
    // Raw first, its header marked CREATING (I10): from here on the creation is
    // ours and in progress for anyone who inspects the keys.
    const raw = createSegment(keys.raw, { ...common, kind: KIND_RAW, slotBytes: rawBytes });
    made.push(() => {
      raw.detach();
      shim.shim_shm_rmid(raw.shmid);
    });
    const semid = createSems(keys.sems, o.name);
    made.push(() => shim.shim_sem_rmid(semid));
    const proc = createSegment(keys.processed, { ...common, kind: KIND_PROCESSED, slotBytes: procBytes });
    made.push(() => {
      proc.detach();
      shim.shim_shm_rmid(proc.shmid);
    });
    o.beforePublish?.();
    const p = new Pipeline(o.name, keys, raw, proc, semid);
    p.setF64(R.frameTimeoutUs, (o.frameTimeoutS ?? DEFAULT_FRAME_TIMEOUT_S) * 1e6);
    p.recordDelivery(0, 0, -1);
    p.setF64(P.lastSeq, -1);
    p.setI32(R.semid, semid);
    p.setI32(R.runPid, o.runPid ?? 0);
    publishSegment(proc);
    publishSegment(raw); // last: the pipeline is complete
    return p;
  } catch (e) {
    // Undone in reverse (processed, set, raw): the raw header goes last (I10).
    for (const undo of made.reverse()) undo();
    throw e;
  }
}

export interface OpenOptions {
  sharedGroup?: boolean;
}

export function openPipeline(name: string, o: OpenOptions = {}): Pipeline {
  checkName(name);
  const keys = keysFor(name, process.getuid!());
  const semid = openSems(keys.sems, name, o.sharedGroup);
  const raw = attachSegment(keys.raw, { name, kind: KIND_RAW, sharedGroup: o.sharedGroup });
  let proc: Segment;
  try {
    proc = attachSegment(keys.processed, { name, kind: KIND_PROCESSED, sharedGroup: o.sharedGroup });
  } catch (e) {
    raw.detach();
    throw e;
  }
  if (proc.slots !== raw.slots) {
    raw.detach();
    proc.detach();
    throw new InvalidInput(`pipeline "${name}": raw segment (key ${hexKey(keys.raw)}) has ${raw.slots} slots but processed (key ${hexKey(keys.processed)}) has ${proc.slots}; the objects do not belong together. Run \`shmimg clean --name ${name}\`.`);
  }
  const p = new Pipeline(name, keys, raw, proc, semid);
  const ft = p.frameTimeoutUs;
  if (!Number.isFinite(ft) || ft < 0 || ft > MAX_FRAME_TIMEOUT_S * 1e6) {
    p.detach();
    throw new InvalidInput(`pipeline "${name}": corrupt frame timeout ${ft} µs in the raw segment (shmid ${raw.shmid}); stop the pipeline and run \`shmimg clean --name ${name} --force\``);
  }
  return p;
}



