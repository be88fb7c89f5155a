/**
 * jpeg: baseline and progressive JPEG files, decoded and encoded with jpeg-js
 * (pure JS, so it also works inside the `bun build --compile` binary).
 *
 * Decoding to ring formats: 1 component (grayscale) -> gray8, 3 components
 * (YCbCr, or RGB with an Adobe marker) -> rgb24. CMYK/YCCK (4 components)
 * are refused. jpeg-js upsamples chroma and runs its own IDCT, so pixels
 * differ from libjpeg's djpeg by a few levels (measured in
 * test/formats-jpeg.test.ts: max 4, mean < 0.5 on photos-like content).
 *
 * Encoding (--out-format jpeg, --quality 1..100, default 90): jpeg-js writes
 * baseline 4:2:0 YCbCr from RGBA: gray8 and rgb24 are expanded to RGBA,
 * rgba32's alpha is dropped (JPEG has none), yuv420p is converted to RGB with
 * the BT.601 limited-range formula of convert.ts first.
 */
import { InvalidInput } from "../errors";
import { Format, MAX_DIMENSION, payloadBytes } from "../frame/format";
import { yuv420pToRgb24 } from "./convert";
import type { FrameInfo } from "./types";

/**
 * The image libraries (jpeg-js here, pngjs, node:zlib and fast-png in the PNG
 * code) load on first use: evaluating them cost every stage ~5 ms of its
 * start (measured on `consume`), and most streams never hold an image.
 */
const jpegJs = (): typeof import("jpeg-js") => require("jpeg-js");

export const JPEG_DEFAULT_QUALITY = 90;

/** True when bytes start with a JPEG SOI marker followed by another marker. */
export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * Width, height and component count from the first SOF marker, without
 * decoding (used to size the rings from every file's header); null when the
 * markers before SOF are malformed or there is none.
 */
export function jpegHeader(b: Uint8Array): { w: number; h: number; components: number } | null {
  if (!isJpeg(b)) return null;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      i += 2;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2) return null;
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 10 > b.length) return null;
      return { h: (b[i + 5]! << 8) | b[i + 6]!, w: (b[i + 7]! << 8) | b[i + 8]!, components: b[i + 9]! };
    }
    if (m === 0xda || m === 0xd9) return null; // scan or end before any frame header
    i += 2 + len;
  }
  return null;
}

/** The ring format a JPEG with `components` decodes to. */
export function jpegFormat(components: number): Format | null {
  return components === 1 ? Format.gray8 : components === 3 ? Format.rgb24 : null;
}

/** A decoded JPEG: fills `info` (w, h, fmt, len) and returns the pixels in that format. */
export function decodeJpeg(bytes: Uint8Array, where: string, info: FrameInfo): Uint8Array {
  const hdr = jpegHeader(bytes);
  if (hdr === null) throw new InvalidInput(`${where}: field header: no JPEG frame header (SOF) before the scan; remove or re-encode the file`);
  const fmt = jpegFormat(hdr.components);
  if (fmt === null) throw new InvalidInput(`${where}: field components: ${hdr.components} colour components (CMYK?) are not supported; convert to RGB or grayscale (e.g. convert in.jpg -colorspace sRGB out.jpg)`);
  if (hdr.w < 1 || hdr.h < 1 || hdr.w > MAX_DIMENSION || hdr.h > MAX_DIMENSION) throw new InvalidInput(`${where}: field size ${hdr.w}x${hdr.h} is outside 1..${MAX_DIMENSION}`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpegJs().decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 300, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new InvalidInput(`${where}: field data: not a decodable JPEG (${(e as Error).message}); remove or re-encode the file`);
  }
  if (img.width !== hdr.w || img.height !== hdr.h) throw new InvalidInput(`${where}: field size: decoded ${img.width}x${img.height}, header says ${hdr.w}x${hdr.h}`);
  info.w = hdr.w;
  info.h = hdr.h;
  info.fmt = fmt;
  info.len = payloadBytes(hdr.w, hdr.h, fmt);
  if (fmt === Format.rgb24) return img.data;
  // jpeg-js replicates gray into R, G, B: keep one.
  const n = hdr.w * hdr.h;
  const gray = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) gray[i] = img.data[j]!;
  return gray;
}

/** Encodes one frame (payload `view` of `info`) as a JPEG file's bytes. */
export function encodeJpeg(view: Uint8Array, info: FrameInfo, quality: number): Uint8Array {
  const { w, h } = info;
  const n = w * h;
  const rgba = new Uint8Array(n * 4);
  let src = view;
  let C = info.fmt === Format.gray8 ? 1 : info.fmt === Format.rgba32 ? 4 : 3;
  if (info.fmt === Format.yuv420p) {
    src = new Uint8Array(n * 3);
    yuv420pToRgb24(view, w, h, src);
    C = 3;
  }
  for (let i = 0, s = 0, d = 0; i < n; i++, s += C, d += 4) {
    if (C === 1) {
      rgba[d] = rgba[d + 1] = rgba[d + 2] = src[s]!;
    } else {
      rgba[d] = src[s]!;
      rgba[d + 1] = src[s + 1]!;
      rgba[d + 2] = src[s + 2]!;
    }
    rgba[d + 3] = 255;
  }
  return new Uint8Array(jpegJs().encode({ width: w, height: h, data: rgba }, quality).data);
}
