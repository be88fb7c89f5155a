/**
 * The shared layout: the one place that defines every byte of both segments.
 *
 *  RAW SEGMENT (key base+0): frames from the producer, plus the control block
 *  +--------------------------------------------------------------------------+
 *  | 0    line 0  common header  magic "SHMG", version, kind=1, creator pid,   |
 *  |              uid, slots K, slot bytes, stride, max geometry, offsets      |
 *  | 64   line 1  pipeline name (NUL-terminated UTF-8, <= 63 bytes)            |
 *  | 128  line 2  PRODUCER line  (written by the producer only)                |
 *  | 192  line 3  CONSUMER line  (written by the consumer only)                |
 *  | 256  line 4  event RAW_FREED  gen, sleepers   (producer sleeps here)      |
 *  | 320  line 5  event WORK       gen, sleepers, waking (workers sleep here)  |
 *  | 384  line 6  event DONE       gen, sleepers   (consumer sleeps here)      |
 *  | 448  line 7  RECOVERY line  (written under the LOCK semaphore)            |
 *  | 512  line 8  DELIVERY record (consumer only; double-buffered, see D)      |
 *  | 576  line 9  PRODUCER POSITION record (producer only; double-buffered, Q) |
 *  | 640  line 10 OUTPUT IDENTITY (consumer only, see O)                       |
 *  | 704  line 11 RUN record (the `run` supervisor only, see U)                |
 *  | 768  worker table: 32 entries x 64 B (its worker; recovery if it died)    |
 *  | 2816 STREAM INFO: 16 lines (producer only, before frame 0; see T)         |
 *  | 3840 raw slot table: K entries x 64 B                                     |
 *  | page-aligned payload: K slots x stride (stride = slot bytes rounded to 64)|
 *  +--------------------------------------------------------------------------+
 *
 *  PROCESSED SEGMENT (key base+1): results from the workers
 *  +--------------------------------------------------------------------------+
 *  | 0    line 0  common header  (kind=2, same K)                              |
 *  | 64   line 1  pipeline name                                                |
 *  | 128  processed slot table: K entries x 64 B                               |
 *  | page-aligned payload: K slots x stride                                    |
 *  +--------------------------------------------------------------------------+
 *
 *  SEMAPHORE SET (key base+2), 4 semaphores:
 *    0 LOCK       binary lock for recovery, taken with SEM_UNDO (dies with holder)
 *    1 PRODUCERS  live producers (0/1), +1 with SEM_UNDO on attach
 *    2 WORKERS    live workers,         +1 with SEM_UNDO on attach
 *    3 CONSUMERS  live consumers (0/1), +1 with SEM_UNDO on attach
 *  The kernel undoes the +1 when a stage exits or is killed, so these counts
 *  are exact even after kill -9; "is any worker alive?" is one GETVAL.
 *
 * SLOT ENTRY (64 B, both tables)
 *   0 state word  i32  = owner_pid * 16 + STATE (one CAS claims and names the owner)
 *   4 attempts    u32  times this frame was handed out again after its worker died
 *   8 n           f64  ring sequence number (dense: 0, 1, 2, ... in input order)
 *  16 seq         f64  the frame's own seq (from the input; gaps when frames are dropped)
 *  24 w, 28 h, 32 format, 36 payload length (u32)
 *  40 stamp       f64  CLOCK_MONOTONIC µs when the producer published the frame
 *  48 ownerStart  f64  start time of the worker that claimed it (pid-reuse check)
 *  56 claimedUs   f64  CLOCK_MONOTONIC µs when the worker claimed it (raw slots; I11 deadline, stat's claim age)
 *
 * Frame n always lives in raw slot n % K and its result in processed slot n % K.
 *
 * RAW SLOT STATES                   PROCESSED SLOT STATES
 *   FREE ──producer──> WRITING(pid)   FREE ──worker──> WRITING(pid)
 *   WRITING ─────────> READY          WRITING ───────> DONE
 *   READY ──worker CAS─> CLAIMED(pid) DONE ──consumer, after output written──> FREE
 *   CLAIMED ─after processed DONE─> FREE
 *   CLAIMED ─op failed, I12─> READY | POISONED  WRITING ─op failed, I12─> FREE | POISONED(reason)
 *
 * INVARIANTS
 *  I1 Only the producer writes a raw slot, and only in FREE -> WRITING -> READY;
 *     a worker reads a raw slot only while it holds it CLAIMED.
 *  I2 A worker claims raw frame n only if processed slot n % K is FREE, so a
 *     worker never waits while it holds a frame (no hold-and-wait, no deadlock).
 *  I3 A worker frees raw slot n only after processed slot n % K is DONE with n:
 *     the producer can never overwrite a frame whose result is not committed.
 *  I4 The consumer delivers processed slots strictly in n order (delivered
 *     cursor), records n and the output byte offset only after the write
 *     succeeded, then frees the slot. Nothing is delivered twice or skipped.
 *  I5 A slot whose owner pid is dead (kill -9) is recovered under LOCK:
 *     raw CLAIMED(dead): processed DONE for the same n, or n < delivered (the
 *     consumer wrote it and freed the processed slot) -> raw FREE (result kept),
 *     else processed WRITING(dead) -> FREE and raw -> READY, attempts + 1
 *     (at maxAttempts the frame is poisoned as in I12, S.attempts 0);
 *     raw WRITING(dead producer) -> discarded (FREE) unless the position
 *     record committed it (I7: -> READY); stream marked incomplete unless
 *     `run` will start another producer (I9).
 *  I6 Every number read from shared memory is bounds-checked before use
 *     (slot index, lengths, geometry, n, eos and abort codes); a violation
 *     stops the stage with exit 2 AND sets R.abort = CORRUPT, so every other
 *     stage stops too (exit 2) instead of waiting for a peer that will never
 *     act. A waiting stage re-checks, on every tick, that the segment is in a
 *     reachable state: every state word is one of its table's states (an
 *     ownerless state has owner bits 0), a READY/CLAIMED raw slot or a DONE
 *     processed slot holds an n with n % K = its index, delivered - 1 <= head
 *     <= delivered + 2K (head is stored just after READY), and (checked by the consumer, which alone frees
 *     processed slots) a DONE processed slot's n is in [delivered,
 *     delivered + K). Anything else is corruption, never something to wait for.
 *  I7 The producer commits frame n by recording {n, input position after it,
 *     source index after it} in the spare copy of the POSITION record (Q) and
 *     flipping Q.gen, after the payload is complete and before READY. The gen
 *     store is the commit point: a producer killed before it leaves frame n
 *     WRITING and recovery discards it (it is read again); killed after it,
 *     recovery publishes the slot (READY) and head = committed n + 1. A new
 *     producer resumes at committed n + 1, reading from the recorded position:
 *     nothing is published twice or skipped.
 *  I8 Before its first delivery the consumer records the output's identity
 *     (O: kind, format, device and inode), and with every delivery record a
 *     checksum of the output's last bytes before the recorded offset (D.hash,
 *     in the same copy, so it flips with it). A consumer resuming at offset
 *     > 0 refuses (exit 2) an output that is another file, another format,
 *     shorter than the offset, or whose tail does not match the checksum.
 *  I9 U.heal names the roles `run` (pid R.runPid) restarts when they die:
 *     while it is set and that run is alive, a dead producer's stream is not
 *     marked ended (recovery only settles its last slot, I7); run clears the
 *     bit before it gives up, and recovery then marks the stream incomplete.
 *  I10 Ownership. A pipeline's objects are created in the order raw segment,
 *      semaphore set, processed segment. The raw header is written first with
 *      magic CREATING (kind, creator pid, uid, name) and gets MAGIC last, after
 *      the set's id is stored in the raw segment (R.semid): a set belongs to
 *      the pipeline whose raw segment names it. Inspection reads the set before the
 *      segments, so a set seen without a raw segment cannot be a creation in
 *      progress; a CREATING header whose creator is alive is never stale.
 *      Nothing is removed unless the kernel's owner and creator uid are ours,
 *      a segment's header is ours (MAGIC or CREATING, and the name asked for)
 *      and, for a removal on behalf of a run, its id is the one recorded at
 *      creation. Removal goes set, processed, raw: the raw header is the last
 *      thing to go, so an interrupted removal leaves something recognisable.
 *      A stage whose set is removed (EIDRM/EINVAL) or whose raw segment is
 *      marked SHM_DEST stops with exit 2: the pipeline was removed under it.
 *  I11 Frame deadline: a worker writes W.claimingUs in its own table entry
 *     just before its claim CAS and S.claimedUs right after it; the producer
 *     clears S.claimedUs when it writes a frame. A claim not stamped yet (a
 *     worker between its CAS and its stamp, or stopped there) is timed from
 *     the owner's W.claimingUs, never from the frame's publish time (a frame
 *     that waited in the ring is not a hung claim).
 *     A raw slot CLAIMED by a live owner for longer than R.frameTimeoutUs
 *     (set once at creation; 0 = no deadline) has a hung worker (endless op,
 *     silent filter, SIGSTOP): the first stage to notice SIGKILLs the owner
 *     (pid and start time checked) and I5 then redoes the frame like any
 *     crash. A claim held within its deadline by an owner that runs (not
 *     stopped) is progress: --timeout never fires on it.
 *  I12 A worker whose op chain fails on a frame (throws, non-zero native
 *     return, bad filter reply) hands it back itself: attempts + 1, then
 *     processed WRITING(me) -> FREE and raw CLAIMED(me) -> READY; once
 *     attempts reaches maxAttempts instead processed -> POISONED holding
 *     the reason (UTF-8, S.len <= 1024 bytes, S.n, S.seq; S.attempts = the
 *     failing worker's pid) and raw -> POISONED. The consumer, reaching that n in order, sets Abort.OP_ERROR
 *     and reports the reason: every earlier frame is delivered first. I5
 *     poisons the same way with S.attempts 0 (Abort.POISONED).
 *     Output is published only after its length was checked against the
 *     processed slot.
 *  I13 Stream info (input format, y4m tags, the input's file list) is written
 *     by the producer once, before it publishes frame 0, and sealed by the
 *     store of T.ready; the consumer reads it (after loading T.ready) only
 *     once frame 0 is DONE, so it is complete whichever process started first.
 *     Its lengths and codes are bounds-checked like any slot field (I6).
 *  B1 Batches (workers): one scan may pick a run of consecutive claimable raw
 *     slots, but each frame is claimed by its own CAS (READY -> CLAIMED(pid))
 *     only just before it is processed, and its result is published DONE on
 *     its own, then its raw slot is freed (I3), as for a single frame; only
 *     the wake-ups (one DONE post, one RAW_FREED post) and the worker-table
 *     counters wait for the batch's end. A worker therefore holds at most one
 *     frame at a time (in progress: I5 redoes it; published but not yet
 *     freed: I5 frees it, result kept), and no committed frame stays CLAIMED
 *     long enough to look overdue (I11): a dead worker's batch is committed
 *     or redone frame by frame exactly as single frames are.
 *
 * MEMORY ORDERING
 *  State words, P.eos, R.abort, the event words and D.gen are accessed with JS
 *  Atomics (sequentially consistent; on x86-64 a load is a plain MOV, a store
 *  is XCHG (or MOV + MFENCE), a CAS is LOCK CMPXCHG). The f64 cursors and
 *  counters are plain stores: P.head is only a progress figure while the
 *  stream runs and is decided on only after the P.eos store that follows it
 *  (release) has been observed by an Atomics load (acquire); the D copies are
 *  published by the D.gen store; counters are statistics. Payload and slot
 *  fields are written with plain stores *before* the state store that
 *  publishes them (release) and read *after* the state load that observed the
 *  publication (acquire). Each publishing store says in a comment which load
 *  it pairs with.
 *
 * WHY FUTEX FOR WAITING, SEMAPHORES FOR MEMBERSHIP
 *  A sleeping stage waits on an event word with FUTEX_WAIT (the kernel
 *  re-checks the word atomically, so no wake-up is lost and nothing
 *  accumulates the way semaphore tokens do); a publisher calls FUTEX_WAKE only
 *  when the event's sleeper count is non-zero, so an awake pipeline makes no
 *  syscall per frame.
 *  E1 Wake one: post() wakes ONE sleeper (FUTEX_WAKE 1) after gen += 1 when
 *     sleepers > 0, so every publication still reaches a sleeper (the sleeper
 *     counted itself before its last check; a wake before it queued is seen
 *     as a changed gen). A woken worker that finds more claimable frames than
 *     its batch takes posts again (the wake is passed on). Changes every
 *     sleeper must see (end of stream, abort, recovery) wake all (postAll).
 *     The consumer freeing a batch of processed slots wakes one worker per
 *     freed slot, at most as many as there are cores.
 *  E2 One wake-up on its way (WORK): post() skips FUTEX_WAKE while `waking`
 *     holds the stamp of a wake-up issued less than WAKE_PENDING_MS ago that
 *     no worker has taken yet; every worker leaving waitFor() clears it
 *     *before* it scans for frames (Dekker with the poster's publish, then
 *     load of `waking`), so the frame of a skipped post is seen by that scan.
 *     A poster whose FUTEX_WAKE found nobody queued takes its stamp back (CAS)
 *     and wakes again if gen moved meanwhile (a post may have deferred to
 *     it). The producer defers only for frames small enough that one batch
 *     holds 4 or more (BATCH_BYTES): a woken worker's batch covers them.
 *     A worker passes a wake on only while fewer workers are awake than its
 *     cores minus one (the producer and consumer need a core; at least 1).
 *     The stamp expires, so a woken worker killed before clearing it (or a
 *     sleeper count left too high by kill -9) delays wake-ups by at most
 *     WAKE_PENDING_MS; a worker slow to get a CPU costs the same at most.
 *  E3 Awake workers need no wake-up (WORK, producer): a small frame (a batch
 *     holds 4 or more) is not posted while some registered worker is not
 *     counted asleep: that worker counts itself asleep before its last scan,
 *     which then sees the frame (Dekker with the publish, then the load of
 *     `sleepers`). A worker counted awake that is dead or stopped would hold
 *     wake-ups back, so the producer posts anyway once the frame BATCH_FRAMES
 *     (at most K/2) before the newest is still unclaimed, and at the end of
 *     the stream (postAll).
 *  SysV semaphores carry what must survive kill -9: SEM_UNDO
 *  gives exact live-stage counts and a lock that is released by the kernel.
 */

/** "SHMG" little-endian. */
export const MAGIC = 0x474d4853;
/** "SHMc": the header is being written by its creator (I10). */
export const MAGIC_CREATING = 0x634d4853;
export const LAYOUT_VERSION = 5;
/**
 * Largest segment shmimg maps: Bun's toArrayBuffer refuses more than 4 GiB
 * (measured: 2^32 bytes maps, 2^32 + 4096 throws RangeError). Larger rings
 * are refused before shmget, with this number in the message.
 */
export const MAX_SEGMENT_BYTES = 2 ** 32;
export const KIND_RAW = 1;
export const KIND_PROCESSED = 2;

export const LINE = 64;
export const PAGE = 4096;
export const MAX_NAME_BYTES = 63;
export const MAX_WORKERS = 32;
export const MAX_SLOTS = 1024;

// ---- line 0: common header (written once by the creator, magic last) ----
export const H = {
  magic: 0, // u32
  version: 4, // u32
  kind: 8, // u32
  headerBytes: 12, // u32: offset of the slot table
  creatorPid: 16, // u32
  creatorUid: 20, // u32
  slots: 24, // u32 K
  slotBytes: 28, // u32 payload capacity of one slot
  stride: 32, // u32 distance between slot payloads (multiple of 64)
  maxW: 36, // u32
  maxH: 40, // u32
  maxFormat: 44, // u32
  payloadOff: 48, // u32 (page-aligned)
  maxAttempts: 52, // u32 deaths of a worker on one frame before the run fails
  segBytes: 56, // f64 total bytes of this segment
  name: 64, // line 1: name, NUL-terminated
} as const;

// ---- line 2: producer (only the producer writes; recovery writes eos if it died) ----
export const P = {
  head: 128, // f64 frames published (next n)
  pid: 136, // i32 producer pid (0 = never started)
  eos: 140, // i32 Eos code, 0 while streaming (Atomics)
  start: 144, // f64 producer start time (from /proc/pid/stat) for pid-reuse checks
  dropped: 152, // f64 frames dropped (--when-full drop)
  blockedUs: 160, // f64 time spent waiting for a free raw slot
  bytesIn: 168, // f64 payload bytes published
  eosSeq: 176, // f64 seq named by the eos reason (partial frame's seq)
  lastSeq: 184, // f64 seq of the last published frame
} as const;

// ---- line 3: consumer (only the consumer writes) ----
export const C = {
  pid: 208, // i32 consumer pid
  resumes: 212, // i32 times a consumer resumed this pipeline
  start: 216, // f64 consumer start time
  blockedUs: 232, // f64 time spent waiting for the next frame
  bytesOut: 240, // f64 payload bytes delivered
  firstStampUs: 248, // f64 when the first frame was published (for rates)
} as const;

// ---- lines 4-6: events; gen is the futex word, sleepers counts waiters ----
export const EV_RAW_FREED = 256;
export const EV_WORK = 320;
export const EV_DONE = 384;
export const EV_GEN = 0; // i32 offset inside an event line
export const EV_SLEEPERS = 4; // i32
export const EV_WAKING = 8; // i32 WORK only (E2): ms stamp | WAKING_SET of a wake-up on its way, 0 when none

// ---- line 7: recovery (written only while holding the LOCK semaphore) ----
export const R = {
  redone: 448, // f64 frames handed out again after a worker died
  recoveries: 456, // f64 dead owners found
  abort: 464, // i32 Abort code (Atomics); non-zero stops every stage
  // 468..471 free (keeps the f64 below 8-byte aligned)
  abortSeqF: 472, // f64 seq of the frame that caused the abort
  runPid: 480, // i32 pid of the `run` supervisor, 0 in separate-shell mode
  semid: 484, // i32 id of the pipeline's semaphore set (I10): written once by the creator, before MAGIC
  frameTimeoutUs: 504, // f64 --frame-timeout in µs, set once at creation (I11); 0 = none
} as const;

// ---- line 8: delivery record (consumer only), crash-atomic by double buffering ----
// The consumer writes copy (gen + 1) % 2 = {delivered, offset, lastSeq}, then
// stores gen + 1: a consumer killed between any two stores leaves the previous
// record intact, so "frames delivered" and "bytes written" never disagree.
export const D = {
  gen: 512, // i32 (Atomics): which copy is current = gen % 2
  copy0: 520, // 3 x f64: delivered (next n), output offset, last seq (-1 = none)
  copy1: 544,
  hash0: 568, // u32: checksum of the output's last bytes before copy0's offset (I8)
  hash1: 572, // u32: the same for copy1
} as const;
/** Bytes of output before the recorded offset covered by D.hash. */
export const TAIL_BYTES = 64;

// ---- line 9: producer position (producer only), crash-atomic like D (I7) ----
// Copy (gen + 1) % 2 = {n committed, input position after it, source index after it}.
export const Q = {
  gen: 576, // i32 (Atomics); 0 = no frame committed yet
  copy0: 584, // 3 x f64: n, position (input byte offset, or file index for png), source index
  copy1: 608,
} as const;

// ---- line 10: output identity (consumer only; I8) ----
export const O = {
  kind: 640, // i32 OutKind, 0 until the first consumer records it
  format: 644, // i32 1 + index in OUT_FORMATS
  dev: 648, // f64 st_dev of the output file or directory
  ino: 656, // f64 st_ino
} as const;
export const OutKind = { NONE: 0, FILE: 1, STREAM: 2, DIR: 3 } as const;

// ---- line 11: run record (the `run` supervisor only; I9) ----
export const U = {
  heal: 704, // i32 Heal bits (Atomics)
  inputId: 708, // u32 hash of the input's identity (format, file, size, mtime)
  opId: 712, // u32 hash of the op chain
  outputId: 716, // u32 hash of the output (format, path)
  restartsProducer: 720, // u32
  restartsWorker: 724, // u32
  restartsConsumer: 728, // u32
  resumes: 732, // u32 times `run --resume` continued this pipeline
  recorded: 736, // i32 1 once the ids above are written
} as const;
export const Heal = { PRODUCER: 1, CONSUMER: 2 } as const;

// ---- worker table ----
export const WORKERS_OFF = 768;
/**
 * Worker entry pid field: > 0 live owner; 0 never used; -pid left by a worker
 * that exited (counters kept for stat); <= RESERVED_BASE: being filled in by
 * pid (RESERVED_BASE - value), free again if that pid died meanwhile.
 */
export const RESERVED_BASE = -0x1000000;
export function reservedBy(pid: number): number {
  return RESERVED_BASE - pid;
}

export const W = {
  pid: 0, // i32, see RESERVED_BASE
  sleeping: 4, // i32 1 while this worker is counted in the WORK event's sleepers (recovery undoes it for a dead worker)
  start: 8, // f64 start time for pid-reuse checks
  frames: 16, // f64 frames committed
  busyUs: 24, // f64 time inside op kernels
  waitUs: 32, // f64 time waiting for work
  attachedUs: 40, // f64 CLOCK_MONOTONIC when it attached
  bytes: 48, // f64 output bytes committed
  claimingUs: 56, // f64 CLOCK_MONOTONIC µs just before this worker's latest claim CAS (I11: the deadline of a claim not stamped yet)
} as const;

/** Byte offset of worker table entry j (0 <= j < MAX_WORKERS). */
export function workerEntry(j: number): number {
  return WORKERS_OFF + j * LINE;
}
/** The byte offsets of every worker table entry, in table order. */
export const WORKER_ENTRIES: readonly number[] = Array.from({ length: MAX_WORKERS }, (_, j) => workerEntry(j));


// ---- stream info (producer only, written before frame 0 is published; I13) ----
export const STREAM_OFF = WORKERS_OFF + MAX_WORKERS * LINE; // 2816
export const STREAM_LINES = 16;
export const T = {
  ready: STREAM_OFF, // i32 (Atomics) 1 once every field below is written (the publishing store)
  format: STREAM_OFF + 4, // u32 input format code, InFormatCode in formats/types.ts (0 = unknown)
  tagsLen: STREAM_OFF + 8, // u32 bytes used in `tags`
  pathLen: STREAM_OFF + 12, // u32 bytes used in `path`
  files: STREAM_OFF + 16, // u32 files in the input list (image folders/globs), 0 otherwise
  namesHash: STREAM_OFF + 20, // u32 fnv1a32 of the list's base names joined by "/"
  tags: STREAM_OFF + 64, // 192 B: the y4m stream header's tags after "YUV4MPEG2 " (ASCII)
  tagsMax: 192,
  path: STREAM_OFF + 256, // 768 B: the input list's absolute DIR or GLOB (UTF-8)
  pathMax: 768,
} as const;

export const RAW_SLOT_TABLE = STREAM_OFF + STREAM_LINES * LINE; // 3840
export const PROC_SLOT_TABLE = 128;

// ---- slot entry ----
export const S = {
  state: 0, // i32 pid*16 + state
  attempts: 4, // u32
  n: 8, // f64
  seq: 16, // f64
  w: 24, // u32
  h: 28, // u32
  fmt: 32, // u32
  len: 36, // u32
  stamp: 40, // f64
  ownerStart: 48, // f64 start time of the claiming worker (raw slots): a recycled pid is not the owner
  claimedUs: 56, // f64 CLOCK_MONOTONIC µs when the worker claimed the frame (raw slots; I11 frame deadline, stat's claim age)
} as const;

export const State = {
  FREE: 0,
  WRITING: 1,
  READY: 2,
  CLAIMED: 3,
  DONE: 4,
  POISONED: 5,
} as const;
export const STATE_NAMES = ["FREE", "WRITING", "READY", "CLAIMED", "DONE", "POISONED"];

export function packState(state: number, pid: number): number {
  return pid * 16 + state;
}
export function stateOf(word: number): number {
  return word & 15;
}
export function ownerOf(word: number): number {
  return word >>> 4;
}

/** End-of-stream codes in P.eos. */
export const Eos = {
  NONE: 0,
  OK: 1, // input ended cleanly
  PARTIAL: 2, // input ended inside a frame (exit 3)
  INVALID: 3, // producer rejected a frame (exit 2)
  PRODUCER_DIED: 4, // producer vanished (exit 3)
  FULL: 5, // --when-full fail hit a full ring (exit 3)
  INTERRUPTED: 6, // producer stopped by a signal (exit 3 for the consumer)
  TIMED_OUT: 7, // producer gave up waiting (--timeout): not the input's fault
} as const;
export const EOS_NAMES = ["streaming", "ok", "partial frame", "invalid input", "producer died", "ring full", "interrupted", "producer timed out"];

/** Abort codes in R.abort. */
export const Abort = {
  NONE: 0,
  POISONED: 1, // a frame killed its worker maxAttempts times
  SUPERVISOR: 2, // run is stopping the pipeline
  OP_FAILED: 3, // a worker could not apply the chain to a frame (e.g. output too big)
  CORRUPT: 4, // a stage found the shared memory in an impossible state (I6): exit 2
  OP_ERROR: 5, // an op failed on one frame maxAttempts times (I12); the consumer reports its reason: exit 4
} as const;
export const ABORT_NAMES = ["none", "poisoned frame", "stopped by supervisor", "op failed", "corrupt segment", "op error"];

/** Raw slot states a raw state word may hold, processed ones likewise (I6). */
export const RAW_STATES: readonly number[] = [State.FREE, State.WRITING, State.READY, State.CLAIMED, State.POISONED];
export const PROC_STATES: readonly number[] = [State.FREE, State.WRITING, State.DONE, State.POISONED];
/** States that carry an owner pid in the word; every other state word has owner bits 0. */
export function ownedState(state: number): boolean {
  return state === State.WRITING || state === State.CLAIMED;
}

export const Sem = { LOCK: 0, PRODUCERS: 1, WORKERS: 2, CONSUMERS: 3, COUNT: 4 } as const;

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export interface SegmentGeometry {
  slots: number;
  slotBytes: number;
  stride: number;
  payloadOff: number;
  segBytes: number;
}

/** Byte geometry of a segment of `kind` with K slots of `slotBytes` each. */
export function segmentGeometry(kind: number, slots: number, slotBytes: number): SegmentGeometry {
  const table = kind === KIND_RAW ? RAW_SLOT_TABLE : PROC_SLOT_TABLE;
  const stride = alignUp(Math.max(slotBytes, 1), LINE);
  const payloadOff = alignUp(table + slots * LINE, PAGE);
  return { slots, slotBytes, stride, payloadOff, segBytes: payloadOff + slots * stride };
}

export function slotTableOf(kind: number): number {
  return kind === KIND_RAW ? RAW_SLOT_TABLE : PROC_SLOT_TABLE;
}
