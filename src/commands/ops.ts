import { defineCommand } from "citty";
import { OP_DOCS, renderOpsTable } from "../ops/docs";
import { formatHelp } from "../formats";
import { jsonArg } from "./args";
import { writeOut } from "../io/stdio";

export const example = "shmimg ops    shmimg ops --json";

export default defineCommand({
  meta: { name: "ops", description: "List every op (formula, edge handling, formats accepted and produced) and the input/output formats." },
  args: { ...jsonArg },
  run({ args }) {
    writeOut(args.json ? JSON.stringify(OP_DOCS) + "\n" : `${renderOpsTable()}\n\n${formatHelp()}\n`);
  },
});
