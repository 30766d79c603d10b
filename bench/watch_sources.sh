#!/usr/bin/env bash
# The process-event sources of ms_watch.h under a fork storm, against forkstat (the reference
# netlink process-connector client) in the same run.
#
# The workload (bench/watch_sources_driver.c) starts COUNT children at each RATE per second, each running
# /bin/true (a fork, an exec and an exit apiece), and reaps them. Modes, interleaved per rate:
#   connector   watch_sources_driver connector RATE COUNT   (ms_watch on the netlink connector, 8 MiB buffer)
#   poller      watch_sources_driver poller RATE COUNT      (the /proc poller, 100 ms passes)
#   forkstat    forkstat -c -e fork,exec,exit, started before `watch_sources_driver none RATE COUNT`
# For each: how many of the children's forks, execs and exits were reported, the events the
# source said it lost, and the CPU time of the watching side (memsentry: the watch thread;
# forkstat: its process, from /proc/PID/stat). The poller sees only children alive at a pass:
# /bin/true lives for a millisecond, so it is expected to miss most (that is what the connector
# is for); its row is the cost of polling under load.
# Usage: bench/watch_sources.sh [COUNT] [RATES...]   (default 2000 200 1000 100000)
# MS_BUILD_DIR: the build holding agent-c/libmemsentry.so (default target/native-build).
# Needs root (the connector), forkstat, cc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MS_BUILD_DIR:-$root/target/native-build}
count=${1:-2000}
shift || true
rates=("$@")
((${#rates[@]})) || rates=(200 1000 100000)

[ -f "$build/agent-c/libmemsentry.so" ] || { echo "no libmemsentry.so in $build/agent-c (build first)" >&2; exit 2; }
command -v forkstat >/dev/null || { echo "forkstat is not installed (ci/install-deps.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -D_GNU_SOURCE -I"$root/include" -o "$work/watch_sources_driver" "$root/bench/watch_sources_driver.c" \
  -L"$build/agent-c" -lmemsentry -Wl,-rpath,"$build/agent-c" -lpthread

ticks=$(getconf CLK_TCK)
printf '%-10s %-8s %7s %9s %9s %9s %8s %8s %8s\n' source rate forked fork_seen exec_seen exit_seen lost cpu_ms wall_ms
for rate in "${rates[@]}"; do
  for mode in connector poller forkstat; do
    if [ "$mode" = forkstat ]; then
      forkstat -c -e fork,exec,exit >"$work/fs.out" 2>&1 &
      fs=$!
      sleep 1 # subscribed before the workload starts
      line=$("$work/watch_sources_driver" none "$rate" "$count" "$work/pids")
      read -r _ utime stime < <(awk '{print $1, $14, $15}' "/proc/$fs/stat")
      kill -INT "$fs"
      wait "$fs" || true
      set -- $(awk -v pids="$work/pids" '
        BEGIN { while ((getline p < pids) > 0) mine[p] = 1 }
        $2 == "fork" && $4 == "child" && ($3 in mine) { f[$3] = 1 }
        $2 == "exec" && ($3 in mine) { e[$3] = 1 }
        $2 == "exit" && ($3 in mine) { x[$3] = 1 }
        /ENOBUFS|[Nn]o buffer space/ { lost++ }
        END { print length(f), length(e), length(x), lost + 0 }' "$work/fs.out")
      forked=$(sed -n 's/.*forked=\([0-9]*\).*/\1/p' <<<"$line")
      wall=$(sed -n 's/.*wall_ms=\([0-9]*\).*/\1/p' <<<"$line")
      cpu=$(( (utime + stime) * 1000 / ticks ))
      printf '%-10s %-8s %7s %9s %9s %9s %8s %8s %8s\n' forkstat "$rate" "$forked" "$1" "$2" "$3" "$4" "$cpu" "$wall"
    else
      line=$("$work/watch_sources_driver" "$mode" "$rate" "$count")
      eval "$(sed 's/^RESULT //' <<<"$line")"
      printf '%-10s %-8s %7s %9s %9s %9s %8s %8s %8s\n' "$mode" "$rate" "$forked" "$fork_seen" "$exec_seen" \
        "$exit_seen" "$lost" "$cpu_ms" "$wall_ms"
    fi
  done
done
