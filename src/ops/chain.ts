/**
 * Op chains: parsing "grayscale,blur,threshold:128" and running the ops in order
 * through two grow-only ping-pong buffers.
 */
import { InvalidInput } from "../errors";
import { Interrupted } from "../signals";
import { formatName, payloadBytes, type Format, type Geometry } from "../frame/format";
import { copyBytes } from "./buffers";
import { bind, FrameGeometry, type Element } from "./bind";
import { loadElement, splitChain } from "./load";
import { ALIASES, OPS, findOp } from "./registry";
import { checkInput, type Step } from "./types";

const SCRATCH_GUARD = 64;

const ELEMENT = /^([A-Za-z][A-Za-z0-9]*)(?:\s*[:=]\s*(.*))?$/;

/**
 * Parses a comma-separated op chain and loads every op it names, once: a
 * built-in `name`, `name:arg` or `name=arg` (whitespace ignored, names
 * case-insensitive); a module path (`./ops/x.ts:k=v;k=v`); `native:LIB#SYM`;
 * `exec:CMD`; `filter:CMD` (src/ops/load.ts). An empty or all-blank spec is
 * the empty chain (identity). Then checks that each op accepts a format the
 * previous one can produce. Throws InvalidInput naming the bad element and
 * its position (and the file, for modules and libraries).
 */
export function parseChain(spec: string): Element[] {
  if (spec.trim() === "") return [];
  const parts = splitChain(spec);
  const els = parts.map((raw, i) => {
    const where = parts.length > 1 ? ` (element ${i + 1} of "${spec}")` : "";
    const el = raw.trim();
    if (el === "") throw new InvalidInput(`empty op${where}; remove the extra comma`);
    try {
      return loadElement(el) ?? builtin(el, where);
    } catch (e) {
      if (e instanceof InvalidInput && where !== "" && !e.message.endsWith(where)) throw new InvalidInput(e.message + where);
      throw e;
    }
  });
  checkFormats(els, spec);
  return els;
}

function builtin(el: string, where: string): Element {
  const m = ELEMENT.exec(el);
  if (m === null) throw new InvalidInput(`malformed op "${el}"${where}; write name, name:arg or name=arg, a module path (./op.ts), native:LIB#SYMBOL, exec:CMD or filter:CMD`);
  let name = m[1]!.toLowerCase();
  let arg = m[2];
  if (name === "rotate") {
    // rotate:90 / rotate:180 / rotate:270 spell rotate90 / rotate180 / rotate270
    const deg = arg?.trim();
    if (deg !== "90" && deg !== "180" && deg !== "270") {
      throw new InvalidInput(`op "${el}"${where}: rotate takes 90, 180 or 270 (clockwise), e.g. "rotate90"`);
    }
    name = `rotate${deg}`;
    arg = undefined;
  }
  const op = findOp(name);
  if (op === undefined) throw new InvalidInput(`unknown op "${m[1]}"${where}; ${suggest(name)}`);
  return bind(op, arg, el, `"${op.name}"`);
}

/**
 * Static format check, before any frame: follows the set of formats each
 * step can receive (any format first) through the chain, using each op's
 * declared formats and its out() on a 64x64 probe (an out() that refuses the
 * probe's size is assumed to keep the format). A step that accepts none of
 * what the previous step can produce is an error naming both.
 */
export function checkFormats(els: readonly Element[], spec: string): void {
  let can = new Set<Format>([1, 2, 3, 4]);
  els.forEach((el, i) => {
    const ok = [...can].filter((f) => el.formats.includes(f));
    if (ok.length === 0) {
      const prev = els[i - 1]!;
      let msg = "";
      try {
        checkInput(el.name, { w: 64, h: 64, fmt: [...can][0]! }, el.formats, el.who);
      } catch (e) {
        msg = (e as Error).message;
      }
      throw new InvalidInput(`${msg} (element ${i + 1} of "${spec}": the previous op ${prev.who} produces only ${[...can].map(formatName).join(", ")})`);
    }
    const next = new Set<Format>();
    for (const f of ok) {
      try {
        next.add(el.out({ w: 64, h: 64, fmt: f }).fmt);
      } catch {
        next.add(f);
      }
    }
    can = next;
  });
}

/** "did you mean" for an unknown op name, else the list of ops. */
function suggest(name: string): string {
  const names = [...OPS.map((d) => d.name), ...Object.keys(ALIASES)];
  let best = "";
  let bestD = Infinity;
  for (const n of names) {
    const d = n.startsWith(name) || name.startsWith(n) ? 1 : editDistance(name, n);
    if (d < bestD) {
      bestD = d;
      best = ALIASES[n] ?? n;
    }
  }
  const list = `known ops: ${OPS.map((d) => d.name).join(", ")}; or your own: ./op.ts, native:LIB#SYMBOL, exec:CMD, filter:CMD (see "shmimg ops")`;
  return bestD <= 2 ? `did you mean "${best}"? ${list}` : list;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** An op threw while processing a frame (the worker retries the frame, I12). */
export class StepFailed extends Error {
  constructor(
    /** The step's spec, quoted: "./ops/x.ts", "native:./lib.so#edge". */
    readonly op: string,
    readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * A sequence of ops run frame after frame. Geometries are computed (and every
 * step validated) once per distinct input geometry; intermediates live in two
 * buffers allocated on first use and grown only when a larger frame arrives.
 */
export class Chain {
  /** Canonical spec: the op names joined by ","; "" for the empty chain. */
  readonly spec: string;
  private readonly ops: readonly Step[];
  /** The ops actually run: identity steps are dropped (they only copy). */
  private readonly run: readonly Step[];
  private a = new Uint8Array(0);
  private b = new Uint8Array(0);
  private cachedIn: Geometry | null = null;
  /** geometry before step i of `run` at [i], output at [run.length]; frozen. */
  private runGeoms: Geometry[] = [];

  constructor(ops: Step[]) {
    this.ops = [...ops];
    this.run = this.ops.filter((op) => op.name !== "identity");
    this.spec = this.ops.map((op) => op.name).join(",");
  }

  /**
   * Output geometry of the whole chain; throws InvalidInput at the first step that
   * refuses its input. Cached per input geometry and frozen (no allocation when
   * called per frame): do not mutate it.
   */
  out(g: Geometry): Geometry {
    const geoms = this.geometries(g);
    return geoms[geoms.length - 1]!;
  }

  /**
   * Runs every op: src (payload of g) -> dst (payload of the returned geometry).
   * A one-op chain writes straight into dst; an empty (or all-identity) chain copies.
   * The returned geometry object is cached and frozen: do not mutate it.
   */
  apply(src: Uint8Array, g: Geometry, dst: Uint8Array): Geometry {
    const geoms = this.geometries(g);
    const run = this.run;
    const n = run.length;
    if (n === 0) {
      copyBytes(src, dst, payloadBytes(g.w, g.h, g.fmt));
      return geoms[0]!;
    }
    let from = src;
    let i = 0;
    try {
      for (; i < n; i++) {
        const to = i === n - 1 ? dst : i % 2 === 0 ? this.a : this.b;
        run[i]!.apply(from, geoms[i]!, to, geoms[i + 1]!);
        from = to;
      }
    } catch (e) {
      if (e instanceof Interrupted) throw e; // a signal, not the op's failure
      throw new StepFailed(`"${run[i]!.name}"`, e);
    }
    return geoms[n]!;
  }

  /** Per-step geometries for input g (cached for the last distinct input geometry). */
  private geometries(g: Geometry): Geometry[] {
    const c = this.cachedIn;
    if (c !== null && c.w === g.w && c.h === g.h && c.fmt === g.fmt) return this.runGeoms;
    // Validate every op (identity included) in order, so errors name the first bad step.
    let cur: Geometry = { w: g.w, h: g.h, fmt: g.fmt };
    // Still reject nonsense geometry for the empty chain, with identity's checks.
    if (this.ops.length === 0) checkInput("identity", cur, [1, 2, 3, 4]);
    const geoms: Geometry[] = [new FrameGeometry(cur.w, cur.h, cur.fmt)];
    for (const op of this.ops) {
      cur = op.out(cur);
      if (op.name !== "identity") geoms.push(new FrameGeometry(cur.w, cur.h, cur.fmt));
    }
    // Grow the ping-pong buffers for the intermediates (outputs of all steps but the last).
    let needA = 0;
    let needB = 0;
    for (let i = 1; i < geoms.length - 1; i++) {
      const gi = geoms[i]!;
      const bytes = payloadBytes(gi.w, gi.h, gi.fmt);
      if ((i - 1) % 2 === 0) needA = Math.max(needA, bytes);
      else needB = Math.max(needB, bytes);
    }
    // + SCRATCH_GUARD: room for a native kernel's canary (src/ops/kernel.ts) between two steps too.
    if (this.a.length < needA + SCRATCH_GUARD) this.a = new Uint8Array(needA + SCRATCH_GUARD);
    if (this.b.length < needB + SCRATCH_GUARD) this.b = new Uint8Array(needB + SCRATCH_GUARD);
    this.cachedIn = new FrameGeometry(g.w, g.h, g.fmt);
    this.runGeoms = geoms;
    return geoms;
  }
}
