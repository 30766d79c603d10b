#!/usr/bin/env bash
# memsentry's syscall tracer against strace on the same workload, in the same run.
#
# The workload (bench/trace_workload.c) runs ITERATIONS cycles of mmap RW, a write, mprotect RX
# and munmap, with 30 getppid() per cycle (ten unmonitored syscalls per monitored one), and prints
# the time of its loop alone. Every mode runs it REPEATS times, the modes interleaved, and the
# script prints the median per mode, its ratio to the untraced run, and memsentry's ratio to its
# strace counterpart (below 1.00: memsentry is faster):
#
#   untraced          ./trace_workload N
#   strace-attach     strace -f -e trace=mmap,mprotect,munmap -o /dev/null -p PID
#   strace-launch     strace -f -e trace=mmap,mprotect,munmap -o /dev/null ./trace_workload N
#   strace-seccomp    strace -f --seccomp-bpf -e trace=mmap,mprotect,munmap -o /dev/null ./trace_workload N
#   ms-attach         trace_driver attach PID     (the C API, ms_trace_attach; vs strace-attach)
#   ms-launch         trace_driver launch ...     (ms_trace_launch with seccomp; vs strace-seccomp)
#   ms-launch-noseccomp trace_driver launch --no-seccomp ...   (vs strace-launch)
#   cli-attach        java -jar orchestrator.jar trace --json --out /dev/null --pid PID   (vs strace-attach)
#   cli-launch        java -jar orchestrator.jar trace --json --out /dev/null -- ./trace_workload N
#                     (vs strace-seccomp; the JSON lines go to a pipe, read by grep)
#   cli-empty         the same command tracing ./trace_workload 0 (no loop: the JVM's start and set-up)
#   cli-launch-noexec the same command tracing ./trace_workload N --no-exec (the same calls, no W^X:
#                     every event line, no alert)
#
# trace_driver (bench/trace_driver.c) counts the events in its callback and does nothing else.
# In attach modes the workload waits until /proc/self/status shows a tracer before its loop.
# To add a mode (the CLI, say): write run_MODE printing the workload's elapsed_ns line, add MODE
# to `modes`, and its counterpart to `peer`.
#
# The cli modes run the whole orchestrator (JNI upcall per event, JSON lines written twice: to
# stdout and to --out); JVM start-up is not in the workload's own loop time.
#
# Whole command: strace-seccomp, ms-launch and the cli-launch modes also run under /usr/bin/time,
# and a second table gives their median wall time and CPU time (user + system of the whole process
# tree: the tracer, the JVM's threads and the workload), with cli-launch's ratio to strace-seccomp,
# from the same interleaved rounds. These include the JVM's start-up, JIT compilation and output;
# that is what the issue's goal (at most 1.0x wall, 1.5x CPU) is about.
# Usage: bench/trace_bench.sh [ITERATIONS] [REPEATS]   (default 20000 5)
# MS_TRACE_MODES: the modes to run, space-separated (default all), e.g. "strace-seccomp cli-launch"
# for the whole-command comparison alone.
# MS_JAR: the orchestrator jar for the cli modes (default target/orchestrator.jar; skipped if absent).
# MS_BUILD_DIR: the build holding agent-c/libmemsentry.so (default target/native-build).
# Needs root or CAP_SYS_PTRACE (attaching), strace, cc.
set -euo pipefail
iterations=${1:-20000}
repeats=${2:-5}
. "$(dirname "$0")/trace_common.sh"
cc -O2 -Wall -Wextra -Werror -o "$work/trace_workload" "$root/bench/trace_workload.c"
w=$work/trace_workload
set_=trace=mmap,mprotect,munmap

elapsed() { grep -o 'elapsed_ns=[0-9]*' | cut -d= -f2; }

# Starts the workload waiting for a tracer, runs "$@" PID against it, waits for both.
attach_run() {
  "$w" "$iterations" --wait-tracer > "$work/out" &
  local pid=$!
  "$@" "$pid" > "$work/tracer.out" 2>&1 &
  local tracer=$!
  wait "$pid"
  wait "$tracer" || true
  elapsed < "$work/out"
}

run_untraced()            { "$w" "$iterations" | elapsed; }
run_strace-attach()       { attach_run strace -f -e "$set_" -o /dev/null -p; }
run_strace-launch()       { strace -f -e "$set_" -o /dev/null "$w" "$iterations" | elapsed; }
# timed MODE CMD...: runs CMD under /usr/bin/time into $work/time.MODE ("wall user sys" on its last line).
timed() { local m=$1; shift; /usr/bin/time -f '%e %U %S' -o "$work/time.$m" "$@"; }
run_strace-seccomp()      { timed strace-seccomp strace -f --seccomp-bpf -e "$set_" -o /dev/null "$w" "$iterations" | elapsed; }
run_ms-attach()           { attach_run "$d" attach; }
run_ms-launch()           { timed ms-launch "$d" launch "$w" "$iterations" | elapsed; }
run_ms-launch-noseccomp() { "$d" launch --no-seccomp "$w" "$iterations" | elapsed; }
jar=${MS_JAR:-$root/target/orchestrator.jar}
# MS_JAVA_OPTS: JVM options for the cli modes, e.g. the installed launcher's class-data archive.
read -ra java_opts <<<"${MS_JAVA_OPTS:-}"
cli=(java "${java_opts[@]}" -jar "$jar" trace --json --out /dev/null)
run_cli-attach()          { attach_run "${cli[@]}" --pid; }
run_cli-launch()          { { timed cli-launch "${cli[@]}" -- "$w" "$iterations" || [ $? -eq 1 ]; } | elapsed; }   # 1: alerts raised
# Where cli-launch's CPU goes: the same command tracing a loop of no iterations (the JVM's start,
# the library's and the command's set-up), and the workload without W^X transitions (every event
# line, no alert document).
run_cli-empty()           { timed cli-empty "${cli[@]}" -- "$w" 0 | elapsed; }
run_cli-launch-noexec()   { timed cli-launch-noexec "${cli[@]}" -- "$w" "$iterations" --no-exec | elapsed; }

modes=(untraced strace-attach ms-attach strace-launch ms-launch-noseccomp strace-seccomp ms-launch)
declare -A peer=([ms-attach]=strace-attach [ms-launch]=strace-seccomp [ms-launch-noseccomp]=strace-launch)
if [ -f "$jar" ] && command -v java >/dev/null; then
  modes+=(cli-attach cli-launch cli-empty cli-launch-noexec)
  peer+=([cli-attach]=strace-attach [cli-launch]=strace-seccomp)
else
  echo "no $jar (or no java): the cli modes are skipped" >&2
fi
if [ -n "${MS_TRACE_MODES:-}" ]; then
  read -r -a modes <<< "$MS_TRACE_MODES"
fi
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is not installed (Debian: time)" >&2; exit 2; }
declare -A samples wall cpu

for ((r = 1; r <= repeats; r++)); do
  for m in "${modes[@]}"; do
    ns=$("run_$m")
    [ -n "$ns" ] || { echo "mode $m printed no time" >&2; exit 3; }
    samples[$m]+="$ns "
    if [ -f "$work/time.$m" ]; then
      read -r t_wall t_user t_sys < <(tail -n 1 "$work/time.$m")
      wall[$m]+="$t_wall "
      cpu[$m]+="$(awk -v u="$t_user" -v s="$t_sys" 'BEGIN {print u + s}') "
      rm -f "$work/time.$m"
    fi
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "iterations=$iterations repeats=$repeats (medians of the workload loop)"
echo "load: $(uptime)"
printf '| %-20s | %12s | %12s | %14s |\n' mode "median ms" "vs untraced" "vs strace peer"
printf '| %-20s | %12s | %12s | %14s |\n' --- ---: ---: ---:
declare -A med
for m in "${modes[@]}"; do med[$m]=$(echo "${samples[$m]}" | median); done
for m in "${modes[@]}"; do
  vs_peer="" vs_untraced=""
  [ -n "${peer[$m]:-}" ] && [ -n "${med[${peer[$m]}]:-}" ] &&
    vs_peer=$(awk -v a="${med[$m]}" -v b="${med[${peer[$m]}]}" 'BEGIN {printf "%.2f", a / b}')
  [ -n "${med[untraced]:-}" ] && vs_untraced=$(awk -v a="${med[$m]}" -v b="${med[untraced]}" 'BEGIN {printf "%.2fx", a / b}')
  printf '| %-20s | %12.1f | %12s | %14s |\n' "$m" "$(awk -v a="${med[$m]}" 'BEGIN {print a / 1e6}')" \
    "$vs_untraced" "$vs_peer"
done

# The whole commands: wall and CPU of cli-launch against strace-seccomp, same rounds.
if [ -n "${wall[cli-launch]:-}" ] && [ -n "${wall[strace-seccomp]:-}" ]; then
  echo
  echo "whole command (JVM start-up, JIT and output included), medians of $repeats; CPU = user + sys of the process tree"
  printf '| %-16s | %10s | %10s | %-24s | %-24s |\n' mode "wall s" "CPU s" "wall runs" "CPU runs"
  printf '| %-16s | %10s | %10s | %-24s | %-24s |\n' --- ---: ---: --- ---
  for m in strace-seccomp ms-launch cli-empty cli-launch-noexec cli-launch; do
    [ -n "${wall[$m]:-}" ] || continue
    printf '| %-16s | %10.2f | %10.2f | %-24s | %-24s |\n' "$m" "$(echo "${wall[$m]}" | median)" \
      "$(echo "${cpu[$m]}" | median)" "${wall[$m]% }" "${cpu[$m]% }"
  done
  awk -v a="$(echo "${wall[cli-launch]}" | median)" -v b="$(echo "${wall[strace-seccomp]}" | median)" \
    -v c="$(echo "${cpu[cli-launch]}" | median)" -v d="$(echo "${cpu[strace-seccomp]}" | median)" \
    'BEGIN {printf "cli-launch / strace-seccomp: wall %.2fx, CPU %.2fx (goal: at most 1.00x wall, 1.50x CPU)\n", a / b, c / d}'
fi
