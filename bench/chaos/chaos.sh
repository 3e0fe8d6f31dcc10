#!/usr/bin/env bash
# Fault injection with a history checker (run as `bin/rafka chaos [options]`).
#
# Starts a cluster of 3 (or --nodes 5) with `bin/rafka cluster start`, creates a topic (RF 3), and runs SDK
# producers (idempotent ones and one without idempotence, acks=all, unique values, round-robin over the partitions)
# and a consumer group of --consumers members reading along (committing after each poll) for --duration seconds
# while a nemesis on a seeded schedule kills (kill -9, then restarts) and pauses (SIGSTOP, then SIGCONT) broker
# processes and, with network faults asked for, cuts the network between them: a quarter of the faults hit a
# partition's leader, a quarter the controller, a quarter the group's coordinator, the rest a random node. Then it
# heals everything, reads every partition back, checks the history and, once every replica has caught up, compares
# each partition's log contents byte for byte across its replicas. Prints the schedule, the checker's counts
# (`name: N`, all must be 0) and availability; exits 1 if any count is not 0. The history goes to WORK/history.tsv
# (re-check it with --check FILE). Everything it starts is stopped on exit, failure or Ctrl-C.
#
# Options (defaults in brackets):  --seed S [random]  --duration SECONDS [60]  --faults LIST [kill,pause]
#                                  --partitions P [3]  --rate R [50] (records/s per producer; 3 producers)
#                                  --consumers C [2] (members of the group reading along, besides one
#                                  reader with manual assignment; 0 for no readers)
#                                  --nodes N [3] (3 or 5 brokers)  --check FILE (only check a saved history)
# Faults: kill, pause, partition (the node cut off from both others, or the other two cut from each other while
# it still sees both), loss (a third of its incoming packets dropped), slow (its outgoing link limited to
# 256-1024 kbit/s, so what it sends queues); netem = loss,slow (this kernel has no netem qdisc: bench/chaos/netns.sh);
# corrupt (kill -9, then damage the node's files before restarting it: the tail of a partition's segment cut off or
# a bit flipped in it, or the same in its Raft log; a partition of the topic or the group's __consumer_offsets
# partition, or the metadata group's Raft log); full (the node's disk filled to the last byte, then freed: every
# node's data folder is a small tmpfs of its own, mounted by this script, root only; without root it is skipped);
# full-restart (the node killed, its disk filled, the node started on it, then the disk freed; same needs).
# Network faults run every broker in its own network namespace (root only; without it they are skipped, with a
# message, and the other faults run on 127.0.0.1).
# Ports: RAFKA_PORT_BASE=26000 (26192..26395) unless RAFKA_CHAOS_PORT_BASE says otherwise. Work folder:
# bench/chaos/target unless RAFKA_CHAOS_WORK says otherwise. Namespaces rafka-chaos-N on 10.231.7.0/24 unless
# RAFKA_CHAOS_NETNS and RAFKA_CHAOS_SUBNET say otherwise. With the full fault each node's tmpfs has
# RAFKA_CHAOS_DISK_MIB MiB (256 unless set).
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
SEED="$(( RANDOM * 32768 + RANDOM ))" DURATION=60 FAULTS=kill,pause PARTITIONS=3 RATE=50 CONSUMERS=2 NODES=3 CHECK_ONLY=""
TOPIC=chaos GROUP=chaos-group
WORK="$(realpath -m "${RAFKA_CHAOS_WORK:-$ROOT/bench/chaos/target}")"  # as findmnt names mount points

while [[ $# -gt 0 ]]; do
  case "$1" in
    --seed) SEED="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --faults) FAULTS="$2"; shift 2 ;;
    --partitions) PARTITIONS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --consumers) CONSUMERS="$2"; shift 2 ;;
    --nodes) NODES="$2"; shift 2 ;;
    --check) CHECK_ONLY="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "chaos: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in SEED DURATION PARTITIONS RATE CONSUMERS NODES; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "chaos: ${v,,} must be a whole number, not '${!v}'" >&2; exit 2; }
done
[[ "$NODES" == 3 || "$NODES" == 5 ]] || { echo "chaos: --nodes must be 3 or 5, not '$NODES'" >&2; exit 2; }
IFS=, read -r -a FAULT_KINDS <<<"$FAULTS"
KINDS=()
for f in "${FAULT_KINDS[@]}"; do
  case "$f" in
    kill|pause|partition|loss|slow|corrupt|full|full-restart) KINDS+=("$f") ;;
    netem) KINDS+=(loss slow) ;;
    *) echo "chaos: unknown fault '$f' (kill, pause, partition, loss, slow, netem, corrupt, full, full-restart)" >&2; exit 2 ;;
  esac
done
FAULT_KINDS=("${KINDS[@]}")
[[ -n "${RAFKA_CHAOS_CLASSPATH:-}" ]] || { echo "chaos: run it as bin/rafka chaos" >&2; exit 2; }

chaos_java() {
  java -Xmx512m -cp "$RAFKA_CHAOS_CLASSPATH" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn io.rafka.client.chaos.ChaosMain "$@"
}

if [[ -n "$CHECK_ONLY" ]]; then
  exec java -Xmx1g -cp "$RAFKA_CHAOS_CLASSPATH" io.rafka.client.chaos.ChaosMain check --history "$CHECK_ONLY"
fi

export RAFKA_PORT_BASE="${RAFKA_CHAOS_PORT_BASE:-26000}" RAFKA_CLUSTER_DIR="$WORK/cluster" RAFKA_CLUSTER_NODES="$NODES"
# shellcheck source=netns.sh
source "$ROOT/bench/chaos/netns.sh"
NETNS=0
if [[ " ${FAULT_KINDS[*]} " =~ \ (partition|loss|slow)\  ]]; then
  if net_supported; then
    NETNS=1
    export RAFKA_CLUSTER_NETNS="$NET_PREFIX" RAFKA_CLUSTER_SUBNET="$NET_SUBNET"
  else
    log "SKIPPED the network faults: network namespaces need root and iproute2 (running the others only)"
    KINDS=()
    for f in "${FAULT_KINDS[@]}"; do [[ "$f" == kill || "$f" == pause || "$f" == corrupt || "$f" == full* ]] && KINDS+=("$f"); done
    (( ${#KINDS[@]} )) || { log "SKIPPED: no fault left to inject"; exit 0; }
    FAULT_KINDS=("${KINDS[@]}")
  fi
fi
if [[ " ${FAULT_KINDS[*]} " =~ \ loss\  ]] && ! command -v iptables >/dev/null; then
  # "loss" drops packets with iptables' statistic match (netns.sh); without iptables it would end the run.
  log "SKIPPED the loss fault: iptables is not installed (Debian package iptables; running the others only)"
  KINDS=()
  for f in "${FAULT_KINDS[@]}"; do [[ "$f" != loss ]] && KINDS+=("$f"); done
  (( ${#KINDS[@]} )) || { log "SKIPPED: no fault left to inject"; exit 0; }
  FAULT_KINDS=("${KINDS[@]}")
fi
# The `full` faults fill a node's disk: each node's data folder is then a tmpfs of its own (FULL_MIB), which needs root.
FULL=0 FULL_MIB="${RAFKA_CHAOS_DISK_MIB:-256}"
if [[ " ${FAULT_KINDS[*]} " =~ \ full(-restart)?\  ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    FULL=1
  else
    log "SKIPPED the full faults: a file system of its own per node needs root to mount (running the others only)"
    KINDS=()
    for f in "${FAULT_KINDS[@]}"; do [[ "$f" != full* ]] && KINDS+=("$f"); done
    (( ${#KINDS[@]} )) || { log "SKIPPED: no fault left to inject"; exit 0; }
    FAULT_KINDS=("${KINDS[@]}")
  fi
fi
# Unmounts the nodes' file systems (any left under the work folder, also by an earlier run that did not finish).
unmount_nodes() {
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r || true); do
    umount -l "$m" || true
  done
}
host_of() {
  if (( NETNS )); then echo "$NET_SUBNET.$1"; else echo 127.0.0.1; fi
}
BOOTSTRAP="$(host_of 1):$(( RAFKA_PORT_BASE + 192 ))"
HISTORY="$WORK/history.tsv" FAULT_LOG="$WORK/faults.tsv"
CLUSTER_STARTED=0 WORKLOAD_PID="" PAUSED=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Every step runs whatever the one before did (a workload already reaped makes its kill fail): errexit would end
  # the cleanup there and leave brokers and namespaces behind.
  set +e
  [[ -n "$PAUSED" ]] && kill -CONT "$PAUSED" 2>/dev/null
  [[ -n "$WORKLOAD_PID" ]] && kill "$WORKLOAD_PID" 2>/dev/null
  (( NETNS )) && net_heal "$NODES"
  if (( CLUSTER_STARTED )); then
    log "stopping the cluster"
    bin/rafka cluster stop >&2 || bin/rafka cluster kill >&2 || true
  fi
  (( NETNS )) && net_destroy "$NODES"
  (( FULL )) && unmount_nodes
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pid_of() { cat "$RAFKA_CLUSTER_DIR/node-$1.pid" 2>/dev/null || true; }

# One fault: inject, hold it, heal, and append it to the fault log (kind, node, start, end).
inject() {
  local kind="$1" node="$2" hold_ms="$3" pid start
  pid="$(pid_of "$node")"
  [[ -n "$pid" ]] || return 0
  start="$(now_ms)"
  case "$kind" in
    kill|corrupt)
      log "fault: kill -9 node $node (pid $pid), restart after ${hold_ms} ms"
      bin/rafka cluster kill "$node" >/dev/null
      [[ "$kind" == corrupt ]] && corrupt "$node"
      hold "$hold_ms"
      # Until it answers /health again: at most one node is down at a time, so every stretch without
      # acknowledgements is an availability finding, not a lost majority. The next fault may come at once,
      # while this node is still catching up.
      bin/rafka cluster start "$node" >/dev/null
      ;;
    pause)
      log "fault: SIGSTOP node $node (pid $pid) for ${hold_ms} ms"
      PAUSED="$pid"
      kill -STOP "$pid"
      hold "$hold_ms"
      kill -CONT "$pid"
      PAUSED=""
      ;;
    partition)
      local others=() minority=("$node") n m
      for (( n = 1; n <= NODES; n++ )); do (( n == node )) || others+=("$n"); done
      if (( NODES == 5 && RANDOM % 2 )); then
        # A minority of two: the node and one other, cut off from the three others.
        minority+=("${others[0]}")
        others=("${others[@]:1}")
      fi
      if (( RANDOM % 2 )); then
        log "fault: nodes ${minority[*]} cut off from nodes ${others[*]} for ${hold_ms} ms"
        for n in "${minority[@]}"; do for m in "${others[@]}"; do net_cut "$n" "$m"; done; done
      else
        # A bridge: the others split in two halves that do not see each other; the node still sees everyone.
        local half=$(( ${#others[@]} / 2 ))
        log "fault: nodes ${others[*]:0:half} cut from ${others[*]:half}, node $node the bridge between them, for ${hold_ms} ms"
        for n in "${others[@]:0:half}"; do for m in "${others[@]:half}"; do net_cut "$n" "$m"; done; done
      fi
      hold "$hold_ms"
      net_heal "$NODES"
      ;;
    loss)
      log "fault: node $node drops 30 % of its incoming packets for ${hold_ms} ms"
      net_loss "$node" 30
      hold "$hold_ms"
      net_heal "$NODES"
      ;;
    full)
      # To the last byte: the node's Raft logs, segments and snapshots fail to write (ENOSPC). Its replicas close
      # and open again once there is room, its metadata member too (docs/replication.md, "A full disk").
      local filler="$RAFKA_CLUSTER_DIR/node-$node/chaos-filler"
      dd if=/dev/zero of="$filler" bs=1M status=none 2>/dev/null || true
      log "fault: node $node's disk full for ${hold_ms} ms ($(df --output=avail -B1 "$RAFKA_CLUSTER_DIR/node-$node" | tail -1 | tr -d ' ') bytes left)"
      hold "$hold_ms"
      rm -f "$filler"
      ;;
    full-restart)
      # The node crashes and starts again while its disk is full (a deploy, the OOM killer): it must start, its
      # replicas closed until there is room (docs/replication.md, "A node started on a full disk starts"). It
      # answers /health only once there is room again: the disk is freed once the started broker answers at all
      # (its /status; at most 60 s), i.e. once it has opened its replicas on the full disk, then held as long again.
      # Filled after the kill: a killed process frees the space of files it held open after their deletion.
      local filler="$RAFKA_CLUSTER_DIR/node-$node/chaos-filler" starting i
      bin/rafka cluster kill "$node" >/dev/null
      dd if=/dev/zero of="$filler" bs=1M status=none 2>/dev/null || true
      log "fault: node $node killed (kill -9), its disk filled, and the node started on it; full for ${hold_ms} ms" \
          "more once it answers ($(df --output=avail -B1 "$RAFKA_CLUSTER_DIR/node-$node" | tail -1 | tr -d ' ') bytes left)"
      bin/rafka cluster start "$node" >/dev/null 2>&1 &
      starting=$!
      for (( i = 0; i < 600; i++ )); do
        status_of "$node" >/dev/null 2>&1 && break
        kill -0 "$starting" 2>/dev/null || break
        sleep 0.1
      done
      hold "$hold_ms"
      rm -f "$filler"
      wait "$starting" || log "node $node not healthy within 60 s of its start on a full disk"
      ;;
    slow)
      local kbit=$(( 256 + RANDOM % 769 ))
      log "fault: node $node sends at most $kbit kbit/s for ${hold_ms} ms"
      net_slow "$node" "$kbit"
      hold "$hold_ms"
      net_heal "$NODES"
      ;;
  esac
  printf 'fault\t%s\t%s\t%s\t%s\n' "$kind" "$node" "$start" "$(now_ms)" >>"$FAULT_LOG"
}

# The Raft group folder of partition $2 of topic $3 (the chaos topic when absent) on node $1. A partition's group id
# is Java's UUID.nameUUIDFromBytes("TOPIC_ID/PARTITION") (ReplicaRegistry.groupId): MD5 with the version-3 and
# variant bits set.
raft_dir_of() {
  local dir="$RAFKA_CLUSTER_DIR/node-$1" tid md5 b6 b8
  tid="$(sed -n 's/^topic_id: //p' "$dir/${3:-$TOPIC}-$2/partition.metadata")"
  md5="$(printf '%s/%s' "$tid" "$2" | md5sum | cut -c1-32)"
  printf -v b6 '%02x' $(( (16#${md5:12:2} & 0x0f) | 0x30 ))
  printf -v b8 '%02x' $(( (16#${md5:16:2} & 0x3f) | 0x80 ))
  md5="${md5:0:12}$b6${md5:14:2}$b8${md5:18}"
  echo "$dir/raft/${md5:0:8}-${md5:8:4}-${md5:12:4}-${md5:16:4}-${md5:20:12}"
}

# The __consumer_offsets partition that holds the group's state (hash(group) mod 16).
group_partition() {
  local h
  h="$(java_hash "$GROUP")"
  echo $(( ((h % 16) + 16) % 16 ))
}

# Damages node $1's files while it is down (one node: the others hold every acknowledged record), as a machine
# crash or a bad disk would: the newest segment file or the newest Raft log file of a random partition of the chaos
# topic or of the group's __consumer_offsets partition, or the newest file of the metadata group's Raft log; either
# cut short by 1 byte to 8 KiB or with one bit flipped in its last 64 KiB. Half of a segment's bit flips land in
# the bytes its recovery point vouches for (docs/storage.md, "Durability and recovery"): recovery trusts those, as
# it trusts closed segments, and the background scrub (or a decoded read) finds the flip after the start and has
# the replica repaired; the other half land after them, where recovery finds it. A cut below them is found at the
# start (the file is shorter than the point says).
corrupt() {
  local node="$1" dir="$RAFKA_CLUSTER_DIR/node-$1" topic="$TOPIC" p file size pos byte what trusted=0 vouched=0
  # All draws first, as many whatever is found: a return below must not shift the rest of the seed's schedule.
  local which=$(( RANDOM % 3 )) segment=$(( RANDOM % 2 )) anywhere=$(( RANDOM % 2 )) cut=$(( RANDOM % 2 ))
  local back=$(( RANDOM % 8192 )) far=$(( RANDOM * 32768 + RANDOM )) bit=$(( RANDOM % 8 ))
  p=$(( RANDOM % PARTITIONS ))
  case $which in
    0) ;;
    1) topic=__consumer_offsets p="$(group_partition)" ;;
    2) topic="" ;;
  esac
  if [[ -z "$topic" ]]; then
    file="$(ls -t "$dir"/metadata-raft/*/current/log_* 2>/dev/null | head -1 || true)"
  else
    [[ -f "$dir/$topic-$p/partition.metadata" ]] || { log "fault: node $node holds no replica of $topic-$p: nothing damaged (a kill only)"; return 0; }
    if (( segment )); then
      file="$(find "$dir/$topic-$p" -maxdepth 1 -name '*.log' | sort | tail -1)"
    else
      file="$(ls -t "$(raft_dir_of "$node" "$p" "$topic")"/current/log_* 2>/dev/null | head -1 || true)"
    fi
  fi
  [[ -n "$file" && -s "$file" ]] || { log "fault: node $node has no file to damage there: nothing damaged (a kill only)"; return 0; }
  size="$(stat -c %s "$file")"
  if [[ "$file" == *.log ]]; then
    vouched="$(trusted_bytes "$file")"
    # Half the time anywhere in the last 64 KiB, trusted bytes included: the scrub's part.
    (( anywhere )) || trusted="$vouched"
  fi
  if (( cut )) || (( trusted >= size )); then
    pos=$(( size - 1 - back ))
    (( pos >= 0 )) || pos=0
    truncate -s "$pos" "$file"
    what="cut from $size to $pos bytes"
  else
    pos=$(( size - 1 - far % (size - trusted < 65536 ? size - trusted : 65536) ))
    byte="$(od -An -tu1 -j "$pos" -N1 "$file" | tr -d ' ')"
    # shellcheck disable=SC2059
    printf "\\x$(printf '%02x' $(( byte ^ (1 << bit) )))" | dd of="$file" bs=1 seek="$pos" conv=notrunc status=none
    what="a bit flipped at byte $pos of $size"
    if (( pos < vouched )); then
      what="$what (in bytes recovery trusts: the scrub's to find)"
    fi
  fi
  log "fault: node $node's ${file#"$RAFKA_CLUSTER_DIR/"} $what"
}

# How many leading bytes of segment file $1 its folder's recovery point vouches for (fsynced before the point was
# written): the position of a version-1 point inside this segment, else 0.
trusted_bytes() {
  local file="$1" point base
  point="$(dirname "$file")/recovery-point-offset-checkpoint"
  base="$(basename "$file" .log)"
  if [[ -f "$point" ]] && [[ "$(sed -n 1p "$point")" == 1 ]] && (( 10#$(sed -n 3p "$point") == 10#$base )); then
    sed -n 4p "$point"
  else
    echo 0
  fi
}

hold() {
  sleep "$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))"
}

# GET /status of node $1.
status_of() {
  http_get "$(( RAFKA_PORT_BASE + $1 * 100 + 95 ))" /status "$(host_of "$1")"
}

# The node whose /status says it leads partition $1 of topic $2 (the chaos topic when absent; empty if none does).
leader_of() {
  local n topic="${2:-$TOPIC}"
  for (( n = 1; n <= NODES; n++ )); do
    if status_of "$n" 2>/dev/null \
        | grep -q "\"topic\": \"$topic\", \"partition\": $1, \"leader\": \"$n\", \"is_leader\": true"; then
      echo "$n"
      return
    fi
  done
}

# The node whose /status says it is the controller (empty if none does right now).
controller_node() {
  local n
  for (( n = 1; n <= NODES; n++ )); do
    if status_of "$n" 2>/dev/null | grep -q '"is_controller": true'; then
      echo "$n"
      return
    fi
  done
}

# Java's String.hashCode of $1 (the coordinator places a group by it).
java_hash() {
  local s="$1" h=0 i c
  for (( i = 0; i < ${#s}; i++ )); do
    printf -v c '%d' "'${s:i:1}"
    h=$(( (h * 31 + c) & 0xFFFFFFFF ))
  done
  (( h >= 0x80000000 )) && h=$(( h - 0x100000000 ))
  echo "$h"
}

# The node leading the group's coordinator partition: __consumer_offsets partition hash(group) mod 16
# (group.coordinator.partitions' default); empty until the group's first member created the topic.
coordinator_node() {
  leader_of "$(group_partition)" __consumer_offsets
}

# The concatenated .log segments of a partition on a node, hashed (segment boundaries may differ after a copy).
log_digest() {
  local dir="$RAFKA_CLUSTER_DIR/node-$1/$TOPIC-$2"
  find "$dir" -maxdepth 1 -name '*.log' | sort | xargs cat | sha256sum | cut -d' ' -f1
}

# The nodes holding a replica of partition $1 of the chaos topic (the folders the cluster made for it).
replicas_of() {
  local n
  for (( n = 1; n <= NODES; n++ )); do
    [[ -f "$RAFKA_CLUSTER_DIR/node-$n/$TOPIC-$1/partition.metadata" ]] && echo "$n"
  done
  return 0
}

# Until every replica of every partition reports the same high watermark and none is being repaired (a scrub that
# found damage cuts the replica's log and copies the rest back) (60 s at most).
await_replicas_equal() {
  local deadline=$(( $(date +%s) + 60 )) p n hw first ok entry
  while (( $(date +%s) < deadline )); do
    ok=1
    for (( p = 0; p < PARTITIONS; p++ )); do
      first=""
      for n in $(replicas_of "$p"); do
        entry="$(status_of "$n" 2>/dev/null | grep -o "\"topic\": \"$TOPIC\", \"partition\": $p,[^}]*" || true)"
        hw="$(grep -o '"high_watermark": [0-9]*' <<<"$entry" | grep -o '[0-9]*$' || true)"
        [[ -n "$hw" && "$entry" == *'"repairing": false'* ]] || { ok=0; break; }
        [[ -z "$first" ]] && first="$hw"
        [[ "$hw" == "$first" ]] || ok=0
      done
    done
    (( ok )) && return 0
    sleep 0.5
  done
  return 1
}

# Also the disks of an earlier run as root that did not finish (rm would fail on their mount points).
[[ "$(id -u)" == 0 ]] && unmount_nodes
rm -rf "$WORK"
mkdir -p "$WORK"
if (( FULL )); then
  for (( n = 1; n <= NODES; n++ )); do
    mkdir -p "$RAFKA_CLUSTER_DIR/node-$n"
    mount -t tmpfs -o "size=${FULL_MIB}m" rafka-chaos "$RAFKA_CLUSTER_DIR/node-$n"
  done
  log "disks: node N's data folder is a tmpfs of $FULL_MIB MiB (the full fault fills it)"
fi
: >"$FAULT_LOG"
if (( NETNS )); then
  net_create "$NODES"
  log "network: node N in namespace $NET_PREFIX-N at $NET_SUBNET.N, bridge $NET_BRIDGE at $NET_SUBNET.254"
fi
log "seed $SEED, $DURATION s, faults $FAULTS, $PARTITIONS partitions RF 3 (ports from $(( RAFKA_PORT_BASE + 192 )), work in $WORK)"
CLUSTER_STARTED=1
bin/rafka cluster start >&2
bin/rafka topic create "$TOPIC" --partitions "$PARTITIONS" --replication-factor 3 --bootstrap "$BOOTSTRAP" >&2

chaos_java produce --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --partitions "$PARTITIONS" --history "$HISTORY" \
    --producers 3 --rate "$RATE" --duration-ms "$(( DURATION * 1000 ))" --consumers "$CONSUMERS" --group "$GROUP" \
    >"$WORK/workload.log" 2>&1 &
WORKLOAD_PID=$!

RANDOM="$SEED"
end=$(( $(date +%s) + DURATION ))
sleep 3   # writes under way before the first fault
while (( $(date +%s) + 5 < end )); do
  # Every draw in this shell and the same number of them per fault, whatever the cluster answers: the seed then
  # fixes the sequence of draws (RANDOM inside $(...) is a subshell's, reseeded).
  kind="${FAULT_KINDS[$(( RANDOM % ${#FAULT_KINDS[@]} ))]}"
  aim=$(( RANDOM % 4 )) partition=$(( RANDOM % PARTITIONS )) fallback=$(( RANDOM % NODES + 1 ))
  case $aim in
    0) node="$(leader_of "$partition")" ;;
    1) node="$(controller_node)" ;;
    2) node="$(coordinator_node)" ;;
    *) node="" ;;
  esac
  [[ -n "$node" ]] || node=$fallback
  inject "$kind" "$node" $(( 500 + RANDOM % 2500 ))
  sleep "$(( RANDOM % 3 ))"
done

log "healing: every node running"
(( NETNS )) && net_heal "$NODES"
bin/rafka cluster start >&2
wait "$WORKLOAD_PID" || { log "FAILED: the workload ended with an error; see $WORK/workload.log"; tail -20 "$WORK/workload.log" >&2; exit 1; }
WORKLOAD_PID=""
chaos_java read --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --partitions "$PARTITIONS" --history "$HISTORY" >&2
cat "$FAULT_LOG" >>"$HISTORY"

divergent=0
if await_replicas_equal; then
  bin/rafka cluster stop >&2
  CLUSTER_STARTED=0
  (( NETNS )) && net_destroy "$NODES"
  for (( p = 0; p < PARTITIONS; p++ )); do
    digests=()
    for n in $(replicas_of "$p"); do digests+=("$n:$(log_digest "$n" "$p")"); done
    if (( ${#digests[@]} != 3 )) || [[ "$(printf '%s\n' "${digests[@]#*:}" | sort -u | wc -l)" != 1 ]]; then
      log "partition $p: replicas differ (${digests[*]})"
      divergent=$(( divergent + 1 ))
    fi
  done
else
  log "replicas did not reach equal high watermarks within 60 s"
  declare -A hw_of=()
  for (( p = 0; p < PARTITIONS; p++ )); do
    top=-1
    for n in $(replicas_of "$p"); do
      entry="$(status_of "$n" 2>/dev/null | grep -o "\"topic\": \"$TOPIC\", \"partition\": $p,[^}]*" || echo 'not in its /status')"
      log "  $TOPIC-$p on node $n: $entry"
      hw="$(grep -o '"high_watermark": [0-9]*' <<<"$entry" | grep -o '[0-9]*$' || true)"
      hw="${hw:--1}"
      hw_of[$p:$n]="$hw"
      (( hw > top )) && top="$hw"
    done
    # What a replica left behind logged about its partition (by name or Raft group id): CI keeps only this output.
    for n in $(replicas_of "$p"); do
      (( ${hw_of[$p:$n]:--1} < top )) || continue
      group="$(basename "$(raft_dir_of "$n" "$p" 2>/dev/null)")"
      # Ratis names a group by the last 12 digits of its id, upper case.
      short="group-$(tr a-f A-F <<<"${group##*-}")"
      log "  node $n's last log lines about $TOPIC-$p (group $group):"
      grep -a -e "$TOPIC-$p[^0-9]" ${group:+-e "$group" -e "$short"} "$RAFKA_CLUSTER_DIR/node-$n.log" 2>/dev/null \
        | grep -v '^\s*at ' | tail -25 | cut -c1-400 | sed 's/^/    /' >&2 || true
    done
  done
  divergent="$PARTITIONS"
fi

echo "chaos: seed $SEED, $DURATION s, faults $FAULTS; $(wc -l <"$FAULT_LOG") faults injected; history $HISTORY"
status=0
chaos_java check --history "$HISTORY" || status=1
echo "divergence: $divergent"
(( divergent == 0 )) || status=1
exit "$status"
