/**
 * Every op kind, in the order `shmimg ops` lists them, plus spelling aliases.
 */
import { grayscaleDef, rgbDef } from "./color";
import { blurDef, gaussianDef, sobelDef } from "./filter";
import { cropDef, hflipDef, rotate180Def, rotate270Def, rotate90Def, vflipDef } from "./geometry";
import { brightnessDef, contrastDef, identityDef, invertDef, thresholdDef } from "./point";
import { downscale2xDef } from "./scale";
import type { OpDef } from "./types";

export const OP_DEFS: readonly OpDef[] = [
  identityDef,
  invertDef,
  grayscaleDef,
  rgbDef,
  hflipDef,
  vflipDef,
  rotate90Def,
  rotate180Def,
  rotate270Def,
  cropDef,
  thresholdDef,
  brightnessDef,
  contrastDef,
  blurDef,
  gaussianDef,
  sobelDef,
  downscale2xDef,
];

const BY_NAME = new Map<string, OpDef>(OP_DEFS.map((d) => [d.name, d]));

/** Alternative spellings accepted in specs (canonical names are always what Op.name reports). */
export const ALIASES: Readonly<Record<string, string>> = {
  negate: "invert",
  gray: "grayscale",
  grey: "grayscale",
  greyscale: "grayscale",
  copy: "identity",
};

/** The definition for a (lower-case) op name or alias, or undefined. */
export function findOpDef(name: string): OpDef | undefined {
  return BY_NAME.get(ALIASES[name] ?? name);
}
