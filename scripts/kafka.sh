#!/usr/bin/env bash
# Real Apache Kafka brokers (KRaft, no ZooKeeper) for tests, run from jars fetched via Maven.
#
# Usage:
#   scripts/kafka.sh start  [--cluster]        start the single node (default) or the 3-node cluster
#   scripts/kafka.sh stop   [--cluster|--all]  graceful stop (SIGTERM, SIGKILL after 30 s)
#   scripts/kafka.sh status [--cluster|--all]  exit 0 if every node asked about runs, 3 otherwise
#   scripts/kafka.sh reset  [--cluster|--all]  stop, then delete data and logs (keeps the jars)
#   scripts/kafka.sh classpath                 fetch the jars if needed, print the Java classpath
#   scripts/kafka.sh tool <MainClass> [args]   run a Kafka Java tool with quiet logging, e.g.
#       scripts/kafka.sh tool org.apache.kafka.tools.TopicCommand \
#           --bootstrap-server 127.0.0.1:9092 --create --topic t --partitions 3
#
# Single node: combined broker+controller, node id 1, broker 127.0.0.1:9092,
#   controller 127.0.0.1:9093; internal topics with replication factor 1.
#   It also has a SASL_PLAINTEXT listener on 127.0.0.1:9094 (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
#   OAUTHBEARER with unsecured JWTs; users and settings: scripts/kafka/sasl.properties). SCRAM
#   users are created with --add-scram when the storage is formatted, and with ConfigCommand
#   through 127.0.0.1:9092 after a start when the data dir predates them (marker data/single/.scram-users).
# Cluster: nodes 1..3, each a combined broker+controller of one KRaft quorum; brokers on
#   127.0.0.1:19092-19094, controllers on 127.0.0.1:19192-19194; internal topics RF 3, min ISR 2.
# Both can run at the same time. Classic, consumer (KIP-848) and share groups work on both.
#
# Layout under $TRIBUTARY_KAFKA_HOME (default <repo>/.kafka, git-ignored):
#   lib/       Kafka jars (fetched by `mvn dependency:copy-dependencies`, see scripts/kafka/pom.xml,
#              which pins the Kafka version)
#   config/    generated server.properties per node (shared settings: scripts/kafka/broker.properties)
#   data/      data/single/, data/cluster/node-N/
#   logs/      single.log, cluster-N.log (the previous run's log is kept as *.log.1)
#   run/       pid files and lock files
#
# Environment:
#   KAFKA_PORT              single node's broker port (default 9092)
#   KAFKA_CONTROLLER_PORT   single node's controller port (default KAFKA_PORT + 1)
#   KAFKA_SASL_PORT         single node's SASL_PLAINTEXT port (default KAFKA_PORT + 2)
#   TRIBUTARY_KAFKA_HOME    where lib/, data/, logs/ live (default <repo>/.kafka)
#   KAFKA_START_TIMEOUT     seconds to wait for startup before giving up (default 90)
#   KAFKA_TOOL_OPTS         JVM options for `tool` (default -Xmx512m)
#   KAFKA_BROKER_OPTS       extra JVM options for the brokers (appended; e.g. to enable JMX)
#   KAFKA_EXTRA_LISTENERS   extra listeners of the single node, comma-separated NAME:PROTOCOL://HOST:PORT
#                           (e.g. TLS:SSL://127.0.0.1:19595); added to listeners, advertised.listeners
#                           and listener.security.protocol.map. For brokers of a test's own (with
#                           TRIBUTARY_KAFKA_HOME and KAFKA_PORT); the cluster ignores it.
#   KAFKA_EXTRA_CONFIG      a properties file appended to the single node's generated config (later
#                           keys win), e.g. the extra listeners' listener.name.<name>.ssl.* settings
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
HARNESS_DIR=$SCRIPT_DIR/kafka
POM=$HARNESS_DIR/pom.xml

KAFKA_HOME_DIR=$(mkdir -p "${TRIBUTARY_KAFKA_HOME:-$ROOT/.kafka}" && cd "${TRIBUTARY_KAFKA_HOME:-$ROOT/.kafka}" && pwd)
LIB_DIR=$KAFKA_HOME_DIR/lib
CONFIG_DIR=$KAFKA_HOME_DIR/config
DATA_DIR=$KAFKA_HOME_DIR/data
LOG_DIR=$KAFKA_HOME_DIR/logs
RUN_DIR=$KAFKA_HOME_DIR/run

SINGLE_PORT=${KAFKA_PORT:-9092}
SINGLE_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((SINGLE_PORT + 1))}
SINGLE_SASL_PORT=${KAFKA_SASL_PORT:-$((SINGLE_PORT + 2))}
# SCRAM-SHA-256 and SCRAM-SHA-512 credentials of the single node's SASL listener (name:password).
SCRAM_USERS=(alice:alice-secret bob:bob-secret)
SCRAM_MECHANISMS=(SCRAM-SHA-256 SCRAM-SHA-512)
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=30
# The line KafkaRaftServer logs once the broker is unfenced and serving; in a combined node that
# also means the controller quorum has a leader (the broker cannot catch up on metadata without one).
STARTED_PATTERN='Kafka Server started'

say() { printf '%s\n' "$*" >&2; }
die() { say "kafka.sh: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Jars
# ---------------------------------------------------------------------------------------------

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM"
}

# The marker holds a hash of the pom: a complete fetch of the current pom, not just any lib/.
jars_fingerprint() {
  sha256sum "$POM" | cut -d' ' -f1
}

jars_ready() {
  [[ -f $LIB_DIR/.fetched && "$(cat "$LIB_DIR/.fetched")" == "$(jars_fingerprint)" ]]
}

# Fetch into a temp dir and rename it into place, so that lib/ is either absent, the previous
# complete fetch, or the new complete fetch; an interrupted mvn never leaves a half-filled lib/.
ensure_jars() {
  jars_ready && return 0
  command -v mvn >/dev/null || die "Kafka jars are missing from $LIB_DIR and mvn is not installed"
  mkdir -p "$RUN_DIR"
  local lock
  exec {lock}>"$RUN_DIR/fetch.lock"
  flock "$lock"
  if ! jars_ready; then  # another invocation may have fetched while we waited for the lock
    local tmp=$KAFKA_HOME_DIR/lib.tmp.$$ fetch_log=$KAFKA_HOME_DIR/fetch.log
    rm -rf "$KAFKA_HOME_DIR"/lib.tmp.*  # left by an interrupted fetch
    say "Fetching Apache Kafka $(kafka_version) jars into $LIB_DIR (Maven)..."
    if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
         -DoutputDirectory="$tmp" -DincludeScope=runtime >"$fetch_log" 2>&1; then
      tail -n 30 "$fetch_log" >&2
      rm -rf "$tmp"
      die "fetching the Kafka jars failed (full output: $fetch_log)"
    fi
    jars_fingerprint >"$tmp/.fetched"
    rm -rf "$LIB_DIR.old"
    [[ -d $LIB_DIR ]] && mv "$LIB_DIR" "$LIB_DIR.old"
    mv "$tmp" "$LIB_DIR"
    rm -rf "$LIB_DIR.old"
  fi
  exec {lock}>&-
}

classpath() {
  printf '%s\n' "$LIB_DIR/*"
}

# ---------------------------------------------------------------------------------------------
# Nodes. A node is named "single" or "cluster-N"; everything else is derived from the name.
# ---------------------------------------------------------------------------------------------

nodes_of_mode() {  # mode: single | cluster
  case $1 in
    single) echo single ;;
    cluster) echo cluster-1 cluster-2 cluster-3 ;;
  esac
}

node_id() { [[ $1 == single ]] && echo 1 || echo "${1#cluster-}"; }

broker_port() {
  [[ $1 == single ]] && echo "$SINGLE_PORT" || echo $((19091 + $(node_id "$1")))
}

controller_port() {
  [[ $1 == single ]] && echo "$SINGLE_CONTROLLER_PORT" || echo $((19191 + $(node_id "$1")))
}

node_data_dir() {
  [[ $1 == single ]] && echo "$DATA_DIR/single" || echo "$DATA_DIR/cluster/node-$(node_id "$1")"
}

node_config() { echo "$CONFIG_DIR/$1.properties"; }
node_log() { echo "$LOG_DIR/$1.log"; }
node_pid_file() { echo "$RUN_DIR/$1.pid"; }

extra_listener_ports() {
  local entry list=${KAFKA_EXTRA_LISTENERS:-}
  for entry in ${list//,/ }; do echo "${entry##*:}"; done
}

port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Prints the node's pid if it is running. The command line must name the node's config file, so a
# stale pid file whose pid was reused by an unrelated process (or a zombie) never counts.
node_pid() {
  local pid_file pid
  pid_file=$(node_pid_file "$1")
  [[ -f $pid_file ]] || return 1
  pid=$(cat "$pid_file")
  if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$(node_config "$1")"; then
    echo "$pid"
  else
    rm -f "$pid_file"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Configuration and storage formatting
# ---------------------------------------------------------------------------------------------

# Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding. Kafka's own
# generator also avoids a leading '-', which command-line parsers would take for an option.
random_kafka_uuid() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* ]] && { echo "$id"; return; }
  done
}

quorum_bootstrap_servers() {  # mode
  local node servers=()
  for node in $(nodes_of_mode "$1"); do servers+=("127.0.0.1:$(controller_port "$node")"); done
  (IFS=,; echo "${servers[*]}")
}

# Regenerated on every start so that it always matches this script and broker.properties.
write_config() {  # node mode
  local node=$1 mode=$2 rf=1 min_isr=1
  [[ $mode == cluster ]] && { rf=3; min_isr=2; }
  # Computed up front: a failing $(...) inside the here-document below would go unnoticed.
  local id bport cport quorum data
  id=$(node_id "$node")
  bport=$(broker_port "$node")
  cport=$(controller_port "$node")
  quorum=$(quorum_bootstrap_servers "$mode")
  data=$(node_data_dir "$node")
  # The single node also has the SASL listener (scripts/kafka/sasl.properties).
  local sasl_listener=""
  [[ $node == single ]] && sasl_listener=",SASL://127.0.0.1:$SINGLE_SASL_PORT"
  # KAFKA_EXTRA_LISTENERS (single node only): NAME:PROTOCOL://HOST:PORT, comma-separated.
  local extra_listeners="" protocol_map entry
  protocol_map=$(sed -n 's/^listener\.security\.protocol\.map=//p' "$HARNESS_DIR/broker.properties" | tail -n 1)
  if [[ $node == single && -n ${KAFKA_EXTRA_LISTENERS:-} ]]; then
    for entry in ${KAFKA_EXTRA_LISTENERS//,/ }; do
      [[ $entry =~ ^([A-Za-z_][A-Za-z0-9_]*):([A-Z_]+)://(.+)$ ]] \
        || die "KAFKA_EXTRA_LISTENERS: '$entry' is not NAME:PROTOCOL://HOST:PORT"
      extra_listeners+=",${BASH_REMATCH[1]}://${BASH_REMATCH[3]}"
      protocol_map+=",${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
    done
  fi
  [[ $node == single && -n ${KAFKA_EXTRA_CONFIG:-} && ! -r ${KAFKA_EXTRA_CONFIG:-} ]] \
    && die "KAFKA_EXTRA_CONFIG: cannot read $KAFKA_EXTRA_CONFIG"
  mkdir -p "$CONFIG_DIR"
  {
    cat "$HARNESS_DIR/broker.properties"
    if [[ $node == single ]]; then
      printf '\n'
      cat "$HARNESS_DIR/sasl.properties"
    fi
    cat <<EOF

# ---- generated by scripts/kafka.sh for node "$node" ----
node.id=$id
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport$sasl_listener$extra_listeners
advertised.listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport$sasl_listener$extra_listeners
controller.quorum.bootstrap.servers=$quorum
log.dirs=$data
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
default.replication.factor=$rf
EOF
    [[ -z $extra_listeners ]] || printf 'listener.security.protocol.map=%s\n' "$protocol_map"
    if [[ $node == single && -n ${KAFKA_EXTRA_CONFIG:-} ]]; then
      printf '\n# ---- appended from KAFKA_EXTRA_CONFIG (%s) ----\n' "$KAFKA_EXTRA_CONFIG"
      cat "$KAFKA_EXTRA_CONFIG"
    fi
  } >"$(node_config "$node")"
}

# A short-lived JVM: the C1 JIT alone gets it done sooner and leaves the CPU to the others.
storage_tool() {
  java -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$HARNESS_DIR/log4j2-tools.xml" \
    -cp "$(classpath)" kafka.tools.StorageTool "$@"
}

# Formats the mode's storage once. The marker is written only after every node is formatted; if it
# is missing, whatever is there is an interrupted format and is wiped first.
# The quorum is dynamic (KIP-853, kraft.version=1), as Kafka 4 sets up by default: the single node
# bootstraps itself with --standalone; cluster nodes share --initial-controllers, which fixes each
# controller's metadata directory id up front so all three agree on the voter set.
ensure_formatted() {  # mode
  local mode=$1 root=$DATA_DIR/$1 node
  [[ -f $root/.formatted ]] && return 0
  rm -rf "$root"
  mkdir -p "$root"
  local cluster_id features=(--feature share.version=1)
  cluster_id=$(random_kafka_uuid)
  say "Formatting $mode storage (cluster id $cluster_id)..."
  if [[ $mode == single ]]; then
    local scram=() user mech
    for user in "${SCRAM_USERS[@]}"; do
      for mech in "${SCRAM_MECHANISMS[@]}"; do
        scram+=(--add-scram "$mech=[name=${user%%:*},password=${user#*:}]")
      done
    done
    storage_tool format --config "$(node_config single)" --cluster-id "$cluster_id" \
      --standalone "${features[@]}" "${scram[@]}" >"$root/format.out" 2>&1 \
      || { cat "$root/format.out" >&2; die "formatting $root failed"; }
    scram_fingerprint >"$root/.scram-users"
  else
    local voters=() pids=() i=0
    for node in $(nodes_of_mode cluster); do
      voters+=("$(node_id "$node")@127.0.0.1:$(controller_port "$node"):$(random_kafka_uuid)")
    done
    # Three JVM starts; run them side by side.
    for node in $(nodes_of_mode cluster); do
      storage_tool format --config "$(node_config "$node")" --cluster-id "$cluster_id" \
        --initial-controllers "$(IFS=,; echo "${voters[*]}")" "${features[@]}" \
        >"$root/format-$node.out" 2>&1 &
      pids+=($!)
    done
    for node in $(nodes_of_mode cluster); do
      wait "${pids[i++]}" || { cat "$root/format-$node.out" >&2; die "formatting $node failed"; }
    done
  fi
  echo "$cluster_id" >"$root/.formatted"
}

# SCRAM users of the single node. New storage gets them at format time (--add-scram, above). Data
# dirs formatted before the SASL listener existed lack them: once such a node runs, they are added
# through the PLAINTEXT listener with ConfigCommand (AlterUserScramCredentials; setting a password
# again is harmless, so this is idempotent) and the marker is written, so later starts skip the JVMs.
# (kafka.admin.ConfigCommand: in 4.1 it is still the Scala tool in the core jar.)
scram_fingerprint() {
  printf '%s\n' "${SCRAM_USERS[@]}" "${SCRAM_MECHANISMS[@]}" | sha256sum | cut -d' ' -f1
}

ensure_scram_users() {
  local marker=$DATA_DIR/single/.scram-users
  [[ -f $marker && "$(cat "$marker")" == "$(scram_fingerprint)" ]] && return 0
  say "Adding SCRAM users to the single node..."
  # One (user, mechanism) per call: the controller refuses to alter one user twice in a request.
  local user mech pids=() what=() out=$DATA_DIR/single/scram-users.out i=0 failed=0
  : >"$out"
  for user in "${SCRAM_USERS[@]}"; do
    for mech in "${SCRAM_MECHANISMS[@]}"; do
      java -XX:TieredStopAtLevel=1 -Xmx256m -Dlog4j2.configurationFile="$HARNESS_DIR/log4j2-tools.xml" \
        -cp "$(classpath)" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$SINGLE_PORT" \
        --alter --entity-type users --entity-name "${user%%:*}" --add-config "$mech=[password=${user#*:}]" \
        >>"$out" 2>&1 &
      pids+=($!)
      what+=("$mech ${user%%:*}")
    done
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    wait "${pids[i]}" || { say "kafka.sh: adding SCRAM user ${what[i]} failed"; failed=1; }
  done
  # Not fatal: the PLAINTEXT listener works without them; the next start tries again.
  if ((failed)); then
    cat "$out" >&2
    say "kafka.sh: warning: SCRAM logins on 127.0.0.1:$SINGLE_SASL_PORT will fail until a start succeeds in adding the users"
    return 0
  fi
  scram_fingerprint >"$marker"
}

# ---------------------------------------------------------------------------------------------
# Start / stop
# ---------------------------------------------------------------------------------------------

broker_java_opts() {  # mode; sets BROKER_OPTS
  if [[ $1 == cluster ]]; then
    # Three JVMs warming up on a small machine spend most of their startup in the C2 JIT;
    # C1 only roughly halves the cluster's start time (14 s -> 7 s on 2 cores). The cluster is
    # for replication/failover tests, not throughput. Override: KAFKA_BROKER_OPTS=-XX:TieredStopAtLevel=4
    BROKER_OPTS=(-Xmx512m -Xms128m -XX:TieredStopAtLevel=1)
  else
    # Kafka's documented production heap settings, scaled down: 16 MiB G1 regions, so that Produce
    # requests under 8 MiB are not "humongous" allocations, and a fixed 2 GiB heap. With 1 GiB and
    # 1 MiB regions the log cleaner's 128 MiB buffer and every Produce request of 512 KiB or more
    # kept G1's concurrent marking going: its threads took 270-490 ms of CPU per 100k x 1 KiB lz4
    # produce run, the request threads ~250 (bench/RESULTS.md, eighth session).
    BROKER_OPTS=(-Xmx2g -Xms2g -XX:G1HeapRegionSize=16M)
  fi
  # GC settings are the ones Kafka's own start scripts use.
  BROKER_OPTS+=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-XX:ErrorFile=$LOG_DIR/hs_err_%p.log"
    "-Dlog4j2.configurationFile=$HARNESS_DIR/log4j2-broker.xml")
  local extra
  read -r -a extra <<<"${KAFKA_BROKER_OPTS:-}"
  BROKER_OPTS+=("${extra[@]}")
}

# Starts the node fully detached: own session (no terminal signals), stdin from /dev/null,
# stdout/stderr into its log file, and every other inherited descriptor closed. A caller that
# waits for its pipes to close (CI, Node's child_process) therefore returns as soon as this
# script exits, and the broker does not keep our lock files locked.
launch_node() {  # node mode
  local node=$1 mode=$2 log pid_file
  log=$(node_log "$node")
  pid_file=$(node_pid_file "$node")
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  [[ -f $log ]] && mv -f "$log" "$log.1"
  rm -f "$pid_file"
  broker_java_opts "$mode"
  (
    cd "$KAFKA_HOME_DIR"
    # shellcheck disable=SC2016  # the inner script expands $$ and "$@" itself
    exec setsid bash -c '
      for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)) && [[ -e /proc/$$/fd/$fd ]]; then eval "exec $fd>&-"; fi
      done
      echo $$ >"$0"
      exec "$@"' "$pid_file" java "${BROKER_OPTS[@]}" -cp "$(classpath)" kafka.Kafka "$(node_config "$node")" \
      </dev/null >"$log" 2>&1
  ) &
  local deadline=$((SECONDS + 10))
  until [[ -s $pid_file ]]; do
    ((SECONDS < deadline)) || die "$node did not start (see $log)"
    sleep 0.05
  done
}

node_started() {  # node
  port_open "$(broker_port "$1")" && grep -qF "$STARTED_PATTERN" "$(node_log "$1")" 2>/dev/null
}

show_log_tail() {  # node
  say "---- last lines of $(node_log "$1") ----"
  tail -n 40 "$(node_log "$1")" >&2 2>/dev/null || true
}

# Waits for freshly launched nodes to accept connections and log that they started. Fails early
# when a node's JVM exits; on timeout or failure they are stopped so nothing half-started lingers.
wait_started() {  # nodes...
  local deadline=$((SECONDS + START_TIMEOUT)) node pending
  while :; do
    pending=()
    for node in "$@"; do
      if ! node_pid "$node" >/dev/null; then
        show_log_tail "$node"
        stop_nodes "$@"
        die "$node exited during startup"
      fi
      node_started "$node" || pending+=("$node")
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      for node in "${pending[@]}"; do show_log_tail "$node"; done
      stop_nodes "$@"
      die "timed out after ${START_TIMEOUT}s waiting for: ${pending[*]}"
    fi
    sleep 0.2
  done
}

lock_mode() {  # mode; held until this script exits
  mkdir -p "$RUN_DIR"
  exec {MODE_LOCK}>"$RUN_DIR/$1.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) "$MODE_LOCK" || die "another kafka.sh holds $RUN_DIR/$1.lock"
}

start_mode() {  # mode
  local mode=$1 node to_start=() port
  command -v java >/dev/null || die "java is not installed"
  ensure_jars
  lock_mode "$mode"
  for node in $(nodes_of_mode "$mode"); do
    if node_pid "$node" >/dev/null; then continue; fi
    port=$(broker_port "$node")
    port_open "$port" && die "127.0.0.1:$port is in use by another process; cannot start $node"
    port=$(controller_port "$node")
    port_open "$port" && die "127.0.0.1:$port is in use by another process; cannot start $node"
    if [[ $node == single ]] && port_open "$SINGLE_SASL_PORT"; then
      die "127.0.0.1:$SINGLE_SASL_PORT is in use by another process; cannot start $node"
    fi
    if [[ $node == single ]]; then
      for port in $(extra_listener_ports); do
        port_open "$port" && die "127.0.0.1:$port (KAFKA_EXTRA_LISTENERS) is in use by another process; cannot start $node"
      done
    fi
    to_start+=("$node")
  done

  local started_at=$EPOCHREALTIME
  if ((${#to_start[@]} > 0)); then
    for node in $(nodes_of_mode "$mode"); do write_config "$node" "$mode"; done
    ensure_formatted "$mode"
    say "Starting Kafka $(kafka_version) ($mode): ${to_start[*]}..."
    for node in "${to_start[@]}"; do launch_node "$node" "$mode"; done
    wait_started "${to_start[@]}"
  fi
  # Nodes found running were started completely by an earlier call (we hold the mode lock, and a
  # start that fails stops what it launched); they only need to be reachable.
  for node in $(nodes_of_mode "$mode"); do
    port=$(broker_port "$node")
    port_open "$port" || die "$node is running but 127.0.0.1:$port is closed; stop and start it again"
  done
  if [[ $mode == single ]]; then
    ensure_scram_users
    # A node started by an older version of this script has no SASL listener until it restarts.
    port_open "$SINGLE_SASL_PORT" \
      || say "note: the SASL listener (127.0.0.1:$SINGLE_SASL_PORT) is closed; stop and start the single node to open it"
  fi
  if ((${#to_start[@]} == 0)); then
    echo "Kafka $mode already running: $(bootstrap_servers "$mode")"
  else
    echo "Kafka $mode running: $(bootstrap_servers "$mode") (started in $(elapsed_since "$started_at")s)"
  fi
}

elapsed_since() {  # $EPOCHREALTIME value; prints seconds with one decimal
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

bootstrap_servers() {  # mode
  local node servers=()
  for node in $(nodes_of_mode "$1"); do servers+=("127.0.0.1:$(broker_port "$node")"); done
  (IFS=,; echo "${servers[*]}")
}

# SIGTERM all nodes at once, wait, then SIGKILL whatever is left. A single node stops in under a
# second. A cluster takes ~6 s: the last Raft leader waits (5 s, Kafka's graceful-shutdown
# timeout) for a successor to be elected, which cannot happen once a majority is gone; stopping
# nodes one by one does not avoid that, so no order is imposed.
stop_nodes() {  # nodes...
  local node pid pids=() deadline=$((SECONDS + STOP_TIMEOUT))
  for node in "$@"; do
    if pid=$(node_pid "$node"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$node")
    fi
  done
  for node in "${pids[@]}"; do
    while node_pid "$node" >/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if pid=$(node_pid "$node"); then
      say "$node did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      local killed_at=$SECONDS
      while node_pid "$node" >/dev/null && ((SECONDS < killed_at + 10)); do sleep 0.1; done
    fi
    rm -f "$(node_pid_file "$node")"
  done
}

stop_mode() {  # mode
  local mode=$1 nodes
  lock_mode "$mode"
  nodes=$(nodes_of_mode "$mode")
  local node running=()
  for node in $nodes; do node_pid "$node" >/dev/null && running+=("$node"); done
  if ((${#running[@]} == 0)); then
    echo "Kafka $mode is not running"
    return 0
  fi
  stop_nodes "${running[@]}"
  echo "Kafka $mode stopped"
}

status_mode() {  # mode; returns 0 if every node is running
  local node pid ok=0
  for node in $(nodes_of_mode "$1"); do
    if pid=$(node_pid "$node"); then
      if port_open "$(broker_port "$node")"; then
        echo "$node (node $(node_id "$node")): running, pid $pid, 127.0.0.1:$(broker_port "$node")"
      else
        echo "$node (node $(node_id "$node")): starting or stopping, pid $pid, port $(broker_port "$node") closed"
        ok=3
      fi
    else
      echo "$node (node $(node_id "$node")): stopped"
      ok=3
    fi
  done
  return $ok
}

reset_mode() {  # mode
  local mode=$1 node
  stop_mode "$mode" >/dev/null
  rm -rf "${DATA_DIR:?}/$mode"
  for node in $(nodes_of_mode "$mode"); do
    rm -f "$(node_log "$node")" "$(node_log "$node").1" "$(node_config "$node")"
  done
  echo "Kafka $mode reset (data and logs deleted)"
}

# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-} flag=${2:-} modes mode rc=0
  case $cmd in
    start | stop | status | reset)
      (($# <= 2)) || usage
      case $flag in
        '') modes=single ;;
        --cluster) modes=cluster ;;
        --all) [[ $cmd != start ]] || usage; modes="single cluster" ;;
        *) usage ;;
      esac
      case $cmd in
        start) start_mode "$modes" ;;
        stop) for mode in $modes; do stop_mode "$mode"; done ;;
        reset) for mode in $modes; do reset_mode "$mode"; done ;;
        status)
          for mode in $modes; do status_mode "$mode" || rc=$?; done
          return $rc ;;
      esac ;;
    classpath)
      (($# == 1)) || usage
      ensure_jars
      classpath ;;
    tool)
      (($# >= 2)) || usage
      shift
      command -v java >/dev/null || die "java is not installed"
      ensure_jars
      local opts
      read -r -a opts <<<"${KAFKA_TOOL_OPTS:--Xmx512m}"
      exec java "${opts[@]}" -Dlog4j2.configurationFile="$HARNESS_DIR/log4j2-tools.xml" \
        -cp "$(classpath)" "$@" ;;
    *) usage ;;
  esac
}

main "$@"
