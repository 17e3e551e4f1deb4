#!/bin/bash
# Real accuracy, not only agreement: the trained LeNet-5 compiled by cnnc must classify the
# held-out digits exactly as PyTorch did (same number correct), in one batched run.
#
# usage: digits_accuracy.sh CNNC WORKDIR [CNNC_ARGS...]
# env:   CC (default cc), PYTHON (default /usr/bin/python3), BACKEND (c, default, or llvm)
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 CNNC WORKDIR [CNNC_ARGS...]" >&2
    exit 2
fi
cnnc=$1 work=$2
shift 2
models=$(cd "$(dirname "$0")/../../models" && pwd)
model=$models/lenet5_digits.onnx
data=$models/digits_test
py=${PYTHON:-/usr/bin/python3}

die() { echo "digits_accuracy.sh: $*" >&2; exit 1; }

for f in "$model" "$data/inputs.npy" "$data/labels.npy" "$data/torch_accuracy.txt"; do
    [ -f "$f" ] || die "missing $f (run models/train_lenet_digits.py)"
done
mkdir -p "$work" || die "cannot create $work"
rm -f "$work/digits.c" "$work/digits.h" "$work/digits" "$work/logits.npy"

# the ONNX batch axis is symbolic; compile for the whole held-out set at once
m=$("$py" -c 'import sys, numpy; print(numpy.load(sys.argv[1], mmap_mode="r").shape[0])' \
    "$data/inputs.npy") || die "cannot read $data/inputs.npy"

if [ "${BACKEND:-c}" = llvm ]; then      # an executable straight from cnnc
    "$cnnc" "$model" -o "$work/digits" --input-shape "input=${m}x1x32x32" "$@" \
        || die "cnnc failed (exit $?)"
else
    "$cnnc" "$model" -o "$work/digits.c" --main --input-shape "input=${m}x1x32x32" "$@" \
        || die "cnnc failed (exit $?)"
    ${CC:-cc} -O2 -std=c99 -fopenmp "$work/digits.c" -o "$work/digits" -lm \
        || die "C compile failed (exit $?)"
fi
"$work/digits" "$data/inputs.npy" -o "$work/logits.npy" || die "running $work/digits failed"

"$py" - "$work/logits.npy" "$data/labels.npy" "$data/torch_accuracy.txt" <<'EOF'
import sys
import numpy as np

logits, labels = np.load(sys.argv[1]), np.load(sys.argv[2])
if logits.shape != (len(labels), 10):
    sys.exit(f"FAIL: logits shape {list(logits.shape)}, expected [{len(labels)}, 10]")
correct = int((logits.argmax(1) == labels).sum())
torch_acc = float(open(sys.argv[3]).read())
torch_correct = round(torch_acc * len(labels))   # the file holds 6 decimals: exact count
ok = correct == torch_correct
print(f"{'ok' if ok else 'FAIL'}: cnnc accuracy {correct}/{len(labels)} = "
      f"{correct / len(labels):.6f}, PyTorch {torch_correct}/{len(labels)} = {torch_acc:.6f}")
sys.exit(0 if ok else 1)
EOF
