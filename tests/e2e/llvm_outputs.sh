#!/bin/bash
# The LLVM backend's outputs through the command line: each kind by extension and by --emit,
# the header and API names of objects and libraries, other targets, and no file left behind
# by a failure.
#
# usage: llvm_outputs.sh CNNC MODEL.onnx INPUT.npy WORKDIR
set -u

if [ $# -ne 4 ]; then
    echo "usage: $0 CNNC MODEL.onnx INPUT.npy WORKDIR" >&2
    exit 2
fi
cnnc=$(realpath "$1") model=$(realpath "$2") input=$(realpath "$3") work=$4
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi; }

rm -rf "$work" && mkdir -p "$work" || { echo "cannot create $work" >&2; exit 1; }
cd "$work" || exit 1

"$cnnc" "$model" -o model || fail "cnnc -o model"
check "executable runs" ./model "$input" -o out.npy
check "executable --bench" ./model --bench 2 --threads 1

"$cnnc" "$model" -o model.o || fail "cnnc -o model.o"
check "object is ELF" grep -q ELF <(head -c 4 model.o)
check "object's header" grep -q "int model_run(" model.h
check "object defines model_run" sh -c "nm model.o | grep -q ' T model_run$'"

"$cnnc" "$model" -o libnet.so || fail "cnnc -o libnet.so"
check "library's header is net.h" grep -q "int net_run(" net.h
check "library exports net_run" sh -c "nm -D --defined-only libnet.so | grep -q ' net_run$'"
check "library hides the runtime" sh -c "! nm -D --defined-only libnet.so | grep -q rt_"

"$cnnc" "$model" -o model.ll || fail "cnnc -o model.ll"
check "IR defines the API" grep -q "^define.*@model_run_with_arena(" model.ll
"$cnnc" "$model" -o model.s || fail "cnnc -o model.s"
check "assembly defines the API" grep -q "^model_run:" model.s
"$cnnc" "$model" -o weird.name --emit=obj --name custom || fail "cnnc --emit=obj"
check "--emit=obj and --name" sh -c "nm weird.name | grep -q ' T custom_run$'"
"$cnnc" "$model" -o arm.o --target=aarch64-linux-gnu || fail "cnnc --target=aarch64"
check "aarch64 object" sh -c "od -An -tu2 -j18 -N2 arm.o | grep -q 183"

before=$(ls | sort)
if "$cnnc" "$model" -o bad.o --target=nonsense 2>err.txt; then
    fail "a bad --target was accepted"
else
    check "bad --target is one clear message" grep -q "nonsense" err.txt
fi
if CC=/nonexistent/cc "$cnnc" "$model" -o nolink 2>err.txt; then
    fail "a missing linker went unnoticed"
else
    check "missing linker is a clear message" grep -q "linker" err.txt
fi
rm -f err.txt
[ "$(ls | sort)" = "$before" ] && ok "failures leave no file" || fail "failures left files: $(ls)"

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
