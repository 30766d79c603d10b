#!/usr/bin/env bash
# Runs every test of memsentry on a Debian 12 machine, as root, from a clean checkout:
#   1. installs what is missing (ci/install-deps.sh),
#   2. mvn verify: CMake builds the C agent (Release, -Werror), ctest runs the Google Tests,
#      Surefire the JUnit tests, Failsafe the end-to-end tests against target/orchestrator.jar,
#   3. the Debian package built by mvn (target/memsentry_*.deb) checked, installed, used and purged
#      (ci/package-check.sh),
#   4. the C tests again under AddressSanitizer + UndefinedBehaviorSanitizer, with the fuzz
#      targets run for a bounded time (ci/sanitize.sh),
#   5. the Windows agent cross-built with mingw-w64 and its Google Tests run under Wine
#      (ci/windows-tests.sh; MEMSENTRY_SKIP_WINDOWS=1 leaves it out, as in install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi

echo "== mvn verify (native build, ctest, JUnit, end-to-end)"
mvn -B -ntp -Dstyle.color=never verify

echo "== the Debian package: lintian, install, launcher, selftest, manual, completion, purge"
ci/package-check.sh

echo "== sanitizers and fuzzing"
ci/sanitize.sh

if [[ "${MEMSENTRY_SKIP_WINDOWS:-0}" != 1 ]]; then
  echo "== Windows agent: cross build and Google Test under Wine"
  ci/windows-tests.sh
fi

echo "== all tests passed"
