#!/usr/bin/env bash
# memsentry watch benchmarks (issue 12):
#   bench/watch_bench.sh [VICTIMS] [STORM_SECONDS] [IDLE_SECONDS]   (defaults 60, 10, 60; as root;
#   needs the jar and the victims: mvn -B -q package)
# Prints one JSON line per measurement, as docs/BENCHMARKS.md records them:
#   (a) exec-to-alert latency over VICTIMS 300 ms shellcode victims: with the netlink connector
#       (the watch scoped to the driver's own process tree) and with the agent's /proc poller
#       (inside a fresh PID namespace, where the connector's pids would be wrong);
#   (b) fork storms at 100, 200 and 400 execs/s, every 50th a 300 ms shellcode victim: missed,
#       lost events, resyncs, watcher CPU;
#   (c) the watcher's CPU while idle with 60 s rescans over 100 ordinary processes: inside a fresh
#       PID namespace holding only them (the agent's /proc poller, at 100 ms and at 250 ms), and
#       with the connector (the watch scoped to the driver's tree).
# Nothing outside the driver's tree or the namespace is scanned.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
victims=${1:-60}
storm_s=${2:-10}
idle_s=${3:-60}
export MS_JAR=$repo/target/orchestrator.jar
export MS_VICTIM=$repo/target/native-build/victims/victim_watch
export MS_JAVA=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java
[[ -f $MS_JAR && -x $MS_VICTIM ]] || { echo "bench: build first: mvn -B -q package" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 2; }
work=$(mktemp -d /tmp/memsentry-watch-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MS_WORK=$work
driver=$repo/bench/watch_bench.py
ns=(unshare --pid --fork --mount-proc env MS_SCOPE=all)

echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
MS_SCOPE=tree python3 "$driver" latency "$victims"
"${ns[@]}" python3 "$driver" latency "$victims"
for rate in 100 200 400; do
  MS_SCOPE=tree python3 "$driver" storm "$rate" "$storm_s"
done
"${ns[@]}" python3 "$driver" idle 100 "$idle_s"
"${ns[@]}" MS_WATCH_ARGS="--poll-interval 250ms" python3 "$driver" idle 100 "$idle_s"
MS_SCOPE=tree python3 "$driver" idle 100 "$idle_s"
