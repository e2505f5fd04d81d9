#!/usr/bin/env bash
# Storage benchmark: encrypted tenant store vs raw RocksDB, in one run.
#   Benchmarks/run-store.sh [--residents N] [--lookups M] ...   (args go to `renkei bench store`)
# Builds renkei in release mode (a few minutes the first time) and writes
# Benchmarks/results/store-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
Ops/deps.sh
swift build -c release --product renkei
mkdir -p Benchmarks/results
OUT="Benchmarks/results/store-$(date -u +%Y%m%dT%H%M%SZ).json"
"$(swift build -c release --show-bin-path)/renkei" bench store --json "$OUT" "$@"
