#!/bin/bash
# The main job on the bundled model: compile the LeNet-5 trained on scikit-learn's digits
# to a standalone program and classify the sample digits with it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
out=$build/demo
mkdir -p "$out"

"$build/cnnc" "$top/models/lenet5_digits.onnx" -o "$out/lenet5_digits.c" --main
${CC:-cc} -O2 -std=c99 -fopenmp "$out/lenet5_digits.c" -o "$out/lenet5_digits" -lm
echo "compiled models/lenet5_digits.onnx -> $out/lenet5_digits ($(stat -c %s "$out/lenet5_digits") bytes)"

right=0 total=0
for f in "$top"/models/samples/*.npy; do
    name=$(basename "$f" .npy)
    want=${name##*label}
    got=$("$out/lenet5_digits" "$f" | sed -n 's/.*argmax \([0-9]*\).*/\1/p')
    total=$((total + 1))
    [ "$got" = "$want" ] && right=$((right + 1))
    printf '%-24s predicted %s (true %s)\n' "$name.npy" "$got" "$want"
done
echo "$right of $total samples classified correctly"
