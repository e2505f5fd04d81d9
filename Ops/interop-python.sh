#!/usr/bin/env bash
# Interoperability test: drives a real `renkei node` over mutual TLS from a
# second, independent gRPC implementation (Python's grpcio, code generated from
# the .proto files alone). See Tests/Interop/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: wheels for CPython 3.11 on x86_64/aarch64 Linux (no compiling).
GRPCIO_VERSION=1.85.1
GRPCIO_TOOLS_VERSION=1.85.1
PROTOBUF_VERSION=7.36.2
VENV=.build/interop-venv

usage() {
  cat <<EOF
Usage: Ops/interop-python.sh [UNITTEST-ARGS...]

Creates (or reuses) the virtual environment $VENV with grpcio $GRPCIO_VERSION,
grpcio-tools $GRPCIO_TOOLS_VERSION and protobuf $PROTOBUF_VERSION from PyPI, then runs
  python -m unittest -v Tests/Interop/python/test_interop.py [UNITTEST-ARGS...]
e.g. Ops/interop-python.sh -k health

Environment:
  RENKEI_BIN  the renkei executable to test (default: .build/debug/renkei, as
              'swift build' makes it)
  PYTHON      the Python that creates the venv (default: python3; needs the
              venv module, Debian package python3-venv, see Ops/deps.sh)
Exit status: 0 when every test passed; non-zero on any failure, including a
venv or pip step that failed (the failing command is printed).
EOF
}
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  usage
  exit 0
fi

# Runs a command; on failure says exactly which one and exits non-zero.
run() {
  if ! "$@"; then
    echo "interop-python: FAILED: $*" >&2
    exit 1
  fi
}

PY=${PYTHON:-python3}
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$VENV"
  echo "==> creating $VENV with $PY"
  run "$PY" -m venv "$VENV"
fi

want="grpcio=$GRPCIO_VERSION grpcio-tools=$GRPCIO_TOOLS_VERSION protobuf=$PROTOBUF_VERSION"
have=$("$VENV/bin/python" - <<'PY' 2>/dev/null || true
from importlib import metadata
def v(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"
print(" ".join(f"{n}={v(n)}" for n in ("grpcio", "grpcio-tools", "protobuf")))
PY
)
if [[ $have != "$want" ]]; then
  echo "==> installing $want into $VENV"
  run "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet --only-binary=:all: \
    "grpcio==$GRPCIO_VERSION" "grpcio-tools==$GRPCIO_TOOLS_VERSION" "protobuf==$PROTOBUF_VERSION"
fi

RENKEI_BIN=${RENKEI_BIN:-.build/debug/renkei}
if [[ ! -x $RENKEI_BIN ]]; then
  echo "interop-python: FAILED: no renkei executable at $RENKEI_BIN (run 'swift build', or set RENKEI_BIN)" >&2
  exit 1
fi
export RENKEI_BIN
RENKEI_BIN=$(cd "$(dirname "$RENKEI_BIN")" && pwd)/$(basename "$RENKEI_BIN")

echo "==> interop test: $want against $RENKEI_BIN"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in Tests/
run "$VENV/bin/python" -m unittest -v Tests/Interop/python/test_interop.py "$@"
