/**
 * The op contract shared by the op library, the chain runner and the workers.
 *
 * An op is a pure function from one frame to another. It never does IPC, never
 * allocates per frame (scratch buffers are allocated once and grown only when a
 * larger geometry arrives) and never trusts `.length` of its buffers: src/dst
 * are fixed-size views over shared-memory slots and are usually LONGER than
 * the payload.
 */
import { InvalidInput } from "../errors";
import { Format, MAX_DIMENSION, formatName, isFormat, type Geometry } from "../frame/format";

export interface Step {
  /** Canonical spec, e.g. "threshold:128"; parseChain(name) gives back an equal op. */
  readonly name: string;
  /** Output geometry; throws InvalidInput if the format is not accepted or the size is invalid. */
  out(g: Geometry): Geometry;
  /**
   * Reads src[0 .. payloadBytes(inG)), writes dst[0 .. payloadBytes(outG)).
   * src and dst never alias. outG must be out(inG).
   */
  apply(src: Uint8Array, inG: Geometry, dst: Uint8Array, outG: Geometry): void;
}

/** Static description of one op kind: used by the parser, `shmimg ops` and the README. */
export interface OpDef {
  /** Op name as written in a spec ("blur"). */
  readonly name: string;
  /** Spec syntax shown to users ("blur[:R]  R = 1..1000, default 1"). */
  readonly syntax: string;
  /** Formats accepted as input, in Format-code order. */
  readonly formats: readonly Format[];
  /** What the op computes, exactly (rounding included). */
  readonly formula: string;
  /** What happens at the image border / odd sizes. */
  readonly edges: string;
  /** Builds the op from the text after ':' or '=' (undefined when absent); throws InvalidInput. */
  create(arg: string | undefined): Step;
}

export const ALL_FORMATS: readonly Format[] = [Format.gray8, Format.rgb24, Format.rgba32, Format.yuv420p];
export const PACKED_FORMATS: readonly Format[] = [Format.gray8, Format.rgb24, Format.rgba32];
export const GRAY_ONLY: readonly Format[] = [Format.gray8];

/** Bytes per pixel of a packed format (gray8 1, rgb24 3, rgba32 4). */
export function channels(fmt: Format): number {
  return fmt === Format.rgba32 ? 4 : fmt === Format.rgb24 ? 3 : 1;
}

/** The op to suggest putting first when `opName` refuses `fmt`. */
function conversionHint(accepted: readonly Format[]): string {
  if (accepted.includes(Format.gray8) && !accepted.includes(Format.rgb24)) return `put "grayscale" before it`;
  if (!accepted.includes(Format.yuv420p)) return `put "rgb" (or "grayscale") before it`;
  return `convert the input to one of: ${accepted.map(formatName).join(", ")}`;
}

/**
 * Validates an input geometry for op `opName`: known format, accepted by the op,
 * integer size within 1..MAX_DIMENSION. Throws InvalidInput with a fix-it hint;
 * `who` is how the message names the op (default the quoted name).
 */
export function checkInput(opName: string, g: Geometry, accepted: readonly Format[], who = `"${opName}"`): void {
  if (!isFormat(g.fmt)) throw new InvalidInput(`op ${who}: unknown pixel format code ${g.fmt}`);
  if (!accepted.includes(g.fmt)) {
    throw new InvalidInput(
      `op ${who} does not accept ${formatName(g.fmt)} input; ${conversionHint(accepted)} ` +
        `(accepted: ${accepted.map(formatName).join(", ")})`,
    );
  }
  if (!validDim(g.w) || !validDim(g.h)) {
    throw new InvalidInput(`op ${who}: invalid frame size ${g.w}x${g.h} (each side must be 1..${MAX_DIMENSION})`);
  }
}

function validDim(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_DIMENSION;
}

/** An op whose output geometry equals its input geometry (validated against `formats`). */
export function sameSize(name: string, formats: readonly Format[], apply: Step["apply"]): Step {
  return {
    name,
    out(g: Geometry): Geometry {
      checkInput(name, g, formats);
      return { w: g.w, h: g.h, fmt: g.fmt };
    },
    apply,
  };
}

/** Parses a decimal integer argument in [min, max]; throws InvalidInput naming the op. */
export function intArg(op: string, arg: string | undefined, min: number, max: number, what: string, example: string): number {
  if (arg === undefined || !/^[+-]?\d+$/.test(arg.trim())) {
    const got = arg === undefined ? "no argument" : `"${op}:${arg}"`;
    throw new InvalidInput(`op "${op}" needs ${what} as an integer ${min}..${max}, e.g. "${example}" (got ${got})`);
  }
  const n = Number(arg.trim());
  if (n < min || n > max) throw new InvalidInput(`op "${op}": ${what} must be ${min}..${max} (got ${arg.trim()})`);
  return n;
}

/** Throws InvalidInput when an argument-less op was given an argument. */
export function noArg(op: string, arg: string | undefined): void {
  if (arg !== undefined) throw new InvalidInput(`op "${op}" takes no argument (got "${op}:${arg}"); write just "${op}"`);
}
