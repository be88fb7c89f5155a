/**
 * Op throughput at 1920x1080: `bun src/ops/bench.ts [filter]` prints ms/frame
 * (mean over ~0.5 s after a warm-up) for the hot-path ops. Not used by the CLI.
 */
import { Format, formatName, payloadBytes, type Geometry } from "../frame/format";
import { parseChain } from "./chain";

const W = 1920;
const H = 1080;

const CASES: [string, Format][] = [
  ["invert", Format.rgb24],
  ["invert", Format.rgba32],
  ["invert", Format.gray8],
  ["invert", Format.yuv420p],
  ["grayscale", Format.rgb24],
  ["grayscale", Format.rgba32],
  ["gaussian", Format.gray8],
  ["gaussian", Format.rgb24],
  ["sobel", Format.gray8],
  ["blur", Format.gray8],
  ["blur:10", Format.gray8],
  ["blur", Format.rgb24],
  ["blur:10", Format.rgb24],
  ["threshold:128", Format.gray8],
  ["brightness:+20", Format.rgb24],
  ["contrast:1.5", Format.rgba32],
  ["hflip", Format.rgb24],
  ["vflip", Format.rgb24],
  ["rotate90", Format.rgb24],
  ["rotate90", Format.rgba32],
  ["rotate180", Format.yuv420p],
  ["crop:1280x720+100+100", Format.rgb24],
  ["downscale2x", Format.rgb24],
  ["rgb", Format.yuv420p],
];

/** Per-call ms of `op.apply` on a pseudo-random frame after 10 warm-up calls: [median, min]. */
export function benchOp(spec: string, fmt: Format, w = W, h = H, budgetMs = 600): [number, number] {
  const op = parseChain(spec)[0]!;
  const g: Geometry = { w, h, fmt };
  const og = op.out(g);
  const src = new Uint8Array(payloadBytes(w, h, fmt) + 4096); // slot-like: longer than the payload
  for (let i = 0; i < src.length; i++) src[i] = Math.imul(i, 0x9e3779b1) >>> 24;
  const dst = new Uint8Array(payloadBytes(og.w, og.h, og.fmt) + 4096);
  for (let i = 0; i < 10; i++) op.apply(src, g, dst, og);
  const times: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs || times.length < 5) {
    const t = performance.now();
    op.apply(src, g, dst, og);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return [times[times.length >> 1]!, times[0]!];
}

if (import.meta.main) {
  const filter = process.argv[2];
  console.log(`op throughput at ${W}x${H}: ms/frame (median, min)`);
  for (const [spec, fmt] of CASES) {
    if (filter && !spec.includes(filter)) continue;
    const [med, min] = benchOp(spec, fmt);
    console.log(`${spec.padEnd(24)} ${formatName(fmt).padEnd(8)} ${med.toFixed(2).padStart(7)} ${min.toFixed(2).padStart(7)}`);
  }
}
