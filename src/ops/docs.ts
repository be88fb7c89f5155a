/**
 * Op documentation for `shmimg ops` and the README, generated from the op
 * definitions themselves (so the accepted formats can never drift from the code).
 */
import { formatName } from "../frame/format";
import { ALIASES, OP_DEFS } from "./registry";

export const OP_DOCS: { name: string; syntax: string; formula: string; edges: string; formats: string }[] = OP_DEFS.map((d) => ({
  name: d.name,
  syntax: d.syntax,
  formula: d.formula,
  edges: d.edges,
  formats: d.formats.map(formatName).join(", "),
}));

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
