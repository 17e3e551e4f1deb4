#!/bin/bash
# End-to-end check of the C backend on one model: compile with cnnc, build with the system C
# compiler, run on INPUT.npy and compare with PyTorch's REF.npy.
#
# usage: run_model.sh CNNC MODEL.onnx INPUT.npy REF.npy WORKDIR [CNNC_ARGS...]
# env:   CC (default cc), PYTHON (default /usr/bin/python3),
#        COMPARE_ARGS (e.g. "--rtol 1e-3 --top5", passed to compare.py),
#        KEEP_WORK (set: keep the generated program and weights after a pass)
set -u

if [ $# -lt 5 ]; then
    echo "usage: $0 CNNC MODEL.onnx INPUT.npy REF.npy WORKDIR [CNNC_ARGS...]" >&2
    exit 2
fi
cnnc=$1 model=$2 input=$3 ref=$4 work=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$model" .onnx)

die() { echo "run_model.sh: $name: $*" >&2; exit 1; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

for f in "$model" "$input" "$ref"; do
    [ -f "$f" ] || die "missing $f"
done
mkdir -p "$work" || die "cannot create $work"
# stale outputs from an earlier run must not pass for this run's
rm -f "$work/model.c" "$work/model.h" "$work/model" "$work/model.weights" "$work/out.npy"

t=$EPOCHREALTIME
"$cnnc" "$model" -o "$work/model.c" --main "$@" \
    || die "cnnc failed (exit $?): $cnnc $model -o $work/model.c --main $*"
cnnc_s=$(seconds_since "$t")

t=$EPOCHREALTIME
${CC:-cc} -O2 -std=c99 -fopenmp "$work/model.c" -o "$work/model" -lm \
    || die "C compile failed (exit $?): ${CC:-cc} -O2 -std=c99 -fopenmp $work/model.c"
cc_s=$(seconds_since "$t")

"$work/model" "$input" -o "$work/out.npy" || die "running $work/model failed (exit $?)"
[ -f "$work/out.npy" ] || die "$work/model wrote no $work/out.npy"

echo "$name: cnnc ${cnnc_s} s, C compile ${cc_s} s, binary $(stat -c %s "$work/model") bytes," \
     "model.c $(stat -c %s "$work/model.c") bytes"
# shellcheck disable=SC2086  # COMPARE_ARGS is a list of options
"${PYTHON:-/usr/bin/python3}" "$here/compare.py" "$ref" "$work/out.npy" ${COMPARE_ARGS:-} \
    || die "output differs from the PyTorch reference"
# A pass keeps only out.npy (the LLVM test compares against it): VGG's program and weights
# are half a gigabyte per test, and a test machine's disk may be small. A failure keeps all.
[ -n "${KEEP_WORK:-}" ] || rm -f "$work/model.c" "$work/model.h" "$work/model" "$work/model.weights"
