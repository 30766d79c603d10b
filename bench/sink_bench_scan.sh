#!/usr/bin/env bash
# PID 1 of the namespace sink_bench.sh made: starts victims and sleepers, then times scan --all
# with --out FILE against each sink. Everything started here dies with it.
set -uo pipefail
for v in victim_rwx victim_shellcode victim_elf_anon victim_thread_anon victim_memfd_exec; do
  sleep 3600 | "$MS_VICTIMS/$v" > /dev/null 2>&1 &
done
for _ in $(seq 20); do sleep 3600 & done
python=$(command -v /usr/bin/python3 python3 | head -n 1) # not a version manager's shim, which forks
for _ in $(seq 0 "${MS_PYTHONS:-0}"); do "$python" -c 'import time; time.sleep(3600)' & done
for i in $(seq 1 "${MS_HEAPS:-0}"); do
  sleep 3600 | "$MS_VICTIMS/victim_bigheap" "${MS_HEAP_MIB:-256}" > "$MS_WORK/heap.$i" 2>&1 &
done
for i in $(seq 1 "${MS_HEAPS:-0}"); do
  until grep -q READY "$MS_WORK/heap.$i" 2>/dev/null; do sleep 0.1; done
done
rules=()
[[ -z ${MS_RULES:-} ]] || rules=(--rules "$MS_RULES")
sleep 2
processes() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
until [[ $(processes) == "${last:-}" ]]; do last=$(processes); sleep 1; done # every one started
echo "# $last processes in the namespace${MS_RULES:+, rules $MS_RULES}, ${MS_HEAPS:-0} heaps of ${MS_HEAP_MIB:-256} MiB"
declare -A modes=(
  [out]="--out $MS_WORK/scan-out.json"
  [file]="--sink file:$MS_WORK/scan-sink.json"
  [syslog]="--sink syslog+tcp://127.0.0.1:$MS_TCP"
  [kafka]="--sink kafka://$MS_KAFKA/scan"
)
order=(out file syslog kafka)
# BASE_JAR (sink_bench.sh): an older jar, run with the Kafka sink in the same rounds (before/after).
if [[ -n ${MS_BASE_JAR:-} ]]; then
  modes[kafka_base]="--sink kafka://$MS_KAFKA/scan"
  order+=(kafka_base)
fi
declare -A times cpu
for i in $(seq "$MS_REPEAT"); do
  for m in "${order[@]}"; do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086,SC2046
    /usr/bin/time -o "$MS_WORK/cpu" -f "%U %S" \
      java $([[ $m == kafka_base ]] && echo "${MS_BASE_JAVA_OPTS:-}" || echo "${MS_JAVA_OPTS:-}") \
      -jar "$([[ $m == kafka_base ]] && echo "$MS_BASE_JAR" || echo "$MS_JAR")" scan --all --no-progress "${rules[@]}" --spool "$MS_WORK/scan-spool" ${modes[$m]} > /dev/null 2> "$MS_WORK/scan.err"
    code=$?
    t1=$(date +%s%N)
    [[ $code == 1 ]] || { echo "scan ($m) exited $code: $(cat "$MS_WORK/scan.err")"; }
    times[$m]+="$(( (t1 - t0) / 1000000 )) "
    cpu[$m]+="$(tail -n 1 "$MS_WORK/cpu" | awk '{printf "%d", ($1 + $2) * 1000}') "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=""
cbase=""
# Wall time is what a user waits; CPU time (user + system, every thread) is what the sink costs
# the machine, and is less disturbed by other load on a shared host.
for m in "${order[@]}"; do
  med=$(echo "${times[$m]}" | median)
  cmed=$(echo "${cpu[$m]}" | median)
  [[ $m == out ]] && base=$med && cbase=$cmed
  printf 'mode=%-10s runs_ms=[%s] median_ms=%s ratio_to_out=%s cpu_ms=[%s] median_cpu_ms=%s cpu_ratio_to_out=%s\n' \
    "$m" "$(echo ${times[$m]})" "$med" "$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.3f", a / b}')" \
    "$(echo ${cpu[$m]})" "$cmed" "$(awk -v a="$cmed" -v b="$cbase" 'BEGIN {printf "%.3f", a / b}')"
done
