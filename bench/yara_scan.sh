#!/usr/bin/env bash
# memsentry's YARA engine against `yara RULES PID` on the same live process, in the same run.
#
# A victim (tests-native/victims/victim_bigheap.c) holds MS_BENCH_HEAP_MIB (512) MiB of touched,
# random heap with four markers. Each rule set is run MS_BENCH_RUNS (3) times by both tools,
# alternately; the matches (rule, address, string) must be identical, and the script prints the
# medians of wall time and CPU time, their ratios, and both tools' peak RSS.
#
# Rule sets: bench/rules/five_strings.yar (five plain string rules), and the Elastic rules in
# MS_BENCH_ELASTIC (default ../shared/rules/elastic-protections-artifacts beside the repository;
# skipped when absent; never copied into the project).
# Variants: the default block size (libyara's 1 GiB chunk, what a plain `yara RULES PID` uses),
# and 64 MiB blocks against `yara --max-process-memory-chunk=67108864` (bounded memory).
#
# Usage: bench/yara_scan.sh [BUILD_DIR]   (default target/native-build, the Maven build; or a
# cmake build directory). Needs root (reading another process), yara, cc, /usr/bin/time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/target/native-build}
runs=${MS_BENCH_RUNS:-3}
heap_mib=${MS_BENCH_HEAP_MIB:-512}
elastic=${MS_BENCH_ELASTIC:-$root/../shared/rules/elastic-protections-artifacts}
chunk_small=$((64 << 20))

[ -f "$build/agent-c/libmemsentry.so" ] || { echo "no libmemsentry.so in $build/agent-c (build first)" >&2; exit 2; }
[ -x "$build/victims/victim_bigheap" ] || { echo "no victim_bigheap in $build/victims" >&2; exit 2; }
command -v yara >/dev/null || { echo "yara is not installed (ci/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/memsentry-bench-XXXXXX)
victim_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$victim_pid" ] && kill "$victim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -Wall -Wextra -Werror -I"$root/include" -o "$work/driver" "$root/bench/yara_scan_driver.c" \
  -L"$build/agent-c" -lmemsentry -Wl,-rpath,"$build/agent-c"

# The victim waits on a pipe we hold open, and exits when the script does.
mkfifo "$work/victim.in"
"$build/victims/victim_bigheap" "$heap_mib" < "$work/victim.in" > "$work/victim.out" &
victim_pid=$!
exec 3>"$work/victim.in"
for _ in $(seq 100); do grep -q READY "$work/victim.out" 2>/dev/null && break; sleep 0.2; done
grep -q READY "$work/victim.out" || { echo "victim did not start" >&2; exit 3; }

# yara -s output as "RULE ADDRESS STRING" lines (the driver prints the same).
normalize_yara() {
  awk '/^0x[0-9a-f]+:/ { split($0, a, ":"); print rule, a[1], a[2]; n++; next }
       { if (rule != "" && n == 0) print rule, "-", "-"; rule = $1; n = 0 }
       END { if (rule != "" && n == 0) print rule, "-", "-" }' | sort
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run TOOL LABEL OUTFILE CMD...: appends "wall cpu rss_kib" to $work/TOOL-LABEL.times
run() {
  local tool=$1 label=$2 out=$3
  shift 3
  /usr/bin/time -o "$work/time" -f "%e %U %S %M" "$@" > "$out.raw" 2> "$out.err" || {
    echo "$tool failed: $*" >&2; cat "$out.err" >&2; exit 3; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time" >> "$work/$tool-$label.times"
}

echo "memsentry vs yara $(yara --version): ${heap_mib} MiB heap, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| rules | blocks | yara wall s | memsentry wall s | wall ratio | yara CPU s | memsentry CPU s | CPU ratio | yara peak RSS MiB | memsentry peak RSS MiB | matches |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"

bench() {
  local label=$1 rules_arg=$2 chunk=$3
  shift 3
  local yara_rules=("$@")
  local ms_opts=() yara_opts=() blocks="1 GiB (default)"
  if [ "$chunk" != 0 ]; then
    ms_opts=(--max-block "$chunk"); yara_opts=(--max-process-memory-chunk="$chunk"); blocks="$((chunk >> 20)) MiB"
  fi
  local key="$label-$chunk" agree=identical
  for i in $(seq "$runs"); do
    run yara "$key" "$work/yara" yara -w -s "${yara_opts[@]}" "${yara_rules[@]}" "$victim_pid"
    run ms "$key" "$work/ms" "$work/driver" "${ms_opts[@]}" "$rules_arg" "$victim_pid"
    normalize_yara < "$work/yara.raw" > "$work/yara.txt"
    sort "$work/ms.raw" > "$work/ms.txt"
    if ! cmp -s "$work/yara.txt" "$work/ms.txt"; then
      agree=DIFFERENT
      diff "$work/yara.txt" "$work/ms.txt" | head -20 >&2
    fi
  done
  local n; n=$(wc -l < "$work/ms.txt")
  local yw mw yc mc yr mr
  yw=$(cut -d' ' -f1 "$work/yara-$key.times" | median); mw=$(cut -d' ' -f1 "$work/ms-$key.times" | median)
  yc=$(cut -d' ' -f2 "$work/yara-$key.times" | median); mc=$(cut -d' ' -f2 "$work/ms-$key.times" | median)
  yr=$(cut -d' ' -f3 "$work/yara-$key.times" | sort -n | tail -1); mr=$(cut -d' ' -f3 "$work/ms-$key.times" | sort -n | tail -1)
  printf "| %s | %s | %s | %s | %.2f | %s | %s | %.2f | %d | %d | %s (%d) |\n" "$label" "$blocks" "$yw" "$mw" \
    "$(echo "$mw / $yw" | bc -l)" "$yc" "$mc" "$(echo "$mc / $yc" | bc -l)" $((yr / 1024)) $((mr / 1024)) "$agree" "$n"
  [ "$agree" = identical ]
}

status=0
five="$root/bench/rules/five_strings.yar"
bench "five strings" "$five" 0 "$five" || status=1
bench "five strings" "$five" "$chunk_small" "$five" || status=1
if [ -d "$elastic" ]; then
  mapfile -t elastic_files < <(find "$elastic" -maxdepth 1 -name '*.yar' | LC_ALL=C sort)
  bench "Elastic (${#elastic_files[@]} files)" "$elastic" 0 "${elastic_files[@]}" || status=1
  bench "Elastic (${#elastic_files[@]} files)" "$elastic" "$chunk_small" "${elastic_files[@]}" || status=1
else
  echo "(Elastic rules not found at $elastic: skipped)"
fi
echo
echo "memsentry's last scan: $(tail -1 "$work/ms.err")"

# The floor: libyara's matching alone, on the same heap bytes as a file (no process to read).
heap=$(sed -n 's/.* heap=\(0x[0-9a-f]*\).*/\1/p' "$work/victim.out")
len=$(sed -n 's/.* len=\([0-9]*\).*/\1/p' "$work/victim.out")
dd if="/proc/$victim_pid/mem" of="$work/heap.bin" bs=4M iflag=skip_bytes,count_bytes skip=$((heap)) count="$len" 2>/dev/null
for i in $(seq "$runs"); do run floor five "$work/floor" yara -w "$five" "$work/heap.bin"; done
echo "libyara matching alone (yara on the same ${heap_mib} MiB as a file, five strings): wall $(cut -d' ' -f1 "$work/floor-five.times" | median) s, CPU $(cut -d' ' -f2 "$work/floor-five.times" | median) s"
exit $status
