#!/usr/bin/env bash
# Runs as PID 1 of the namespace scan_all.sh made: everything started here dies with it.
set -uo pipefail
work=$(mktemp -d /tmp/memsentry-bench.XXXXXX)
chmod 755 "$work"
java17=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
java25=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
cat > "$work/Sleeper.java" <<'J'
public class Sleeper {
    public static void main(String[] a) throws Exception {
        long s = 0;
        for (int i = 0; i < 50_000_000; i++) { s += i % 7; }
        System.out.println("up " + s);
        Thread.sleep(3_600_000);
    }
}
J
cat > "$work/warm.js" <<'J'
let s = 0; for (let i = 0; i < 3e7; i++) s += i % 7; console.log("up", s);
setTimeout(() => {}, 3600000);
J

sleep 3600 & sleep 3600 &
bash -c 'sleep 3600; true' &
perl -e 'sleep 3600' &
python3 -c 'import time; time.sleep(3600)' &
node "$work/warm.js" > "$work/node.out" &
$java17 "$work/Sleeper.java" > "$work/j17.out" &
jvm17=$!
[[ -x $java25 ]] && $java25 "$work/Sleeper.java" > "$work/j25.out" &
dbus-daemon --session --nofork --address="unix:path=$work/bus" > /dev/null 2>&1 &
sleep 3600 & strace -o /dev/null -p $! 2>/dev/null &
sleep 3600 & gdb -q -p $! -batch -ex 'shell sleep 3600' > /dev/null 2>&1 &
if command -v initdb > /dev/null; then
  mkdir "$work/pg" && chown nobody "$work/pg"
  setpriv --reuid=nobody --regid=nogroup --clear-groups initdb -D "$work/pg/data" > /dev/null 2>&1 &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups pg_ctl -D "$work/pg/data" -o "-k $work/pg -p 54329" \
      -l "$work/pg/log" start > /dev/null 2>&1
fi
for f in node.out j17.out; do
  until grep -q up "$work/$f" 2>/dev/null; do sleep 0.2; done
done
[[ -x $java25 ]] && until grep -q up "$work/j25.out" 2>/dev/null; do sleep 0.2; done
sleep 1

echo "processes in the namespace: $(ls /proc | grep -c '^[0-9]'):" $(ps -eo comm= | sort | uniq -c | awk '{print $2 "x" $1}')
for threads in 1 2; do
  for run in $(seq "$MS_BENCH_REPEAT"); do
    out="$work/scan-$threads-$run.json"
    /usr/bin/time -f "%M" -o "$work/rss" java -jar "$MS_BENCH_JAR" scan --all --json --no-progress -j "$threads" > "$out" 2> "$work/err"
    code=$?
    python3 - "$out" "$threads" "$run" "$code" "$(cat "$work/rss" | tail -1)" <<'P'
import json, sys
out, threads, run, code, rss = sys.argv[1:]
alerts, summary = [], None
for line in open(out):
    d = json.loads(line)
    if d["event"]["kind"] == "alert":
        alerts.append(d)
    elif d["event"].get("action") == "scan-summary":
        summary = d["memsentry"]["summary"]
f = summary["findings"]
print(f"threads={threads} run={run} exit={code} processes={summary['processes_scanned']} "
      f"skipped={summary['processes_skipped']} elapsed_ms={summary['elapsed_ms']} "
      f"median_process_ms={summary['median_process_ms']} regions={summary['regions']} "
      f"findings(c/h/m/l)={f['critical']}/{f['high']}/{f['medium']}/{f['low']} max_rss_kb={rss}")
if run == "1" and threads == "1":
    for a in alerts:
        print(f"  {a['memsentry']['severity']:8} {a['rule']['id']:24} {a['process']['name']:12} "
              f"{a['memsentry'].get('details', {}).get('jit_runtime', '-')}")
P
  done
done

cat > "$work/all.yaml" <<'Y'
scan: {compare_all_pages: true}
Y
for mode in private all; do
  cfg=(); [[ $mode == all ]] && cfg=(--config "$work/all.yaml")
  for run in $(seq "$MS_BENCH_REPEAT"); do
    java -jar "$MS_BENCH_JAR" scan --pid "$jvm17" --json --no-progress "${cfg[@]}" 2>/dev/null | tail -1 |
      python3 -c "import json,sys; s=json.load(sys.stdin)['memsentry']['summary']; print('jvm code comparison: pages=$mode', 'process_ms=%d' % s['median_process_ms'], 'bytes_compared=%d' % s['bytes_compared'])"
  done
done
[[ -d $work/pg/data ]] && setpriv --reuid=nobody --regid=nogroup --clear-groups pg_ctl -D "$work/pg/data" stop -m fast > /dev/null 2>&1
rm -rf "$work"
