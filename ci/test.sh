#!/usr/bin/env bash
# Runs every test of memsentry on a Debian 12 machine, as root, from a clean checkout:
#   1. installs what is missing (ci/install-deps.sh),
#   2. mvn verify: CMake builds the C agent (Release, -Werror), ctest runs the Google Tests,
#      Surefire the JUnit tests, Failsafe the end-to-end tests against target/orchestrator.jar,
#   3. the C tests again under AddressSanitizer + UndefinedBehaviorSanitizer, with the fuzz
#      targets run for a bounded time (ci/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi

echo "== mvn verify (native build, ctest, JUnit, end-to-end)"
mvn -B -ntp -Dstyle.color=never verify

echo "== sanitizers and fuzzing"
ci/sanitize.sh

echo "== all tests passed"
