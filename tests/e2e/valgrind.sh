#!/bin/bash
# Generated programs must run clean under valgrind: no invalid reads or writes, no use of
# uninitialized memory, no leaks. Built without OpenMP, whose thread pool valgrind reports
# as still reachable.
# usage: valgrind.sh CNNC WORKDIR MODEL.onnx INPUT.npy [MODEL.onnx INPUT.npy ...]
set -u
cnnc=$1 work=$2
shift 2
mkdir -p "$work"
fail=0
while [ $# -ge 2 ]; do
    model=$1 input=$2
    shift 2
    name=$(basename "$model" .onnx)
    "$cnnc" "$model" -o "$work/$name.c" --main --quiet || { echo "$name: cnnc failed" >&2; exit 1; }
    ${CC:-cc} -O1 -g "$work/$name.c" -o "$work/$name" -lm || { echo "$name: cc failed" >&2; exit 1; }
    if valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=all \
            "$work/$name" "$input" -o "$work/$name.out.npy" > "$work/$name.log" 2>&1; then
        echo "$name: clean under valgrind"
    else
        echo "$name: valgrind reported errors:" >&2
        cat "$work/$name.log" >&2
        fail=1
    fi
done
exit $fail
