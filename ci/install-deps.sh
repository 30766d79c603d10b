#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine (run as root).
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config            # native build
  libgtest-dev googletest                     # Google Test
  clang libclang-rt-14-dev                    # libFuzzer target, sanitizer runtimes
  maven openjdk-17-jdk-headless               # orchestrator
  python3                                     # stub agent, ctypes binding
  libyara-dev yara                            # detection engine and its oracle
  gdb strace binutils procps util-linux       # oracles and namespace sweeps
  time                                        # whole-command CPU in the benchmarks (/usr/bin/time)
  podman runc busybox-static                  # real containers (images built locally, no registry)
  lintian man-db bash-completion              # the Debian package's checks (ci/package-check.sh)
  forkstat                                    # the process connector's peer (bench/watch_sources.sh)
  rsyslog rsyslog-gnutls openssl              # syslog sink oracle (started by the tests only)
)
if [[ "${MEMSENTRY_SKIP_WINDOWS:-0}" != 1 ]]; then
  packages+=(g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix wine64 wine)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ci/install-deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # rsyslog's package would start the system daemon: the tests run their own, so keep it off.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((own_policy)) && rm -f "$policy"
fi
