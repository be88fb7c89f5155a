/**
 * Reference implementations the tests compare the pipeline against: a native
 * stream split into frames, and an op chain applied in this process.
 */
import { Chain, parseChain } from "../src/ops/chain";
import { NATIVE_HEADER, decodeHeader, encodeHeader } from "../src/formats/native";
import { payloadBytes, type Geometry } from "../src/frame/format";

/** Applies a chain op by op through fresh exact-size buffers (no Chain, no slots): an independent path. */
export function applyOpByOp(spec: string, g: Geometry, input: Uint8Array): [Uint8Array, Geometry] {
  let cur = input;
  let cg = g;
  for (const op of parseChain(spec)) {
    const og = op.out(cg);
    const next = new Uint8Array(payloadBytes(og.w, og.h, og.fmt));
    op.apply(cur, cg, next, og);
    cur = next;
    cg = og;
  }
  return [cur, cg];
}

/** Splits a native stream into frames. */
export function parseNative(buf: Uint8Array): { w: number; h: number; fmt: number; seq: number; payload: Uint8Array }[] {
  const frames = [];
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const info = decodeHeader(buf, off, i++, { w: 0, h: 0, fmt: 1, seq: 0, len: 0 });
    const payload = buf.subarray(off + NATIVE_HEADER, off + NATIVE_HEADER + info.len);
    frames.push({ w: info.w, h: info.h, fmt: info.fmt, seq: info.seq, payload });
    off += NATIVE_HEADER + info.len;
  }
  return frames;
}

/** Applies `spec` to every frame of a native stream in this process (the reference output). */
export function applyInProcess(input: Uint8Array, spec: string): Buffer {
  const chain = new Chain(parseChain(spec));
  const parts: Uint8Array[] = [];
  for (const f of parseNative(input)) {
    const g = chain.out({ w: f.w, h: f.h, fmt: f.fmt as 1 });
    const len = payloadBytes(g.w, g.h, g.fmt);
    const out = new Uint8Array(NATIVE_HEADER + len);
    chain.apply(f.payload, { w: f.w, h: f.h, fmt: f.fmt as 1 }, out.subarray(NATIVE_HEADER));
    encodeHeader(out, 0, { w: g.w, h: g.h, fmt: g.fmt, seq: f.seq, len });
    parts.push(out);
  }
  return Buffer.concat(parts);
}
