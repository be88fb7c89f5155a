/**
 * Geometric ops: hflip, vflip, rotate90, rotate180, rotate270, crop.
 *
 * Pixels are moved, never changed. yuv420p is handled plane by plane, each plane
 * being treated as its own gray8 image of size (w x h, then 2 x ceil(w/2) x ceil(h/2)),
 * exactly like ffmpeg's hflip/vflip/transpose/crop filters do; for odd sizes this
 * means the chroma of the (single) last luma row/column is moved with its plane.
 */
import { InvalidInput } from "../errors";
import { Format, formatName, type Geometry } from "../frame/format";
import { chromaDim, forEachPlane, words } from "./buffers";
import { ALL_FORMATS, channels, checkInput, noArg, sameSize, type Step, type OpDef } from "./types";

/** Square tile edge used by the cache-blocked rotations. */
const TILE = 64;

// ---------------------------------------------------------------- hflip

/** Mirrors each row: out(x, y) = in(w-1-x, y), `bpp` bytes per pixel, from byte offsets so/do. */
function hflipBytes(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number, bpp: number): void {
  const row = w * bpp;
  for (let y = 0; y < h; y++) {
    const s = so + y * row;
    let d = d0 + y * row + row - bpp;
    if (bpp === 1) {
      for (let x = 0; x < w; x++) dst[d--] = src[s + x]!;
    } else if (bpp === 3) {
      for (let x = 0; x < row; x += 3, d -= 3) {
        dst[d] = src[s + x]!;
        dst[d + 1] = src[s + x + 1]!;
        dst[d + 2] = src[s + x + 2]!;
      }
    } else {
      for (let x = 0; x < row; x += bpp, d -= bpp) for (let c = 0; c < bpp; c++) dst[d + c] = src[s + x + c]!;
    }
  }
}

function hflipPlane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  hflipBytes(src, dst, so, d0, w, h, 1);
}

/** rgba32 fast path: one 32-bit word per pixel. */
function hflipWords(s32: Int32Array, d32: Int32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const s = y * w;
    let d = s + w - 1;
    for (let x = 0; x < w; x++) d32[d--] = s32[s + x]!;
  }
}

export const hflipDef: OpDef = {
  name: "hflip",
  syntax: "hflip",
  formats: ALL_FORMATS,
  formula: "out(x, y) = in(w-1-x, y) (mirror left-right; = ffmpeg -vf hflip)",
  edges: "none; yuv420p planes are mirrored independently (chroma width ceil(w/2))",
  create(arg) {
    noArg("hflip", arg);
    return sameSize("hflip", ALL_FORMATS, (src, g, dst) => {
      if (g.fmt === Format.yuv420p) return forEachPlane(src, dst, g.w, g.h, g.w, g.h, hflipPlane);
      if (g.fmt === Format.rgba32) {
        const s32 = words(src);
        const d32 = words(dst);
        if (s32 !== null && d32 !== null) return hflipWords(s32, d32, g.w, g.h);
      }
      hflipBytes(src, dst, 0, 0, g.w, g.h, channels(g.fmt));
    });
  },
};

// ---------------------------------------------------------------- vflip

/** Reverses the row order: out(x, y) = in(x, h-1-y); one memcpy per row. */
function vflipRows(src: Uint8Array, dst: Uint8Array, so: number, d0: number, row: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const s = so + (h - 1 - y) * row;
    dst.set(src.subarray(s, s + row), d0 + y * row);
  }
}

function vflipPlane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  vflipRows(src, dst, so, d0, w, h);
}

export const vflipDef: OpDef = {
  name: "vflip",
  syntax: "vflip",
  formats: ALL_FORMATS,
  formula: "out(x, y) = in(x, h-1-y) (upside down; = ffmpeg -vf vflip)",
  edges: "none; yuv420p planes are flipped independently (chroma height ceil(h/2))",
  create(arg) {
    noArg("vflip", arg);
    return sameSize("vflip", ALL_FORMATS, (src, g, dst) => {
      if (g.fmt === Format.yuv420p) return forEachPlane(src, dst, g.w, g.h, g.w, g.h, vflipPlane);
      vflipRows(src, dst, 0, 0, g.w * channels(g.fmt), g.h);
    });
  },
};

// ---------------------------------------------------------------- rotate180

/** out(x, y) = in(w-1-x, h-1-y): the pixel sequence reversed, `bpp` bytes per pixel. */
function reverseBytes(src: Uint8Array, dst: Uint8Array, so: number, d0: number, n: number, bpp: number): void {
  if (bpp === 1) {
    for (let i = 0, d = d0 + n - 1; i < n; i++, d--) dst[d] = src[so + i]!;
    return;
  }
  if (bpp === 3) {
    for (let i = so, e = so + n, d = d0 + n - 3; i < e; i += 3, d -= 3) {
      dst[d] = src[i]!;
      dst[d + 1] = src[i + 1]!;
      dst[d + 2] = src[i + 2]!;
    }
    return;
  }
  for (let i = 0, d = d0 + n - bpp; i < n; i += bpp, d -= bpp) for (let c = 0; c < bpp; c++) dst[d + c] = src[so + i + c]!;
}

function rotate180Plane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  reverseBytes(src, dst, so, d0, w * h, 1);
}

export const rotate180Def: OpDef = {
  name: "rotate180",
  syntax: "rotate180",
  formats: ALL_FORMATS,
  formula: "out(x, y) = in(w-1-x, h-1-y) (= ffmpeg -vf hflip,vflip)",
  edges: "none; yuv420p planes are rotated independently",
  create(arg) {
    noArg("rotate180", arg);
    return sameSize("rotate180", ALL_FORMATS, (src, g, dst) => {
      if (g.fmt === Format.yuv420p) return forEachPlane(src, dst, g.w, g.h, g.w, g.h, rotate180Plane);
      const n = g.w * g.h;
      if (g.fmt === Format.rgba32) {
        const s32 = words(src);
        const d32 = words(dst);
        if (s32 !== null && d32 !== null) {
          for (let i = 0, d = n - 1; i < n; i++, d--) d32[d] = s32[i]!;
          return;
        }
      }
      const bpp = channels(g.fmt);
      reverseBytes(src, dst, 0, 0, n * bpp, bpp);
    });
  },
};

// ---------------------------------------------------------------- rotate90 / rotate270

/**
 * Quarter turn of a w x h image of `bpp`-byte pixels into an h x w image, in
 * TILE x TILE blocks so that both the reads and the strided writes stay in cache.
 *   clockwise:         in(x, y) -> out(h-1-y, x)   (ffmpeg transpose=1 / "clock")
 *   counter-clockwise: in(x, y) -> out(y, w-1-x)   (ffmpeg transpose=2 / "cclock")
 */
function quarterBytes(
  src: Uint8Array,
  dst: Uint8Array,
  so: number,
  d0: number,
  w: number,
  h: number,
  bpp: number,
  clockwise: boolean,
): void {
  for (let ty = 0; ty < h; ty += TILE) {
    const ye = Math.min(h, ty + TILE);
    for (let tx = 0; tx < w; tx += TILE) {
      const xe = Math.min(w, tx + TILE);
      for (let y = ty; y < ye; y++) {
        let s = so + (y * w + tx) * bpp;
        if (bpp === 1) {
          if (clockwise) for (let x = tx, d = d0 + tx * h + (h - 1 - y); x < xe; x++, d += h) dst[d] = src[s++]!;
          else for (let x = tx, d = d0 + (w - 1 - tx) * h + y; x < xe; x++, d -= h) dst[d] = src[s++]!;
        } else {
          const step = clockwise ? h * bpp : -h * bpp;
          let d = clockwise ? d0 + (tx * h + (h - 1 - y)) * bpp : d0 + ((w - 1 - tx) * h + y) * bpp;
          if (bpp === 3) {
            for (let x = tx; x < xe; x++, s += 3, d += step) {
              dst[d] = src[s]!;
              dst[d + 1] = src[s + 1]!;
              dst[d + 2] = src[s + 2]!;
            }
          } else {
            for (let x = tx; x < xe; x++, s += bpp, d += step) for (let c = 0; c < bpp; c++) dst[d + c] = src[s + c]!;
          }
        }
      }
    }
  }
}

/** rgba32 fast path of quarterBytes: one 32-bit word per pixel. */
function quarterWords(s32: Int32Array, d32: Int32Array, w: number, h: number, clockwise: boolean): void {
  for (let ty = 0; ty < h; ty += TILE) {
    const ye = Math.min(h, ty + TILE);
    for (let tx = 0; tx < w; tx += TILE) {
      const xe = Math.min(w, tx + TILE);
      for (let y = ty; y < ye; y++) {
        let s = y * w + tx;
        if (clockwise) for (let x = tx, d = tx * h + (h - 1 - y); x < xe; x++, d += h) d32[d] = s32[s++]!;
        else for (let x = tx, d = (w - 1 - tx) * h + y; x < xe; x++, d -= h) d32[d] = s32[s++]!;
      }
    }
  }
}

function rotate90Plane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  quarterBytes(src, dst, so, d0, w, h, 1, true);
}

function rotate270Plane(src: Uint8Array, dst: Uint8Array, so: number, d0: number, w: number, h: number): void {
  quarterBytes(src, dst, so, d0, w, h, 1, false);
}

function quarterOp(name: string, clockwise: boolean): Step {
  return {
    name,
    out(g: Geometry): Geometry {
      checkInput(name, g, ALL_FORMATS);
      return { w: g.h, h: g.w, fmt: g.fmt };
    },
    apply(src, g, dst) {
      if (g.fmt === Format.yuv420p) {
        return forEachPlane(src, dst, g.w, g.h, g.h, g.w, clockwise ? rotate90Plane : rotate270Plane);
      }
      if (g.fmt === Format.rgba32) {
        const s32 = words(src);
        const d32 = words(dst);
        if (s32 !== null && d32 !== null) return quarterWords(s32, d32, g.w, g.h, clockwise);
      }
      quarterBytes(src, dst, 0, 0, g.w, g.h, channels(g.fmt), clockwise);
    },
  };
}

export const rotate90Def: OpDef = {
  name: "rotate90",
  syntax: "rotate90",
  formats: ALL_FORMATS,
  formula: "quarter turn clockwise: out is h x w, out(x, y) = in(y, h-1-x) (= ffmpeg -vf transpose=1)",
  edges: "none; yuv420p planes are rotated independently (chroma ceil(w/2) x ceil(h/2) -> ceil(h/2) x ceil(w/2))",
  create(arg) {
    noArg("rotate90", arg);
    return quarterOp("rotate90", true);
  },
};

export const rotate270Def: OpDef = {
  name: "rotate270",
  syntax: "rotate270",
  formats: ALL_FORMATS,
  formula: "quarter turn counter-clockwise: out is h x w, out(x, y) = in(w-1-y, x) (= ffmpeg -vf transpose=2)",
  edges: "none; yuv420p planes are rotated independently",
  create(arg) {
    noArg("rotate270", arg);
    return quarterOp("rotate270", false);
  },
};

// ---------------------------------------------------------------- crop

/** Copies the W x H rectangle at (X, Y) of a `bpp`-byte-per-pixel plane, one memcpy per row. */
function cropRows(
  src: Uint8Array,
  dst: Uint8Array,
  so: number,
  d0: number,
  w: number,
  cw: number,
  ch: number,
  cx: number,
  cy: number,
  bpp: number,
): void {
  const row = cw * bpp;
  for (let y = 0; y < ch; y++) {
    const s = so + ((cy + y) * w + cx) * bpp;
    dst.set(src.subarray(s, s + row), d0 + y * row);
  }
}

const CROP_SYNTAX = "crop:WxH+X+Y  (+X+Y optional, default +0+0)";

/**
 * crop:WxH+X+Y: out(x, y) = in(X + x, Y + y), out is W x H; the rectangle must
 * lie inside the frame. yuv420p: X and Y must be even (the chroma of a crop at
 * an odd offset would straddle two chroma samples); W and H may be odd, chroma is
 * then ceil(W/2) x ceil(H/2) from (X/2, Y/2): equal to ffmpeg crop=W:H:X:Y:exact=1.
 */
export const cropDef: OpDef = {
  name: "crop",
  syntax: CROP_SYNTAX,
  formats: ALL_FORMATS,
  formula: "out(x, y) = in(X + x, Y + y); out is W x H (= ffmpeg -vf crop=W:H:X:Y)",
  edges:
    "the rectangle must lie inside the frame (else error). yuv420p: X and Y must be even (else error); " +
    "odd W/H are kept exactly, chroma ceil(W/2) x ceil(H/2) at (X/2, Y/2) = ffmpeg crop=...:exact=1 " +
    "(plain ffmpeg crop silently rounds W, H, X, Y down to even for yuv420p)",
  create(arg) {
    const m = arg === undefined ? null : /^\s*(\d{1,5})x(\d{1,5})(?:\+(\d{1,5})\+(\d{1,5}))?\s*$/.exec(arg);
    if (m === null) {
      const got = arg === undefined ? "no argument" : `"crop:${arg}"`;
      throw new InvalidInput(`op "crop" needs a rectangle WxH+X+Y, e.g. "crop:640x480+10+20" (got ${got})`);
    }
    const cw = Number(m[1]);
    const ch = Number(m[2]);
    const cx = Number(m[3] ?? 0);
    const cy = Number(m[4] ?? 0);
    if (cw < 1 || ch < 1) throw new InvalidInput(`op "crop:${arg}": width and height must be at least 1`);
    const name = `crop:${cw}x${ch}+${cx}+${cy}`;
    return {
      name,
      out(g: Geometry): Geometry {
        checkInput(name, g, ALL_FORMATS);
        if (cx + cw > g.w || cy + ch > g.h) {
          throw new InvalidInput(
            `op "${name}": the rectangle ${cw}x${ch} at (${cx},${cy}) reaches (${cx + cw},${cy + ch}), ` +
              `outside the ${g.w}x${g.h} frame; pick W <= ${g.w - Math.min(cx, g.w)} and H <= ${g.h - Math.min(cy, g.h)} or a smaller offset`,
          );
        }
        if (g.fmt === Format.yuv420p && (cx % 2 !== 0 || cy % 2 !== 0)) {
          throw new InvalidInput(
            `op "${name}": ${formatName(g.fmt)} chroma is subsampled 2x2, so X and Y must be even ` +
              `(e.g. crop:${cw}x${ch}+${cx & ~1}+${cy & ~1}), or put "rgb" before it`,
          );
        }
        return { w: cw, h: ch, fmt: g.fmt };
      },
      apply(src, g, dst) {
        if (g.fmt !== Format.yuv420p) return cropRows(src, dst, 0, 0, g.w, cw, ch, cx, cy, channels(g.fmt));
        const pw = chromaDim(g.w);
        const ph = chromaDim(g.h);
        const ow = chromaDim(cw);
        const oh = chromaDim(ch);
        cropRows(src, dst, 0, 0, g.w, cw, ch, cx, cy, 1);
        const s1 = g.w * g.h;
        const d1 = cw * ch;
        cropRows(src, dst, s1, d1, pw, ow, oh, cx >> 1, cy >> 1, 1);
        cropRows(src, dst, s1 + pw * ph, d1 + ow * oh, pw, ow, oh, cx >> 1, cy >> 1, 1);
      },
    };
  },
};
