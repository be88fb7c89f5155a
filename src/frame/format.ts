/**
 * Pixel formats that can live in a ring slot. The numeric codes are part of the
 * native stream format and of the shared-memory slot table: never renumber.
 */
export const Format = {
  gray8: 1,
  rgb24: 2,
  rgba32: 3,
  yuv420p: 4,
} as const;
export type Format = (typeof Format)[keyof typeof Format];

export const FORMAT_NAMES: Record<number, string> = {
  1: "gray8",
  2: "rgb24",
  3: "rgba32",
  4: "yuv420p",
};

/** Largest width or height accepted anywhere (keeps every byte count < 2^32). */
export const MAX_DIMENSION = 16384;

export function isFormat(code: number): code is Format {
  return code === 1 || code === 2 || code === 3 || code === 4;
}

export function formatName(code: number): string {
  return FORMAT_NAMES[code] ?? `unknown(${code})`;
}

export function parseFormat(name: string): Format | undefined {
  for (const [code, n] of Object.entries(FORMAT_NAMES)) if (n === name) return Number(code) as Format;
  return undefined;
}

/** Bytes of one frame's payload. yuv420p: full-size Y plane, then U and V at ceil(w/2) x ceil(h/2). */
/** Width or height of a yuv420p chroma plane (the last odd row/column gets its own sample). */
export function chromaDim(n: number): number {
  return (n + 1) >> 1;
}

export function payloadBytes(w: number, h: number, fmt: Format): number {
  switch (fmt) {
    case Format.gray8:
      return w * h;
    case Format.rgb24:
      return w * h * 3;
    case Format.rgba32:
      return w * h * 4;
    case Format.yuv420p:
      return w * h + 2 * chromaDim(w) * chromaDim(h);
  }
}

/** Geometry of one frame. */
export interface Geometry {
  w: number;
  h: number;
  fmt: Format;
}

/** Parses "WxH" (e.g. "1920x1080"); returns undefined when malformed or out of range. */
export function parseSize(s: string): { w: number; h: number } | undefined {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w < 1 || h < 1 || w > MAX_DIMENSION || h > MAX_DIMENSION) return undefined;
  return { w, h };
}
