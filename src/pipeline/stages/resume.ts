/**
 * `run --resume`: taking over the pipeline of a run that was killed (its
 * processes gone, its objects left), after proving it is the same job: the
 * run record (U in layout.ts) holds hashes of the input, the op chain and the
 * output that the first run wrote when it started.
 */
import { InvalidInput } from "../../errors";
import { Abort, Eos, EOS_NAMES, Heal, P, R, Sem, U } from "../layout";
import { isAlive } from "../ipc/proc";
import { liveCount, lock, unlock } from "../ipc/sems";
import { libc } from "../../native/libc";
import { openPipeline, type Pipeline } from "../ring/pipeline";
import { abortMessage } from "./peers";

export interface RunIdentity {
  /** Hash of the input: format, geometry flags, file (device, inode, size, mtime) or stdin's file. */
  input: number;
  /** Hash of the op chain. */
  op: number;
  /** Hash of the output: format and path ("-" for stdout). */
  output: number;
}

/** The first run records what it runs, so a later --resume can check it (I9). */
export function writeRunRecord(p: Pipeline, id: RunIdentity, heal: number): void {
  const u = p.raw.u32;
  u[U.inputId >> 2] = id.input;
  u[U.opId >> 2] = id.op;
  u[U.outputId >> 2] = id.output;
  p.setI32(U.heal, heal);
  p.setI32(U.recorded, 1); // last: the ids above are complete
}

export interface TakeOver {
  p: Pipeline;
  /** Frames the earlier run(s) delivered. */
  delivered: number;
  /** Last frame the earlier producer committed (-1: none). */
  committed: number;
  /** The input was not read to its end: start a producer with --resume. */
  needsProducer: boolean;
}

/** Stages of a killed run exit on their own (SIGTERM from PR_SET_PDEATHSIG): wait for them a little. */
function waitIdle(p: Pipeline): boolean {
  for (let k = 0; k < 100; k++) {
    const live = [Sem.PRODUCERS, Sem.WORKERS, Sem.CONSUMERS].reduce((a, r) => a + liveCount(p.semid, r), 0);
    const run = p.i32(R.runPid);
    if (live === 0 && (run <= 0 || run === process.pid || !isAlive(run))) return true;
    libc.usleep(50_000);
  }
  return false;
}

/** Attaches to a killed run's pipeline and makes it ready to continue; throws InvalidInput (exit 2) saying why not. */
export function takeOver(name: string, id: RunIdentity, heal: number): TakeOver {
  let p: Pipeline;
  try {
    p = openPipeline(name);
  } catch (e) {
    throw new InvalidInput(`--resume: cannot attach pipeline "${name}" (${(e as Error).message}); run without --resume to start the job again`);
  }
  try {
    return prepare(p, id, heal);
  } catch (e) {
    p.detach();
    throw e;
  }
}

function prepare(p: Pipeline, id: RunIdentity, heal: number): TakeOver {
  const refuse = (why: string, fix = "run without --resume to start the job again") => new InvalidInput(`--resume: pipeline "${p.name}" ${why}; ${fix}`);
  if (!waitIdle(p)) throw refuse(`is in use (run pid ${p.i32(R.runPid)}, live stages attached)`, "stop that run first, or pick another --name");
  if (p.i32(U.recorded) !== 1) throw refuse("has no run record (made by `init`, or its run died during start-up)");
  const u = p.raw.u32;
  const differs = [u[U.inputId >> 2] !== id.input && "input", u[U.opId >> 2] !== id.op && "op chain", u[U.outputId >> 2] !== id.output && "output"].filter(Boolean);
  if (differs.length) throw refuse(`was started with another ${differs.join(", ")} (recorded identities differ: same files, formats, flags and --op are needed)`, "repeat the first run's command exactly, or run without --resume");
  const abort = p.i32(R.abort);
  if (abort === Abort.POISONED || abort === Abort.OP_FAILED) throw refuse(`failed earlier: ${abortMessage(p)}`, "fix the cause and run without --resume");
  const delivered = p.delivered();
  if (!lock(p.semid, 5000)) throw refuse("is locked by a recovery that does not finish", `see \`shmimg stat --name ${p.name}\``);
  let eos: number;
  try {
    // What the killed run's stopping left: its own stop order, a producer stopped by a signal or found dead.
    p.casI32(R.abort, Abort.SUPERVISOR, Abort.NONE);
    eos = p.i32(P.eos);
    if (eos === Eos.INTERRUPTED || eos === Eos.PRODUCER_DIED) {
      if (!(heal & Heal.PRODUCER)) throw refuse(`stopped reading its input at frame ${p.position().n + 1}, and the input cannot be read again from there (a pipe or terminal)`, "give the input as a regular file (--input FILE or < FILE)");
      p.setI32(U.heal, heal); // before eos opens again, so recovery leaves the dead producer to us (I9)
      p.setI32(P.eos, Eos.NONE);
      eos = Eos.NONE;
    }
  } finally {
    unlock(p.semid);
  }
  if (eos !== Eos.NONE && eos !== Eos.OK) throw refuse(`ended its input with an error (${EOS_NAMES[eos] ?? eos}) before it was killed`);
  p.setI32(U.heal, heal);
  p.setI32(R.runPid, process.pid);
  u[U.resumes >> 2] = u[U.resumes >> 2]! + 1;
  return { p, delivered, committed: p.position().n + 1, needsProducer: eos === Eos.NONE };
}
