import { defineCommand } from "citty";
import { openSource } from "../formats/open";
import { ImageSource } from "../formats/images";
import { Chain, parseChain } from "../ops/chain";
import { formatName } from "../frame/format";
import { InvalidInput } from "../errors";
import { openPipeline, type Pipeline } from "../pipeline/ring/pipeline";
import { createdLine, createOrRecycle } from "../pipeline/ring/lifecycle";
import { libc } from "../native/libc";
import type { FrameInfo, FrameSource, SourcePosition, StreamInfo } from "../formats/types";
import { produce } from "../pipeline/stages/produce";
import { exitWithParent, installSignalFlags } from "../signals";
import { log } from "../log";
import { depthArg, geometryArgs, inputArgs, nameArg, num, parentPidArg, ringArgs, sharedGroupArg, timeoutArg, verboseArg, whenFull } from "./args";
import { closeFd } from "../io/files";
import { checkFramesStdin } from "../io/stdio";
import { count } from "./summary";

/**
 * The chain checked against the first frame before any frame flows: the
 * error names the op that refuses the input's format and the conversion to add.
 */
function checkChain(spec: string | undefined, first: FrameInfo, source: FrameSource): void {
  if (!spec) return;
  try {
    new Chain(parseChain(spec)).out(first);
  } catch (e) {
    if (e instanceof InvalidInput)
      throw new InvalidInput(`${e.message} (--op ${spec} checked against the first frame, ${first.w}x${first.h} ${formatName(first.fmt)} from ${source.name}, before any frame was processed)`);
    throw e;
  }
}

export const example = "shmimg gen --count 100 --size 64x64 | shmimg produce --name cam";

export default defineCommand({
  meta: {
    name: "produce",
    description: "Read frames and publish them into a pipeline's raw ring; marks end-of-stream at EOF.",
  },
  args: {
    ...nameArg,
    ...inputArgs,
    ...timeoutArg,
    ...verboseArg,
    ...sharedGroupArg,
    resume: { type: "boolean", description: "(used by run) Continue the stream of a producer that died, from the input position it recorded; the input must be the same regular file (or PNG folder).", default: false, internal: true },
    create: { type: "boolean", description: "(used by run) Create the pipeline, sized from the first frame unless --max-size is given, and print 'created raw=SHMID proc=SHMID sem=SEMID' on stdout.", default: false, internal: true },
    op: { type: "string", description: "(with --create) Op chain, to size the processed ring.", valueHint: "CHAIN", internal: true },
    workers: { type: "string", description: "(with --create) The most workers run may start: without --slots the rings get at least one slot per worker plus one (default: the CPUs).", valueHint: "N", internal: true },
    ...parentPidArg,
    ...geometryArgs,
  },
  run({ args }) {
    installSignalFlags();
    if (args["parent-pid"]) exitWithParent(Number(args["parent-pid"]));
    const mode = whenFull(args["when-full"]);
    const timeoutS = num(args.timeout, "timeout", 0, 1e9, false);
    const fps = num(args.fps, "fps", 0, 1e6, false);
    if (args.create && args.op) parseChain(args.op); // load and check the chain before the first frame is read
    if (!args.input || args.input === "-") checkFramesStdin("produce");
    const opened = openSource({ input: args.input, inFormat: args["in-format"], size: args.size, pixFmt: args["pix-fmt"], convert444: args["convert-444"], depth: depthArg(args.depth) });
    const fd = opened.fd;
    let p: Pipeline | undefined;
    try {
      let source = opened.source;
      if (args.create) {
        const first = source.next();
        if (first) checkChain(args.op, first, source);
        // A folder of images: slots for the largest of every file's header, not just the first.
        const max = (source instanceof ImageSource ? source.maxGeometry() : null) ?? first;
        // Owned by the run supervisor: stale (recyclable) once it is dead.
        const runPid = Number(args["parent-pid"] ?? process.pid);
        p = createOrRecycle({ ...ringArgs(args.name, args, max ?? { w: 1, h: 1, fmt: 1 }, args.op), runPid });
        const msg = new TextEncoder().encode(createdLine(p));
        libc.write(1, msg, msg.length);
        source = new PeekedSource(source, first);
      } else p = openPipeline(args.name, { sharedGroup: args["shared-group"] });
      const s = produce(p, source, { whenFull: mode, timeoutS, fps, resume: args.resume });
      log.info(`produce: ${count(s.frames, "frame")} (${(s.bytes / 1e6).toFixed(1)} MB) into "${p.name}", ${s.dropped} dropped, blocked ${(s.blockedUs / 1e6).toFixed(3)} s on a full ring`);
    } finally {
      closeFd(fd);
      p?.detach();
    }
  },
});

/** A source whose first header was already read (run sizes the rings from it). */
class PeekedSource implements FrameSource {
  private pending: boolean;
  constructor(
    private readonly inner: FrameSource,
    private readonly first: FrameInfo | null,
  ) {
    this.pending = first !== null;
  }
  get name(): string {
    return this.inner.name;
  }
  stream(): StreamInfo {
    return this.inner.stream?.() ?? { format: this.inner.name };
  }
  next(): FrameInfo | null {
    if (this.pending) {
      this.pending = false;
      return this.first;
    }
    return this.first === null ? null : this.inner.next();
  }
  readPayload(addr: number, view: Uint8Array): void {
    this.inner.readPayload(addr, view);
  }
  skipPayload(): void {
    this.inner.skipPayload();
  }
  position(into: SourcePosition): SourcePosition {
    return this.inner.position(into);
  }
  resume(at: SourcePosition): void {
    this.inner.resume(at);
  }
}
