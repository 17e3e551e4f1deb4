#!/bin/bash
# Benchmark (not a test): the two backends side by side on each model. Per model: cnnc's
# compile time for each backend (the C backend also needs the C compiler: shown apart), the
# executable's size, latency (min and median of --bench N) and the largest differences
# between the two outputs and against PyTorch's.
#
# usage: bench/backends.sh [-n RUNS] [-t THREADS] [-O LEVEL] [MODEL...]
#        MODEL: a name in $MODELS (default: the end-to-end models the tests export, in
#        BUILD/e2e/models; run `ctest -R e2e_export` first) or a path to MODEL.onnx with
#        MODEL.input.npy (and optionally MODEL.ref.npy) beside it.
# env:   BUILD (default build), MODELS, CC (default cc), PYTHON (default /usr/bin/python3),
#        WORK (default: a temporary directory, removed at the end)
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD:-$here/build}" && pwd) || exit 1
models=${MODELS:-$build/e2e/models}
cnnc=$build/cnnc
py=${PYTHON:-/usr/bin/python3}
runs=20 threads= opt=-O2
while getopts "n:t:O:" o; do
    case $o in
        n) runs=$OPTARG ;;
        t) threads="--threads $OPTARG" ;;
        O) opt=-O$OPTARG ;;
        *) sed -n '2,14p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ -x "$cnnc" ] || { echo "backends.sh: no $cnnc: build first" >&2; exit 1; }
if [ $# -eq 0 ]; then
    set -- $(cd "$models" 2>/dev/null && ls *.input.npy 2>/dev/null | sed 's/\.input\.npy$//')
    [ $# -gt 0 ] || { echo "backends.sh: no models in $models" >&2; exit 1; }
fi
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# "bench: 20 runs, min 1.234 ms, median 1.345 ms" -> "1.234 1.345"
latency() { "$@" | awk '/^bench:/ { print $5, $8 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
skip() { echo "$name: $*" >&2; }

printf "%-16s %9s %7s %9s %9s %9s %19s %19s %7s %9s %9s\n" model "cnnc C" "cc" "cnnc LLVM" \
    "size C" "size LLVM" "C ms (min/med)" "LLVM ms (min/med)" speedup "C-LLVM" "LLVM-ref"
printf "%-16s %9s %7s %9s %9s %9s %19s %19s %7s %9s %9s\n" "" "(s)" "(s)" "(s)" "(MiB)" \
    "(MiB)" "" "" "(C/LLVM)" "max diff" "max diff"
for m in "$@"; do
    case $m in
        *.onnx) onnx=$m; base=${m%.onnx} ;;
        *)      onnx=$models/$m.onnx; base=$models/$m ;;
    esac
    name=$(basename "$base")
    input=$base.input.npy ref=$base.ref.npy
    [ -f "$onnx" ] && [ -f "$input" ] || { echo "$name: missing $onnx or $input" >&2; continue; }
    w=$work/$name
    mkdir -p "$w"

    t=$EPOCHREALTIME
    "$cnnc" "$onnx" -o "$w/model_c.c" --main $opt --quiet || { skip "cnnc (C) failed"; continue; }
    cnnc_c=$(elapsed "$t")
    t=$EPOCHREALTIME
    ${CC:-cc} -O2 -std=c99 -fopenmp "$w/model_c.c" -o "$w/model_c" -lm \
        || { skip "cc failed"; continue; }
    cc_s=$(elapsed "$t")
    t=$EPOCHREALTIME
    "$cnnc" "$onnx" -o "$w/model_llvm" $opt --quiet || { skip "cnnc (LLVM) failed"; continue; }
    cnnc_llvm=$(elapsed "$t")

    "$w/model_c" "$input" -o "$w/out_c.npy" $threads >/dev/null \
        || { skip "C run failed"; continue; }
    "$w/model_llvm" "$input" -o "$w/out_llvm.npy" $threads >/dev/null \
        || { skip "LLVM run failed"; continue; }
    # shellcheck disable=SC2086  # $threads is an option and its value
    read -r c_min c_med <<<"$(latency "$w/model_c" "$input" --bench "$runs" $threads)"
    # shellcheck disable=SC2086
    read -r l_min l_med <<<"$(latency "$w/model_llvm" "$input" --bench "$runs" $threads)"
    read -r d_cl d_ref <<<"$("$py" - "$w/out_c.npy" "$w/out_llvm.npy" "$ref" <<'PYEOF'
import os, sys
import numpy as np
c, l = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
ref = np.load(sys.argv[3]).astype(np.float64) if os.path.exists(sys.argv[3]) else None
print(f"{np.abs(c - l).max():.2e}", f"{np.abs(l - ref).max():.2e}" if ref is not None else "-")
PYEOF
)"
    # the C executable's size counts its weights file (above 128 MiB of weights)
    c_size=$(cat "$w/model_c" "$w"/model_c.weights 2>/dev/null | wc -c)
    printf "%-16s %9s %7s %9s %9s %9s %19s %19s %7s %9s %9s\n" "$name" "$cnnc_c" "$cc_s" \
        "$cnnc_llvm" "$(mib "$c_size")" "$(mib "$(stat -c %s "$w/model_llvm")")" \
        "$c_min / $c_med" "$l_min / $l_med" \
        "$(awk -v a="$c_med" -v b="$l_med" 'BEGIN { printf "%.2fx", a / b }')" "$d_cl" "$d_ref"
done
