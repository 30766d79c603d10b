#!/usr/bin/env bash
# Sink benchmark (issue 13), on loopback only, with servers this script starts and stops:
# rsyslogd (private configuration: imtcp, imtcp/TLS with a CA made here, omfile) and a
# single-node KRaft Kafka broker (the server artifacts from the Maven test class path).
#   1. alerts/s through each sink (file, syslog+tcp, syslog+tls, kafka): N alerts (default 20000)
#      written by bench/SinkBench.java, timed until the sink has taken all of them;
#   2. delivery time of 10,000 alerts queued in the spool during an outage, once the server is back;
#   3. scan --all inside `unshare --pid --fork --mount-proc` (victims and sleepers this script
#      starts), REPEAT times each (default 5), alternating: --out FILE against --sink file:,
#      syslog+tcp and kafka; median wall time and the ratio to --out.
#   4. a Kafka producer's start-up step by step on one thread (bench/KafkaStartup.java), in a fresh
#      JVM, REPEAT times plain and REPEAT times with a dynamic class-data archive of that program:
#      where the time a Kafka sink adds goes (classes and initializers, MBean server, round trips).
#   bench/sink_bench.sh [path/to/orchestrator.jar]      (as root; after mvn package, which fills ~/.m2)
#   PARTS=3 bench/sink_bench.sh: only part 3 (PARTS is any of 1, 2, 3, 4; default all)
#   BASE_JAR=old.jar: part 3 also runs that jar with the Kafka sink, in the same rounds
#   CDS=1: every java of part 3 uses a class-data archive dumped here from packaging/memsentry.classlist,
#          as the installed launcher does (the archive postinst makes); with BASE_JAR, one for each jar
#   EXTRA_JAVA_OPTS: added to every java of part 3 (e.g. -XX:TieredStopAtLevel=1, to try a launcher option)
#   PYTHONS=N: part 3's namespace also holds N idle python3 processes (default 0), for a larger
#          scan: a sink's cost is mostly fixed per run, so its share falls as the scan grows
#   HEAPS=K HEAP_MIB=M RULES=FILE: part 3's namespace also holds K victims with M MiB of touched heap
#          each (default 0 and 256), and every scan runs the YARA rules in FILE over them (default: no
#          rules): a scan of a host with real memory in use, seconds long, where a sink's fixed cost
#          is a smaller share
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jar=${1:-$repo/target/orchestrator.jar}
N=${N:-20000}
REPEAT=${REPEAT:-5}
PARTS=${PARTS:-1234}
[[ $(id -u) == 0 ]] || { echo "run as root (PID namespaces)"; exit 2; }
[[ -f $jar ]] || { echo "no $jar: run mvn package first"; exit 2; }
work=$(mktemp -d /tmp/memsentry-sinkbench.XXXXXX)
java=${JAVA:-java}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$repo/bench/servers.sh"

# --- rsyslog -------------------------------------------------------------------------------
mkdir -p "$work/rs/work"
( cd "$work/rs"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
  echo "subjectAltName=IP:127.0.0.1" > ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext 2>/dev/null )
tcp=$(free_port); tls=$(free_port)
cat > "$work/rs/rsyslog.conf" <<C
global(workDirectory="$work/rs/work" maxMessageSize="256k"
  DefaultNetstreamDriverCAFile="$work/rs/ca.pem" DefaultNetstreamDriverCertFile="$work/rs/server.pem"
  DefaultNetstreamDriverKeyFile="$work/rs/server.key")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$tcp")
input(type="imtcp" address="127.0.0.1" port="$tls" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" file="$work/rs/received.log" template="raw")
C
rsyslog_start() {
  /usr/sbin/rsyslogd -n -f "$work/rs/rsyslog.conf" -i "$work/rs/pid" >> "$work/rs/log" 2>&1 &
  rs_pid=$!; pids+=($rs_pid)
  wait_port "$tcp"; wait_port "$tls"
}
rsyslog_stop() { kill "$rs_pid"; wait "$rs_pid" 2>/dev/null || true; }
rsyslog_start

# --- Kafka ---------------------------------------------------------------------------------
kafka_setup
kafka_start

bench=("$java" -Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn -Dorg.slf4j.simpleLogger.showThreadName=false \
  -cp "$jar" "$repo/bench/SinkBench.java")
echo "# machine: $(nproc) cpus, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "# jar: $(stat -c %s "$jar") bytes"

if [[ $PARTS == *1* ]]; then
echo "## 1. alerts per second through each sink ($N alerts, after a 2,000-alert warm-up)"
"${bench[@]}" rate "file:$work/bench.json?max_size=0" "$N"
"${bench[@]}" rate "syslog+tcp://127.0.0.1:$tcp" "$N"
"${bench[@]}" rate "syslog+tls://127.0.0.1:$tls?ca=$work/rs/ca.pem" "$N"
"${bench[@]}" rate "kafka://127.0.0.1:$kport/bench" "$N"

fi
if [[ $PARTS == *2* ]]; then
echo "## 2. 10,000 alerts queued during an outage, then delivered"
rsyslog_stop
"${bench[@]}" queue "syslog+tcp://127.0.0.1:$tcp" "$work/spool" 10000
rsyslog_start
"${bench[@]}" replay "syslog+tcp://127.0.0.1:$tcp" "$work/spool"
kafka_stop
"${bench[@]}" queue "kafka://127.0.0.1:$kport/outage" "$work/spool" 10000
kafka_start
"${bench[@]}" replay "kafka://127.0.0.1:$kport/outage" "$work/spool"

fi
if [[ $PARTS == *3* ]]; then
echo "## 3. scan --all (fresh PID namespace), $REPEAT runs per mode, alternating"
ms_java_opts=""
base_java_opts=""
if [[ ${CDS:-0} == 1 ]]; then
  # One archive per jar (an archive is only used with the jar it was dumped for).
  "$java" -Xshare:dump -XX:SharedClassListFile="$repo/packaging/memsentry.classlist" \
    -XX:SharedArchiveFile="$work/memsentry.jsa" -Xlog:cds=off -cp "$jar" > /dev/null
  ms_java_opts="-XX:SharedArchiveFile=$work/memsentry.jsa -Xshare:auto -Xlog:cds=off"
  echo "# with the installation's class-data archive ($(stat -c %s "$work/memsentry.jsa") bytes)"
  if [[ -n ${BASE_JAR:-} ]]; then
    "$java" -Xshare:dump -XX:SharedClassListFile="$repo/packaging/memsentry.classlist" \
      -XX:SharedArchiveFile="$work/base.jsa" -Xlog:cds=off -cp "$BASE_JAR" > /dev/null
    base_java_opts="-XX:SharedArchiveFile=$work/base.jsa -Xshare:auto -Xlog:cds=off"
  fi
fi
ms_java_opts="$ms_java_opts ${EXTRA_JAVA_OPTS:-}"
base_java_opts="$base_java_opts ${EXTRA_JAVA_OPTS:-}"
[[ -z ${EXTRA_JAVA_OPTS:-} ]] || echo "# every java with $EXTRA_JAVA_OPTS"
export MS_JAR=$jar MS_BASE_JAR=${BASE_JAR:-} MS_JAVA_OPTS=$ms_java_opts MS_BASE_JAVA_OPTS=$base_java_opts MS_VICTIMS=$repo/target/native-build/victims MS_REPEAT=$REPEAT MS_WORK=$work \
  MS_PYTHONS=${PYTHONS:-0} MS_HEAPS=${HEAPS:-0} MS_HEAP_MIB=${HEAP_MIB:-256} MS_RULES=${RULES:+$(realpath "$RULES")} \
  MS_TCP=$tcp MS_KAFKA=127.0.0.1:$kport
unshare --pid --fork --mount-proc bash "$repo/bench/sink_bench_scan.sh"
fi
if [[ $PARTS == *4* ]]; then
echo "## 4. a Kafka producer's start-up, step by step on one thread (ms), $REPEAT fresh JVMs each"
mkdir -p "$work/ks"
javac -nowarn -d "$work/ks" -cp "$jar" "$repo/bench/KafkaStartup.java" 2>/dev/null
(cd "$work/ks" && jar cf ../ks.jar .)
ks=("$java" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$jar:$work/ks.jar")
"${ks[@]}" -XX:ArchiveClassesAtExit="$work/ks.jsa" -Xlog:cds=off KafkaStartup "127.0.0.1:$kport" startup > /dev/null 2>&1
for i in $(seq "$REPEAT"); do echo "plain   $("${ks[@]}" KafkaStartup "127.0.0.1:$kport" startup 2>/dev/null)"; done
for i in $(seq "$REPEAT"); do
  echo "archive $("${ks[@]}" -XX:SharedArchiveFile="$work/ks.jsa" -Xlog:cds=off KafkaStartup "127.0.0.1:$kport" startup 2>/dev/null)"
done
fi
