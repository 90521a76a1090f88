#!/usr/bin/env bash
# TypeScript types of the gRPC contracts, generated from the .proto files
# into control/proto/gen/ (gitignored: never edit, never commit; every build
# makes it afresh, so it cannot drift from the .proto files).
#
# The options are the run-time loader's (LOADER_OPTIONS in
# control/ferryd/proto.ts: camelCase, longs: Number, enums: String,
# defaults, oneofs), so the "__Output" types are what grpc-js hands over.
# Change one, change both.
set -euo pipefail
cd "$(dirname "$0")/.."

out=control/proto/gen
tmp="$(mktemp -d control/proto/.gen.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
node_modules/.bin/proto-loader-gen-types \
  --longs=Number --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js --includeComments --importFileExtension=.js \
  -I control/proto -O "$tmp" \
  ferry/node/v1/node.proto ferry/admin/v1/admin.proto ferry/fl/v1/fl.proto >/dev/null
rm -rf "$out"
mv "$tmp" "$out"
