#!/usr/bin/env bun
/**
 * shmimg: an image-processing pipeline across processes over System V shared
 * memory. The top level parses the subcommand, runs it, and turns any error
 * into one `ERROR: ...` line and a documented exit code (process.exitCode, so
 * every finally block — detach, remove — still runs).
 */
import { defineCommand, runCommand, type CommandDef } from "citty";
import { commands, exampleOf, HIDDEN } from "./commands/index";
import { ShmimgError, Exit } from "./errors";
import { log, printError } from "./log";
import { commonArgs, EXIT_CODES } from "./commands/args";
import { checkArgv, closest, type ArgSpecs } from "./commands/argv";
import { commandHelp, mainHelp } from "./commands/help";
import { writeOut } from "./io/stdio";
import pkg from "../package.json" with { type: "json" };

const DESCRIPTION = "Image-processing pipeline across processes over System V shared memory.";
const EXAMPLE = "shmimg gen --count 1000 --size 640x480 | shmimg run -w 2 --op grayscale,blur -o out.shm";

/** Help text to stdout; a reader that stops early (`| head -1`) is not an error. */
function showHelp(text: string): number {
  try {
    writeOut(text);
  } catch (e) {
    if (!(e instanceof ShmimgError)) throw e;
    if (e.code === Exit.SIGPIPE) return 0;
    printError(e.message);
    return e.code;
  }
  return 0;
}

async function help(sub: string | undefined): Promise<number> {
  if (!sub) {
    const list = [];
    for (const name of Object.keys(commands)) {
      if (HIDDEN.has(name)) continue;
      const meta = (await commands[name]!()).meta as { description?: string };
      list.push({ name, description: meta?.description ?? "" });
    }
    return showHelp(mainHelp(DESCRIPTION, list, EXAMPLE, EXIT_CODES, process.stdout));
  }
  const cmd = await commands[sub]!();
  const meta = cmd.meta as { description?: string };
  const args = { ...(cmd.args as ArgSpecs), ...(commonArgs as ArgSpecs) };
  return showHelp(commandHelp({ name: sub, description: meta?.description ?? "", args, example: await exampleOf(sub) }, EXIT_CODES, process.stdout));
}

function unknownCommand(word: string): number {
  const guess = closest(word, Object.keys(commands).filter((c) => !HIDDEN.has(c)));
  printError(`unknown command ${word}; ${guess ? `did you mean ${guess}?` : "run `shmimg --help` for the list"}`);
  return Exit.INVALID;
}

async function cli(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const sub = argv[0];
  if (sub === undefined || sub === "--help" || sub === "-h") return help(undefined);
  if (sub.startsWith("-")) {
    printError(`unknown option ${sub} for shmimg; give a command first (shmimg COMMAND ${sub}), see \`shmimg --help\``);
    return Exit.INVALID;
  }
  if (!commands[sub]) return unknownCommand(sub);
  const rest = argv.slice(1);
  if (rest.includes("--help") || rest.includes("-h")) return help(sub);
  try {
    const cmd = await commands[sub]!();
    const args = { ...(cmd.args as ArgSpecs), ...(commonArgs as ArgSpecs) };
    const given = checkArgv(sub, args, rest);
    if (given.has("quiet")) log.level = 1; // warnings and errors only
    if (given.has("verbose")) (await import("./native/trace")).enableTrace();
    await runCommand(defineCommand({ ...cmd, args } as CommandDef<any>), { rawArgs: rest });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof ShmimgError) {
      // Exit 141 (reader closed the output) is not an error worth a line.
      if (e.code !== Exit.SIGPIPE && !(e.secondary && process.env.SHMIMG_QUIET)) printError(e.message);
      return e.code;
    }
    if (e && (e as { name?: string }).name === "CLIError") {
      printError(`${(e as Error).message.replace(/\x1b\[[0-9;]*m/g, "")} for ${sub}; run \`shmimg ${sub} --help\``);
      return Exit.INVALID;
    }
    printError(`internal error: ${(e as Error)?.stack ?? e}`);
    return Exit.INTERNAL;
  }
}

const code = await cli(process.argv.slice(2));
process.exitCode = code;
if (process.env.SHMIMG_STAGE_LOG) (await import("./bench/stage-log")).logStage(process.argv.slice(2)); // bench: per-process peak RSS/CPU
