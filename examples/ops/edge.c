/*
 * Example native ops for shmimg (see native/shmimg_op.h). Build: `make examples`.
 *
 *   shmimg run --op 'native:./examples/ops/libedge.so#edge' ...        (gray8, = built-in sobel)
 *   shmimg run --op 'native:./examples/ops/libedge.so#halve' ...       (any packed format, half size)
 *   shmimg run --op 'native:./examples/ops/libedge.so#fail_on:value=255' ...  (fails frames whose first byte is 255)
 *   fail_on and overrun exist for the tests.
 */
#include <stdlib.h>
#include <string.h>

#include "shmimg_op.h"

/* One output pixel with clamped neighbours (the first and last column). */
static inline uint8_t sobel_at(const uint8_t *a, const uint8_t *b, const uint8_t *c, uint32_t x, uint32_t w) {
  uint32_t l = x > 0 ? x - 1 : 0, r = x + 1 < w ? x + 1 : w - 1;
  int gx = a[r] + 2 * b[r] + c[r] - (a[l] + 2 * b[l] + c[l]);
  int gy = c[l] + 2 * c[x] + c[r] - (a[l] + 2 * a[x] + a[r]);
  int m = abs(gx) + abs(gy);
  return (uint8_t)(m > 255 ? 255 : m);
}

/*
 * Sobel magnitude, L1 norm, min 255, clamped borders: byte-exact with the
 * built-in `sobel`. The interior loop has no branch, so the compiler
 * vectorises it (-O3).
 */
SHMIMG_OP(edge) {
  (void)params;
  if (format != SHMIMG_GRAY8) return 1;
  for (uint32_t y = 0; y < h; y++) {
    const uint8_t *a = src + (size_t)(y > 0 ? y - 1 : 0) * w;
    const uint8_t *b = src + (size_t)y * w;
    const uint8_t *c = src + (size_t)(y + 1 < h ? y + 1 : h - 1) * w;
    uint8_t *d = dst + (size_t)y * w;
    d[0] = sobel_at(a, b, c, 0, w);
    if (w > 1) d[w - 1] = sobel_at(a, b, c, w - 1, w);
    for (uint32_t x = 1; x + 1 < w; x++) {
      int gx = a[x + 1] + 2 * b[x + 1] + c[x + 1] - (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
      int gy = c[x - 1] + 2 * c[x] + c[x + 1] - (a[x - 1] + 2 * a[x] + a[x + 1]);
      int m = abs(gx) + abs(gy);
      d[x] = (uint8_t)(m > 255 ? 255 : m);
    }
  }
  return 0;
}

/* Accepts gray8 only: the loader learns that by calling this with each format. */
SHMIMG_OP_OUT(edge) {
  (void)w, (void)h, (void)params;
  return *format == SHMIMG_GRAY8 ? 0 : 1;
}

/* Keeps every second pixel of every second row (a different output geometry through NAME_out). */
SHMIMG_OP(halve) {
  (void)params;
  uint32_t C = format == SHMIMG_GRAY8 ? 1 : format == SHMIMG_RGB24 ? 3 : 4;
  uint32_t ow = (w + 1) / 2, oh = (h + 1) / 2;
  for (uint32_t y = 0; y < oh; y++)
    for (uint32_t x = 0; x < ow; x++) memcpy(dst + ((size_t)y * ow + x) * C, src + ((size_t)2 * y * w + 2 * x) * C, C);
  return 0;
}

SHMIMG_OP_OUT(halve) {
  (void)params;
  if (*format == SHMIMG_YUV420P) return 1;
  *w = (*w + 1) / 2;
  *h = (*h + 1) / 2;
  return 0;
}

/* Test helper: copies the frame and then writes 4 bytes past its end (shmimg catches it). */
SHMIMG_OP(overrun) {
  (void)params;
  uint64_t n = shmimg_bytes(w, h, format);
  memcpy(dst, src, n);
  memset(dst + n, 0, 4);
  return 0;
}

/* Copies the frame, but fails (returns 7) when its first byte equals params "value=N". */
SHMIMG_OP(fail_on) {
  const char *v = strstr(params, "value=");
  int bad = v ? atoi(v + 6) : -1;
  if (src[0] == bad) return 7;
  memcpy(dst, src, shmimg_bytes(w, h, format));
  return 0;
}
