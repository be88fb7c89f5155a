#!/usr/bin/env bash
# shmimg demos (seed §3.7).
#   ./run_demo.sh                 same as --mode=golden
#   ./run_demo.sh --mode=golden   240 generated frames through `run` with 3 workers;
#                                 deterministic counts and checksum, then "OK: golden scenario completed"
#   ./run_demo.sh --mode=failure  a producer pointed at a pipeline that does not exist:
#                                 "ERROR: invalid input or unavailable IPC resource", "exit=2", exit 2
# Both leave no IPC object behind (checked at the end).
set -uo pipefail
cd "$(dirname "$0")"
mode=golden
for a in "$@"; do
  case "$a" in
    --mode=*) mode="${a#--mode=}" ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "ERROR: unknown argument $a (use --mode=golden or --mode=failure)" >&2; exit 2 ;;
  esac
done

make -s shmimg >/dev/null || { echo "ERROR: build failed (run make)" >&2; exit 1; }
SHMIMG=./shmimg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$mode" in
golden)
  name="demo-golden-$$"
  frames=240 size=160x120 op="grayscale,blur,threshold:128"
  echo "shmimg golden demo: $frames frames $size rgb24 (seed 42) -> $op with 3 workers"
  $SHMIMG gen --count $frames --size $size --format rgb24 --seed 42 2>/dev/null > "$work/in.shm"
  SHMIMG_QUIET=1 $SHMIMG run --name "$name" --workers 3 --op "$op" --input "$work/in.shm" --output "$work/out.shm" --json > "$work/report.json" 2>"$work/err"
  code=$?
  if [ $code -ne 0 ]; then cat "$work/err" >&2; echo "exit=$code"; exit $code; fi
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const processed = Object.values(r.perWorker).reduce((a, b) => a + b, 0);
    console.log(`frames in: ${r.framesIn}`);
    console.log(`frames processed: ${processed} (workers: 3, redone: ${r.redone})`);
    console.log(`frames out: ${r.framesOut}`);
    console.log(`output bytes: ${r.bytesOut}`);
  ' "$work/report.json"
  echo "input sha256: $(sha256sum < "$work/in.shm" | cut -c1-16)"
  echo "output sha256: $(sha256sum < "$work/out.shm" | cut -c1-16)"
  if $SHMIMG stat --name "$name" >/dev/null 2>&1; then
    echo "ERROR: pipeline $name was left behind (see: shmimg stat --name $name)"; exit 1
  fi
  echo "IPC objects left: none"
  echo "OK: golden scenario completed"
  ;;
failure)
  name="demo-missing-$$"
  echo "shmimg failure demo: produce into pipeline \"$name\", which does not exist"
  $SHMIMG gen --count 1 --size 8x8 --format gray8 2>/dev/null | $SHMIMG produce --name "$name" 2>"$work/err"
  code=$?
  sed 's/^/  shmimg said: /' "$work/err"
  echo "ERROR: invalid input or unavailable IPC resource"
  echo "exit=$code"
  exit $code
  ;;
*)
  echo "ERROR: unknown mode $mode (use golden or failure)" >&2
  exit 2
  ;;
esac
