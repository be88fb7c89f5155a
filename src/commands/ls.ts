import { defineCommand } from "citty";
import { listPipelines, renderRows } from "../pipeline/ring/overview";
import { writeOut } from "../io/stdio";
import { log } from "../log";
import { jsonArg, verboseArg } from "./args";

export const example = "shmimg ls    shmimg ls --json";

export default defineCommand({
  meta: { name: "ls", description: "List my pipelines: name, state (running, finished, idle, stale, broken), stages alive, frames in and out, age." },
  args: { ...jsonArg, ...verboseArg },
  run({ args }) {
    const rows = listPipelines();
    if (args.json) writeOut(JSON.stringify(rows) + "\n");
    else if (rows.length) writeOut(renderRows(rows) + "\n");
    else log.info("ls: no pipeline of yours exists");
  },
});
