#!/usr/bin/env bash
# Start-up of the orchestrator against the JVM's own floor, alternated in one run (medians of N):
#   java -version | java -jar JAR --version | java -jar JAR ps --json | java -jar JAR ps (the table),
#   ps on about 100 processes: run inside a fresh PID namespace holding 100 sleeps, so it lists only
#   what this script started. Prints wall-clock medians, the ratio of --version to java -version and
#   what each ps adds to --version (goals: at most 5x, and within 50 ms), then the same in CPU time
#   (user + system of the JVM, all its threads), which a busy machine inflates less than wall time.
#   bench/startup_bench.sh [JAR] [N]      (as root, for unshare)
# CDS=1: the jar's runs use a class-data archive dumped here from packaging/memsentry.classlist, as
# the installed launcher does (java -version keeps the JDK's own archive).
# As root, the first run extracts the library into root's cache (memsentry-native-cache in the
# temporary directory); one untimed run first keeps that out of the medians.
set -euo pipefail
jar=$(readlink -f "${1:-target/orchestrator.jar}")
n=${2:-11}
opts=""
if [[ ${CDS:-0} == 1 ]]; then
  archive=$(mktemp -d)/memsentry.jsa
  java -Xshare:dump -XX:SharedClassListFile="$(dirname "$0")/../packaging/memsentry.classlist" \
    -XX:SharedArchiveFile="$archive" -Xlog:cds=off -cp "$jar" >/dev/null
  opts="-XX:SharedArchiveFile=$archive -Xshare:auto -Xlog:cds=off"
  echo "# with the installation's class-data archive"
fi
exec unshare --pid --fork --mount-proc bash -s "$jar" "$n" "$opts" <<'INNER'
set -euo pipefail
jar=$1 n=$2
read -ra opts <<<"$3"
for ((i = 0; i < 100; i++)); do sleep 600 & done
tick=$(mktemp)
# user+system ms of this shell's finished children, from bash's times (written by this shell:
# in a command substitution it would count the subshell's children)
children_ms() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }' "$tick"; }
# runs "$@"; sets wall and cpu (ms)
measure() {
  local s e c0 c1
  times >"$tick"; c0=$(children_ms)
  s=$(date +%s%N)
  "$@" >/dev/null 2>&1
  times >"$tick" # before date below: its own CPU must not count
  e=$(date +%s%N)
  c1=$(children_ms)
  wall=$(((e - s) / 1000000)) cpu=$((c1 - c0))
}
java "${opts[@]}" -jar "$jar" ps --json >/dev/null
declare -a w0 w1 w2 w3 c0 c1 c2 c3
load0=$(cut -d' ' -f1 /proc/loadavg)
for ((i = 0; i < n; i++)); do
  measure java -version; w0+=("$wall"); c0+=("$cpu")
  measure java "${opts[@]}" -jar "$jar" --version; w1+=("$wall"); c1+=("$cpu")
  measure java "${opts[@]}" -jar "$jar" ps --json; w2+=("$wall"); c2+=("$cpu")
  measure java "${opts[@]}" -jar "$jar" ps; w3+=("$wall"); c3+=("$cpu")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(($# / 2 + 1))p"; }
report() {
  local what=$1 a=$2 b=$3 c=$4 d=$5
  echo "$what: java -version ${a} ms | --version ${b} ms ($(echo "scale=2; $b / $a" | bc)x)" \
    "| ps --json: ${c} ms (+$((c - b)) ms over --version) | ps (table): ${d} ms (+$((d - b)) ms)"
}
echo "$(ls /proc | grep -c '^[0-9]') processes in the namespace; load ${load0} -> $(cut -d' ' -f1 /proc/loadavg)"
report "wall" "$(median "${w0[@]}")" "$(median "${w1[@]}")" "$(median "${w2[@]}")" "$(median "${w3[@]}")"
report "cpu " "$(median "${c0[@]}")" "$(median "${c1[@]}")" "$(median "${c2[@]}")" "$(median "${c3[@]}")"
rm -f "$tick"
kill $(jobs -p) 2>/dev/null || true
INNER
