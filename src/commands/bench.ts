import { defineCommand } from "citty";
import { ShmimgError } from "../errors";
export default defineCommand({
  meta: { name: "bench", description: "(not yet implemented)" },
  run() {
    throw new ShmimgError("bench is not implemented yet", 1);
  },
});
