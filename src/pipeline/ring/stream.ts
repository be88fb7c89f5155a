/**
 * The stream info area (layout.ts T, invariant I13): the producer writes what
 * it knows about the input once, before frame 0 is published; the consumer
 * reads it when frame 0 is DONE. Everything read back is checked (I6): an
 * unknown format code or a length past its field is corruption, exit 2.
 */
import { InvalidInput } from "../../errors";
import { IN_FORMAT_CODES, type StreamInfo } from "../../formats/types";
import { T } from "../layout";
import type { Pipeline } from "./pipeline";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes the stream info and seals it (T.ready). Producer only, before frame 0 is READY. */
export function writeStreamInfo(p: Pipeline, s: StreamInfo): void {
  const u8 = p.raw.u8;
  const u32 = p.raw.u32;
  const tags = enc.encode(s.y4mTags ?? "");
  const path = enc.encode(s.list?.path ?? "");
  // Too long to carry: leave it out (the output falls back to defaults) rather than cut it.
  const tagsLen = tags.length <= T.tagsMax ? tags.length : 0;
  const pathLen = path.length <= T.pathMax ? path.length : 0;
  u8.fill(0, T.format, T.path + T.pathMax);
  u32[T.format >> 2] = IN_FORMAT_CODES[s.format] ?? 0;
  u32[T.tagsLen >> 2] = tagsLen;
  u8.set(tags.subarray(0, tagsLen), T.tags);
  u32[T.pathLen >> 2] = pathLen;
  u8.set(path.subarray(0, pathLen), T.path);
  u32[T.files >> 2] = pathLen ? (s.list?.files ?? 0) : 0;
  u32[T.namesHash >> 2] = pathLen ? (s.list?.namesHash ?? 0) : 0;
  // Publishes the fields above: pairs with the T.ready load in readStreamInfo.
  p.setI32(T.ready, 1);
}

/** The stream info, or null when the producer has not written it (yet). Throws InvalidInput when corrupt. */
export function readStreamInfo(p: Pipeline): StreamInfo | null {
  const ready = p.i32(T.ready);
  if (ready === 0) return null;
  const u32 = p.raw.u32;
  const bad = (what: string) =>
    new InvalidInput(`corrupt stream info in pipeline "${p.name}" (shmid ${p.raw.shmid}): ${what}; stop the pipeline and run \`shmimg clean --name ${p.name} --force\``);
  if (ready !== 1) throw bad(`field ready is ${ready}, expected 0 or 1`);
  const code = u32[T.format >> 2]!;
  const format = Object.keys(IN_FORMAT_CODES).find((k) => IN_FORMAT_CODES[k] === code);
  if (code !== 0 && format === undefined) throw bad(`field format ${code} is not an input format code`);
  const tagsLen = u32[T.tagsLen >> 2]!;
  const pathLen = u32[T.pathLen >> 2]!;
  if (tagsLen > T.tagsMax) throw bad(`field tagsLen ${tagsLen} exceeds ${T.tagsMax}`);
  if (pathLen > T.pathMax) throw bad(`field pathLen ${pathLen} exceeds ${T.pathMax}`);
  const s: StreamInfo = { format: format ?? "unknown" };
  if (tagsLen) s.y4mTags = dec.decode(p.raw.u8.subarray(T.tags, T.tags + tagsLen));
  if (pathLen) s.list = { path: dec.decode(p.raw.u8.subarray(T.path, T.path + pathLen)), files: u32[T.files >> 2]!, namesHash: u32[T.namesHash >> 2]! };
  return s;
}
