/**
 * Registry of input and output formats (--in-format / --out-format), and the
 * help text describing them (formatHelp(), used by --help and the README).
 */
import { InvalidInput } from "../errors";
import { NativeSink, NativeSource } from "./native";
import { PngSink, PngSource } from "./png";
import { PnmSink, PnmSource } from "./pnm";
import { RawvideoSink, RawvideoSource } from "./rawvideo";
import type { FrameSink, FrameSource, SinkOptions, SourceOptions } from "./types";
import { Y4mSink, Y4mSource } from "./y4m";

export const IN_FORMATS = ["native", "pnm", "y4m", "rawvideo", "png"] as const;
export const OUT_FORMATS = ["native", "pnm", "y4m", "rawvideo", "png"] as const;

export function makeSource(format: string, opts: SourceOptions): FrameSource {
  switch (format) {
    case "native":
      return new NativeSource(opts.input);
    case "pnm":
      return new PnmSource(opts.input);
    case "y4m":
      return new Y4mSource(opts.input);
    case "rawvideo":
      return new RawvideoSource(opts);
    case "png":
      return new PngSource(opts.path, opts.depth === 8);
  }
  throw new InvalidInput(`--in-format "${format}" is not one of ${IN_FORMATS.join(", ")}`);
}

export function makeSink(format: string, opts: SinkOptions): FrameSink {
  switch (format) {
    case "native":
      return new NativeSink();
    case "pnm":
      return new PnmSink();
    case "y4m":
      return new Y4mSink(opts);
    case "rawvideo":
      return new RawvideoSink();
    case "png":
      return new PngSink(opts);
  }
  throw new InvalidInput(`--out-format "${format}" is not one of ${OUT_FORMATS.join(", ")}`);
}

/** Formats, their options and conversions, for --help and the README. */
export function formatHelp(): string {
  return `Formats (--in-format / --out-format; ring formats: gray8, rgb24, rgba32, yuv420p):
  native    shmimg frames: 32-byte header (magic "SHMF", size, format, seq) + payload.
            In and out: every ring format as is.
  pnm       concatenated binary Netpbm images, maxval 255 only.
            In:  P5 -> gray8, P6 -> rgb24, P7 (PAM) GRAYSCALE/RGB/RGB_ALPHA -> gray8/rgb24/rgba32.
            Out: gray8 -> P5, rgb24 -> P6, rgba32 -> P7 RGB_ALPHA, yuv420p -> P6 (converted).
  y4m       YUV4MPEG2 (ffmpeg -f yuv4mpegpipe).
            In:  C420jpeg/C420mpeg2/C420paldv/C420 (or no C tag) -> yuv420p, Cmono -> gray8,
                 C444 -> rgb24 (converted); other C tags are refused. FRAME parameters ignored.
            Out: yuv420p -> C420jpeg, gray8 -> Cmono, rgb24/rgba32 -> C444 (converted, alpha
                 dropped); header says F25:1 Ip A1:1. All frames must share one size and format.
  rawvideo  headerless frames (ffmpeg -f rawvideo). In needs --size WxH and --pix-fmt F
            (gray, rgb24, rgba, yuv420p); a short last frame is an error (exit 3).
            Out: payload bytes of any ring format, as is.
  png       one PNG file per frame. In: --input DIR (its *.png sorted by name) or --input 'GLOB';
            every bit depth and Adam7, pixel-exact with netpbm's pngtopam -alphapam: gray -> gray8,
            RGB/palette -> rgb24, gray+alpha/RGBA or any tRNS -> rgba32; 16-bit is refused unless
            --depth 8 (scaled as pamdepth 255); damaged files (CRC, truncation) are refused.
            Out: --output DIR (created), files frame-%06d.png numbered by delivered frame;
            yuv420p -> RGB (converted).
Conversions use BT.601 limited range (ffmpeg's default), 8-bit fixed point, same as --op rgb:
  YUV->RGB  C=Y-16 D=U-128 E=V-128; R = (298C + 409E + 128) >> 8, G = (298C - 100D - 208E + 128) >> 8,
            B = (298C + 516D + 128) >> 8, clamped; yuv420p chroma sample (x>>1, y>>1) per 2x2 block
  RGB->YUV  Y = 16 + ((66R + 129G + 25B + 128) >> 8), U = 128 + ((-38R - 74G + 112B + 128) >> 8),
            V = 128 + ((112R - 94G - 18B + 128) >> 8)
  Versus ffmpeg's swscale: within 3 levels for even sizes; for odd sizes ffmpeg
  interpolates the chroma plane over the frame, so colour edges differ there.
`;
}
