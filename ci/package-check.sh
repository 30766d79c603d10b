#!/usr/bin/env bash
# Checks the Debian package as a user meets it (issue 16): lintian finds no error; it installs;
# memsentry --version, doctor and selftest work through the installed launcher; the manual and the
# completion are in place; the launcher refuses a missing or old Java in one line with exit 3 and
# starts with a damaged class-data archive; a purge leaves nothing behind.
# Usage: ci/package-check.sh [target/memsentry_VERSION_amd64.deb]  (as root; installs and purges)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls target/memsentry_*_amd64.deb | head -n 1)}
passed=0
failed=0
check() { # check NAME COMMAND...: runs COMMAND, counts and reports it
  local name=$1
  shift
  if "$@"; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    failed=$((failed + 1))
  fi
}
one_line_exit_3() { # one_line_exit_3 ENV...: the launcher fails with exit 3 and one line
  local err code=0
  err=$(env "$@" /usr/bin/memsentry --version 2>&1 >/dev/null) || code=$?
  [[ $code == 3 && $(printf '%s\n' "$err" | wc -l) == 1 && $err == *"install openjdk-17"* ]] || {
    echo "  exit $code: $err" >&2
    return 1
  }
}

check "lintian reports no error" lintian --fail-on error --tag-display-limit 0 "$deb"
check "the package installs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb"
check "memsentry --version" bash -c '/usr/bin/memsentry --version | grep -q "^memsentry "'
check "the class-data archive was made at installation" test -s /var/cache/memsentry/memsentry.jsa
check "memsentry doctor" bash -c 'memsentry doctor >/dev/null'
# The archive holds the classes of memsentry and of the Kafka client (packaging/memsentry.classlist):
# a scan with an unreachable Kafka sink (its alerts go to a spool) loads both from it.
check "the launcher loads memsentry's and Kafka's classes from the archive" bash -c '
  tmp=$(mktemp -d); sleep 30 & target=$!
  JAVA_TOOL_OPTIONS="-Xlog:class+load:file=$tmp/classes" memsentry scan --pid $target \
    --sink kafka://127.0.0.1:1/check --spool "$tmp/spool" >/dev/null 2>&1
  kill $target
  grep -q "dev.memsentry.cli.Main source: shared objects file" "$tmp/classes" &&
    grep -q "org.apache.kafka.clients.producer.KafkaProducer source: shared objects file" "$tmp/classes"
  ok=$?; rm -rf "$tmp"; exit $ok'
# One-shot commands run on the first JIT compiler alone; watch keeps both (packaging/memsentry).
tiers() { JAVA_TOOL_OPTIONS=-XX:+PrintFlagsFinal memsentry "$@" 2>/dev/null | awk '$2 == "TieredStopAtLevel" { print $4 }'; }
check "one-shot commands run on C1 alone, watch on both compilers" bash -c "
  $(declare -f tiers)
  [[ \$(tiers --version) == 1 && \$(tiers --backend native scan --help) == 1 && \$(tiers -v watch --help) == 4 &&
     \$(MEMSENTRY_JAVA_OPTS=-XX:TieredStopAtLevel=4 tiers --version) == 4 ]]"
check "memsentry selftest" memsentry selftest
check "man -w memsentry-scan" bash -c 'man -w memsentry-scan | grep -q /usr/share/man/man1/memsentry-scan.1.gz'
check "bash completes 'memsentry sc' to scan" bash -c '
  source /usr/share/bash-completion/completions/memsentry
  COMP_WORDS=(memsentry sc); COMP_CWORD=1; COMP_LINE="memsentry sc"; COMP_POINT=${#COMP_LINE}
  _complete_memsentry memsentry sc memsentry 2>/dev/null
  [[ " ${COMPREPLY[*]} " == *" scan "* ]]'
check "bash completes scan --evid to --evidence-dir" bash -c '
  source /usr/share/bash-completion/completions/memsentry
  COMP_WORDS=(memsentry scan --evid); COMP_CWORD=2; COMP_LINE="memsentry scan --evid"; COMP_POINT=${#COMP_LINE}
  _complete_memsentry memsentry --evid scan 2>/dev/null
  [[ " ${COMPREPLY[*]} " == *"--evidence-dir"* ]]'

fake=$(mktemp -d)
mkdir -p "$fake/old/bin" "$fake/empty"
printf '#!/bin/sh\necho "openjdk version \\"11.0.2\\" 2019-01-15" >&2\n' >"$fake/old/bin/java"
printf 'JAVA_VERSION="11.0.2"\n' >"$fake/old/release"
chmod +x "$fake/old/bin/java"
check "no Java: one line, exit 3" one_line_exit_3 -u JAVA_HOME PATH="$fake/empty"
check "Java 11: one line, exit 3" one_line_exit_3 JAVA_HOME="$fake/old"
rm -rf "$fake"
head -c 65536 /dev/urandom >/var/cache/memsentry/memsentry.jsa
check "a damaged class-data archive does not stop memsentry" bash -c '/usr/bin/memsentry --version 2>&1 | grep -qx "memsentry .*"'

files=$(dpkg -L memsentry | while read -r f; do [[ -f $f ]] && echo "$f"; done)
check "the package purges" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq memsentry
left=""
for f in $files /etc/memsentry /var/cache/memsentry /var/lib/memsentry; do
  [[ -e $f ]] && left="$left $f"
done
check "nothing is left after the purge${left:+:$left}" test -z "$left"

echo "package-check: $passed passed, $failed failed"
((failed == 0))
