/**
 * Strict arguments, checked in one place against each command's `args`
 * definition before citty parses them: an unknown option, an option without
 * its value or a stray positional is exit 2 with a suggestion ("did you mean
 * --output?"), never silently ignored (`run --ouput x` once wrote the frames
 * to the terminal).
 */
import { InvalidInput } from "../errors";

/** What the checker needs of a citty argument definition (plus our `internal`). */
export interface ArgSpec {
  type?: string;
  alias?: string | string[];
  valueHint?: string;
  description?: string;
  default?: unknown;
  required?: boolean;
  /** Used between `run` and its stages or by `bench`: accepted, not shown in --help. */
  internal?: boolean;
}
export type ArgSpecs = Record<string, ArgSpec>;

const aliasesOf = (a: ArgSpec): string[] => (a.alias === undefined ? [] : Array.isArray(a.alias) ? a.alias : [a.alias]);

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** The closest candidate to `word` (a unique prefix, else within 2 edits), or undefined. */
export function closest(word: string, candidates: string[]): string | undefined {
  const prefixed = candidates.filter((c) => c.startsWith(word));
  if (word.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.min(2, Math.max(1, word.length - 2)) ? best : undefined;
}

/**
 * Checks `argv` (the words after the command name) against `specs`; throws
 * InvalidInput naming the first word that does not fit. Returns the long
 * names that were given (so the caller can act on global ones like --quiet).
 */
export function checkArgv(command: string, specs: ArgSpecs, argv: string[]): Set<string> {
  const byLong = new Map<string, ArgSpec>();
  const byShort = new Map<string, string>();
  const positional: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === "positional") {
      positional.push(name);
      continue;
    }
    byLong.set(name, spec);
    for (const a of aliasesOf(spec)) if (a.length === 1) byShort.set(a, name);
  }
  const visible = [...Object.entries(specs)].filter(([, s]) => s.type !== "positional" && !s.internal).map(([n]) => n);
  const unknown = (flag: string, word: string): never => {
    const guess = closest(word, visible);
    throw new InvalidInput(`unknown option ${flag} for ${command}${guess ? `; did you mean --${guess}?` : `; run \`shmimg ${command} --help\` for its options`}`);
  };
  const needsValue = (flag: string, name: string): never => {
    const hint = byLong.get(name)?.valueHint;
    throw new InvalidInput(`option ${flag} for ${command} needs a value${hint ? ` (${hint})` : ""}`);
  };
  const given = new Set<string>();
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      positionals += argv.length - i - 1;
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      let name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      let spec = byLong.get(name);
      if (!spec && name.startsWith("no-") && byLong.get(name.slice(3))?.type === "boolean" && eq < 0) {
        name = name.slice(3);
        spec = byLong.get(name);
      }
      if (!spec) unknown(eq < 0 ? word : word.slice(0, eq), name);
      given.add(name);
      if (spec!.type !== "boolean" && eq < 0) {
        if (i + 1 >= argv.length) needsValue(word, name);
        i++;
      }
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      const long = byShort.get(word[1]!);
      if (!long) unknown(word, word.slice(1));
      given.add(long!);
      const spec = byLong.get(long!)!;
      if (spec.type === "boolean") {
        if (word.length > 2) unknown(word, word.slice(1));
      } else if (word.length === 2) {
        if (i + 1 >= argv.length) needsValue(word, long!);
        i++;
      }
      continue;
    }
    if (positionals >= positional.length) {
      const hint = byLong.has("input") ? ` -i ${word}` : byLong.has("name") ? ` -n ${word}` : "";
      throw new InvalidInput(
        `unexpected argument "${word}" for ${command}${positional.length ? ` (it takes ${positional.length})` : " (it takes no positional arguments)"}${hint ? `; did you mean${hint}?` : ""}`,
      );
    }
    positionals++;
  }
  return given;
}
