#!/usr/bin/env python3
"""memsentry watch benchmark driver (run by bench/watch_bench.sh; root; Linux).

Modes (the watch is started by this driver, scoped to this driver's own process tree, or, inside a
fresh PID namespace, to everything there, which is only what this driver started):
  latency N            N short-lived shellcode victims (300 ms each), one every 150 ms:
                       exec-to-alert latency (Popen to the alert line in --out), median and p95
  storm RATE SECONDS   RATE /bin/true per second for SECONDS, every 50th a 300 ms shellcode victim:
                       malicious missed, events lost, resyncs, watcher CPU (% of one core)
  idle COUNT SECONDS   COUNT ordinary processes (sleep, cat, sh) and a watch with 60 s rescans:
                       the watcher's CPU over SECONDS after a 15 s settling period
Prints one JSON object.
"""
import json
import os
import subprocess
import sys
import threading
import time

JAR = os.environ["MS_JAR"]
VICTIM = os.environ["MS_VICTIM"]  # victim_watch
JAVA = os.environ.get("MS_JAVA", "java")
SCOPE = os.environ.get("MS_SCOPE", "tree")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Watch:
    def __init__(self, workdir, extra):
        self.out = os.path.join(workdir, "watch.json")
        self.err = os.path.join(workdir, "watch.err")
        scope = "tree:%d" % os.getpid() if SCOPE == "tree" else "all"
        cmd = [JAVA, "-jar", JAR, "watch", "--scope", scope, "--out", self.out, "--stats-interval", "0"] + extra
        cmd += os.environ.get("MS_WATCH_ARGS", "").split()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.err, "w"),
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 120
        while "watching " not in open(self.err).read():
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit("watch did not start: " + open(self.err).read())
            time.sleep(0.05)
        self.alerts = {}  # pid -> monotonic time the alert line was seen
        self.stop_tail = False
        self.tail = threading.Thread(target=self._tail, daemon=True)
        self.tail.start()

    def _tail(self):
        with open(self.out) as f:
            buf = ""
            while not self.stop_tail:
                chunk = f.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                now = time.monotonic()
                buf += chunk
                *lines, buf = buf.split("\n")
                for line in lines:
                    d = json.loads(line)
                    if d["event"]["kind"] == "alert":
                        self.alerts.setdefault(d["process"]["pid"], now)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.stop_tail = True
        stats = None
        for line in open(self.out):
            d = json.loads(line)
            if d["event"].get("action") == "watch-stats":
                stats = d["memsentry"]["watch_stats"]
        return stats


def victim(ms):
    t0 = time.monotonic()
    p = subprocess.Popen([VICTIM, "shellcode", str(ms)], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return p, t0


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def latency(workdir, n):
    w = Watch(workdir, [])
    started = []
    for _ in range(n):
        started.append(victim(300))
        time.sleep(0.15)
    time.sleep(3)
    stats = w.stop()
    lat = [(w.alerts[p.pid] - t0) * 1000 for p, t0 in started if p.pid in w.alerts]
    for p, _ in started:
        p.wait()
    return {"mode": "latency", "victims": n, "alerted": len(lat), "missed": n - len(lat),
            "median_ms": round(pct(lat, 0.5), 1) if lat else None, "p95_ms": round(pct(lat, 0.95), 1) if lat else None,
            "max_ms": round(max(lat), 1) if lat else None, "source": stats and stats["source"]}


def storm(workdir, rate, seconds):
    w = Watch(workdir, [])
    cpu0, t0 = cpu_seconds(w.proc.pid), time.monotonic()
    bad, benign, i = [], [], 0
    period = 1.0 / rate
    next_at = time.monotonic()
    end = next_at + seconds
    while time.monotonic() < end:
        i += 1
        if i % 50 == 0:
            bad.append(victim(300)[0])
        else:
            benign.append(subprocess.Popen(["/bin/true"]))
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if len(benign) > 200:
            benign = [p for p in benign if p.poll() is None]
    achieved = i / (time.monotonic() - t0)
    time.sleep(3)
    cpu = cpu_seconds(w.proc.pid) - cpu0
    wall = time.monotonic() - t0
    stats = w.stop()
    for p in bad + benign:
        p.wait()
    missed = [p.pid for p in bad if p.pid not in w.alerts]
    return {"mode": "storm", "rate_asked": rate, "rate_achieved": round(achieved, 1), "seconds": seconds,
            "malicious": len(bad), "malicious_missed": len(missed), "events_lost": stats["events_lost"],
            "resyncs": stats["resyncs"], "scans": stats["processes_scanned"],
            "exited_before_scan": stats["exited_before_scan"], "watcher_cpu_pct_of_core": round(100 * cpu / wall, 1),
            "source": stats["source"]}


def idle(workdir, count, seconds):
    procs = []
    for k in range(count):
        cmd = [["sleep", "3600"], ["cat"], ["sh", "-c", "read x"]][k % 3]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL))
    w = Watch(workdir, ["--rescan", "60s"])
    time.sleep(15)
    cpu0, t0 = cpu_seconds(w.proc.pid), time.monotonic()
    time.sleep(seconds)
    cpu = cpu_seconds(w.proc.pid) - cpu0
    wall = time.monotonic() - t0
    stats = w.stop()
    for p in procs:
        p.kill()
        p.wait()
    return {"mode": "idle", "processes": count, "seconds": seconds, "rescan": "60s",
            "options": os.environ.get("MS_WATCH_ARGS", ""),
            "watcher_cpu_pct_of_core": round(100 * cpu / wall, 2), "rescans": stats["scans"]["rescan"],
            "scan_cpu_ms": stats["scan_cpu_ms"], "source": stats["source"]}


def main():
    workdir = os.environ.get("MS_WORK", "/tmp")
    mode = sys.argv[1]
    if mode == "latency":
        r = latency(workdir, int(sys.argv[2]))
    elif mode == "storm":
        r = storm(workdir, int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "idle":
        r = idle(workdir, int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit("usage: watch_bench.py latency N | storm RATE SECONDS | idle COUNT SECONDS")
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
