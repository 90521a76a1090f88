#!/usr/bin/env bash
# Two "nodes" on one machine: network namespaces ferry-a-TAG and ferry-b-TAG
# joined by a veth pair (10.213.X.1 <-> 10.213.X.2), plus one veth from the
# root namespace into each (10.214.X.1 -> a at 10.214.X.2, 10.215.X.1 -> b at
# 10.215.X.2) so a test driver on the host reaches both nodes' gRPC and a's
# HTTP gateway without any routing.
#
#   netns.sh up TAG X      create (X: 0..255, the third octet)
#   netns.sh down TAG      kill what runs inside, delete namespaces and links
#
# NETNS_PREFIX (default "ferry") replaces "ferry" in the namespace names, so
# runs that must keep to their own names (a benchmark beside the tests) can.
#
# Run processes inside with `nsenter --net=/run/netns/ferry-a-TAG ...`, not
# `ip netns exec`: the latter remounts /sys, which hides /sys/fs/bpf, where
# ferryd pins its BPF maps.
set -euo pipefail

cmd=${1:?usage: netns.sh up TAG X | down TAG}
tag=${2:?usage: netns.sh up TAG X | down TAG}
A=${NETNS_PREFIX:-ferry}-a-$tag
B=${NETNS_PREFIX:-ferry}-b-$tag

# veth NS1 IF1 IP1 NS2 IF2 IP2: a veth pair between two namespaces ("" is
# the root namespace), each end with its address in a /24, up.
veth() {
  ip link add "$2" type veth peer name "$5"
  end "$1" "$2" "$3"
  end "$4" "$5" "$6"
}
end() {
  local ns=$1 dev=$2 ip=$3
  if [ -n "$ns" ]; then
    ip link set "$dev" netns "$ns"
    ip -n "$ns" addr add "$ip/24" dev "$dev"
    ip -n "$ns" link set "$dev" up
  else
    ip addr add "$ip/24" dev "$dev"
    ip link set "$dev" up
  fi
}

case $cmd in
up)
  x=${3:?usage: netns.sh up TAG X}
  ip netns add "$A"
  ip netns add "$B"
  for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
  # a <-> b: the link the peer traffic crosses; host -> a, host -> b: for
  # the test driver.
  veth "$A" "fab$tag" "10.213.$x.1" "$B" "fba$tag" "10.213.$x.2"
  veth "" "fha$tag" "10.214.$x.1" "$A" "fah$tag" "10.214.$x.2"
  veth "" "fhb$tag" "10.215.$x.1" "$B" "fbh$tag" "10.215.$x.2"
  ;;
down)
  for ns in "$A" "$B"; do
    if ip netns list | grep -qw "$ns"; then
      # Only what this test started runs in its namespaces.
      for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" || true
    fi
  done
  # Deleting a namespace deletes its veth ends and so their peers; these
  # are for a half-finished `up`.
  for l in "fha$tag" "fhb$tag" "fab$tag"; do ip link del "$l" 2>/dev/null || true; done
  ;;
*)
  echo "netns.sh: unknown command $cmd" >&2
  exit 2
  ;;
esac
