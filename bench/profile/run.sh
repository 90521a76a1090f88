#!/bin/bash
# Where ferry's CPU goes under load: a ferry of its own (own home, ports
# 44870-44875, pin dir) serving chains/pipeline, closed-loop load from
# autocannon, and perf's on-CPU samples of the daemon (gateway + ferryd +
# control plane), sorted into the parts of a request's path by split.py.
# Needs root and perf (Debian: linux-perf). The stage instances are not
# profiled here: ferryd gives them a clean environment (no NODE_OPTIONS),
# so perf could not name their JavaScript frames.
#
#   bash bench/profile/run.sh [BYTES] [SECONDS] > split.md
set -euo pipefail
SIZE=${1:-1024}
SEC=${2:-10}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ferry-profile-XXXX)
export FERRY_HOME=$WORK/home
mkdir -p "$FERRY_HOME"
PIN=/sys/fs/bpf/ferry-profile-$$
log() { echo "[profile] $*" >&2; }
node --perf-basic-prof --max-semi-space-size=64 "$REPO/dist/control/controlplane/main.js" --admin 127.0.0.1:44870 --ferryd 127.0.0.1:44871 \
  --gateway 127.0.0.1:44872 --metrics 127.0.0.1:44873 --ferryd-metrics 127.0.0.1:44874 --peer 127.0.0.1:44875 \
  --pin-dir "$PIN" >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
cleanup() { kill -INT $DAEMON 2>/dev/null || true; sleep 2; kill $DAEMON 2>/dev/null || true; rm -rf "$WORK" "$PIN"; }
trap cleanup EXIT
log "ferry starting (daemon pid $DAEMON); applying chains/pipeline once it answers"
for i in $(seq 1 60); do
  node "$REPO/bin/ferry.js" --admin 127.0.0.1:44870 --credentials "$FERRY_HOME/credentials/operator" apply -f "$REPO/chains/pipeline/chain.yaml" >&2 2>"$WORK/apply.err" && break
  [ "$i" = 60 ] && { cat "$WORK/apply.err" >&2; exit 1; }
  sleep 0.5
done
sleep 3
BODY=$WORK/body.json
node -e "const n=+process.argv[1]; const b={hops:0,trail:[],pad:''}; b.pad='x'.repeat(Math.max(0,n-JSON.stringify(b).length)); process.stdout.write(JSON.stringify(b))" "$SIZE" >"$BODY"
LOAD=(node "$REPO/node_modules/autocannon/autocannon.js" -c 16 -m POST -H content-type=application/json -i "$BODY" http://127.0.0.1:44872/chains/pipeline)
log "warming up 20 s (the JIT settles after ~20 s of new load)"
"${LOAD[@]}" -d 20 >/dev/null 2>&1
log "recording $SEC s of the daemon (pid $DAEMON)"
perf record -F 1999 -g -p $DAEMON -o "$WORK/daemon.data" -- sleep "$SEC" >/dev/null 2>&1 &
P1=$!
"${LOAD[@]}" -d "$SEC" -j >"$WORK/load.json" 2>/dev/null
wait $P1 || true
echo "## Where ferry's CPU goes: pipeline, $SIZE-byte bodies, 16 connections, closed loop"
echo
node -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1])); console.log('Load: '+r.requests.total+' requests in '+r.duration+' s, p50 '+r.latency.p50+' ms, p99 '+r.latency.p99+' ms, non-2xx '+r.non2xx+'.')" "$WORK/load.json"
echo
perf script -i "$WORK/daemon.data" 2>/dev/null | python3 "$REPO/bench/profile/split.py" "daemon (gateway + ferryd + control plane)"
