# Loopback servers for the benchmarks and packaging/make-classlist.sh. Sourced; needs $repo, $work,
# $java and a pids array (killed by the caller's clean-up).
#   free_port: an unused TCP port on 127.0.0.1;  wait_port PORT: until something listens there.
#   kafka_setup: a single-node KRaft Kafka broker's configuration and storage, from the server
#   artifacts on the Maven test class path (mvn package fills ~/.m2); sets kport.
#   kafka_start, kafka_stop: run it and stop it.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; return 1; }

kafka_setup() {
  cp_file=$work/cp.txt
  (cd "$repo" && mvn -B -ntp -q -o dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test \
    -Dnative.skip=true > /dev/null)
  kcp=$(cat "$cp_file")
  kport=$(free_port); cport=$(free_port)
  mkdir -p "$work/kafka"
  cat > "$work/kafka/server.properties" <<P
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$kport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$kport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/kafka/logs
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
P
  kjava=("$java" -Xmx768m -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$kcp")
  cluster=$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  "${kjava[@]}" kafka.tools.StorageTool format -t "$cluster" \
    -c "$work/kafka/server.properties" > "$work/kafka/format.log" 2>&1
}
kafka_start() {
  "${kjava[@]}" kafka.Kafka "$work/kafka/server.properties" >> "$work/kafka/broker.log" 2>&1 &
  k_pid=$!; pids+=($k_pid)
  wait_port "$kport"
}
kafka_stop() { kill "$k_pid"; wait "$k_pid" 2>/dev/null || true; }
