#!/usr/bin/env bash
# Runs as PID 1 of a fresh PID namespace (bench/bench.sh starts it): starts a
# few dozen synthetic targets, then times `dump --all` against a gcore loop
# over the same processes, and reports the per-process median with the
# default cap. Everything in the namespace dies with this script.
set -euo pipefail
build=$1 jar=$2 java=$3 work=$4 rounds=$5
targets=${MS_BENCH_TARGETS:-36}

mkfifo "$work/ns-hold"
exec 3<>"$work/ns-hold"
for ((i = 0; i < targets; i++)); do
  case $((i % 3)) in
    0) "$build/victims/victim_pages" 16 1 <&3 >/dev/null & ;;
    1) "$build/victims/victim_threads" 4 <&3 >/dev/null & ;;
    2) "$build/victims/victim_marker" <&3 >/dev/null & ;;
  esac
done
sleep 2
pids=()
for d in /proc/[0-9]*; do pids+=("${d#/proc/}"); done
echo "  namespace: ${#pids[@]} processes (this shell and $targets targets: 16 MiB touched, 5 threads, small)"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
: >"$work/s.ms"; : >"$work/s.gcore"
sweep_rounds=$(( rounds < 3 ? rounds : 3 ))
for ((r = 0; r < sweep_rounds; r++)); do
  t0=$(ms)
  "$java" -jar "$jar" dump --all --out-dir "$work/ms.$r" --max-region-size 0 --json >"$work/ms.$r.json"
  echo $(( $(ms) - t0 )) >>"$work/s.ms"
  dumped=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["summary"]["dumped"])' "$work/ms.$r.json")
  rm -rf "$work/ms.$r"
  mkdir "$work/gc.$r"
  t0=$(ms)
  for p in "${pids[@]}"; do gcore -o "$work/gc.$r/core" "$p" >/dev/null 2>&1 || true; done
  echo $(( $(ms) - t0 )) >>"$work/s.gcore"
  gcored=$(ls "$work/gc.$r" | wc -l)
  rm -rf "$work/gc.$r"
done
m=$(median <"$work/s.ms"); g=$(median <"$work/s.gcore")
echo "  dump --all, no cap (java -jar, JVM start included): median $m ms for $dumped processes  [$(tr '\n' ' ' <"$work/s.ms")]"
echo "  gcore loop over the same processes:                median $g ms for $gcored processes  [$(tr '\n' ' ' <"$work/s.gcore")]"
echo "  ratio memsentry / gcore loop: $(awk -v a="$m" -v b="$g" 'BEGIN {printf "%.3f", a / b}')"

"$java" -jar "$jar" dump --all --out-dir "$work/cap" --json >"$work/cap.json"
python3 - "$work/cap.json" <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
summary = recs[-1]["summary"]
per = [r["elapsed_ms"] for r in recs[:-1] if r.get("status") == "dumped"]
print(f"  dump --all with the default 10 MiB cap: {summary['dumped']} processes in {summary['elapsed_ms']} ms; "
      f"median {statistics.median(per):.0f} ms per process (min {min(per)}, max {max(per)}), "
      f"{summary['bytes_read'] / 2**20:.1f} MiB read")
PY
rm -rf "$work/cap"
