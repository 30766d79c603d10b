#!/usr/bin/env bash
# Cross-builds memsentry.dll and the Google Test suite for 64-bit Windows with
# mingw-w64 and runs the suite under Wine, from scratch: a fresh private
# WINEPREFIX and one persistent wineserver, both removed at the end.
#   ci/windows-tests.sh [build-dir]      (default /tmp/build-win)
# Exits non-zero when the build or any test fails.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-/tmp/build-win}
java_home=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
jobs=${MEMSENTRY_JOBS:-2}

missing=0
for tool in x86_64-w64-mingw32-gcc-posix x86_64-w64-mingw32-g++-posix wine wineserver cmake; do
  command -v "$tool" >/dev/null || missing=1
done
if ((missing)); then
  "$repo/ci/install-deps.sh"
fi

# Wine state lives in a private prefix that nothing else shares; no display.
WINEPREFIX=$(mktemp -d /tmp/memsentry-wine.XXXXXX)
export WINEPREFIX WINEARCH=win64 DISPLAY=
export WINEDEBUG=-all,err+module
# No Mono or Gecko installers; winedbg off so a crash does not write a
# backtrace into a test's stdout.
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"

cleanup() {
  # Stops this prefix's wineserver and everything it runs, nothing else.
  wineserver -k >/dev/null 2>&1 || true
  rm -rf "$WINEPREFIX"
}
trap cleanup EXIT

start=$(date +%s)
# One persistent wineserver, started first so wineboot and every test use it:
# each test executable otherwise pays seconds of start-up.
wineserver -p </dev/null >/dev/null 2>&1
wineboot -i >/dev/null 2>&1
wine cmd /c exit 0 >/dev/null 2>&1
echo "windows-tests: prefix $WINEPREFIX ready in $(($(date +%s) - start)) s" >&2

rm -rf "$build"
cmake -S "$repo" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$repo/ci/cmake/mingw-w64-x86_64.cmake" \
      -DJAVA_HOME="$java_home" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
echo "windows-tests: passed in $(($(date +%s) - start)) s" >&2
