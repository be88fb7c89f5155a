/**
 * The standard descriptors as data channels: frames never go to a terminal
 * (like gzip), a closed stdout/stdin is an error rather than frames silently
 * discarded or an empty stream, and text written to stdout survives a reader
 * that went away (`| head -1`).
 */
import { readFileSync, readlinkSync, writeSync } from "node:fs";
import { Exit, InvalidInput, ShmimgError } from "../errors";
import { libc } from "../native/libc";

const O_CLOEXEC = 0o2000000;

/**
 * True when fd (0..2) was closed when this process started: Bun then puts
 * /dev/null there, opened with O_CLOEXEC. A descriptor inherited across exec
 * can never carry O_CLOEXEC (exec would have closed it), so this tells the
 * runtime's substitute apart from a `>/dev/null` the user asked for.
 */
export function substitutedByRuntime(fd: 0 | 1 | 2): boolean {
  try {
    if (readlinkSync(`/proc/self/fd/${fd}`) !== "/dev/null") return false;
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) !== 0;
  } catch {
    return false;
  }
}

/**
 * fd is a terminal. Not `process.stderr.isTTY`: the first touch of
 * process.stdout/stderr/stdin builds Bun's stream objects, ~8 ms measured in
 * a compiled binary, on the start-up path of run and of every consumer.
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  return libc.isatty(fd) === 1;
}

/** Refuses to write frames to stdout when it is a terminal or was closed (`>&-`). */
export function checkFramesStdout(command: string): void {
  if (isTerminal(1))
    throw new InvalidInput(`${command}: not writing frames to a terminal; give -o FILE, or pipe stdout into a program (e.g. | ffmpeg -f yuv4mpegpipe -i - out.mp4)`);
  if (substitutedByRuntime(1))
    throw new InvalidInput(`${command}: stdout is closed (>&-), so every frame would be lost; give -o FILE (or -o /dev/null to discard the frames on purpose)`);
}

/** Refuses to read frames from stdin when it is a terminal or was closed (`<&-`). */
export function checkFramesStdin(command: string): void {
  if (isTerminal(0)) throw new InvalidInput(`${command}: not reading frames from a terminal; give -i FILE, or pipe frames in (e.g. shmimg gen --count 10 --size 64x64 | shmimg ${command})`);
  if (substitutedByRuntime(0)) throw new InvalidInput(`${command}: stdin is closed (<&-); give -i FILE, or pipe frames in`);
}

let stdoutClosed: boolean | undefined;

/**
 * Writes text to stdout synchronously; a reader that went away (EPIPE) ends
 * the command with exit 141 and no error line, as for frames; a stdout closed
 * before the start (`>&-`) is exit 2.
 */
export function writeOut(text: string): void {
  stdoutClosed ??= substitutedByRuntime(1);
  if (stdoutClosed) throw new InvalidInput("stdout is closed (>&-), so this output would be lost; redirect it to a file or /dev/null");
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE") throw new ShmimgError("stdout closed by its reader", Exit.SIGPIPE);
      if (code !== "EAGAIN") throw e; // a non-blocking pipe that is full: try again
    }
  }
}
