#!/usr/bin/env bash
# The main job (npm start): set up, bring up a local single-node ferry,
# apply the example chains and send them real requests with the ferry CLI,
# then leave ferry running so you can send your own (curl hints at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

ferry() {
  echo "\$ npx ferry $*" >&2
  node bin/ferry.js "$@"
}

chains="motion parking online-boutique"
ferry up
echo >&2
for chain in $chains; do
  ferry apply -f "chains/$chain/chain.yaml"
  echo >&2
done

for chain in $chains; do
  for req in chains/$chain/requests/*.json; do
    [ -e "$req" ] || continue
    ferry invoke "$chain" --data "@$req" -v || true
    echo >&2
  done
done

ferry get chains
gw=$(node --input-type=module -e 'import { readState } from "./dist/control/cli/state.js"; console.log(readState()?.gateway ?? "127.0.0.1:8080")')
cat >&2 <<HINT

ferry keeps running. Send your own requests:
  curl -s -X POST http://$gw/chains/motion -H 'content-type: application/json' -d @chains/motion/requests/$(ls chains/motion/requests | head -1)
  npx ferry invoke parking --data @chains/parking/requests/$(ls chains/parking/requests | head -1)
Look around:   npx ferry get chains | get nodes | get instances | events
Stop it:       npx ferry down
HINT
