#!/usr/bin/env bash
# Everything a fresh machine needs before ferry runs, and nothing more when
# nothing changed: Debian packages, bpffs, npm packages, the BPF object, the
# native library and runner, the Node addon and the TypeScript.
#   scripts/setup.sh               full set-up (idempotent)
#   scripts/setup.sh --build-only  only rebuild what changed
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=0
[[ "${1:-}" == "--build-only" ]] && build_only=1
step() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# systemd: its systemd-analyze checks the units in manifests/systemd (tests).
APT_PACKAGES=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make gcc g++ iproute2 systemd)

if (( ! build_only )); then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    if [[ $EUID -ne 0 ]]; then
      echo "setup: missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    step "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  if [[ $EUID -eq 0 ]] && ! mountpoint -q /sys/fs/bpf; then
    step "mounting bpffs at /sys/fs/bpf"
    mount -t bpf bpf /sys/fs/bpf
  fi

  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    step "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

step "building BPF object (clang -target bpf)"
make -s -C bpf
step "building native library, runner, sandbox launcher and C tests"
make -s -C dataplane-native
step "building native functions"
make -s -C chains
step "building benchmark drivers"
make -s -C bench

# node-gyp: configure once, then incremental builds.
if [[ ! -f dataplane-native/build/Makefile || dataplane-native/binding.gyp -nt dataplane-native/build/Makefile ]]; then
  step "configuring the Node addon (node-gyp)"
  (cd dataplane-native && ../node_modules/.bin/node-gyp configure --nodedir=/usr --loglevel=warn)
fi
step "building the Node addon (node-addon-api)"
(cd dataplane-native && ../node_modules/.bin/node-gyp build --nodedir=/usr --loglevel=warn >/dev/null)

# The chain baselines' addon: native functions over heap buffers (bench/chains/host/native).
heap_addon=bench/chains/host/native
if [[ ! -f $heap_addon/build/Makefile || $heap_addon/binding.gyp -nt $heap_addon/build/Makefile ]]; then
  step "configuring the baselines' native-function addon (node-gyp)"
  (cd $heap_addon && ../../../../node_modules/.bin/node-gyp configure --nodedir=/usr --loglevel=warn)
fi
step "building the baselines' native-function addon"
(cd $heap_addon && ../../../../node_modules/.bin/node-gyp build --nodedir=/usr --loglevel=warn >/dev/null)

step "generating the gRPC contracts' types (control/proto/gen)"
bash scripts/gen-proto-types.sh
step "compiling TypeScript"
node_modules/.bin/tsc -p tsconfig.json
step "ready"
