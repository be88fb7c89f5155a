#!/usr/bin/env bun
/**
 * shmimg: an image-processing pipeline across processes over System V shared
 * memory. The top level parses the subcommand, runs it, and turns any error
 * into one `ERROR: ...` line and a documented exit code (process.exitCode, so
 * every finally block — detach, remove — still runs).
 */
import { defineCommand, runCommand, showUsage, type CommandDef } from "citty";
import { commands, exampleOf } from "./commands/index";
import { ShmimgError, Exit } from "./errors";
import { printError } from "./log";
import { EXIT_CODES } from "./commands/args";
import pkg from "../package.json" with { type: "json" };

const main = defineCommand({
  meta: {
    name: "shmimg",
    version: pkg.version,
    description: "Image-processing pipeline across processes over System V shared memory.",
  },
  subCommands: commands,
});

async function resolve(argv: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined]> {
  const sub = argv.find((a) => !a.startsWith("-"));
  if (sub && commands[sub]) return [await commands[sub]!(), main];
  return [main, undefined];
}

async function cli(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    const [cmd, parent] = await resolve(argv);
    await showUsage(cmd, parent);
    const sub = parent ? argv.find((a) => !a.startsWith("-")) : undefined;
    const example = sub ? await exampleOf(sub) : "shmimg gen --count 1000 --size 640x480 | shmimg run --workers 2 --op grayscale,blur > out.shm";
    process.stdout.write(`Example: ${example ?? ""}\n${EXIT_CODES}\n`);
    return 0;
  }
  const sub = argv[0]!;
  if (!commands[sub]) {
    printError(`unknown command "${sub}"; run \`shmimg --help\` for the list`);
    return Exit.INVALID;
  }
  if (argv.includes("--verbose")) (await import("./native/trace")).enableTrace();
  try {
    await runCommand(main, { rawArgs: argv });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof ShmimgError) {
      // Exit 141 (reader closed the output) is not an error worth a line.
      if (e.code !== Exit.SIGPIPE && !(e.secondary && process.env.SHMIMG_QUIET)) printError(e.message);
      return e.code;
    }
    if (e && (e as { name?: string }).name === "CLIError") {
      printError(`${(e as Error).message}; run \`shmimg ${sub} --help\``);
      return Exit.INVALID;
    }
    printError(`internal error: ${(e as Error)?.stack ?? e}`);
    return Exit.INTERNAL;
  }
}

const code = await cli(process.argv.slice(2));
process.exitCode = code;
if (process.env.SHMIMG_STAGE_LOG) (await import("./bench/stage-log")).logStage(process.argv.slice(2)); // bench: per-process peak RSS/CPU
