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
if [[ $# -eq 0 ]]; then
  # The CLI tests wait for real processes (clusters, vaults) synchronously,
  # each holding one of the cooperative pool's threads (two on two cores) for
  # minutes; run alongside the in-process gRPC tests they starved those of
  # threads until their 30 s deadlines passed. So: in-process suites first,
  # then the process suites.
  swift test --skip-build --skip RenkeiCLITests
  swift test --skip-build --filter RenkeiCLITests
else
  swift test --skip-build "$@"
fi
# A second gRPC implementation against the built node; not with a test filter.
if [[ $# -eq 0 ]]; then
  Ops/interop-python.sh
fi
