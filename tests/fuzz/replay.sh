#!/bin/bash
# Replays every input the fuzzer ever crashed on (tests/fuzz/regressions/) through the
# cnnc command: each must compile (exit 0) or be refused with one message (exit 1).
# usage: replay.sh CNNC WORKDIR
set -u
cnnc=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
fail=0 count=0
for f in "$here"/regressions/*; do
    [ -f "$f" ] || continue
    count=$((count + 1))
    rm -f "$work/out.c" "$work/out.h"
    "$cnnc" "$f" -o "$work/out.c" --quiet 2> "$work/err"
    rc=$?
    lines=$(wc -l < "$work/err")
    if [ $rc -ne 0 ] && { [ $rc -ne 1 ] || [ "$lines" -ne 1 ]; }; then
        echo "replay.sh: $(basename "$f"): exit $rc, $lines lines on stderr" >&2
        cat "$work/err" >&2
        fail=1
    fi
done
echo "replay.sh: $count inputs replayed"
exit $fail
