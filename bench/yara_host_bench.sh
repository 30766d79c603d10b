#!/usr/bin/env bash
# YARA over a whole host: `scan --all --rules R` against a loop of `yara -C COMPILED PID` over the
# same processes, inside a fresh PID namespace holding only what this script starts:
#   10 victims with 16 to 64 MiB of touched random heap and four markers each
#   (tests-native/victims/victim_bigheap), 5 with 1 MiB, 15 `sleep` (30 in all, plus the
#   namespace's PID 1, this script's bash).
# The rules are compiled once by yarac; both sides get that same file (memsentry with
# --allow-compiled-rules), so neither compiles per process. The two sides alternate
# MS_BENCH_RUNS (3) times; the script prints each run, the median wall times and their ratio,
# and checks that both report the same rules for every process. A third side, memsentry's engine
# through the C API on as many threads as cores (bench/yara_scan_driver.c --threads), shows what
# the scan costs below the JVM. CPU is user + system of each side's processes.
#
#   bench/yara_host_bench.sh [RULES] [path/to/orchestrator.jar] [BUILD_DIR]
# RULES: a .yar file or a directory of them (default bench/rules/five_strings.yar);
# BUILD_DIR holds victims/victim_bigheap (default target/native-build). As root.
# MS_BENCH_SCAN_ARGS adds options to the memsentry side (e.g. --no-heuristics); MS_JAVA_OPTS adds JVM
# options (e.g. the installed launcher's class-data archive and -XX:TieredStopAtLevel=1).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${MS_BENCH_INSIDE:-} != 1 ]]; then
  rules=${1:-$repo/bench/rules/five_strings.yar}
  jar=${2:-$repo/target/orchestrator.jar}
  build=${3:-$repo/target/native-build}
  [[ $(id -u) == 0 ]] || { echo "run as root (PID namespaces, reading other processes)" >&2; exit 2; }
  [[ -f $jar ]] || { echo "no $jar: run mvn package first" >&2; exit 2; }
  [[ -x $build/victims/victim_bigheap ]] || { echo "no victim_bigheap in $build/victims" >&2; exit 2; }
  [[ -e $rules ]] || { echo "no rules at $rules" >&2; exit 2; }
  command -v yarac > /dev/null || { echo "yara and yarac are not installed (ci/install-deps.sh)" >&2; exit 2; }
  export MS_BENCH_INSIDE=1 MS_BENCH_RULES=$(realpath "$rules") MS_BENCH_JAR=$(realpath "$jar")
  export MS_BENCH_VICTIM=$build/victims/victim_bigheap MS_BENCH_LIB=$(realpath "$build/agent-c")
  exec unshare --pid --fork --mount-proc bash "$0"
fi

# PID 1 of the namespace from here: everything started below dies with it.
runs=${MS_BENCH_RUNS:-3}
work=$(mktemp -d /tmp/memsentry-yara-host.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [[ -d $MS_BENCH_RULES ]]; then
  mapfile -t sources < <(find "$MS_BENCH_RULES" -maxdepth 1 \( -name '*.yar' -o -name '*.yara' \) | LC_ALL=C sort)
else
  sources=("$MS_BENCH_RULES")
fi
yarac -w "${sources[@]}" "$work/rules.yarc"
cc -O2 -Wall -Wextra -Werror -I"$repo/include" -o "$work/driver" "$repo/bench/yara_scan_driver.c" \
  -L"$MS_BENCH_LIB" -lmemsentry -Wl,-rpath,"$MS_BENCH_LIB"

# The victims read a FIFO nobody writes to: they live until this script ends.
mkfifo "$work/hold"
exec 3<> "$work/hold"
sizes=(16 24 32 40 48 56 64 16 32 48 1 1 1 1 1)
pids=(1)
heap_mib=0
for ((i = 0; i < ${#sizes[@]}; i++)); do
  "$MS_BENCH_VICTIM" "${sizes[i]}" < "$work/hold" > "$work/victim.$i" &
  pids+=($!)
  heap_mib=$((heap_mib + sizes[i]))
done
for _ in $(seq 15); do sleep 3600 & pids+=($!); done
for ((i = 0; i < ${#sizes[@]}; i++)); do
  until grep -q READY "$work/victim.$i" 2>/dev/null; do sleep 0.1; done
done
echo "yara $(yara --version); ${#pids[@]} processes (${heap_mib} MiB of victim heap), $(nproc) cores," \
  "rules ${#sources[@]} file(s), load $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s%N; }
# CPU seconds of this shell's finished children so far.
# (times must run in this shell, not in a command substitution's subshell.)
child_cpu() {
  times > "$work/times"
  tail -1 "$work/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } } END { print s }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Matches as "PID RULE" lines, once each.
yara_loop() {
  : > "$work/yara.raw"
  for p in "${pids[@]}"; do
    yara -C -w "$work/rules.yarc" "$p" 2>> "$work/yara.err" | awk -v p="$p" '{ print p, $1 }' >> "$work/yara.raw" || true
  done
}
memsentry_all() {
  local code=0
  # shellcheck disable=SC2086
  java ${MS_JAVA_OPTS:-} -jar "$MS_BENCH_JAR" scan --all --rules "$work/rules.yarc" --allow-compiled-rules --json --no-progress \
    ${MS_BENCH_SCAN_ARGS:-} > "$work/ms.json" 2> "$work/ms.err" || code=$?
  [[ $code == 0 || $code == 1 ]] || { echo "memsentry failed ($code):" >&2; cat "$work/ms.err" >&2; exit 3; }
}

engine() {
  "$work/driver" --threads "$(nproc)" --compiled "$work/rules.yarc" "${pids[@]}" 2> "$work/engine.err" |
    sort -u > "$work/engine.txt"
}
# timed NAME CMD: appends wall ms and CPU s to $work/NAME.ms and $work/NAME.cpu
timed() {
  local name=$1 t0 t1 c0 c1
  shift
  child_cpu > "$work/c0"; t0=$(now); "$@"; t1=$(now); child_cpu > "$work/c1"
  c0=$(cat "$work/c0"); c1=$(cat "$work/c1")
  echo "$(( (t1 - t0) / 1000000 ))" >> "$work/$name.ms"
  echo "$c1 - $c0" | bc -l >> "$work/$name.cpu"
}

status=0
for run in $(seq "$runs"); do
  timed yara yara_loop; timed memsentry memsentry_all; timed engine engine
  sort -u "$work/yara.raw" > "$work/yara.txt"
  jq -r 'select(.event.kind == "alert" and .rule.ruleset == "yara")
         | "\(.process.pid) \(.memsentry.yara.rule)"' "$work/ms.json" | sort -u > "$work/ms.txt"
  threads=$(jq -r 'select(.event.action == "scan-summary") | .memsentry.summary.threads' "$work/ms.json")
  scanned=$(jq -r 'select(.event.action == "scan-summary") | .memsentry.summary.processes_scanned' "$work/ms.json")
  agree=identical
  for side in ms engine; do
    if ! cmp -s "$work/yara.txt" "$work/$side.txt"; then
      agree=DIFFERENT; status=1
      echo "$side:" >&2; diff "$work/yara.txt" "$work/$side.txt" | head -20 >&2
    fi
  done
  echo "run $run: yara loop $(tail -1 "$work/yara.ms") ms, memsentry $(tail -1 "$work/memsentry.ms") ms" \
    "($threads threads, $scanned processes scanned), engine $(tail -1 "$work/engine.ms") ms;" \
    "matches $agree ($(wc -l < "$work/ms.txt") process/rule pairs in $(cut -d' ' -f1 "$work/ms.txt" | sort -u | wc -l) processes)"
done
echo
echo "| side | wall ms (median) | wall ratio | CPU s (median) | CPU ratio |"
echo "| --- | --- | --- | --- | --- |"
yw=$(median < "$work/yara.ms"); yc=$(median < "$work/yara.cpu")
for side in yara memsentry engine; do
  w=$(median < "$work/$side.ms"); c=$(median < "$work/$side.cpu")
  label=$side
  case $side in
    yara) label="loop of \`yara -C\`";;
    memsentry) label="\`scan --all --rules\` ($threads threads)";;
    engine) label="engine alone (C API, $(nproc) threads)";;
  esac
  printf "| %s | %d | %.2f | %.2f | %.2f |\n" "$label" "$w" "$(echo "$w / $yw" | bc -l)" "$c" "$(echo "$c / $yc" | bc -l)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
