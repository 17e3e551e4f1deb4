#!/bin/bash
# Fuzzes the front half of cnnc for SECONDS (default 600) on one core, starting from a seed
# corpus of small valid models. New crashes are written to tests/fuzz/regressions/.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 seconds=${2:-600}
corpus=$build/fuzz-corpus
mkdir -p "$corpus" "$here/regressions"
[ -n "$(ls -A "$corpus")" ] || /usr/bin/python3 "$here/make_corpus.py" "$corpus"
cp "$here"/regressions/* "$corpus"/ 2>/dev/null || true
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
"$build/tests/fuzz/fuzz_frontend" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=20 -max_len=65536 -artifact_prefix="$here/regressions/" -print_final_stats=1 \
    -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1
