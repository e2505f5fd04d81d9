#!/usr/bin/env bash
# The README's test command: installs missing system packages (as root),
# builds everything, then runs every test target, cluster tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
Ops/deps.sh
# The CLI tests run the renkei executable, so build every product first.
swift build --build-tests
swift test --skip-build "$@"
