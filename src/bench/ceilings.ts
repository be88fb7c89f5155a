/**
 * The bench's in-process ceilings (`shmimg pipe-work --mode cpu|memcpy`):
 * the op chain with no IPC at all (CPU ceiling), and frame-size copies
 * through a ring of buffers, with TypedArray.set and libc memcpy (memory
 * ceiling). Each returns the figures `pipe-work` prints as one JSON line.
 */
import { ptr } from "bun:ffi";
import { libc } from "../native/libc";
import { Chain, parseChain } from "../ops/chain";
import { autoSlots } from "../pipeline/ring/pipeline";
import { usableCores } from "../pipeline/ipc/proc";
import { payloadBytes, type Format } from "../frame/format";
import { frameOffset, makePattern } from "../frame/gen";

/**
 * The op chain over in-memory frames, two ways: "ring" = K aligned input and
 * output buffers used in turn, as the shm rings are (the working set of the
 * pipeline); "hot" = one input and one output buffer (the cache-resident best
 * case, as in the pipe worker). The ceiling is the faster of the two.
 */
export function cpuCeiling(w: number, h: number, fmt: Format, spec: string, count: number, seed: number) {
  const chain = new Chain(parseChain(spec));
  const len = payloadBytes(w, h, fmt);
  const g = chain.out({ w, h, fmt });
  const outLen = payloadBytes(g.w, g.h, g.fmt);
  const K = autoSlots(Math.max(len, outLen), usableCores());
  const pattern = makePattern(w, h, fmt, seed);
  const src = Array.from({ length: K }, (_, i) => pattern.slice(frameOffset(i, len), frameOffset(i, len) + len));
  const dst = Array.from({ length: K }, () => new Uint8Array(outLen));
  const info = { w, h, fmt };
  const timed = (k: number, n: number): number => {
    // Warm up (JIT tiers) for at least 3 frames and 0.2 s.
    const w0 = performance.now();
    for (let i = 0; i < 3 || performance.now() - w0 < 200; i++) chain.apply(src[i % k]!, info, dst[i % k]!);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) chain.apply(src[i % k]!, info, dst[i % k]!);
    return (performance.now() - t0) / 1000;
  };
  const half = Math.max(1, Math.ceil(count / 2));
  const ringS = timed(K, half);
  const hotS = timed(1, half);
  const seconds = Math.min(ringS, hotS) * (count / half);
  return { mode: "cpu", op: chain.spec, frames: count, bytes: len, outBytes: outLen, slots: K, ringFps: half / ringS, hotFps: half / hotS, seconds, fps: count / seconds };
}

/** Copy bandwidth over a ring of K frame-size buffer pairs; best of several rounds. */
export function memcpyCeiling(bytes: number, seconds: number) {
  const K = autoSlots(bytes, usableCores());
  const src = Array.from({ length: K }, (_, i) => new Uint8Array(bytes).fill(i + 1));
  const dst = Array.from({ length: K }, () => new Uint8Array(bytes).fill(0));
  const srcA = src.map((b) => ptr(b));
  const dstA = dst.map((b) => ptr(b));
  const best = { set: 0, memcpy: 0 };
  const rounds = 6;
  const perRound = (seconds * 1000) / rounds;
  for (let r = 0; r < rounds; r++) {
    const mode = r % 2 === 0 ? "set" : "memcpy";
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < perRound) {
      for (let k = 0; k < 16; k++, n++) {
        const i = n % K;
        if (mode === "set") dst[i]!.set(src[i]!);
        else libc.memcpy(dstA[i]!, srcA[i]!, bytes);
      }
      t = performance.now();
    }
    const bps = (n * bytes) / ((t - t0) / 1000);
    if (bps > best[mode]) best[mode] = bps;
  }
  return { mode: "memcpy", bytes, slots: K, setBps: best.set, memcpyBps: best.memcpy, bps: Math.max(best.set, best.memcpy) };
}
