#!/usr/bin/env bash
# The main job: installs what is missing, builds target/orchestrator.jar (skipping the tests)
# and runs memsentry with the given arguments; with none, `doctor` then `selftest` (memsentry
# finds, dumps, traces and kills its own harmless synthetic implants).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/java-17-openjdk-amd64 ]]; then
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
if [[ ! -f target/orchestrator.jar || -n "$(find agent-c include java packaging pom.xml CMakeLists.txt -newer target/orchestrator.jar -print -quit)" ]]; then
  mvn -B -q -ntp -Dstyle.color=never -DskipTests package >&2
fi
if (($# == 0)); then
  java -jar target/orchestrator.jar doctor
  exec java -jar target/orchestrator.jar selftest
fi
exec java -jar target/orchestrator.jar "$@"
