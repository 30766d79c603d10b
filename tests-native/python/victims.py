"""Victim programs for the Python tests (the ctypes binding's and the stub's): each prints one
READY key=value ... line and exits when its standard input closes, so a test that dies leaves none
behind. MEMSENTRY_VICTIM_DIR is the victims' directory (set by ctest)."""

import os
import subprocess


class Victim(object):
    def __init__(self, name, *args):
        exe = os.path.join(os.environ["MEMSENTRY_VICTIM_DIR"], name)
        self.proc = subprocess.Popen([exe] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.facts = {}
        for line in self.proc.stdout:
            if line.startswith(b"READY"):
                for kv in line[5:].split():
                    k, _, v = kv.decode().partition("=")
                    self.facts[k] = v
                return
        self.close()
        raise RuntimeError("victim %s exited before READY" % name)

    @property
    def pid(self):
        return self.proc.pid

    def hex(self, key):
        return int(self.facts[key], 16)

    def close(self):
        if self.proc.stdin:
            self.proc.stdin.close()
            self.proc.stdin = None
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
