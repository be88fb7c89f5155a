/**
 * Command-line manners: strict arguments with suggestions, short aliases,
 * --help that fits 80 columns without escape codes when piped, --quiet,
 * frames never to a terminal or a closed stdout, --json on its own stream,
 * summary wording, and Ctrl-C of a paced run.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { objectsOf, parseNative, SHMIMG, sh, shmimg, spawnShmimg, tmp, uniqueName, waitFor, waitForLine } from "./helpers";
import { childrenOf } from "./procs";

const dir = tmp();
const bin = SHMIMG.map((a) => `'${a}'`).join(" ");
const COMMANDS = ["gen", "init", "produce", "work", "consume", "clean", "run", "stat", "ls", "probe", "ops", "bench"];
const frames = (n: number, size = "8x8") => shmimg(["gen", "--count", String(n), "--size", size, "-q"]).stdout;

/** Runs a shell line with stdout on a pseudo-terminal (script); returns what the terminal showed and the exit code. */
function onTerminal(line: string, env = ""): { code: number; screen: string } {
  const quoted = `'${line.replace(/'/g, `'\\''`)}'`;
  const r = sh(`${env} script -qec ${quoted} /dev/null`);
  return { code: r.code, screen: r.stdout.toString() };
}

describe("strict arguments", () => {
  test.each(COMMANDS)("%s refuses an unknown option with exit 2 and names it", (cmd) => {
    const r = shmimg([cmd, "--bogus-flag", "1"], { stdin: Buffer.alloc(0) });
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^ERROR: unknown option --bogus-flag for ${cmd}`, "m"));
    expect(r.code).toBe(2);
  });

  test.each(COMMANDS.filter((c) => c !== "probe"))("%s refuses a stray positional argument with exit 2", (cmd) => {
    const r = shmimg([cmd, "stray.y4m"], { stdin: Buffer.alloc(0) });
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^ERROR: unexpected argument "stray.y4m" for ${cmd}`, "m"));
    expect(r.code).toBe(2);
  });

  test("a typo'd option is refused with the option it resembles (run --ouput wrote frames to the terminal)", () => {
    const r = shmimg(["run", "--ouput", join(dir, "x.rgb")], { stdin: frames(3) });
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.trim()).toBe("ERROR: unknown option --ouput for run; did you mean --output?");
    expect(existsSync(join(dir, "x.rgb"))).toBe(false);
    expect(r.code).toBe(2);
  });

  test("clean --nmae X cleans nothing (it used to clean the pipeline named default)", () => {
    const name = uniqueName("nmae");
    expect(shmimg(["init", "--name", name, "--max-size", "8x8", "-q"]).code).toBe(0);
    try {
      const r = shmimg(["clean", "--nmae", name]);
      expect(r.stderr.trim()).toBe("ERROR: unknown option --nmae for clean; did you mean --name?");
      expect(objectsOf(name).length).toBe(3);
      expect(r.code).toBe(2);
    } finally {
      shmimg(["clean", "--name", name]);
    }
  });

  test("run in.y4m (a positional) is refused with a hint instead of waiting on stdin", () => {
    const r = shmimg(["run", "in.y4m"]);
    expect(r.stderr).toContain('unexpected argument "in.y4m" for run');
    expect(r.stderr).toContain("did you mean -i in.y4m?");
    expect(r.code).toBe(2);
  });

  test("an option without its value, a typo'd command and an option before the command are exit 2", () => {
    const noValue = shmimg(["run", "--output"]);
    expect(noValue.stderr).toMatch(/^ERROR: option --output for run needs a value \(FILE\)/m);
    expect(noValue.code).toBe(2);
    const cmd = shmimg(["rn"]);
    expect(cmd.stderr.trim()).toBe("ERROR: unknown command rn; did you mean run?");
    expect(cmd.code).toBe(2);
    const first = shmimg(["--workers", "2"]);
    expect(first.stderr).toMatch(/^ERROR: unknown option --workers for shmimg/m);
    expect(first.code).toBe(2);
  });

  test("probe takes one positional, not two", () => {
    const r = shmimg(["probe", "a.shm", "b.shm"]);
    expect(r.stderr).toContain('unexpected argument "b.shm" for probe (it takes 1)');
    expect(r.code).toBe(2);
  });

  test("short aliases -i -o -w -n -q work and --quiet silences the summary", () => {
    const input = join(dir, "alias.shm");
    const output = join(dir, "alias.out");
    writeFileSync(input, frames(20));
    const name = uniqueName("alias");
    const r = shmimg(["run", "-i", input, "-o", output, "-w", "1", "-n", name, "--op", "invert", "-q"]);
    expect(r.stderr).toBe("");
    expect(parseNative(readFileSync(output)).length).toBe(20);
    expect(objectsOf(name)).toEqual([]);
    expect(r.code).toBe(0);
  });

  test("--quiet is accepted by every command and leaves ERROR lines", () => {
    expect(shmimg(["gen", "--count", "2", "--size", "2x2", "--quiet"]).stderr).toBe("");
    const missing = shmimg(["stat", "--name", uniqueName("none"), "-q"]);
    expect(missing.stderr).toMatch(/^ERROR: /m);
    expect(missing.code).toBe(2);
    for (const cmd of COMMANDS) expect(shmimg([cmd, "--help"]).stdout.toString()).toContain("-q, --quiet");
  });
});

describe("--help", () => {
  test.each(["", ...COMMANDS])("shmimg %s --help fits 80 columns, has no escape codes when piped and hides internal options", (cmd) => {
    const r = shmimg(cmd ? [cmd, "--help"] : ["--help"]);
    const text = r.stdout.toString();
    const widest = Math.max(...text.split("\n").map((l) => l.length));
    expect(widest).toBeLessThanOrEqual(80);
    expect(text).not.toContain("\x1b");
    for (const internal of ["--parent-pid", "--create", "--latency-out"]) expect(text).not.toContain(internal);
    expect(text).toContain("Exit codes:");
    expect(r.code).toBe(0);
  });

  test("on a terminal headings are bold, and NO_COLOR turns that off", () => {
    const tty = onTerminal(`${bin} run --help`);
    expect(tty.screen).toContain("\x1b[1m");
    const plain = onTerminal(`${bin} run --help`, "NO_COLOR=1");
    expect(plain.screen).not.toContain("\x1b[");
    expect(plain.screen).toContain("Options:");
  });

  test("shmimg --help | head -1 ends quietly with exit 0, also when the reader is gone before the first write", () => {
    const head = sh(`${bin} --help | head -1`);
    expect(head.stdout.toString()).toMatch(/^shmimg: /);
    expect(head.stderr).toBe("");
    expect(head.code).toBe(0);
    const gone = sh(`${bin} run --help | true`);
    expect(gone.stderr).toBe("");
    expect(gone.code).toBe(0);
  });
});

describe("frames and terminals", () => {
  test.each([
    ["gen", `${bin} gen --count 2 --size 2x2`],
    ["run", `${bin} gen --count 2 --size 2x2 -q | ${bin} run`],
  ])("%s refuses to write frames to a terminal (exit 2, says what to do)", (_cmd, line) => {
    const r = onTerminal(`${line}; echo "exit=$?"`);
    expect(r.screen).toContain("not writing frames to a terminal; give -o FILE");
    expect(r.screen).not.toContain("SHMF");
    expect(r.screen).toContain("exit=2");
  });

  test("run refuses to read frames from a terminal", () => {
    const r = onTerminal(`${bin} run -o ${join(dir, "tty.out")}; echo "exit=$?"`);
    expect(r.screen).toContain("not reading frames from a terminal; give -i FILE");
    expect(r.screen).toContain("exit=2");
  });

  test("a closed stdout (>&-) is exit 2, not every frame silently discarded; >/dev/null asked for is fine", () => {
    const gen = sh(`${bin} gen --count 2 --size 2x2 >&-`);
    expect(gen.stderr).toContain("stdout is closed (>&-)");
    expect(gen.code).toBe(2);
    const input = join(dir, "closed.shm");
    writeFileSync(input, frames(5));
    const run = sh(`${bin} run -i ${input} >&-`);
    expect(run.stderr).toMatch(/^ERROR: run: stdout is closed/m);
    expect(run.code).toBe(2);
    const text = sh(`${bin} ops >&-`);
    expect(text.stderr).toMatch(/^ERROR: stdout is closed \(>&-\)/m);
    expect(text.code).toBe(2);
    const devnull = sh(`${bin} run -i ${input} -n ${uniqueName("devnull")} -q > /dev/null`);
    expect(devnull.stderr).toBe("");
    expect(devnull.code).toBe(0);
  });

  test("a closed stdin (<&-) is exit 2, not an empty stream", () => {
    const r = sh(`${bin} run -o ${join(dir, "closed-in.out")} <&-`);
    expect(r.stderr).toContain("stdin is closed (<&-)");
    expect(r.code).toBe(2);
  });
});

describe("reports and wording", () => {
  test("run --json with frames on stdout is refused; --json-out FILE takes the report; -o FILE puts it on stdout", () => {
    const input = frames(4);
    const refused = shmimg(["run", "--json"], { stdin: input });
    expect(refused.stdout.length).toBe(0);
    expect(refused.stderr).toContain("give -o FILE for the frames or --json-out FILE for the report");
    expect(refused.code).toBe(2);
    const report = join(dir, "report.json");
    const split = shmimg(["run", "--json-out", report, "-q"], { stdin: input });
    expect(parseNative(split.stdout).length).toBe(4);
    expect(JSON.parse(readFileSync(report, "utf8")).framesOut).toBe(4);
    expect(split.code).toBe(0);
    const toFile = shmimg(["run", "--json", "-o", join(dir, "j.out")], { stdin: input });
    expect(JSON.parse(toFile.stdout.toString()).framesIn).toBe(4);
    expect(toFile.stderr).not.toContain("{");
    expect(toFile.code).toBe(0);
  });

  test("summaries say 1 frame and 1 worker, and give no rate when nothing was delivered", () => {
    const one = shmimg(["run", "-w", "1", "-o", join(dir, "one.out")], { stdin: frames(1) });
    expect(one.stderr).toMatch(/run: 1 frame in, 1 out through "identity" with 1 worker /);
    expect(one.code).toBe(0);
    const none = shmimg(["run", "-o", join(dir, "none.out")], { stdin: Buffer.alloc(0) });
    expect(none.stderr).toMatch(/run: 0 frames in, 0 out/);
    expect(none.stderr).not.toContain("MB/s");
    expect(none.code).toBe(0);
    expect(shmimg(["gen", "--count", "1", "--size", "2x2"]).stderr).toContain("gen: wrote 1 frame of 2x2");
  });

  test("no [info] summary after an ERROR line that already said why", () => {
    const partial = frames(3).subarray(0, 100);
    const r = shmimg(["run", "-o", join(dir, "partial.out")], { stdin: partial });
    expect(r.stderr).toMatch(/^ERROR: /m);
    expect(r.stderr).not.toMatch(/\[info\] run: \d+ frames? in/);
    expect(r.code).toBe(3);
  });
});

describe("Ctrl-C", () => {
  test("Ctrl-C of a paced run (--fps 2) ends it at once and the producer stops reading", async () => {
    const input = join(dir, "paced.shm");
    writeFileSync(input, frames(1000));
    const name = uniqueName("paced");
    const run = spawnShmimg(["run", "--fps", "2", "-i", input, "-o", join(dir, "paced.out"), "-n", name]);
    await waitFor(() => childrenOf(run.pid).length >= 3, 30_000, "run's producer, worker(s) and consumer");
    await waitFor(() => /"published":[1-9]/.test(shmimg(["stat", "-n", name, "--json"]).stdout.toString()), 30_000, "the first frame published");
    // As a terminal does: SIGINT to the whole foreground group.
    // (A loaded machine can deschedule this loop long enough for run to stop and reap a child first: ESRCH is fine.)
    for (const pid of [run.pid, ...childrenOf(run.pid)]) {
      try {
        process.kill(pid, "SIGINT");
      } catch {}
    }
    const exited = await Promise.race([run.exited, Bun.sleep(20_000).then(() => "still running")]);
    const stderr = await waitForLine(run.stderr as ReadableStream<Uint8Array>, /exit 130/, 5_000);
    expect(exited).toBe(130);
    const framesIn = Number(/run: (\d+) frames? in/.exec(stderr)?.[1]);
    expect(framesIn).toBeLessThanOrEqual(3);
    expect(objectsOf(name)).toEqual([]);
  });
});
