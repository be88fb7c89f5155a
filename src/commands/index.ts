/**
 * Subcommand names mapped to lazy imports, so --help and start-up stay fast
 * and each command's whole story is one short file.
 */
import type { CommandDef } from "citty";

type Module = { default: CommandDef<any>; example?: string };
type Lazy = () => Promise<CommandDef<any>>;
const lazy = (load: () => Promise<Module>): Lazy => {
  const l: Lazy = () => load().then((m) => m.default);
  (l as { load?: () => Promise<Module> }).load = load;
  return l;
};

/** The example line a command file exports (shown after its --help). */
export async function exampleOf(name: string): Promise<string | undefined> {
  const l = commands[name] as { load?: () => Promise<Module> } | undefined;
  return l?.load ? (await l.load()).example : undefined;
}


/** Commands not listed in --help or suggested for a typo. */
export const HIDDEN = new Set(["pipe-work"]);

export const commands: Record<string, Lazy> = {
  gen: lazy(() => import("./gen")),
  init: lazy(() => import("./init")),
  produce: lazy(() => import("./produce")),
  work: lazy(() => import("./work")),
  consume: lazy(() => import("./consume")),
  clean: lazy(() => import("./clean")),
  run: lazy(() => import("./run")),
  stat: lazy(() => import("./stat")),
  ls: lazy(() => import("./ls")),
  probe: lazy(() => import("./probe")),
  ops: lazy(() => import("./ops")),
  bench: lazy(() => import("./bench")),
  "pipe-work": lazy(() => import("./pipe-work")), // hidden: bench's plain-pipe baseline
};
