/**
 * Opening a stage's input as a frame source and its output as a sink, with
 * the formats chosen as choose.ts describes.
 */
import { InvalidInput } from "../errors";
import { parseSize } from "../frame/format";
import { closeFd, openInput, openOutput } from "../io/files";
import { Input } from "../io/input";
import { Output } from "../io/output";
import { DeferredSink, IMAGE_FORMATS, outFormatForInput, outFormatFromArgs, sniffBytes, sniffInput } from "./choose";
import { checkImageOutput, imageFolder, isImageFolderOrTemplate, isImageList } from "./images";
import { makeSink, makeSource } from "./index";
import type { FrameSink, FrameSource, StreamInfo } from "./types";

export interface SourceArgs {
  input?: string;
  inFormat?: string;
  size?: string;
  pixFmt?: string;
  convert444?: boolean;
  /** --depth 8: 16-bit PNG samples scaled to 8 bits. */
  depth?: number;
}

/** The source for --input/--in-format, and the fd it reads (-1 for image files; close with closeFd). */
export function openSource(a: SourceArgs): { source: FrameSource; fd: number } {
  const size = a.size ? parseSize(a.size) : undefined;
  if (a.size && !size) throw new InvalidInput(`--size "${a.size}" is not WIDTHxHEIGHT with both in 1..16384`);
  let format = a.inFormat ?? "auto";
  if (format === "auto" && (a.size || a.pixFmt)) format = "rawvideo"; // geometry given: headerless frames
  if (format === "auto" && isImageList(a.input)) format = "image";
  const fromStdin = !a.input || a.input === "-";
  if ((IMAGE_FORMATS.has(format) && !fromStdin) || format === "image") return { source: makeSource(format, { input: new Input(-1), path: a.input, depth: a.depth }), fd: -1 };
  const fd = openInput(a.input);
  try {
    const input = new Input(fd, a.input && a.input !== "-" ? a.input : "stdin");
    if (format === "auto") {
      const label = a.input && a.input !== "-" ? `--input ${a.input}` : "stdin";
      // A file holding one image: decode it as an image file (stdin: a stream of image files).
      if (fd !== 0 && input.want(16) > 0) {
        const f = sniffBytes(input.bytes, input.offset, input.buffered);
        if (f === "png" || f === "jpeg") {
          closeFd(fd);
          return { source: makeSource(f, { input: new Input(-1), path: a.input, depth: a.depth }), fd: -1 };
        }
      }
      format = sniffInput(input, label);
    }
    return { source: makeSource(format, { input, size, pixFmt: a.pixFmt, path: a.input, convert444: a.convert444, depth: a.depth }), fd };
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

export interface SinkArgs {
  output?: string;
  outFormat?: string;
  overwrite?: boolean;
  quality?: number;
  /** Where a restarted consumer continues. */
  resume: { delivered: number; offset: number };
  /** The stream info, read when frame 0 is there. */
  stream: () => StreamInfo | null;
  /**
   * Records (new stream) or verifies (resume) the output's identity once its
   * format is known, before anything is written or truncated (I8 in layout.ts):
   * fd for files and stdout, -1 and the folder for image files. True: the file
   * is the recorded one (so a resume may truncate it to the recorded offset).
   */
  check?: (fd: number, format: string, dir?: string) => boolean;
  /** Called with the output fd once it is open (files and stdout). */
  opened?: (fd: number) => void;
}

/**
 * The sink and Output for --output/--out-format. When the format depends on
 * the input (no --out-format, no telling extension), both are made when the
 * first frame arrives. close() closes the output file.
 */
export function openSink(a: SinkArgs): { sink: FrameSink; out: Output; close: () => void } {
  const toStdout = !a.output || a.output === "-";
  const folder = isImageFolderOrTemplate(a.output);
  const explicit = outFormatFromArgs(a.outFormat, a.output);
  const fresh = a.resume.delivered === 0;
  // Stale frames of an earlier run: refused (or removed with --overwrite) before anything is written.
  if (fresh && folder) checkImageOutput(a.output, !!a.overwrite);
  const out = new Output(-1, toStdout ? "stdout" : a.output!);
  let fd = -1;
  const open = (format: string) => {
    fd = out.fd = openOutput(a.output, toStdout ? 0 : a.resume.offset, (f) => a.check?.(f, format) ?? false);
    a.opened?.(fd);
  };
  const make = (format: string, stream: StreamInfo | null): FrameSink => {
    const image = IMAGE_FORMATS.has(format);
    // Image files go to --output itself (a folder, template or file); everything else through the fd.
    const path = image && !toStdout ? a.output : undefined;
    if (!path && out.fd < 0) open(format);
    const sink = makeSink(format, { resumeOffset: a.resume.offset, path, delivered: a.resume.delivered, stream, quality: a.quality, keepKinds: explicit === null });
    if (path) a.check?.(-1, format, imageFolder(path)); // the folder exists once the sink made it
    return sink;
  };
  // Made with frame 0: y4m carries the input's tags, image folders its file names,
  // and without --out-format the input's format is the output's.
  const sink = new DeferredSink(() => {
    const stream = a.stream();
    const isFolder = folder || (!toStdout && !/\.[A-Za-z0-9]+$/.test(a.output!) && IMAGE_FORMATS.has(stream?.format ?? ""));
    return make(explicit ?? outFormatForInput(stream, isFolder), stream);
  });
  // A stream output of a known format is opened now, so a bad path fails before frames flow.
  if (explicit !== null && !IMAGE_FORMATS.has(explicit)) open(explicit);
  return { sink, out, close: () => closeFd(fd) };
}
