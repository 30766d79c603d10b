"""How much slower the Python stub agent is than the C library, on the same work in the same run.

    MEMSENTRY_LIB=target/native-build/agent-c/libmemsentry.so \
      python3 bench/stub_vs_native.py [ROUNDS]

Both run in this one Python process, so interpreter start-up and the JVM are left out: the C
library through the ctypes binding (bindings/python), the stub through its own functions
(java/src/main/python/memsentry_stub), which is what it runs per request minus the JSON
encoding. Work: the process list, the region list of this process, and 1 MiB read from this
process's heap, each repeated; the median of ROUNDS rounds is reported, and the ratio stub/C.

The process list is a sweep of every process, so the benchmark re-runs itself as PID 1 of a fresh
PID namespace (unshare --pid --fork --mount-proc, as root) holding only itself and SYNTHETIC
sleeping processes it starts (default 40): it never reads other programs' /proc entries.
"""

import ctypes
import os
import signal
import statistics
import subprocess
import sys
import time

SYNTHETIC = int(os.environ.get("SYNTHETIC", "40"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import memsentry  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "java", "src", "main", "python"))
from memsentry_stub import common, process_enum, procfs, reader, regions  # noqa: E402


def median_seconds(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def stub_processes():
    n = 0
    for name in os.listdir(b"/proc"):
        pid = procfs.pid_from_name(name)
        if pid is None:
            continue
        try:
            process_enum.describe(pid)
            n += 1
        except common.Failure:
            pass
    return n


def main():
    if os.getpid() != 1:
        os.execvp("unshare", ["unshare", "--pid", "--fork", "--mount-proc", sys.executable] + sys.argv)
    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(SYNTHETIC)]
    try:
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
    finally:
        for p in sleepers:
            p.send_signal(signal.SIGKILL)
            p.wait()


def run(rounds):
    pid = os.getpid()
    ballast = bytearray(b"\x5a" * (2 << 20))  # memory of our own to read
    address = ctypes.addressof((ctypes.c_char * len(ballast)).from_buffer(ballast))
    with memsentry.Agent() as agent:
        work = [
            ("process list", lambda: agent.processes(), stub_processes),
            ("regions of one process", lambda: agent.regions(pid), lambda: list(regions.iter_regions(pid))),
            ("read 1 MiB", lambda: agent.read(pid, address, 1 << 20), lambda: reader.read_memory(pid, address, 1 << 20)),
        ]
        print("%d processes in the namespace" % len(agent.processes()))
        print("%-24s %12s %12s %8s" % ("work", "C (ms)", "stub (ms)", "stub/C"))
        for name, native, python in work:
            c = median_seconds(native, rounds)
            s = median_seconds(python, rounds)
            print("%-24s %12.3f %12.3f %8.1f" % (name, c * 1000, s * 1000, s / c))


if __name__ == "__main__":
    main()
