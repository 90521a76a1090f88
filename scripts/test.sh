#!/usr/bin/env bash
# The test command (npm test): set up, then the C tests and the vitest suite,
# both against the real kernel (eBPF as root; fallback mode always).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== C tests (pool, instance protocol, eBPF router)" >&2
make -s -C dataplane-native test
echo "== type check (sources and tests)" >&2
node_modules/.bin/tsc -p tsconfig.test.json
node_modules/.bin/tsc -p bench/k6/tsconfig.json  # the k6 scripts, against @types/k6 only
echo "== vitest" >&2
node_modules/.bin/vitest run "$@"
