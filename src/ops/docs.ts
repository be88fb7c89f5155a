/**
 * Op documentation for `shmimg ops` and the README, generated from the op
 * definitions themselves (so the accepted formats can never drift from the code).
 */
import { ALIASES, OPS } from "./registry";

export const OP_DOCS: { name: string; syntax: string; formula: string; edges: string; formats: string }[] = OPS.map((d) => ({
  name: d.name,
  syntax: d.syntax ?? d.name,
  formula: d.formula ?? "",
  edges: d.edges ?? "",
  formats: d.formats.join(", "),
}));

/** The kinds of op a user brings: element syntax, how to write one, the example shipped. */
export const OWN_OP_KINDS: { kind: string; element: string; how: string; example: string }[] = [
  {
    kind: "TS/JS module",
    element: "./path/op.ts[:key=value;key=value]",
    how:
      'default export { name, formats, out?, apply(src, dst, g, og, params) } satisfies Op (import type { Op } from "shmimg"); ' +
      "src/dst are views straight into the slots; loaded and checked once per process before the first frame",
    example: "examples/ops/swap-rb.ts",
  },
  {
    kind: "native kernel",
    element: "native:./libop.so#NAME[:params]",
    how: "int32_t NAME(src, dst, w, h, format, params) and optional NAME_out(&w, &h, &format, params) from native/shmimg_op.h, called through bun:ffi with pointers into the slots (no copy); non-zero = the frame failed",
    example: "examples/ops/edge.c (make examples -> examples/ops/libedge.so#edge)",
  },
  {
    kind: "exec command",
    element: "exec:CMD",
    how: "/bin/sh -c CMD once per frame: one PNM image (P5 gray8, P6 rgb24, P7 rgba32) on stdin, one of the same geometry on stdout; netpbm and ImageMagick work unchanged",
    example: "exec:pamflip -lr (= hflip)",
  },
  {
    kind: "filter process",
    element: "filter:CMD",
    how: "/bin/sh -c CMD once per worker, kept: a PNM stream in, one image out per image in (a model loads once); its stderr is forwarded prefixed",
    example: "filter:python3 examples/filter.py",
  },
];

const FAILURES =
  "An op that throws, returns non-zero, dies or replies a malformed or wrong-size image fails that frame: it is retried up to " +
  "--max-attempts (default 3), then the stream stops with exit 4 naming the seq, the op and the message, after every earlier " +
  "frame was delivered. A worker holding one frame longer than --frame-timeout (default 60 s: an endless loop, a silent " +
  "filter, SIGSTOP) is SIGKILLed and the frame redone. Commas inside an exec:/filter: command need quotes.";

const NAME_W = 13;
const FMT_W = 29;
const WIDTH = 100;

/** A plain-text table: one header line per op (name, formats, syntax), then its formula and edge rule, wrapped. */
export function renderOpsTable(): string {
  const indent = " ".repeat(NAME_W);
  const lines: string[] = [pad("OP", NAME_W) + pad("FORMATS", FMT_W) + "SYNTAX", ""];
  for (const d of OP_DOCS) {
    lines.push(pad(d.name, NAME_W) + pad(d.formats.replaceAll(", ", " "), FMT_W) + d.syntax);
    for (const l of wrap(d.formula, WIDTH - NAME_W)) lines.push(indent + l);
    for (const l of wrap(`edges: ${d.edges}`, WIDTH - NAME_W)) lines.push(indent + l);
    lines.push("");
  }
  const aliases = Object.entries(ALIASES).map(([a, n]) => `${a} = ${n}`);
  const footer =
    'Chain ops with commas: "grayscale,blur:2,threshold:128". "name:arg" and "name=arg" are the same. ' +
    `Aliases: ${aliases.join(", ")}, rotate:90|180|270 = rotate90|rotate180|rotate270.`;
  lines.push(...wrap(footer, WIDTH));
  lines.push("", "YOUR OWN OPS (any element of --op CHAIN, next to the built-ins, under run and work alike)", "");
  for (const k of OWN_OP_KINDS) {
    lines.push(pad(k.kind, 16) + k.element);
    for (const l of wrap(k.how, WIDTH - 16)) lines.push(" ".repeat(16) + l);
    lines.push(" ".repeat(16) + `example: ${k.example}`, "");
  }
  lines.push(...wrap(FAILURES, WIDTH));
  return lines.join("\n") + "\n";
}

function pad(s: string, w: number): string {
  return s.length >= w ? s + " " : s + " ".repeat(w - s.length);
}

/** Greedy word wrap to at most `w` columns (a longer single word gets its own line). */
function wrap(text: string, w: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= w) line += " " + word;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line !== "") out.push(line);
  return out;
}
