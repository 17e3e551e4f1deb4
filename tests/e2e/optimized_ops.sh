#!/bin/bash
# After -O2 nothing that only exists for training or for torch's shape bookkeeping may be
# left: no BatchNormalization, Identity, Dropout, Shape or Unsqueeze kernel in any model.
# usage: optimized_ops.sh CNNC MODELS_DIR NAME...
set -u
cnnc=$1 dir=$2
shift 2
fail=0
for name in "$@"; do
    for onnx in "$dir/$name.onnx" "$dir/${name}_bn.onnx"; do
        [ -f "$onnx" ] || continue
        ops=$("$cnnc" --summary "$onnx" | awk '/^[0-9]+ / { print $3 }' | sort | uniq -c |
              sort -rn | tr -s ' ' | tr '\n' ',')
        left=$(echo "$ops" | grep -oE "\b(BatchNormalization|Identity|Dropout|Shape|Unsqueeze)\b" |
               sort -u | tr '\n' ' ')
        if [ -n "$left" ]; then
            echo "$(basename "$onnx"): left after -O2: $left ($ops)" >&2
            fail=1
        else
            echo "$(basename "$onnx"): $ops"
        fi
    done
done
exit $fail
