/**
 * The one op registry: every built-in op as a contract Op (src/ops/contract.ts),
 * in the order `shmimg ops` lists them, plus spelling aliases. Ops a user
 * brings (modules, native kernels, exec:/filter: commands) are loaded into
 * the same shape by src/ops/load.ts; the chain runner knows no other kind.
 */
import { formatName } from "../frame/format";
import { grayscaleDef, rgbDef } from "./color";
import type { FormatName, Op } from "./contract";
import { blurDef, gaussianDef, sobelDef } from "./filter";
import { cropDef, hflipDef, rotate180Def, rotate270Def, rotate90Def, vflipDef } from "./geometry";
import { brightnessDef, contrastDef, identityDef, invertDef, thresholdDef } from "./point";
import { downscale2xDef, scaleOp } from "./scale";
import type { OpDef, Step } from "./types";

/** The built-in definitions written before the contract (they parse their argument into a ready Step). */
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

/**
 * An OpDef as a contract Op: parse() builds the definition's Step once, so
 * its params ARE the ready step (scratch buffers and parsed argument inside);
 * out() and apply() forward to it. spec() gives the canonical text ("blur:1").
 */
export function fromDef(def: OpDef): Op<Step> {
  return {
    name: def.name,
    formats: def.formats.map((f) => formatName(f) as FormatName),
    syntax: def.syntax,
    formula: def.formula,
    edges: def.edges,
    parse: (text) => def.create(text),
    out(g, step) {
      const o = step.out(g as never);
      return { w: o.w, h: o.h, format: formatName(o.fmt) as FormatName };
    },
    apply: (src, dst, g, og, step) => step.apply(src, g as never, dst, og as never),
    spec: (step) => step.name,
  };
}

export const OPS: readonly Op<any>[] = [...OP_DEFS.map(fromDef), scaleOp];

const BY_NAME = new Map<string, Op<any>>(OPS.map((d) => [d.name, d]));

/** Alternative spellings accepted in specs (canonical names are always what a step's name reports). */
export const ALIASES: Readonly<Record<string, string>> = {
  negate: "invert",
  gray: "grayscale",
  grey: "grayscale",
  greyscale: "grayscale",
  copy: "identity",
};

/** The built-in op for a (lower-case) name or alias, or undefined. */
export function findOp(name: string): Op<any> | undefined {
  return BY_NAME.get(ALIASES[name] ?? name);
}
