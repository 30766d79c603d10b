#!/usr/bin/env bash
# The cost of the Windows tracer per traced call, under Wine: victim_win_wx (one thread, LOOPS W^X
# cycles: four memory calls each) untraced and launched under win_tracer, alternated ROUNDS times.
# Beside it, the floor of any debug-loop tracer here (bench/win_debug_floor.c): a bare debugger
# taking as many int3s as the traced victim's calls raise (two per call: LOOPS*6), each a debug
# event with the context round trip that steps the thread past it, and nothing else.
#   bench/win_trace_bench.sh [LOOPS] [ROUNDS]     (builds into /tmp/build-win-bench-CHECKSUM, one per checkout)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
loops=${1:-2000}
rounds=${2:-3}
# One build directory per checkout: CMake refuses a cache made from another source tree.
build=/tmp/build-win-bench-$(printf %s "$repo" | cksum | cut -d" " -f1)
export WINEPREFIX=$(mktemp -d /tmp/memsentry-wine-bench.XXXXXX) WINEARCH=win64 DISPLAY= WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$WINEPREFIX"' EXIT
cmake -S "$repo" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$repo/ci/cmake/mingw-w64-x86_64.cmake" \
  -DJAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64} -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target win_tracer victim_win_wx >/dev/null
floor="$build/win_debug_floor.exe"
x86_64-w64-mingw32-gcc -O2 -std=c11 -Wall -Wextra -Werror -static -o "$floor" "$repo/bench/win_debug_floor.c"
wineserver -p </dev/null >/dev/null 2>&1
wineboot -i >/dev/null 2>&1
victim=$(winepath -w "$build/tests-native/victims/victim_win_wx.exe")
tracer="$build/tests-native/win_tracer.exe"
ms() { date +%s%N | cut -c1-13; }
for ((r = 1; r <= rounds; r++)); do
  t0=$(ms); wine "$build/tests-native/victims/victim_win_wx.exe" loops="$loops" threads=1 </dev/null >/dev/null; t1=$(ms)
  out=$(wine "$tracer" launch "$victim" loops="$loops" threads=1 </dev/null | tr -d '\r' | grep '^END'); t2=$(ms)
  calls=$(sed 's/.*calls=\([0-9]*\).*/\1/' <<<"$out")
  plain=$((t1 - t0)); traced=$((t2 - t1))
  echo "round $r: untraced ${plain} ms, traced ${traced} ms, ${calls} calls seen: $(((traced - plain) * 1000 / (calls > 0 ? calls : 1))) us per traced call"
  events=$((loops * 6))
  base=$(wine "$floor" 0 </dev/null | tr -d '\r' | sed 's/.*ms=//')
  many=$(wine "$floor" "$events" </dev/null | tr -d '\r')
  per=$(awk -v a="${many##*ms=}" -v b="$base" -v n="$events" 'BEGIN {printf "%.0f", (a - b) * 1000 / n}')
  echo "  bare debug loop: $many (empty run $base ms): $per us per debug event, $((2 * per)) us for a call's two"
done
