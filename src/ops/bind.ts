/**
 * Binding a contract Op (src/ops/contract.ts) to its parameters: the result
 * is a Step, the one shape the chain runner calls. Parameters are parsed once
 * here; the output geometry returned by the op is validated every time it is
 * computed (once per distinct input geometry), so a wrong out() is an exit 2
 * before any frame, never a write past a slot.
 */
import { InvalidInput } from "../errors";
import { FORMAT_NAMES, MAX_DIMENSION, formatName, parseFormat, payloadBytes, type Format, type Geometry } from "../frame/format";
import type { Frame, FormatName, Op, Params } from "./contract";
import { checkInput, type Step } from "./types";

/** A step of a chain: a bound op plus what the chain check needs. */
export interface Element extends Step {
  /** Input formats the op accepts. */
  readonly formats: readonly Format[];
  /** How messages name the op: `"sobel"`, `"swap-rb" (./ops/swap.ts)`. */
  readonly who: string;
}

/**
 * A geometry as both the chain (fmt code) and an op (format name) read it.
 * `format` is a prototype getter, so equality checks on {w, h, fmt} still hold.
 */
export class FrameGeometry implements Frame {
  constructor(
    readonly w: number,
    readonly h: number,
    readonly fmt: Format,
  ) {
    Object.freeze(this);
  }
  get format(): FormatName {
    return FORMAT_NAMES[this.fmt] as FormatName;
  }
}

/** g as a Frame (the chain passes FrameGeometry already; other callers get one made). */
export function asFrame(g: Geometry): Frame {
  return g instanceof FrameGeometry ? g : new FrameGeometry(g.w, g.h, g.fmt);
}

/** Default parameter parser: "k=v;k2=v2" -> { k: "v", k2: "v2" }; nothing -> {}. */
export function parseParams(text: string | undefined, who: string): Params {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === "") return out;
  for (const part of text.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InvalidInput(`op ${who}: parameter "${part}" is not key=value (write "path:key=value;key=value")`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function validDim(n: unknown): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_DIMENSION;
}

/**
 * Binds `op` to the parameter text; `label` is the element as written (used
 * as its spec unless the op gives one), `who` names it in messages.
 * Throws InvalidInput when the parameters are refused. With `exactViews`
 * (ops a user brings) apply() gets src and dst cut to the payload sizes, so
 * a JS op cannot write past its output (a typed array ignores stores beyond
 * its end); built-ins get the slot views, whose word views they cache.
 */
export function bind<P>(op: Op<P>, text: string | undefined, label: string, who: string, exactViews = false): Element {
  let params: P;
  try {
    params = op.parse ? op.parse(text) : (parseParams(text, who) as P);
  } catch (e) {
    if (e instanceof InvalidInput) throw e;
    throw new InvalidInput(`op ${who} refused its parameters "${text ?? ""}": ${(e as Error)?.message ?? e}`);
  }
  const formats = op.formats.map((f) => parseFormat(f)!) as Format[];
  const name = op.spec ? op.spec(params) : label;
  const opOut = op.out;
  const opApply = op.apply;
  return {
    name,
    formats,
    who,
    out(g: Geometry): Geometry {
      checkInput(op.name, g, formats, who);
      if (!opOut) return { w: g.w, h: g.h, fmt: g.fmt };
      let o: ReturnType<NonNullable<Op<P>["out"]>>;
      try {
        o = opOut.call(op, asFrame(g), params);
      } catch (e) {
        if (e instanceof InvalidInput) throw e;
        throw new InvalidInput(`op ${who} refused ${g.w}x${g.h} ${formatName(g.fmt)}: ${(e as Error)?.message ?? e}`);
      }
      const fmt = o && typeof o.format === "string" ? parseFormat(o.format) : undefined;
      if (!o || !validDim(o.w) || !validDim(o.h) || fmt === undefined)
        throw new InvalidInput(
          `op ${who}: out() returned ${JSON.stringify(o)} for ${g.w}x${g.h} ${formatName(g.fmt)}; it must return { w, h, format } with w and h integers 1..${MAX_DIMENSION} and format one of ${Object.values(FORMAT_NAMES).join(", ")}`,
        );
      return { w: o.w, h: o.h, fmt };
    },
    apply(src: Uint8Array, g: Geometry, dst: Uint8Array, og: Geometry): void {
      if (exactViews) {
        src = src.subarray(0, payloadBytes(g.w, g.h, g.fmt));
        dst = dst.subarray(0, payloadBytes(og.w, og.h, og.fmt));
      }
      opApply.call(op, src, dst, asFrame(g), asFrame(og), params);
    },
  };
}
