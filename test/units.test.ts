import { describe, expect, test } from "bun:test";
import { perWorkerText } from "../src/commands/summary";
import { decodeHeader, encodeHeader, NATIVE_HEADER } from "../src/formats/native";
import { InvalidInput } from "../src/errors";
import { keysFor, isOurKey, KEY_TAG } from "../src/pipeline/ipc/keys";
import { alignUp, KIND_PROCESSED, KIND_RAW, ownerOf, packState, PAGE, RAW_SLOT_TABLE, segmentGeometry, State, stateOf, WORKERS_OFF, LINE, MAX_WORKERS, D, C, P, R, STREAM_OFF, STREAM_LINES, T } from "../src/pipeline/layout";
import { payloadBytes, parseSize } from "../src/frame/format";
import { mostSevere } from "../src/errors";
import { Spin, SPIN_MAX_US, SPIN_MIN_US, SPIN_START_US } from "../src/pipeline/ring/event";
import { usableCores } from "../src/pipeline/ipc/proc";
import { availableParallelism } from "node:os";
import { readStreamInfo, writeStreamInfo } from "../src/pipeline/ring/stream";
import { autoSlots, type Pipeline } from "../src/pipeline/ring/pipeline";

const info = () => ({ w: 0, h: 0, fmt: 1 as const, seq: 0, len: 0 });

describe("native header", () => {
  test("encode then decode gives the same fields", () => {
    const b = new Uint8Array(NATIVE_HEADER);
    encodeHeader(b, 0, { w: 1920, h: 1080, fmt: 2, seq: 2 ** 40 + 3, len: 1920 * 1080 * 3 });
    expect(decodeHeader(b, 0, 0, info())).toEqual({ w: 1920, h: 1080, fmt: 2, seq: 2 ** 40 + 3, len: 6220800 });
    expect([...b.subarray(0, 8)]).toEqual([0x53, 0x48, 0x4d, 0x46, 1, 0, 32, 0]); // "SHMF", v1, 32
  });

  const bad: [string, (v: DataView) => void, RegExp][] = [
    ["magic", (v) => v.setUint32(0, 0xdeadbeef, true), /field magic is 0xdeadbeef/],
    ["version", (v) => v.setUint16(4, 2, true), /field version is 2/],
    ["header size", (v) => v.setUint16(6, 16, true), /field header is 16/],
    ["zero width", (v) => v.setUint32(8, 0, true), /field width is 0/],
    ["huge height", (v) => v.setUint32(12, 99999, true), /field height is 99999/],
    ["format", (v) => v.setUint32(16, 0, true), /field format is 0/],
    ["length", (v) => v.setUint32(20, 5, true), /field length is 5, but 4x2 rgb24 needs 24/],
    ["seq beyond 2^53", (v) => v.setBigUint64(24, 2n ** 60n, true), /field seq/],
  ];
  for (const [what, mutate, re] of bad) {
    test(`rejects a bad ${what} with InvalidInput naming the field`, () => {
      const b = new Uint8Array(NATIVE_HEADER);
      encodeHeader(b, 0, { w: 4, h: 2, fmt: 2, seq: 9, len: 24 });
      mutate(new DataView(b.buffer));
      expect(() => decodeHeader(b, 0, 9, info())).toThrow(re);
      expect(() => decodeHeader(b, 0, 9, info())).toThrow(InvalidInput);
    });
  }
});

describe("layout and ring arithmetic", () => {
  test("state words carry state and owner pid in one int32", () => {
    for (const pid of [1, 12345, 4194304]) {
      const w = packState(State.CLAIMED, pid);
      expect(w).toBeLessThan(2 ** 31);
      expect(stateOf(w)).toBe(State.CLAIMED);
      expect(ownerOf(w)).toBe(pid);
    }
    expect(packState(State.FREE, 0)).toBe(0);
  });

  test("control lines written by different processes never share a 64-byte line", () => {
    const line = (off: number) => Math.floor(off / LINE);
    const producer = Object.values(P).map(line);
    const consumer = Object.values(C).map(line);
    const recovery = Object.values(R).map(line);
    const delivery = Object.values(D).map(line);
    for (const set of [producer, consumer, recovery]) expect(new Set(set).size).toBe(1);
    expect(new Set([producer[0], consumer[0], recovery[0], delivery[0]]).size).toBe(4);
    expect(WORKERS_OFF % LINE).toBe(0);
    expect(STREAM_OFF).toBe(WORKERS_OFF + MAX_WORKERS * LINE);
    expect(RAW_SLOT_TABLE).toBe(STREAM_OFF + STREAM_LINES * LINE);
    expect(T.path + T.pathMax).toBe(RAW_SLOT_TABLE);
    expect(T.tags + T.tagsMax).toBe(T.path);
  });

  test("segment geometry: page-aligned payload, 64-byte strides, exact size", () => {
    const g = segmentGeometry(KIND_RAW, 8, 100);
    expect(g.stride).toBe(128);
    expect(g.payloadOff % PAGE).toBe(0);
    expect(g.payloadOff).toBeGreaterThanOrEqual(RAW_SLOT_TABLE + 8 * LINE);
    expect(g.segBytes).toBe(g.payloadOff + 8 * 128);
    const p = segmentGeometry(KIND_PROCESSED, 8, 64);
    expect(p.payloadOff).toBe(PAGE);
    expect(alignUp(4097, PAGE)).toBe(8192);
  });

  test("frame n lives in slot n % K for free-running n beyond 2^32", () => {
    const K = 7;
    for (const n of [0, 6, 7, 2 ** 32 + 5, 2 ** 52 + 1]) expect(n % K).toBe(Number(BigInt(n) % 7n));
  });

  test("payload sizes, including odd yuv420p", () => {
    expect(payloadBytes(3, 3, 4)).toBe(9 + 2 * 2 * 2);
    expect(payloadBytes(1, 1, 3)).toBe(4);
    expect(parseSize("1920x1080")).toEqual({ w: 1920, h: 1080 });
    expect(parseSize("0x10")).toBeUndefined();
    expect(parseSize("20000x10")).toBeUndefined();
  });
});

describe("default slot count (autoSlots)", () => {
  test("about 8 MiB per ring, 3..64 slots, at least one per worker plus one up to 256 MiB per ring", () => {
    const rgb = (w: number, h: number) => w * h * 3;
    // Small frames: 64 slots, whatever the workers.
    expect(autoSlots(rgb(8, 8), 1)).toBe(64);
    expect(autoSlots(64 * 64, 64)).toBe(64);
    // Mid frames: the 8 MiB budget (8 MiB / 691,200 B = 12).
    expect(autoSlots(rgb(640, 360), 2)).toBe(12);
    expect(autoSlots(rgb(320, 240), 2)).toBe(36);
    // Big frames: at least 3, and one per worker plus one.
    expect(autoSlots(rgb(1920, 1080), 1)).toBe(3);
    expect(autoSlots(rgb(1920, 1080), 2)).toBe(3);
    expect(autoSlots(rgb(1920, 1080), 16)).toBe(17);
    expect(autoSlots(rgb(640, 360), 16)).toBe(17);
    // The worker floor stops at 256 MiB per ring (1080p: 43), and at 64 slots.
    expect(autoSlots(rgb(1920, 1080), 64)).toBe(43);
    expect(autoSlots(rgb(640, 360), 64)).toBe(64);
    // A frame larger than the whole budget still gets 3 slots.
    expect(autoSlots(16384 * 16384 * 4, 64)).toBe(3);
  });
});

describe("keys", () => {
  test("derive from uid and name, tagged 0x5D, three objects per pipeline", () => {
    const k = keysFor("default", 1000);
    expect(k).toEqual(keysFor("default", 1000));
    expect(k.raw & 0xff000000).toBe(KEY_TAG | 0);
    expect([k.processed - k.raw, k.sems - k.raw]).toEqual([1, 2]);
    expect(keysFor("default", 1001).raw).not.toBe(k.raw);
    expect(isOurKey(k.sems)).toBe(true);
    expect(isOurKey(0x12345678)).toBe(false);
  });
});

describe("exit codes", () => {
  test("run takes the most severe stage code", () => {
    expect(mostSevere([0, 3, 2])).toBe(2);
    expect(mostSevere([0, 4, 2, 3])).toBe(4);
    expect(mostSevere([141, 0])).toBe(141);
    expect(mostSevere([4, 130])).toBe(130);
  });
});

describe("summary lines", () => {
  test("per-worker frame counts: each count for up to 8 processes, else count and min/median/max", () => {
    expect(perWorkerText({ "11": 5, "12": 7 })).toBe("[5 7]");
    const many: Record<string, number> = {};
    for (let i = 0; i < 20; i++) many[String(100 + i)] = (i * 7) % 20;
    expect(perWorkerText(many)).toBe("[20 processes; frames min 0 median 10 max 19]");
  });
});

describe("spin policy (waiting with more tasks than cores)", () => {
  test("one usable core never spins; with cores to spare it may", () => {
    expect(new Spin(1).allowed(0)).toBe(false);
    // More cores than this machine can have runnable tasks: spinning is allowed.
    expect(new Spin(1 << 20).allowed(0)).toBe(true);
  });

  test("more runnable tasks than cores stops spinning until the next look (at most every ms)", () => {
    const s = new Spin(2);
    // Pretend the last look saw the machine crowded: within 1 ms the answer is kept.
    (s as unknown as { checkedAt: number; free: boolean }).checkedAt = 5_000;
    (s as unknown as { free: boolean }).free = false;
    expect(s.allowed(5_500)).toBe(false);
  });

  test("the budget is learned: a hit after e µs raises it to 2e (at most the max), a miss halves it (at least the min)", () => {
    const s = new Spin(2);
    expect(s.budgetUs).toBe(SPIN_START_US);
    s.hit(80);
    expect(s.budgetUs).toBe(160);
    s.hit(500);
    expect(s.budgetUs).toBe(SPIN_MAX_US);
    for (let k = 0; k < 20; k++) s.miss();
    expect(s.budgetUs).toBe(SPIN_MIN_US);
    expect([s.hits, s.misses]).toEqual([2, 20]);
  });
});

describe("usable cores", () => {
  test("at least 1 and no more than the affinity mask allows", () => {
    const n = usableCores();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
  });
});

describe("stream info (layout T, I7)", () => {
  /** A stand-in for the raw segment: the fields readStreamInfo and writeStreamInfo touch. */
  function fakePipeline() {
    const buf = new ArrayBuffer(RAW_SLOT_TABLE);
    const raw = { u8: new Uint8Array(buf), u32: new Uint32Array(buf), i32: new Int32Array(buf), shmid: 77 };
    return {
      name: "unit",
      raw,
      i32: (off: number) => Atomics.load(raw.i32, off >> 2),
      setI32: (off: number, v: number) => Atomics.store(raw.i32, off >> 2, v),
    } as unknown as Pipeline;
  }

  test("round trip: format, y4m tags, image list; nothing before the ready store", () => {
    const p = fakePipeline();
    expect(readStreamInfo(p)).toBeNull();
    writeStreamInfo(p, { format: "y4m", y4mTags: "W64 H48 F30000:1001 It A4:3 C420mpeg2 XCOLORRANGE=FULL" });
    expect(readStreamInfo(p)).toEqual({ format: "y4m", y4mTags: "W64 H48 F30000:1001 It A4:3 C420mpeg2 XCOLORRANGE=FULL" });
    writeStreamInfo(p, { format: "jpeg", list: { path: "/tmp/photos", files: 3, namesHash: 0xdeadbeef } });
    expect(readStreamInfo(p)).toEqual({ format: "jpeg", list: { path: "/tmp/photos", files: 3, namesHash: 0xdeadbeef } });
    // Too long to carry: left out, not cut.
    writeStreamInfo(p, { format: "png", list: { path: "/" + "x".repeat(T.pathMax), files: 1, namesHash: 1 } });
    expect(readStreamInfo(p)).toEqual({ format: "png" });
  });

  test("corrupt fields are exit 2 naming the field, never an out-of-bounds read", () => {
    const p = fakePipeline();
    writeStreamInfo(p, { format: "y4m", y4mTags: "W2 H2" });
    const u32 = (p as unknown as { raw: { u32: Uint32Array } }).raw.u32;
    const cases: [number, number, RegExp][] = [
      [T.tagsLen, T.tagsMax + 1, /field tagsLen 193 exceeds 192/],
      [T.pathLen, 0xffffffff, /field pathLen 4294967295 exceeds 768/],
      [T.format, 99, /field format 99 is not an input format code/],
      [T.ready, 5, /field ready is 5/],
    ];
    for (const [off, v, re] of cases) {
      const saved = u32[off >> 2]!;
      u32[off >> 2] = v;
      let err: unknown;
      try {
        readStreamInfo(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).message).toMatch(re);
      expect((err as InvalidInput).message).toContain('corrupt stream info in pipeline "unit" (shmid 77)');
      u32[off >> 2] = saved;
    }
  });
});
