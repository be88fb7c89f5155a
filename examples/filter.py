# A filter: started once per worker (so a model loads once), one PNM image in per frame, one out.
# shmimg run --op 'filter:python3 examples/filter.py'   (inverts every byte: = --op invert on gray8/rgb24)
import sys
r, w = sys.stdin.buffer, sys.stdout.buffer
INVERT = bytes(range(255, -1, -1))                     # load your model here, once
while magic := r.readline():                           # b"" = end of stream: exit cleanly
    if magic == b"P7\n":                               # PAM (rgba32): "KEY value" lines up to ENDHDR
        head = dict(l.split(None, 1) for l in iter(r.readline, b"ENDHDR\n"))
        wd, ht, d = int(head[b"WIDTH"]), int(head[b"HEIGHT"]), int(head[b"DEPTH"])
        hdr = magic + b"".join(k + b" " + v for k, v in head.items()) + b"ENDHDR\n"
    else:                                              # P5 (gray8) / P6 (rgb24): "W H\n255\n"
        size, maxval = r.readline(), r.readline()
        (wd, ht), d = map(int, size.split()), 1 if magic == b"P5\n" else 3
        hdr = magic + size + maxval
    w.write(hdr + r.read(wd * ht * d).translate(INVERT)); w.flush()  # your per-frame work here
