#!/bin/bash
# End-to-end check of the LLVM backend on one model: compile it to an executable with cnnc,
# run it on INPUT.npy and compare with PyTorch's REF.npy, then with the C backend's output
# on the same input when --against gives it (run_model.sh's out.npy).
#
# usage: run_llvm.sh CNNC MODEL.onnx INPUT.npy REF.npy WORKDIR [--against C_OUT.npy]
#                    [CNNC_ARGS...]
# env:   PYTHON (default /usr/bin/python3), COMPARE_ARGS (passed to compare.py),
#        KEEP_WORK (set: keep the executable after a pass)
set -u

if [ $# -lt 5 ]; then
    echo "usage: $0 CNNC MODEL.onnx INPUT.npy REF.npy WORKDIR [--against C_OUT.npy]" \
         "[CNNC_ARGS...]" >&2
    exit 2
fi
cnnc=$1 model=$2 input=$3 ref=$4 work=$5
shift 5
against=
if [ "${1:-}" = --against ]; then
    against=$2
    shift 2
fi
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$model" .onnx)
py=${PYTHON:-/usr/bin/python3}

die() { echo "run_llvm.sh: $name: $*" >&2; exit 1; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

for f in "$model" "$input" "$ref" ${against:+"$against"}; do
    [ -f "$f" ] || die "missing $f"
done
mkdir -p "$work" || die "cannot create $work"
rm -f "$work/model" "$work/out.npy"

t=$EPOCHREALTIME
"$cnnc" "$model" -o "$work/model" "$@" \
    || die "cnnc failed (exit $?): $cnnc $model -o $work/model $*"
cnnc_s=$(seconds_since "$t")
"$work/model" "$input" -o "$work/out.npy" || die "running $work/model failed (exit $?)"
[ -f "$work/out.npy" ] || die "$work/model wrote no $work/out.npy"

echo "$name: LLVM backend: cnnc ${cnnc_s} s, executable $(stat -c %s "$work/model") bytes"
# shellcheck disable=SC2086  # COMPARE_ARGS is a list of options
"$py" "$here/compare.py" "$ref" "$work/out.npy" ${COMPARE_ARGS:-} \
    || die "output differs from the PyTorch reference"
if [ -n "$against" ]; then
    echo -n "against the C backend: "
    # shellcheck disable=SC2086
    "$py" "$here/compare.py" "$against" "$work/out.npy" ${COMPARE_ARGS:-} \
        || die "output differs from the C backend's"
fi
# A pass keeps only out.npy: the executable holds the weights (half a gigabyte for VGG).
[ -n "${KEEP_WORK:-}" ] || rm -f "$work/model"
