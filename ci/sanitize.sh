#!/usr/bin/env bash
# Builds the C agent and its tests with clang under ASan + UBSan (any report fails the run) and
# runs them, including the libFuzzer targets for MS_FUZZ_SECONDS (default 60) each.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MS_SANITIZE_BUILD_DIR:-target/sanitize-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMS_SANITIZE=ON -DMS_FUZZ=ON -DMS_WITH_JNI=OFF -DMS_FUZZ_SECONDS="${MS_FUZZ_SECONDS:-60}" >/dev/null
cmake --build "$build" --parallel 2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure --timeout 600
