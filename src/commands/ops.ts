import { defineCommand } from "citty";
import { OP_DOCS, renderOpsTable } from "../ops/docs";
import { formatHelp } from "../formats";
import { jsonArg } from "./args";

export const example = "shmimg ops    shmimg ops --json";

export default defineCommand({
  meta: { name: "ops", description: "List every op (formula, edge handling, formats accepted and produced) and the input/output formats." },
  args: { ...jsonArg },
  run({ args }) {
    if (args.json) process.stdout.write(JSON.stringify(OP_DOCS) + "\n");
    else process.stdout.write(`${renderOpsTable()}\n\n${formatHelp()}\n`);
  },
});
