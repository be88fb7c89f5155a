/**
 * Native kernels: `native:./libmine.so#edge[:params]`, a C function called
 * through bun:ffi with pointers straight into the slots (no copy). The ABI is
 * native/shmimg_op.h:
 *
 *   int32_t NAME(const uint8_t *src, uint8_t *dst, uint32_t w, uint32_t h,
 *                uint32_t format, const char *params);      0 = ok
 *   int32_t NAME_out(uint32_t *w, uint32_t *h, uint32_t *format,
 *                    const char *params);                   optional, 0 = ok
 *
 * NAME_out, when present, turns the input geometry into the output geometry
 * in place (default: unchanged); a non-zero return refuses that input. It is
 * asked once per format at load time (64x64) to learn which formats the
 * kernel accepts, then once per distinct input geometry.
 */
import { dlopen, FFIType, type Library } from "bun:ffi";
import { existsSync } from "node:fs";
import { InvalidInput } from "../errors";
import { FORMAT_NAMES, parseFormat, payloadBytes, type Format } from "../frame/format";
import type { FormatName, Op } from "./contract";
import { OpFailed } from "./external";

const { ptr, u32, i32 } = FFIType;
const KERNEL = { args: [ptr, ptr, u32, u32, u32, ptr], returns: i32 } as const;
const OUT = { args: [ptr, ptr, ptr, ptr], returns: i32 } as const;

type Kernel = (src: Uint8Array, dst: Uint8Array, w: number, h: number, fmt: number, params: Uint8Array) => number;
type OutFn = (w: Uint32Array, h: Uint32Array, fmt: Uint32Array, params: Uint8Array) => number;

const CANARY = Uint8Array.of(0xa5, 0x5a, 0xc3, 0x3c, 0x96, 0x69, 0x0f, 0xf0);

const libs = new Map<string, { fn: Kernel; out?: OutFn; lib: Library<any> }>();

/** dlopen(file) for symbol `sym` (and `sym_out` when the library has it), once per process. */
function open(file: string, sym: string, who: string): { fn: Kernel; out?: OutFn } {
  const key = `${file}#${sym}`;
  const have = libs.get(key);
  if (have) return have;
  if (!existsSync(file)) throw new InvalidInput(`op ${who}: library ${file} not found; build it (e.g. \`make examples\`) or fix the path`);
  let entry: { fn: Kernel; out?: OutFn; lib: Library<any> };
  try {
    const lib = dlopen(file, { [sym]: KERNEL, [`${sym}_out`]: OUT });
    entry = { fn: lib.symbols[sym] as unknown as Kernel, out: lib.symbols[`${sym}_out`] as unknown as OutFn, lib };
  } catch {
    try {
      const lib = dlopen(file, { [sym]: KERNEL });
      entry = { fn: lib.symbols[sym] as unknown as Kernel, lib };
    } catch (e) {
      throw new InvalidInput(`op ${who}: cannot load symbol "${sym}" from ${file}: ${(e as Error).message}; it must export int32_t ${sym}(const uint8_t *src, uint8_t *dst, uint32_t w, uint32_t h, uint32_t format, const char *params) (see native/shmimg_op.h)`);
    }
  }
  libs.set(key, entry);
  return entry;
}

/** The contract Op for `native:FILE#SYM` (file already resolved to an absolute path). */
export function nativeOp(file: string, sym: string, label: string): Op<Uint8Array> {
  const who = `"${label}"`;
  const { fn, out } = open(file, sym, who);
  const w = new Uint32Array(1);
  const h = new Uint32Array(1);
  const f = new Uint32Array(1);
  const outOf = (gw: number, gh: number, gf: number, params: Uint8Array): number => {
    w[0] = gw;
    h[0] = gh;
    f[0] = gf;
    return out!(w, h, f, params);
  };
  const noParams = Buffer.from("\0");
  const formats = (Object.values(FORMAT_NAMES) as FormatName[]).filter((n) => !out || outOf(64, 64, parseFormat(n)!, noParams) === 0);
  if (formats.length === 0) throw new InvalidInput(`op ${who}: ${sym}_out refuses a 64x64 frame of every format`);
  return {
    name: label,
    formats,
    parse: (text) => Buffer.from((text ?? "") + "\0"),
    out(g, params) {
      if (!out) return g;
      const r = outOf(g.w, g.h, g.fmt, params);
      if (r !== 0) throw new InvalidInput(`op ${who}: ${sym}_out returned ${r} for ${g.w}x${g.h} ${g.format} (refused)`);
      const name = FORMAT_NAMES[f[0]!] as FormatName | undefined;
      if (name === undefined) throw new InvalidInput(`op ${who}: ${sym}_out set format code ${f[0]}, which is not 1..4`);
      return { w: w[0]!, h: h[0]!, format: name };
    },
    apply(src, dst, g, og, params) {
      // A canary in the room after the output (when the slot or scratch
      // buffer has any) catches a kernel that writes past it before the
      // result is published.
      const end = payloadBytes(og.w, og.h, og.fmt as Format);
      const guard = Math.min(CANARY.length, dst.length - end);
      for (let k = 0; k < guard; k++) dst[end + k] = CANARY[k]!;
      const r = fn(src, dst, g.w, g.h, g.fmt, params);
      if (r !== 0) throw new OpFailed(`${sym} returned ${r}`);
      for (let k = 0; k < guard; k++)
        if (dst[end + k] !== CANARY[k]) throw new OpFailed(`${sym} wrote past its ${og.w}x${og.h} ${og.format} output (${end} bytes); see shmimg_bytes() in native/shmimg_op.h`);
    },
  };
}
