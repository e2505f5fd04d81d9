#!/usr/bin/env bash
# The README's test command: installs missing system packages (as root),
# builds everything, then runs every test target, cluster tests included, and
# the Python interoperability test (Ops/interop-python.sh). With arguments
# (e.g. --filter X) only `swift test` runs, with them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
Ops/deps.sh
# The CLI tests run the renkei executable, so build every product first.
swift build --build-tests
swift test --skip-build "$@"
# A second gRPC implementation against the built node; not with a test filter.
if [[ $# -eq 0 ]]; then
  Ops/interop-python.sh
fi
