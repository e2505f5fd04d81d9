#!/usr/bin/env bash
# Checks the system packages Renkei builds and tests with. As root it installs
# what is missing; otherwise it prints the exact command to run and fails.
set -euo pipefail

PACKAGES=(
  pkg-config        # SwiftPM finds RocksDB through pkg-config
  librocksdb-dev    # the store (7.8.3 on Debian 12)
  liblz4-dev        # LZ4 compression of column families and backup segments
  libssl-dev        # TLS
  protobuf-compiler # regenerating the peer protocol's Swift code (Ops/generate-protos.sh)
  lz4               # the stock tool that reads backup segments
  libc-bin          # iconv's CP932 converter (gconv) for Shift_JIS CSV files
  python3-venv      # the interop test's venv with grpcio from PyPI (Ops/interop-python.sh)
  iproute2          # ip netns/link: the partition test's network namespaces (PartitionTests, as root)
  openssl           # the openssl tool: CertificateReloadCommandTests reads the served certificate with s_client
)
# Extra packages a caller needs (e.g. postgresql for benchmarks): deps.sh EXTRA...
PACKAGES+=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "deps: missing system packages: ${missing[*]}" >&2
    echo "deps: run this, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  if [[ -x /opt/swift/usr/bin/swift ]]; then
    echo "deps: swift is at /opt/swift/usr/bin; add it to PATH: export PATH=/opt/swift/usr/bin:\$PATH" >&2
  else
    echo "deps: Swift 6 is required (https://www.swift.org/install/linux/); 'swift' is not on PATH" >&2
  fi
  exit 1
fi
