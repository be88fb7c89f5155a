/**
 * One attached System V segment: create, attach with full header validation,
 * typed views, detach. A view never outlives its shmdt (detach() drops them).
 */
import { toArrayBuffer } from "bun:ffi";
import { E, errno, errnoName, IPC, libc } from "../../native/libc";
import { shim, shmStat } from "../../native/shim";
import { InvalidInput, ShmimgError, Exit } from "../../errors";
import { hexKey } from "./keys";
import { ownershipProblem } from "./owner";
import { isAlive } from "./proc";
import {
  H,
  LINE,
  MAGIC_CREATING,
  MAX_SEGMENT_BYTES,
  KIND_PROCESSED,
  KIND_RAW,
  LAYOUT_VERSION,
  MAGIC,
  MAX_NAME_BYTES,
  MAX_SLOTS,
  segmentGeometry,
  slotTableOf,
  type SegmentGeometry,
} from "../layout";
import { MAX_DIMENSION, isFormat, payloadBytes } from "../../frame/format";

export interface SegmentSpec {
  kind: number;
  name: string;
  slots: number;
  slotBytes: number;
  maxW: number;
  maxH: number;
  maxFormat: number;
  maxAttempts: number;
}

export class Segment {
  u8!: Uint8Array;
  i32!: Int32Array;
  u32!: Uint32Array;
  f64!: Float64Array;
  readonly slotTable: number;
  attached = true;

  constructor(
    readonly shmid: number,
    readonly key: number,
    readonly addr: number,
    readonly kind: number,
    readonly geo: SegmentGeometry,
  ) {
    const buf = toArrayBuffer(addr, 0, geo.segBytes);
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
    this.slotTable = slotTableOf(kind);
  }

  get slots(): number {
    return this.geo.slots;
  }

  /** Address of slot i's payload (for read/write/memcpy through libc). */
  payloadAddr(i: number): number {
    return this.addr + this.geo.payloadOff + i * this.geo.stride;
  }

  /** A view over slot i's whole payload capacity; create once per slot, not per frame. */
  payloadView(i: number): Uint8Array {
    return this.u8.subarray(this.geo.payloadOff + i * this.geo.stride, this.geo.payloadOff + i * this.geo.stride + this.geo.slotBytes);
  }

  name(): string {
    const bytes = this.u8.subarray(H.name, H.name + MAX_NAME_BYTES + 1);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.subarray(0, end < 0 ? MAX_NAME_BYTES : end));
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    const empty = new ArrayBuffer(0);
    this.u8 = new Uint8Array(empty);
    this.i32 = new Int32Array(empty);
    this.u32 = new Uint32Array(empty);
    this.f64 = new Float64Array(empty);
    libc.shmdt(this.addr);
  }
}

/** Explains a failed shmget, in the style of PostgreSQL's sysv_shmem.c hints. */
export function shmgetError(key: number, size: number, flags: number, err: number, name: string): ShmimgError {
  const call = `shmget(key=${hexKey(key)}, size=${size}, ${flags & IPC.CREAT ? "IPC_CREAT|IPC_EXCL|0600" : "0"}) failed: ${errnoName(err)}.`;
  let hint: string;
  switch (err) {
    case E.ENOENT:
      hint = `No pipeline named "${name}" exists; create it with \`shmimg init --name ${name} --max-size WxH\` or use \`shmimg run\`.`;
      break;
    case E.EEXIST:
      hint = `A segment already exists at this key; if pipeline "${name}" is stale run \`shmimg clean --name ${name}\`, otherwise use another --name.`;
      break;
    case E.EACCES:
      hint = "The segment belongs to another user or its mode forbids access; use your own --name.";
      break;
    case E.EINVAL:
      hint = `The segment is larger than the kernel allows (kernel.shmmax) or exists with a smaller size; lower --slots or --max-size, or raise it: sysctl -w kernel.shmmax=${Math.max(size, 1) * 2}.`;
      break;
    case E.ENOSPC:
      hint = "The kernel's limit on segments (kernel.shmmni) or total shared memory (kernel.shmall) is reached; remove stale ones with `shmimg clean --stale` or raise the sysctl.";
      break;
    case E.ENOMEM:
      hint = "Not enough memory for the segment; lower --slots or --max-size.";
      break;
    default:
      hint = "See shmget(2).";
  }
  return new ShmimgError(`${call} ${hint}`, Exit.INVALID);
}

/** The refusal for a ring larger than one segment can be mapped (before any shmget). */
export function tooLarge(name: string, kind: number, slots: number, slotBytes: number, segBytes: number): InvalidInput {
  return new InvalidInput(
    `pipeline "${name}": the ${kind === KIND_RAW ? "raw" : "processed"} ring needs ${segBytes} bytes (${slots} slots x ${slotBytes} B), more than one segment can be mapped (${MAX_SEGMENT_BYTES} bytes = 4 GiB, Bun's ArrayBuffer limit); nothing was created. Lower --slots or --max-size / --max-format`,
  );
}

/**
 * Creates (IPC_EXCL, 0600) and initialises a segment. The size is checked
 * against what can be mapped before shmget; from shmget on, any failure
 * removes the segment before throwing (the undo is in place before anything
 * can throw). The first stores mark the header CREATING with our pid and the
 * name (I10), so a creator killed mid-way leaves an object `clean` can prove
 * is ours; publishSegment() stores MAGIC once the pipeline is complete.
 */
export function createSegment(key: number, spec: SegmentSpec): Segment {
  const geo = segmentGeometry(spec.kind, spec.slots, spec.slotBytes);
  if (geo.segBytes > MAX_SEGMENT_BYTES) throw tooLarge(spec.name, spec.kind, spec.slots, spec.slotBytes, geo.segBytes);
  const flags = IPC.CREAT | IPC.EXCL | 0o600;
  const shmid = libc.shmget(key, geo.segBytes, flags);
  if (shmid < 0) throw shmgetError(key, geo.segBytes, flags, errno(), spec.name);
  let addr = 0;
  try {
    addr = libc.shmat(shmid, null, 0);
    if (addr === -1 || addr === 0) {
      const err = errno();
      addr = 0;
      throw new ShmimgError(`shmat(shmid=${shmid}) failed: ${errnoName(err)}. Check the process's address-space limits (ulimit -v).`, Exit.INVALID);
    }
    // Identify the object first (a one-line view: nothing here can fail).
    const head = new Uint32Array(toArrayBuffer(addr, 0, LINE * 2));
    head[H.kind >> 2] = spec.kind;
    head[H.creatorPid >> 2] = process.pid;
    head[H.creatorUid >> 2] = process.getuid!();
    new Uint8Array(head.buffer).set(new TextEncoder().encode(spec.name).subarray(0, MAX_NAME_BYTES), H.name);
    Atomics.store(head, H.magic >> 2, MAGIC_CREATING | 0);
    const seg = new Segment(shmid, key, addr, spec.kind, geo);
    const { u32, f64 } = seg;
    u32[H.version >> 2] = LAYOUT_VERSION;
    u32[H.headerBytes >> 2] = slotTableOf(spec.kind);
    u32[H.slots >> 2] = spec.slots;
    u32[H.slotBytes >> 2] = spec.slotBytes;
    u32[H.stride >> 2] = geo.stride;
    u32[H.maxW >> 2] = spec.maxW;
    u32[H.maxH >> 2] = spec.maxH;
    u32[H.maxFormat >> 2] = spec.maxFormat;
    u32[H.payloadOff >> 2] = geo.payloadOff;
    u32[H.maxAttempts >> 2] = spec.maxAttempts;
    f64[H.segBytes >> 3] = geo.segBytes;
    return seg;
  } catch (e) {
    if (addr) libc.shmdt(addr);
    shim.shim_shm_rmid(shmid);
    throw e;
  }
}

/** Publishes a complete header: pairs with the magic load in attachSegment(). */
export function publishSegment(seg: Segment): void {
  Atomics.store(seg.i32, H.magic >> 2, MAGIC | 0);
}

export interface AttachOptions {
  name: string;
  kind: number;
  /** Allow group-writable segments (--shared-group). */
  sharedGroup?: boolean;
}

function refuse(key: number, shmid: number, what: string): InvalidInput {
  return new InvalidInput(
    `segment key ${hexKey(key)} shmid ${shmid}: ${what}; refusing to attach (the segment was not modified). If it is a stale shmimg pipeline, remove it with \`shmimg clean --stale\`.`,
  );
}

/**
 * Attaches an existing segment and validates everything in its header before
 * any other field is trusted: owner and mode, magic, version, kind, sizes and
 * offsets against the real segment size, and the pipeline name.
 */
export function attachSegment(key: number, opts: AttachOptions): Segment {
  const shmid = libc.shmget(key, 0, 0);
  if (shmid < 0) throw shmgetError(key, 0, 0, errno(), opts.name);
  const st = shmStat(shmid);
  if (typeof st === "number") throw new ShmimgError(`shmctl(shmid=${shmid}, IPC_STAT) failed: ${errnoName(st)}. The segment may have just been removed; retry.`, Exit.INVALID);
  const problem = ownershipProblem(st, opts.sharedGroup);
  if (problem) throw refuse(key, shmid, problem);
  if (st.segsz < 128) throw refuse(key, shmid, `size ${st.segsz} is smaller than a shmimg header`);
  const addr = libc.shmat(shmid, null, 0);
  if (addr === -1 || addr === 0) throw new ShmimgError(`shmat(shmid=${shmid}) failed: ${errnoName(errno())}. Check permissions and address-space limits.`, Exit.INVALID);
  const head = new Uint32Array(toArrayBuffer(addr, 0, 128));
  const detachAnd = (e: Error): never => {
    libc.shmdt(addr);
    throw e;
  };
  // Pairs with the magic store in publishSegment(): a creator may still be writing.
  let magic = Atomics.load(head, H.magic >> 2);
  for (let i = 0; i < 100 && (magic === 0 || magic === MAGIC_CREATING); i++) {
    Bun.sleepSync(10);
    magic = Atomics.load(head, H.magic >> 2);
  }
  if (magic === MAGIC_CREATING)
    detachAnd(refuse(key, shmid, `it is still being created by pid ${head[H.creatorPid >> 2]} (${isAlive(head[H.creatorPid >> 2]!) ? "alive: wait for it to finish" : "dead: a half-created pipeline, remove it with `shmimg clean`"})`));
  if (magic !== MAGIC) detachAnd(refuse(key, shmid, `magic 0x${magic.toString(16)} is not shmimg's (0x${MAGIC.toString(16)})`));
  const version = head[H.version >> 2]!;
  if (version !== LAYOUT_VERSION) detachAnd(refuse(key, shmid, `layout version ${version}, this shmimg speaks version ${LAYOUT_VERSION}`));
  const kind = head[H.kind >> 2]!;
  if (kind !== opts.kind) detachAnd(refuse(key, shmid, `kind ${kind}, expected ${opts.kind === KIND_RAW ? "raw (1)" : "processed (2)"}`));
  const slots = head[H.slots >> 2]!;
  const slotBytes = head[H.slotBytes >> 2]!;
  if (slots < 1 || slots > MAX_SLOTS) detachAnd(refuse(key, shmid, `slot count ${slots} outside 1..${MAX_SLOTS}`));
  const maxW = head[H.maxW >> 2]!;
  const maxH = head[H.maxH >> 2]!;
  const maxFormat = head[H.maxFormat >> 2]!;
  if (maxW < 1 || maxH < 1 || maxW > MAX_DIMENSION || maxH > MAX_DIMENSION || !isFormat(maxFormat))
    detachAnd(refuse(key, shmid, `impossible geometry ${maxW}x${maxH} format ${maxFormat}`));
  const minBytes = kind === KIND_RAW ? payloadBytes(maxW, maxH, maxFormat as 1) : 1;
  if (slotBytes < minBytes || slotBytes > 0x7fffffff) detachAnd(refuse(key, shmid, `slot size ${slotBytes} does not fit the geometry ${maxW}x${maxH}`));
  const geo = segmentGeometry(kind, slots, slotBytes);
  if (head[H.stride >> 2] !== geo.stride || head[H.payloadOff >> 2] !== geo.payloadOff || head[H.headerBytes >> 2] !== slotTableOf(kind))
    detachAnd(refuse(key, shmid, "slot stride or payload offset disagree with the slot count and size (corrupt header)"));
  if (geo.segBytes > st.segsz) detachAnd(refuse(key, shmid, `header describes ${geo.segBytes} bytes but the segment has ${st.segsz}`));
  if (geo.segBytes > MAX_SEGMENT_BYTES) detachAnd(refuse(key, shmid, `header describes ${geo.segBytes} bytes, more than shmimg can map (${MAX_SEGMENT_BYTES})`));
  const maxAttempts = head[H.maxAttempts >> 2]!;
  if (maxAttempts < 1 || maxAttempts > 1000) detachAnd(refuse(key, shmid, `max attempts ${maxAttempts} outside 1..1000`));
  const seg = new Segment(shmid, key, addr, kind, geo);
  const name = seg.name();
  if (name !== opts.name) {
    seg.detach();
    throw refuse(key, shmid, `it belongs to pipeline "${name}", not "${opts.name}" (the two names share a key; use another --name)`);
  }
  return seg;
}

export { KIND_RAW, KIND_PROCESSED };
