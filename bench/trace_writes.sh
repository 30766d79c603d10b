#!/usr/bin/env bash
# The cost of watching writes (for /proc/PID/mem) in the seccomp launch: a write-heavy command,
# dd copying COUNT one-byte blocks from /dev/zero to /dev/null (COUNT reads and COUNT writes),
# run untraced, under `strace -f --seccomp-bpf -e trace=mmap,mprotect,munmap` (writes never stop
# it) and under memsentry's launch (bench/trace_driver.c, ms_trace_launch), interleaved REPEATS
# times; the whole command is timed (exec and start-up included). Prints the medians in ms.
#
#   bench/trace_writes.sh [COUNT] [REPEATS]
# MS_BUILD_DIR: the build holding agent-c/libmemsentry.so (default target/native-build).
set -euo pipefail
count=${1:-100000}
repeats=${2:-5}
. "$(dirname "$0")/trace_common.sh"
cmd=(dd if=/dev/zero of=/dev/null bs=1 count="$count" status=none)
ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - s) / 1000000)); }
echo "load: $(uptime)"
declare -A times
for _ in $(seq 1 "$repeats"); do
  times[untraced]+="$(ms "${cmd[@]}") "
  times[strace-seccomp]+="$(ms strace -f --seccomp-bpf -e trace=mmap,mprotect,munmap -o /dev/null "${cmd[@]}") "
  times[ms-launch]+="$(ms "$d" launch "${cmd[@]}") "
done
for mode in untraced strace-seccomp ms-launch; do
  median=$(tr ' ' '\n' <<< "${times[$mode]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$mode median_ms=$median runs_ms=${times[$mode]}"
done
