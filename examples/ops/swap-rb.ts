/**
 * An op module: swaps the red and blue channels of rgb24/rgba32 frames.
 *   shmimg run --workers 3 --op ./examples/ops/swap-rb.ts < in.shm > out.shm
 */
import type { Op } from "shmimg";

export default {
  name: "swap-rb",
  formats: ["rgb24", "rgba32"],
  out: (g) => g,
  apply(src, dst, g) {
    const C = g.format === "rgba32" ? 4 : 3;
    const n = g.w * g.h * C;
    for (let i = 0; i < n; i += C) {
      dst[i] = src[i + 2]!;
      dst[i + 1] = src[i + 1]!;
      dst[i + 2] = src[i]!;
      if (C === 4) dst[i + 3] = src[i + 3]!;
    }
  },
} satisfies Op;
