# Sourced by the tracing benchmarks: checks the build and strace, makes a scratch directory
# ($work, removed on exit) and builds bench/trace_driver.c there ($d) against the build's
# libmemsentry.so. MS_BUILD_DIR: the build holding agent-c/libmemsentry.so (default target/native-build).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MS_BUILD_DIR:-$root/target/native-build}
[ -f "$build/agent-c/libmemsentry.so" ] || { echo "no libmemsentry.so in $build/agent-c (build first)" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -Wextra -Werror -I"$root/include" -o "$work/trace_driver" "$root/bench/trace_driver.c" \
  -L"$build/agent-c" -lmemsentry -Wl,-rpath,"$build/agent-c"
d=$work/trace_driver
