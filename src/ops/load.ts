/**
 * Chain elements a user brings, loaded into contract Ops (src/ops/contract.ts)
 * once per process, before the first frame:
 *
 *   ./ops/vignette.ts[:k=v;k=v]   a TS/JS module (an element with "/" or
 *                                 ending in .ts/.js/.mjs/.cjs); its default export is the Op
 *   native:./libmine.so#edge[:P]  a C kernel (src/ops/kernel.ts, native/shmimg_op.h)
 *   exec:CMD                      /bin/sh -c CMD per frame, PNM in and out (src/ops/external.ts)
 *   filter:CMD                    /bin/sh -c CMD per worker, a PNM stream in and out
 *
 * Paths are resolved against the current directory (a compiled shmimg
 * imports an external .ts at run time as well as `bun src/cli.ts` does).
 * Whatever is wrong (missing file, no default export, a missing or mistyped
 * field) is an InvalidInput (exit 2) naming the file and the problem.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidInput } from "../errors";
import { FORMAT_NAMES } from "../frame/format";
import { bind, type Element } from "./bind";
import type { Op } from "./contract";
import { execOp, filterOp } from "./external";
import { nativeOp } from "./kernel";

/**
 * Splits a chain at commas outside single or double quotes (a command of an
 * exec:/filter: element may quote a comma).
 */
export function splitChain(spec: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quote = "";
  for (const c of spec) {
    if (quote !== "") {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ",") {
      parts.push(cur);
      cur = "";
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

const MODULE = /^([^:]*)(?::(.*))?$/s;

/** The element as a user op, or undefined when it is a built-in op's name. */
export function loadElement(el: string): Element | undefined {
  const kind = /^(native|exec|filter):/i.exec(el)?.[1]?.toLowerCase();
  if (kind === "exec" || kind === "filter") {
    const cmd = el.slice(kind.length + 1).trim();
    if (cmd === "") throw new InvalidInput(`op "${el}": no command after "${kind}:"; e.g. "${kind === "exec" ? "exec:pamflip -lr" : "filter:python3 examples/filter.py"}"`);
    return bind(kind === "exec" ? execOp(cmd) : filterOp(cmd), undefined, el, `"${el}"`);
  }
  if (kind === "native") {
    const m = /^native:([^#]+)#([A-Za-z_][A-Za-z0-9_]*)(?::(.*))?$/s.exec(el);
    if (m === null) throw new InvalidInput(`op "${el}": write native:LIBRARY#SYMBOL[:params], e.g. "native:./examples/ops/libedge.so#edge"`);
    const file = resolve(m[1]!);
    return bind(nativeOp(file, m[2]!, `native:${m[1]}#${m[2]}`), m[3], el, `"${el}"`);
  }
  const m = MODULE.exec(el)!;
  const path = m[1]!.trim();
  if (!path.includes("/") && !/\.(ts|js|mjs|cjs)$/.test(path)) return undefined;
  const file = resolve(path);
  const op = loadModule(file, path);
  return bind(op, m[2], el, `"${op.name}" (${path})`, true);
}

const modules = new Map<string, Op<any>>();

/** require()s a module op once per process and checks its default export against the contract. */
export function loadModule(file: string, shown = file): Op<any> {
  const have = modules.get(file);
  if (have) return have;
  const bad = (what: string): never => {
    throw new InvalidInput(`op module ${shown}: ${what}`);
  };
  if (!existsSync(file)) bad(`file ${file} not found`);
  let mod: any;
  try {
    mod = require(file);
  } catch (e) {
    bad(`failed to load: ${((e as Error)?.message ?? String(e)).split("\n")[0]}`);
  }
  const op = mod?.default;
  if (op === undefined || op === null) bad(`has no default export; end it with \`export default { name, formats, apply } satisfies Op\` (import type { Op } from "shmimg")`);
  if (typeof op !== "object") bad(`its default export is a ${typeof op}, not an object { name, formats, apply }`);
  if (typeof op.name !== "string" || op.name === "") bad(`field "name" is missing or not a non-empty string`);
  if (!Array.isArray(op.formats) || op.formats.length === 0) bad(`field "formats" is missing or empty; list the input formats it accepts, e.g. formats: ["rgb24"]`);
  const known = Object.values(FORMAT_NAMES);
  for (const f of op.formats) if (!known.includes(f)) bad(`field "formats" names ${JSON.stringify(f)}, which is not one of ${known.join(", ")}`);
  if (typeof op.apply !== "function") bad(`field "apply" is missing or not a function (src, dst, g, og, params) => void`);
  for (const f of ["out", "parse", "spec"]) if (op[f] !== undefined && typeof op[f] !== "function") bad(`field "${f}" is not a function`);
  modules.set(file, op);
  return op;
}
