#!/usr/bin/env bash
# scan --all benchmark and false-positive sweep, inside a fresh PID namespace that holds only
# what this script starts (memsentry never sweeps processes it did not start):
#   sleep, bash, perl, python3, node (after a JIT warm-up), two JVMs (17 and, when installed,
#   25) after a JIT warm-up, PostgreSQL (postmaster and its workers, as nobody), a session
#   dbus-daemon, strace attached to a sleep and gdb attached to another (known debuggers).
# Then: scan --all with 1 and 2 threads, REPEAT times each, and one scan of the JVM with every
# resident code page compared instead of the private copies only.
#   bench/scan_all.sh [path/to/orchestrator.jar]     (as root; REPEAT=3 by default)
# Prints one line per run and every alert of medium severity or more (there should be none).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jar=${1:-$repo/target/orchestrator.jar}
[[ $(id -u) == 0 ]] || { echo "run as root (PID namespaces)"; exit 2; }
[[ -f $jar ]] || { echo "no $jar: run mvn package first"; exit 2; }
export MS_BENCH_JAR=$jar MS_BENCH_REPEAT=${REPEAT:-3}
exec unshare --pid --fork --mount-proc bash "$repo/bench/scan_all_inner.sh"
