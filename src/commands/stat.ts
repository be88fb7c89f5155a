import { defineCommand } from "citty";
import { ShmimgError } from "../errors";
export default defineCommand({
  meta: { name: "stat", description: "(not yet implemented)" },
  run() {
    throw new ShmimgError("stat is not implemented yet", 1);
  },
});
