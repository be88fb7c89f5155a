/**
 * Ring geometry: how large a slot must be and how many slots a ring gets,
 * from the largest frame (given, or the first frame's) and the op chain's
 * output for it.
 */
import { payloadBytes, type Format } from "../../frame/format";
import { autoSlots, type CreateOptions } from "./pipeline";

export interface Geometry {
  w: number;
  h: number;
  fmt: Format;
}

export interface SizingOptions {
  name: string;
  /** Largest frame the raw ring must hold. */
  max: Geometry;
  /** Output geometry of the op chain for an input geometry; throws when the chain refuses it. */
  chainOut?: (g: Geometry) => Geometry;
  /** Slots per ring; default from the slot size and the workers (autoSlots). */
  slots?: number;
  /** The most workers that will take frames (sizes the default slot count). */
  workers: number;
  maxAttempts: number;
  frameTimeoutS?: number;
}

/**
 * Room left after the largest output in every processed slot: a native
 * kernel that writes past its output overwrites the canary placed there
 * (src/ops/kernel.ts) instead of the next slot, and the frame fails before
 * it is published.
 */
export const OUTPUT_GUARD = 64;

/** Sizes both rings: the processed slot is the largest chain output over every format no larger than the max. */
export function ringOptions(o: SizingOptions): CreateOptions {
  const { w, h, fmt } = o.max;
  const rawBytes = payloadBytes(w, h, fmt);
  let procBytes = rawBytes;
  if (o.chainOut) {
    // The chain may be unable to accept the max format (e.g. sobel on rgba32): size for what it accepts.
    for (const f of [1, 2, 3, 4] as Format[]) {
      if (payloadBytes(w, h, f) > rawBytes) continue;
      try {
        const out = o.chainOut({ w, h, fmt: f });
        procBytes = Math.max(procBytes, payloadBytes(out.w, out.h, out.fmt));
      } catch {}
    }
  }
  const slots = o.slots ?? autoSlots(Math.max(rawBytes, procBytes), o.workers);
  return { name: o.name, slots, maxW: w, maxH: h, maxFormat: fmt, procSlotBytes: procBytes + OUTPUT_GUARD, maxAttempts: o.maxAttempts, frameTimeoutS: o.frameTimeoutS };
}
