/**
 * Shared by the format tests: run a source over bytes (into slot-like buffers
 * that must not be written past the payload) and a sink over frames (slots
 * kept alive until each flush, as ring slots are), through real fds.
 */
import { test } from "bun:test";
import { ptr } from "bun:ffi";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmp } from "./spawning";
import { Input } from "../src/io/input";
import { Output } from "../src/io/output";
import { makeSink, makeSource } from "../src/formats";
import type { FrameInfo, SinkOptions, SourceOptions } from "../src/formats/types";

export interface Frame {
  info: FrameInfo;
  data: Uint8Array;
}

export { removeTempDirs } from "./spawning";

/**
 * True when every tool is on PATH. A missing tool skips the caller's tests with
 * a visible reason; with CI=true it registers a failing test naming the tool.
 */
export function have(...tools: string[]): boolean {
  const missing = tools.filter((t) => !Bun.which(t));
  if (missing.length === 0) return true;
  const why = `missing tool(s): ${missing.join(", ")} (apt-get install ffmpeg netpbm)`;
  if (process.env.CI === "true") test(`required tools are installed: ${missing.join(", ")}`, () => { throw new Error(why); });
  else console.warn(`skipping tests: ${why}`);
  return false;
}

/** A temporary directory, removed by removeTempDirs() (or after the suite). */
export function tempDir(tag = "fmt"): string {
  return tmp(`shmimg-fmtest-${tag}-`);
}

/** A slot-like buffer: 64 bytes longer than the payload, filled with 0xEE. */
export function slot(len: number): Uint8Array {
  return new Uint8Array(len + 64).fill(0xee);
}

/** Parses all frames of `bytes` with format `fmt`; returns copies. */
export function readFrames(fmt: string, bytes: Uint8Array, opts: Partial<SourceOptions> = {}): Frame[] {
  const file = join(tempDir("in"), "input");
  writeFileSync(file, bytes);
  const fd = openSync(file, "r");
  try {
    const src = makeSource(fmt, { input: new Input(fd), ...opts });
    const frames: Frame[] = [];
    for (let info = src.next(); info; info = src.next()) {
      const view = slot(info.len);
      src.readPayload(ptr(view), view);
      // The slot must only be written up to len.
      for (let i = info.len; i < view.length; i++) if (view[i] !== 0xee) throw new Error(`source wrote past the payload at ${i}`);
      frames.push({ info: { ...info }, data: view.slice(0, info.len) });
    }
    return frames;
  } finally {
    closeSync(fd);
  }
}

/** Writes frames with sink `fmt` (flushing every `batch` frames); returns the bytes written. */
export function writeFrames(fmt: string, frames: Frame[], opts: Partial<SinkOptions> = {}, batch = 64): Uint8Array {
  const file = join(tempDir("out"), "output");
  const fd = openSync(file, "w");
  try {
    const sink = makeSink(fmt, { resumeOffset: 0, delivered: 0, ...opts });
    const out = new Output(fd);
    let queued = 0;
    // Keep each frame's slot alive until the batch is flushed (like ring slots).
    let held: Uint8Array[] = [];
    for (const f of frames) {
      if (!out.room(sink.iovs) || queued === batch) {
        out.flush();
        sink.flushed();
        held = [];
        queued = 0;
      }
      const view = slot(f.info.len);
      view.set(f.data);
      held.push(view);
      sink.add(out, f.info, ptr(view), view);
      queued++;
    }
    out.flush();
    sink.flushed();
    sink.close();
    void held;
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(readFileSync(file));
}
