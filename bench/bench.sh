#!/usr/bin/env bash
# memsentry dump benchmarks, each against its peer measured in the same run.
#   bench/bench.sh [ROUNDS]        (default 5; as root; needs the jar: mvn -B -q package)
# Prints the figures docs/BENCHMARKS.md records:
#   1. the native read path alone (no disk) against single-thread memcpy;
#   2. one process holding 1 GiB of touched heap, no cap: `dump` end to end
#      (JVM start included) and the C library alone against gcore on the
#      same target, alternating, warm (back to back) and cold (after a pause,
#      MS_BENCH_COLD_PAUSE seconds, default 5; 0 skips the cold pass);
#   3. inside a fresh PID namespace holding a few dozen synthetic targets:
#      `dump --all`, no cap, against a loop of gcore over the same processes,
#      and the median milliseconds per process with the default 10 MiB cap;
#   4. the floor under section 2 without the library (bench/write_paths.c):
#      1 GiB copied from a child into a file in the work directory each way
#      (two copies through pwrite, O_DIRECT, one copy into a MAP_SHARED
#      mapping, the read alone, the first touch of the page cache alone),
#      on one and two threads, warm and cold.
# Sweeps run only inside the PID namespace (bench/sweep_ns.sh), never over
# the machine's own processes. MS_BENCH_ONLY=N runs section N alone.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
# One build directory per checkout: CMake refuses a cache made from another source tree.
build=${MS_BENCH_BUILD:-/tmp/build-bench-$(printf %s "$repo" | cksum | cut -d" " -f1)}
jar=$repo/target/orchestrator.jar
java=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java
[[ -f $jar ]] || { echo "bench: build the jar first: mvn -B -q package" >&2; exit 2; }
command -v gcore >/dev/null || { echo "bench: gcore (gdb) is missing: ci/install-deps.sh" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 2; }

work=$(mktemp -d /tmp/memsentry-bench.XXXXXX)
victims=()
cleanup() {
  for p in "${victims[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMS_WITH_JNI=OFF >/dev/null
cmake --build "$build" --parallel 2 --target memsentry_static victim_pages victim_threads victim_marker >/dev/null
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$repo/include" -I"$repo/agent-c/src" "$repo/bench/read_bandwidth.c" \
   "$build/agent-c/libmemsentry_static.a" -lpthread -o "$work/read_bandwidth"
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$repo/include" "$repo/bench/dump_once.c" \
   "$build/agent-c/libmemsentry_static.a" -lpthread -o "$work/dump_once"
cc -O2 -std=gnu11 "$repo/bench/write_paths.c" -lpthread -o "$work/write_paths"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "# machine: $(nproc) cpus, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo
only=${MS_BENCH_ONLY:-}
if [[ -z $only || $only == 1 ]]; then
echo "## 1. native read path (no disk)"
"$work/read_bandwidth" 1024 7
echo
fi

if [[ -z $only || $only == 2 ]]; then
echo "## 2. one process with 1 GiB of touched heap, no cap ($rounds rounds, alternating, order reversed every round)"
mkfifo "$work/hold"
exec 3<>"$work/hold"
"$build/victims/victim_pages" 1024 1 <&3 >"$work/v1g.out" &
victims+=($!)
until grep -q READY "$work/v1g.out" 2>/dev/null; do sleep 0.1; done
pid=${victims[0]}
# MS_JAVA_OPTS: JVM options for the memsentry side, e.g. the installed launcher's class-data archive
# and -XX:TieredStopAtLevel=1 (packaging/memsentry).
read -ra java_opts <<<"${MS_JAVA_OPTS:-}"
one() { # one timed run of $1 (ms, gcore or lib), appended to $work/t.$1.$2
  local t0 t1
  case $1 in
    ms) t0=$(ms); "$java" "${java_opts[@]}" -jar "$jar" dump --pid "$pid" --out "$work/m.core" --max-region-size 0 >/dev/null; t1=$(ms)
        rm -f "$work/m.core"; echo $((t1 - t0)) >>"$work/t.ms.$2" ;;
    gcore) t0=$(ms); gcore -o "$work/g" "$pid" >/dev/null 2>&1; t1=$(ms)
        rm -f "$work/g.$pid"; echo $((t1 - t0)) >>"$work/t.gcore.$2" ;;
    lib) "$work/dump_once" "$pid" "$work/c.core" 0 >>"$work/t.lib.$2"; rm -f "$work/c.core" ;;
  esac
}
# warm: back to back, so each run finds the page-cache pages the previous one
# freed. cold: $pause s before each run, so a VM whose host takes freed guest
# memory back (virtio-balloon free page reporting) has done so and every page
# written is a first touch; on bare metal the two states are the same.
pause=${MS_BENCH_COLD_PAUSE:-5}
for state in warm cold; do
  [[ $state == cold && $pause == 0 ]] && continue
  for ((i = 0; i < rounds; i++)); do
    order="ms gcore lib"; (( i % 2 )) && order="lib gcore ms"
    for tool in $order; do
      [[ $state == cold ]] && sleep "$pause"
      one "$tool" "$state"
    done
  done
  m=$(median <"$work/t.ms.$state"); g=$(median <"$work/t.gcore.$state"); c=$(median <"$work/t.lib.$state")
  echo "  $state:"
  echo "    memsentry dump (java -jar, JVM start included): median $m ms  [$(tr '\n' ' ' <"$work/t.ms.$state")]"
  echo "    gcore:                                          median $g ms  [$(tr '\n' ' ' <"$work/t.gcore.$state")]"
  echo "    C library alone (ms_dump_process):              median $c ms  [$(tr '\n' ' ' <"$work/t.lib.$state")]"
  echo "    ratio memsentry / gcore: $(awk -v a="$m" -v b="$g" 'BEGIN {printf "%.2f", a / b}');" \
       "library alone / gcore: $(awk -v a="$c" -v b="$g" 'BEGIN {printf "%.2f", a / b}')"
done
jvm=$( { for i in 1 2 3; do t0=$(ms); "$java" -jar "$jar" --version >/dev/null; echo $(( $(ms) - t0 )); done; } | median)
echo "  JVM + CLI start (--version) median $jvm ms; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  where the library's time goes (one verbose run):"
"$work/dump_once" "$pid" "$work/c.core" 0 -v 2>&1 >/dev/null | grep -v "cannot open\|unreadable" | sed 's/^/  /'
rm -f "$work/c.core"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
victims=()
echo
fi

if [[ -z $only || $only == 3 ]]; then
echo "## 3. sweeps inside a fresh PID namespace"
unshare --pid --fork --mount-proc bash "$repo/bench/sweep_ns.sh" "$build" "$jar" "$java" "$work" "$rounds"
fi

if [[ -z $only || $only == 4 ]]; then
echo
echo "## 4. the floor: 1 GiB from a child into a file in $work, each way, without the library ($rounds rounds)"
echo "  warm (back to back):"
"$work/write_paths" "$work" 1024 "$rounds"
if [[ ${MS_BENCH_COLD_PAUSE:-5} != 0 ]]; then
  echo "  cold (${MS_BENCH_COLD_PAUSE:-5} s before each, 2 rounds: the pauses alone take 2.7 min):"
  "$work/write_paths" "$work" 1024 2 "${MS_BENCH_COLD_PAUSE:-5}"
fi
echo "  load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
