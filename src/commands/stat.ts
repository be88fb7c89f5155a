import { defineCommand } from "citty";
import { Exit, InvalidInput, ShmimgError } from "../errors";
import { openPipeline, type Pipeline } from "../pipeline/ring/pipeline";
import { renderSnapshot, snapshot, type Snapshot } from "../pipeline/ring/snapshot";
import { listPipelines, renderRows, renderWatch } from "../pipeline/ring/overview";
import { R } from "../pipeline/layout";
import { shmStat } from "../native/shim";
import { isTerminal, writeOut } from "../io/stdio";
import { log } from "../log";
import { jsonArg, nameArg, sharedGroupArg, verboseArg } from "./args";
import { count } from "./summary";

export const example = "shmimg stat -n cam --watch";

/** How a watched pipeline ended, or undefined while it goes on. */
function ending(s: Snapshot, gone: boolean): { code: number; line: string } | undefined {
  const all = s.consumer.delivered >= s.producer.published;
  const done = s.producer.ended && all && (gone || s.live.consumers === 0);
  const what = `${count(s.consumer.delivered, "frame")} delivered${s.consumer.delivered ? ` (last seq ${s.consumer.lastSeq})` : ""}`;
  if (done && s.producer.eos === "ok") return { code: 0, line: `stat: pipeline "${s.name}" finished: ${what}` };
  if (done) return { code: Exit.INCOMPLETE, line: `stat: pipeline "${s.name}" ended incomplete (${s.producer.eos}): ${what}` };
  if (gone) return { code: Exit.INVALID, line: `stat: pipeline "${s.name}" was removed before its stream finished: ${what} of ${s.producer.published}` };
  return undefined;
}

/** Pipeline name: the one given, else the only one of this user (undefined: list them). */
function chooseName(given: string | undefined, watch: boolean): string | undefined {
  if (given) return given;
  const rows = listPipelines();
  if (rows.length === 1) return rows[0]!.name;
  if (rows.length === 0) throw new InvalidInput("no pipeline of yours exists; start one with `shmimg run` or `shmimg init`");
  if (watch) throw new InvalidInput(`${rows.length} pipelines exist (${rows.map((r) => r.name).join(", ")}); give -n NAME to watch one`);
  return undefined;
}

async function watch(name: string, o: { json: boolean; sharedGroup: boolean }): Promise<void> {
  const tty = isTerminal(1) && !o.json;
  let p: Pipeline | undefined = openPipeline(name, { sharedGroup: o.sharedGroup });
  // A pipeline owned by a `run` is removed by it at the end: stay attached to
  // read its final state (a removed segment lives on while attached). One made
  // by init stays: attach per refresh so `clean` does not find it in use.
  const keep = p.i32(R.runPid) !== 0;
  const t0 = Date.now();
  for (;;) {
    let gone = false;
    if (!p) {
      try {
        p = openPipeline(name, { sharedGroup: o.sharedGroup });
      } catch {
        gone = true;
      }
    }
    if (p && keep) {
      const st = shmStat(p.raw.shmid);
      gone = typeof st === "number" || st.key !== p.keys.raw;
    }
    if (!p) throw new InvalidInput(`pipeline "${name}" was removed`);
    const s = snapshot(p);
    if (!keep) {
      p.detach();
      p = undefined;
    }
    const ageS = (Date.now() - t0) / 1000;
    if (o.json) writeOut(JSON.stringify(s) + "\n");
    else if (tty) writeOut(`\x1b[H\x1b[2J${renderWatch(s, process.stdout.rows || 24, process.stdout.columns || 80, ageS)}\n`);
    else writeOut(`${renderWatch(s, Infinity, Infinity, ageS)}\n\n`);
    const end = ending(s, gone);
    if (end) {
      p?.detach();
      // With --json, stdout stays JSON lines: the last line goes to stderr.
      if (end.code === 0 && o.json) log.info(end.line);
      else if (end.code === 0) writeOut(end.line + "\n");
      else throw new ShmimgError(end.line.replace(/^stat: /, ""), end.code);
      return;
    }
    await Bun.sleep(500);
  }
}

export default defineCommand({
  meta: { name: "stat", description: "Show a pipeline's header, slots and owners, cursors, stages and counters (the first thing to run when a pipeline stalls)." },
  args: {
    ...nameArg,
    name: { ...nameArg.name, default: undefined, description: "Pipeline name (default: the only pipeline of yours; with several, the list of them)." },
    ...jsonArg,
    ...sharedGroupArg,
    ...verboseArg,
    watch: { type: "boolean", description: "Redraw a summary and the busy slots every 0.5 s; ends when the pipeline finishes (exit 0) or is removed.", default: false },
  },
  async run({ args }) {
    const name = chooseName(args.name, args.watch);
    if (name === undefined) {
      const rows = listPipelines();
      writeOut((args.json ? JSON.stringify(rows) : renderRows(rows)) + "\n");
      return;
    }
    if (args.watch) return watch(name, { json: args.json, sharedGroup: args["shared-group"] });
    const p = openPipeline(name, { sharedGroup: args["shared-group"] });
    try {
      const s = snapshot(p);
      writeOut((args.json ? JSON.stringify(s) : renderSnapshot(s)) + "\n");
    } finally {
      p.detach();
    }
  },
});
