#!/usr/bin/env bash
# Start-up of the orchestrator against the JVM's own floor, alternated in one run (medians of N):
#   java -version | java -jar JAR --version | java -jar JAR ps --json | java -jar JAR ps (the table),
#   ps on about 100 processes: run inside a fresh PID namespace holding 100 sleeps, so it lists only
#   what this script started. Prints the ratio of --version to java -version and what each ps adds
#   to --version (goal: at most 5x, and within 50 ms).
#   bench/startup_bench.sh [JAR] [N]      (as root, for unshare)
# As root, the first run extracts the library into root's cache (memsentry-native-cache in the
# temporary directory); one untimed run of each form first keeps that out of the medians.
set -euo pipefail
jar=$(readlink -f "${1:-target/orchestrator.jar}")
n=${2:-11}
exec unshare --pid --fork --mount-proc bash -s "$jar" "$n" <<'INNER'
set -euo pipefail
jar=$1 n=$2
for ((i = 0; i < 100; i++)); do sleep 600 & done
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
java -jar "$jar" ps --json >/dev/null
declare -a jv ver psj pst
load0=$(cut -d' ' -f1 /proc/loadavg)
for ((i = 0; i < n; i++)); do
  jv+=("$(ms java -version)")
  ver+=("$(ms java -jar "$jar" --version)")
  psj+=("$(ms java -jar "$jar" ps --json)")
  pst+=("$(ms java -jar "$jar" ps)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(($# / 2 + 1))p"; }
a=$(median "${jv[@]}") b=$(median "${ver[@]}") c=$(median "${psj[@]}") d=$(median "${pst[@]}")
echo "java -version ${a} ms | --version ${b} ms ($(echo "scale=2; $b / $a" | bc)x)" \
  "| ps --json, $(ls /proc | grep -c '^[0-9]') processes: ${c} ms (+$((c - b)) ms over --version)" \
  "| ps (table): ${d} ms (+$((d - b)) ms) | load ${load0} -> $(cut -d' ' -f1 /proc/loadavg)"
kill $(jobs -p) 2>/dev/null || true
INNER
