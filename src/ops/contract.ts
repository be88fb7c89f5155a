/**
 * The op contract: what every element of `--op CHAIN` is, built-in or yours.
 * `import type { Op } from "shmimg"` resolves here (package.json "exports").
 * This file holds types only and imports nothing, so it can be read alone.
 *
 *   import type { Op } from "shmimg";
 *   export default {
 *     name: "swap-rb",
 *     formats: ["rgb24"],
 *     out: (g) => g,
 *     apply(src, dst, g) {
 *       for (let i = 0; i < g.w * g.h * 3; i += 3) { dst[i] = src[i + 2]; dst[i + 1] = src[i + 1]; dst[i + 2] = src[i]; }
 *     },
 *   } satisfies Op;
 *
 * Rules the chain runner relies on (and checks where it can):
 * - The module is loaded and checked once per process, before the first frame.
 * - `apply` reads src (bytes(g) long) and writes dst (bytes(og) long); src
 *   and dst never alias. They are views straight into shared-memory slots
 *   (or the chain's scratch buffers), cut to exactly the payload: a store
 *   past dst's end is dropped, never reaches another slot. Nothing is copied
 *   in or out.
 * - `apply` may throw: the frame is handed back and retried on any worker up
 *   to --max-attempts times, then the stream fails (exit 4) naming the seq,
 *   the op and the message. A frame that takes longer than --frame-timeout
 *   gets its worker SIGKILLed and is redone the same way.
 * - Per-frame allocation is allowed but slow: keep scratch buffers in the
 *   module (one process runs one copy of your op).
 */

/** Pixel formats. Byte layout: gray8 1 B/px; rgb24 R,G,B; rgba32 R,G,B,A; yuv420p Y plane w*h, then U and V at ceil(w/2) x ceil(h/2). */
export type FormatName = "gray8" | "rgb24" | "rgba32" | "yuv420p";

/** A frame's geometry as an op sees it. */
export interface Frame {
  readonly w: number;
  readonly h: number;
  readonly format: FormatName;
  /** The same format as its numeric code (1 gray8, 2 rgb24, 3 rgba32, 4 yuv420p), as in native/shmimg_op.h. */
  readonly fmt: number;
}

/** What `out` returns: the output geometry (fmt may be omitted). */
export interface FrameOut {
  readonly w: number;
  readonly h: number;
  readonly format: FormatName;
}

/** Parameters written after ':' as key=value pairs separated by ';' ("strength=0.4;radius=0.8"). */
export type Params = Readonly<Record<string, string>>;

export interface Op<P = Params> {
  /** Short name, used in messages ("swap-rb"). */
  readonly name: string;
  /** Input formats accepted; the chain is checked against them before the first frame. */
  readonly formats: readonly FormatName[];
  /**
   * Turns the text after ':' (undefined when absent) into P, once per
   * process. Throw an Error to refuse it (exit 2 naming the op). Default:
   * key=value pairs separated by ';' into a Params object.
   */
  parse?(text: string | undefined): P;
  /** Output geometry for input g; default: the same as g. Throw to refuse g (exit 2 before any frame). */
  out?(g: Frame, params: P): FrameOut;
  /** Reads src (geometry g), writes dst (geometry og = out(g)). Throw to fail this frame. */
  apply(src: Uint8Array, dst: Uint8Array, g: Frame, og: Frame, params: P): void;
  /** Canonical text of this element in messages and the chain's spec; default: the element as written. */
  spec?(params: P): string;
  /** Shown by `shmimg ops`: spec syntax ("vignette[:strength=S]"), formula and edge rule. */
  readonly syntax?: string;
  readonly formula?: string;
  readonly edges?: string;
}
