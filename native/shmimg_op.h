/*
 * shmimg_op.h: the C ABI of a native op, used as `--op 'native:./libmine.so#NAME[:params]'`.
 *
 * Build a shared library that exports, for each op NAME:
 *
 *   int32_t NAME(const uint8_t *src, uint8_t *dst, uint32_t w, uint32_t h,
 *                uint32_t format, const char *params);
 *
 *     src     the input frame, w x h in `format`, straight in the raw ring slot
 *             (read-only for you; other processes may be reading it too).
 *     dst     where the output goes, straight in the processed ring slot (or the
 *             chain's scratch buffer between two ops). Write exactly
 *             shmimg_bytes(out geometry) bytes, never more: shmimg keeps a
 *             canary in the 64 bytes after them and fails the frame (before
 *             it is published) when it finds it overwritten; further than
 *             that is the next slot, which nothing can protect.
 *             src and dst never overlap. Nothing is copied before or after.
 *     params  the text after the symbol's ':' in the spec ("" when none),
 *             NUL-terminated, e.g. "strength=0.4;radius=2".
 *     return  0 = done. Anything else fails this frame: it is retried (on any
 *             worker) up to --max-attempts times, then the stream stops with
 *             exit 4 naming the frame, the op and your return value.
 *
 *   int32_t NAME_out(uint32_t *w, uint32_t *h, uint32_t *format, const char *params);
 *
 *     Optional. Called with the input geometry, rewrites it into the output
 *     geometry (default without NAME_out: output = input). Return non-zero to
 *     refuse an input (exit 2 before any frame). At load time it is called
 *     with a 64x64 frame of each format to learn which formats NAME accepts.
 *
 * The function runs in a worker process, one frame at a time per process (N
 * workers run N copies at once); static scratch memory is fine. A kernel
 * that never returns is caught by --frame-timeout (the worker is SIGKILLed
 * and the frame redone). A crash (SIGSEGV) kills only that worker: `run`
 * starts a replacement and the frame is redone, up to --max-attempts.
 */
#ifndef SHMIMG_OP_H
#define SHMIMG_OP_H

#include <stdint.h>

/* Format codes (the same numbers as in the native stream and the slot table). */
enum shmimg_format {
  SHMIMG_GRAY8 = 1,   /* 1 byte per pixel */
  SHMIMG_RGB24 = 2,   /* R, G, B */
  SHMIMG_RGBA32 = 3,  /* R, G, B, A */
  SHMIMG_YUV420P = 4, /* Y plane w*h, then U and V planes of ceil(w/2) x ceil(h/2) */
};

/* Payload bytes of a w x h frame in `format` (0 for an unknown format). */
static inline uint64_t shmimg_bytes(uint32_t w, uint32_t h, uint32_t format) {
  uint64_t px = (uint64_t)w * h, cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (format) {
    case SHMIMG_GRAY8: return px;
    case SHMIMG_RGB24: return px * 3;
    case SHMIMG_RGBA32: return px * 4;
    case SHMIMG_YUV420P: return px + 2 * cw * ch;
    default: return 0;
  }
}

#define SHMIMG_OP(name)                                                                    \
  int32_t name(const uint8_t *src, uint8_t *dst, uint32_t w, uint32_t h, uint32_t format, \
               const char *params)
#define SHMIMG_OP_OUT(name) int32_t name##_out(uint32_t *w, uint32_t *h, uint32_t *format, const char *params)

#endif
