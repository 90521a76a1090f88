#!/usr/bin/env bash
# N "nodes" on one machine that all reach each other: network namespaces
# ferry-<i>-TAG (i = 1..N), each with one veth end (eth0, 10.213.X.(10+i))
# whose other end is a port of the bridge fbrTAG in the root namespace
# (10.213.X.1), so every node reaches every other and the host reaches all
# of them, with no routing. (netns.sh is the two-node pair with a link of
# its own; this is for clusters of more.)
#
#   netns-star.sh up TAG X N     create (X: 0..255, the third octet; N: 1..20)
#   netns-star.sh down TAG N     kill what runs inside, delete namespaces, veths and the bridge
#
# Run processes inside with `nsenter --net=/run/netns/ferry-<i>-TAG ...`
# (not `ip netns exec`, which remounts /sys and hides /sys/fs/bpf).
set -euo pipefail

usage='usage: netns-star.sh up TAG X N | down TAG N'
cmd=${1:?$usage}
tag=${2:?$usage}
br=fbr$tag

case $cmd in
up)
  x=${3:?$usage}
  n=${4:?$usage}
  ip link add "$br" type bridge
  ip addr add "10.213.$x.1/24" dev "$br"
  ip link set "$br" up
  for i in $(seq 1 "$n"); do
    ns=ferry-$i-$tag
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "fs$i$tag" type veth peer name "fsn$i$tag"
    ip link set "fs$i$tag" master "$br"
    ip link set "fs$i$tag" up
    ip link set "fsn$i$tag" netns "$ns"
    ip -n "$ns" link set "fsn$i$tag" name eth0
    ip -n "$ns" addr add "10.213.$x.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  ;;
down)
  n=${3:?$usage}
  for i in $(seq 1 "$n"); do
    ns=ferry-$i-$tag
    if ip netns list | grep -qw "$ns"; then
      # Only what this run started runs in its namespaces.
      for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" || true
    fi
    ip link del "fs$i$tag" 2>/dev/null || true
  done
  ip link del "$br" 2>/dev/null || true
  ;;
*)
  echo "netns-star.sh: unknown command $cmd" >&2
  exit 2
  ;;
esac
