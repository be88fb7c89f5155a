/**
 * Registry of input and output formats (--in-format / --out-format), and the
 * help text describing them (formatHelp(), used by --help and the README).
 */
import { InvalidInput } from "../errors";
import { NativeSink, NativeSource } from "./native";
import { ImageSink, ImageSource, ImageStreamSource } from "./images";
import { PnmSink, PnmSource } from "./pnm";
import { RawvideoSink, RawvideoSource } from "./rawvideo";
import type { FrameSink, FrameSource, SinkOptions, SourceOptions } from "./types";
import { Y4mSink, Y4mSource } from "./y4m";

export const IN_FORMATS = ["auto", "native", "pnm", "y4m", "rawvideo", "png", "jpeg"] as const;
export const OUT_FORMATS = ["auto", "native", "pnm", "y4m", "rawvideo", "png", "jpeg"] as const;

export function makeSource(format: string, opts: SourceOptions): FrameSource {
  switch (format) {
    case "native":
      return new NativeSource(opts.input);
    case "pnm":
      return new PnmSource(opts.input);
    case "y4m":
      return new Y4mSource(opts.input, opts.convert444);
    case "rawvideo":
      return new RawvideoSource(opts);
    case "png":
    case "jpeg":
      // Files from --input, else back-to-back files on the stream (ffmpeg -f image2pipe).
      if (!opts.path || opts.path === "-") return new ImageStreamSource(opts.input, format, opts.depth === 8);
      return new ImageSource(opts.path, format, opts.depth === 8);
    case "image":
      return new ImageSource(opts.path, format, opts.depth === 8);
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
    case "jpeg":
      return new ImageSink(format, opts);
  }
  throw new InvalidInput(`--out-format "${format}" is not one of ${OUT_FORMATS.join(", ")}`);
}

/** Formats, their options and conversions, for --help and the README. */
export function formatHelp(): string {
  return `Formats (--in-format / --out-format; ring formats: gray8, rgb24, rgba32, yuv420p):
  auto      the default. In: a directory or glob is image files; else the first bytes:
            SHMF native, YUV4MPEG2 y4m, P5/P6/P7 pnm, a PNG/JPEG signature (one image);
            --size/--pix-fmt mean rawvideo. Out: the --output extension (.y4m, .ppm/.pgm/
            .pam, .png, .jpg, .rgb/.yuv, .shm) or template, else the input's format.
  native    shmimg frames: 32-byte header (magic "SHMF", size, format, seq) + payload.
            In and out: every ring format as is.
  pnm       concatenated binary Netpbm images, maxval 255 only.
            In:  P5 -> gray8, P6 -> rgb24, P7 (PAM) GRAYSCALE/RGB/RGB_ALPHA -> gray8/rgb24/rgba32.
            Out: gray8 -> P5, rgb24 -> P6, rgba32 -> P7 RGB_ALPHA, yuv420p -> P6 (converted).
  y4m       YUV4MPEG2 (ffmpeg -f yuv4mpegpipe).
            In:  C420jpeg/C420mpeg2/C420paldv/C420 (or no C tag) -> yuv420p, Cmono -> gray8;
                 C444 refused (--convert-444: to rgb24); other C tags refused.
            Out: the input's F, I, A and X tags; yuv420p -> its 420 C tag (else C420jpeg),
                 gray8 -> Cmono, rgb24/rgba32 -> C444 (converted, alpha dropped).
                 All frames must share one size and format.
  rawvideo  headerless frames (ffmpeg -f rawvideo). In needs --size WxH and --pix-fmt F
            (gray, rgb24, rgba, yuv420p); a short last frame is an error (exit 3).
            Out: payload bytes of any ring format, as is.
  png       one PNG file per frame. Every bit depth and Adam7, pixel-exact with netpbm's
            pngtopam -alphapam: gray -> gray8, RGB/palette -> rgb24, gray+alpha/RGBA or any
            tRNS -> rgba32; 16-bit is refused unless --depth 8 (scaled as pamdepth 255);
            damaged files (CRC, truncation) are refused. Written with fast-png.
  jpeg      one JPEG file per frame (jpeg-js): 1 component -> gray8, 3 -> rgb24.
            png/jpeg in: --input DIR|GLOB|FILE, sorted by name, each file by its signature;
            on stdin: files back to back (ffmpeg -f image2pipe).
            Out: -o DIR/ keeps the source names, -o 'out/%06d.png' numbers frames, -o one.png
            one frame, no -o: files back to back on stdout; --quality for JPEG (default 90);
            yuv420p -> RGB (converted). A folder holding earlier frames needs --overwrite.
Conversions use BT.601 limited range (ffmpeg's default), 8-bit fixed point, same as --op rgb:
  YUV->RGB  C=Y-16 D=U-128 E=V-128; R = (298C + 409E + 128) >> 8, G = (298C - 100D - 208E + 128) >> 8,
            B = (298C + 516D + 128) >> 8, clamped; yuv420p chroma sample (x>>1, y>>1) per 2x2 block
  RGB->YUV  Y = 16 + ((66R + 129G + 25B + 128) >> 8), U = 128 + ((-38R - 74G + 112B + 128) >> 8),
            V = 128 + ((112R - 94G - 18B + 128) >> 8)
  Versus ffmpeg's swscale: within 3 levels for even sizes; for odd sizes ffmpeg
  interpolates the chroma plane over the frame, so colour edges differ there.
`;
}
