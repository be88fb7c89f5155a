import { defineCommand } from "citty";
import { ShmimgError } from "../errors";
export default defineCommand({
  meta: { name: "ops", description: "(not yet implemented)" },
  run() {
    throw new ShmimgError("ops is not implemented yet", 1);
  },
});
