#!/bin/bash
# Export models for the end-to-end tests (a CTest fixture): NAME.onnx, NAME_bn.onnx,
# NAME.input.npy and NAME.ref.npy per model. A model whose four files exist is skipped
# (set FORCE=1 to redo), since the big ones take a while.
#
# usage: export_models.sh OUTDIR NAME...   (NAME: lenet5, lenet5bn, nin, or a torchvision
#        model; a suffix _opsetN or _batchN exports that variant, e.g. resnet18_opset11)
# env:   PYTHON (default /usr/bin/python3), FORCE
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 OUTDIR NAME..." >&2
    exit 2
fi
out=$1
shift
models=$(cd "$(dirname "$0")/../../models" && pwd)
py=${PYTHON:-/usr/bin/python3}
failed=()

export_one() {
    local name=$1 base=$1 extra=()
    if [[ $name =~ ^(.+)_opset([0-9]+)$ ]]; then
        base=${BASH_REMATCH[1]} extra=(--opset "${BASH_REMATCH[2]}" --out-name "$name")
    elif [[ $name =~ ^(.+)_batch([0-9]+)$ ]]; then
        base=${BASH_REMATCH[1]} extra=(--batch "${BASH_REMATCH[2]}" --out-name "$name")
    fi
    case $base in
        lenet5)   "$py" "$models/lenet5.py" "$out" "${extra[@]}" ;;
        lenet5bn) "$py" "$models/lenet5.py" "$out" --bn "${extra[@]}" ;;
        nin)      "$py" "$models/nin.py" "$out" "${extra[@]}" ;;
        *)        "$py" "$models/export_torchvision.py" "$base" "$out" "${extra[@]}" ;;
    esac
}

for name in "$@"; do
    base=$out/$name
    if [ -z "${FORCE:-}" ] && [ -f "$base.onnx" ] && [ -f "$base"_bn.onnx ] \
        && [ -f "$base.input.npy" ] && [ -f "$base.ref.npy" ]; then
        echo "$name: up to date"
        continue
    fi
    rm -f "$base.ref.npy"     # written last: absent means incomplete if this one fails
    t=$EPOCHREALTIME
    if export_one "$name"; then
        awk -v a="$t" -v b="$EPOCHREALTIME" -v n="$name" \
            'BEGIN { printf "%s: exported in %.1f s\n", n, b - a }'
    else
        failed+=("$name")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "export_models.sh: failed: ${failed[*]}" >&2
    exit 1
fi
