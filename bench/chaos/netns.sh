# Network namespaces for `bin/rafka chaos` (sourced by chaos.sh, not run): each broker in its own namespace
# PREFIX-N with address SUBNET.N on a veth whose other end sits on a bridge in this namespace (SUBNET.254), so the
# workload here reaches every node and the nemesis can cut links between nodes, drop packets or slow a node down.
#
# This kernel has no netem qdisc (CONFIG_NET_SCH_NETEM unset), so "loss" is iptables' statistic match dropping a
# share of a node's incoming packets and "slow" is a token-bucket (tbf) rate limit on its outgoing link, which
# queues packets and so delays them; partitions are blackhole routes inside the namespaces.
#
# Needs root and iproute2; net_supported says whether this machine allows it. Every function names what it
# touches by NET_PREFIX, so net_destroy removes exactly what net_create made.

NET_PREFIX="${NET_PREFIX:-${RAFKA_CHAOS_NETNS:-rafka-chaos}}"
NET_SUBNET="${NET_SUBNET:-${RAFKA_CHAOS_SUBNET:-10.231.7}}"
NET_BRIDGE="${NET_PREFIX:0:10}-br"

# Whether namespaces, veth links and bridges can be made here (root, iproute2, a kernel that allows them).
net_supported() {
  [[ "$(id -u)" == 0 ]] && command -v ip >/dev/null || return 1
  local probe="${NET_PREFIX}-probe"
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe"
}

# Makes the bridge and one namespace per node ($1: how many nodes).
net_create() {
  local nodes="$1" n
  net_destroy "$nodes"
  ip link add "$NET_BRIDGE" type bridge
  ip addr add "$NET_SUBNET.254/24" dev "$NET_BRIDGE"
  ip link set "$NET_BRIDGE" up
  for (( n = 1; n <= nodes; n++ )); do
    ip netns add "$NET_PREFIX-$n"
    ip link add "${NET_BRIDGE%-br}-v$n" type veth peer name eth0 netns "$NET_PREFIX-$n"
    ip link set "${NET_BRIDGE%-br}-v$n" master "$NET_BRIDGE" up
    ip netns exec "$NET_PREFIX-$n" ip addr add "$NET_SUBNET.$n/24" dev eth0
    ip netns exec "$NET_PREFIX-$n" ip link set eth0 up
    ip netns exec "$NET_PREFIX-$n" ip link set lo up
  done
}

# Removes the namespaces, links and bridge (whatever of them exists); safe to call twice.
net_destroy() {
  local nodes="$1" n
  for (( n = 1; n <= nodes; n++ )); do
    ip netns del "$NET_PREFIX-$n" 2>/dev/null || true   # takes its end of the veth, and so the pair, with it
    ip link del "${NET_BRIDGE%-br}-v$n" 2>/dev/null || true
  done
  ip link del "$NET_BRIDGE" 2>/dev/null || true
}

# Cuts the link between nodes $1 and $2 both ways (each drops what it would send to the other).
net_cut() {
  ip netns exec "$NET_PREFIX-$1" ip route replace blackhole "$NET_SUBNET.$2/32"
  ip netns exec "$NET_PREFIX-$2" ip route replace blackhole "$NET_SUBNET.$1/32"
}

# Node $1 loses a share of its incoming packets ($2: percent).
net_loss() {
  ip netns exec "$NET_PREFIX-$1" iptables -w -A INPUT -m statistic --mode random --probability "0.$(printf '%02d' "$2")" -j DROP
}

# Node $1's outgoing link is limited to $2 kbit/s: what it sends queues, so it arrives late.
net_slow() {
  ip netns exec "$NET_PREFIX-$1" tc qdisc replace dev eth0 root tbf rate "${2}kbit" burst 32kbit latency 500ms
}

# Undoes every cut, loss and slow-down on nodes 1..$1.
net_heal() {
  local nodes="$1" n m
  for (( n = 1; n <= nodes; n++ )); do
    for (( m = 1; m <= nodes; m++ )); do
      ip netns exec "$NET_PREFIX-$n" ip route del blackhole "$NET_SUBNET.$m/32" 2>/dev/null || true
    done
    ip netns exec "$NET_PREFIX-$n" iptables -w -F INPUT 2>/dev/null || true
    ip netns exec "$NET_PREFIX-$n" tc qdisc del dev eth0 root 2>/dev/null || true
  done
}
