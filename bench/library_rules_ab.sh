#!/usr/bin/env bash
# What the library rules (inject.library_runtime, inject.library_writable: ms_module_list, which
# parses every mapped code file's ELF headers and walks its path) add to scan --all: runs with the
# rules on and off, alternating, in a fresh PID namespace holding only what this script starts
# (sleep, bash, python3, node and a JVM after warm-up).
#   bench/library_rules_ab.sh [path/to/orchestrator.jar]     (as root; REPEAT=5 by default)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jar=${1:-$repo/target/orchestrator.jar}
[[ $(id -u) == 0 ]] || { echo "run as root (PID namespaces)"; exit 2; }
[[ -f $jar ]] || { echo "no $jar: run mvn package first"; exit 2; }
export MS_BENCH_JAR=$jar MS_BENCH_REPEAT=${REPEAT:-5}
exec unshare --pid --fork --mount-proc bash -c '
work=$(mktemp -d /tmp/memsentry-ab.XXXXXX)
printf "public class S { public static void main(String[] a) throws Exception { System.out.println(\"up\"); Thread.sleep(3600000); } }\n" > "$work/S.java"
printf "heuristics:\n  inject.library_runtime: off\n  inject.library_writable: off\n" > "$work/off.yaml"
printf "{}\n" > "$work/on.yaml"
sleep 3600 & bash -c "sleep 3600; true" & python3 -c "import time, json, ssl; time.sleep(3600)" &
node -e "setTimeout(() => {}, 3600000)" &
/usr/lib/jvm/java-17-openjdk-amd64/bin/java "$work/S.java" > "$work/j.out" &
until grep -q up "$work/j.out" 2>/dev/null; do sleep 0.2; done
sleep 1
for run in $(seq "$MS_BENCH_REPEAT"); do
  for mode in on off; do
    java -jar "$MS_BENCH_JAR" scan --all --json --no-progress -j 1 --config "$work/$mode.yaml" 2>/dev/null | tail -1 |
      python3 -c "import json,sys; s=json.load(sys.stdin)[\"memsentry\"][\"summary\"]; print(\"rules=$mode run=$run processes=%d elapsed_ms=%d median_process_ms=%d\" % (s[\"processes_scanned\"], s[\"elapsed_ms\"], s[\"median_process_ms\"]))"
  done
done
rm -rf "$work"'
