#!/usr/bin/env bash
# Regenerates the committed Swift for the peer protocol contract:
#   Sources/RenkeiWire/Protos/renkei/v1/*.proto  ->  Sources/RenkeiWire/Generated/*.swift
#
# Uses Debian's protoc (protobuf-compiler) with the two plugins built from the
# package's own dependencies, so the generated code always matches the
# SwiftProtobuf and grpc-swift-2 versions the package resolves:
#   protoc-gen-swift          (apple/swift-protobuf)
#   protoc-gen-grpc-swift-2   (grpc/grpc-swift-protobuf)
# The first run builds both plugins, which takes several minutes.
#
#   Ops/generate-protos.sh           regenerate in place and show what changed
#   Ops/generate-protos.sh --check   regenerate into a temporary directory and
#                                    fail if the committed code differs
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 64 ;;
esac

if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
if ! command -v protoc >/dev/null 2>&1; then
  echo "error: protoc not found; install it with: apt-get install protobuf-compiler" >&2
  exit 1
fi

PROTO_ROOT=Sources/RenkeiWire/Protos
OUT=Sources/RenkeiWire/Generated
mapfile -t PROTOS < <(cd "$PROTO_ROOT" && find renkei -name '*.proto' | LC_ALL=C sort)
if [[ ${#PROTOS[@]} -eq 0 ]]; then
  echo "error: no .proto files under $PROTO_ROOT" >&2
  exit 1
fi

echo "==> protoc: $(command -v protoc) ($(protoc --version))"
echo "==> building protoc-gen-swift (swift-protobuf)"
swift build --product protoc-gen-swift
echo "==> building protoc-gen-grpc-swift-2 (grpc-swift-protobuf)"
swift build --product protoc-gen-grpc-swift-2
BIN=$(swift build --show-bin-path)
for plugin in protoc-gen-swift protoc-gen-grpc-swift-2; do
  [[ -x "$BIN/$plugin" ]] || { echo "error: $BIN/$plugin was not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "==> generating from ${PROTOS[*]}"
protoc \
  --proto_path="$PROTO_ROOT" \
  --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
  --swift_out="$tmp" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --plugin=protoc-gen-grpc-swift="$BIN/protoc-gen-grpc-swift-2" \
  --grpc-swift_out="$tmp" \
  --grpc-swift_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores \
  "${PROTOS[@]}"

if [[ $check -eq 1 ]]; then
  if diff -r "$OUT" "$tmp" >/dev/null 2>&1; then
    echo "==> $OUT is up to date"
    exit 0
  fi
  echo "error: $OUT differs from what the .proto files generate; run Ops/generate-protos.sh" >&2
  diff -ru "$OUT" "$tmp" | head -40 >&2 || true
  exit 1
fi

mkdir -p "$OUT"
find "$OUT" -maxdepth 1 -name '*.swift' -delete
cp "$tmp"/*.swift "$OUT"/
echo "==> wrote:"
(cd "$OUT" && for f in *.swift; do printf '    %s/%s (%s lines)\n' "$OUT" "$f" "$(wc -l <"$f")"; done)
if git rev-parse --git-dir >/dev/null 2>&1; then
  if [[ -z "$(git status --porcelain -- "$OUT")" ]]; then
    echo "==> no changes against the committed code"
  else
    echo "==> changes against the committed code:"
    git status --short -- "$OUT" | sed 's/^/    /'
  fi
fi
