/**
 * --help text: fits 80 columns, lists only the options a user gives (not the
 * `internal` ones `run` passes to its stages), and uses bold headings only on
 * a terminal without NO_COLOR.
 */
import type { ArgSpec, ArgSpecs } from "./argv";

export const WIDTH = 80;
const COL = 26;

/** Words of `text` wrapped to lines of at most `width` characters, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join("\n" + " ".repeat(indent));
}

/** A shell command wrapped with `\` continuations. */
function wrapCommand(cmd: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of cmd.split(" ").filter(Boolean)) {
    if (line && line.length + word.length + 3 > width) {
      lines.push(line + " \\");
      line = "    " + word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join("\n");
}

function colour(stream: { isTTY?: boolean }): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

function optionLabel(name: string, a: ArgSpec): string {
  const short = (Array.isArray(a.alias) ? a.alias : a.alias ? [a.alias] : []).filter((s) => s.length === 1);
  const value = a.type === "boolean" ? "" : ` ${a.valueHint ?? "VALUE"}`;
  return `${short.map((s) => `-${s}, `).join("")}--${name}${value}`;
}

function optionLines(specs: ArgSpecs): string[] {
  const out: string[] = [];
  for (const [name, a] of Object.entries(specs)) {
    if (a.internal || a.type === "positional") continue;
    const label = "  " + optionLabel(name, a);
    const extra = a.required ? " (required)" : a.default !== undefined && a.default !== false && a.default !== "" ? ` (default: ${String(a.default)})` : "";
    const desc = wrap(`${a.description ?? ""}${extra}`, WIDTH - COL, COL);
    out.push(label.length + 2 <= COL ? label.padEnd(COL) + desc : `${label}\n${" ".repeat(COL)}${desc}`);
  }
  return out;
}

export interface HelpCommand {
  name: string;
  description: string;
  args: ArgSpecs;
  example?: string;
}

/** Help for one command. */
export function commandHelp(c: HelpCommand, exitCodes: string, stream: { isTTY?: boolean }): string {
  const b = colour(stream) ? (s: string) => `\x1b[1m${s}\x1b[22m` : (s: string) => s;
  const pos = Object.entries(c.args).filter(([, a]) => a.type === "positional");
  const usage = `shmimg ${c.name} [options]${pos.map(([n, a]) => ` ${a.required === false ? `[${n.toUpperCase()}]` : n.toUpperCase()}`).join("")}`;
  const parts = [wrap(`shmimg ${c.name}: ${c.description}`, WIDTH - 2, 2), "", `${b("Usage:")} ${usage}`];
  for (const [n, a] of pos) parts.push(`  ${n.toUpperCase().padEnd(COL - 2)}${wrap(a.description ?? "", WIDTH - COL, COL)}`);
  parts.push("", b("Options:"), ...optionLines(c.args));
  if (c.example) parts.push("", b("Example:"), ...c.example.split(/\s{3,}/).map((e) => "  " + wrapCommand(e, WIDTH - 2).replace(/\n/g, "\n  ")));
  parts.push("", wrap(exitCodes, WIDTH, 0));
  return parts.join("\n") + "\n";
}

/** Help for `shmimg` itself: the commands and the global options. */
export function mainHelp(description: string, commands: { name: string; description: string }[], example: string, exitCodes: string, stream: { isTTY?: boolean }): string {
  const b = colour(stream) ? (s: string) => `\x1b[1m${s}\x1b[22m` : (s: string) => s;
  const cw = 10;
  const parts = [wrap(`shmimg: ${description}`, WIDTH - 2, 2), "", `${b("Usage:")} shmimg COMMAND [options]    shmimg COMMAND --help`, "", b("Commands:")];
  for (const c of commands) parts.push(`  ${c.name.padEnd(cw)}${wrap(c.description, WIDTH - cw - 2, cw + 2)}`);
  parts.push(
    "",
    b("Options:"),
    `${"  -h, --help".padEnd(COL)}Show help (for a command: shmimg COMMAND --help).`,
    `${"  --version".padEnd(COL)}Print the version.`,
    "",
    b("Example:"),
    "  " + wrapCommand(example, WIDTH - 2).replace(/\n/g, "\n  "),
    "",
    wrap(exitCodes, WIDTH, 0),
  );
  return parts.join("\n") + "\n";
}
