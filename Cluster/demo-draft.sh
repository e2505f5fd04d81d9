#!/usr/bin/env bash
# DRAFT for the lead (not wired into Ops/demo.sh): the cluster story.
# Starts Cluster/local.json (Matsue, Izumo, and a shared Hamada+Yasugi node)
# as real node processes on loopback, asks transfer inquiries across nodes
# through operator views (--node DIR/CODE, the form the lead is adding), checks
# exit codes (0 MATCH, 3 NO_MATCH), and stops the cluster.
#
#   Cluster/demo-draft.sh [--residents N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
RESIDENTS=""
KEEP=0
while (($#)); do
  case "$1" in
    --residents) RESIDENTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
echo "== building renkei"
swift build --product renkei 2>&1 | grep -E "error|Build complete" || true
BIN="$(swift build --show-bin-path)/renkei"
[[ -x "$BIN" ]] || { echo "demo: build failed" >&2; exit 1; }
renkei() { "$BIN" "$@"; }

D=$(mktemp -d /tmp/renkei-cluster.XXXXXX)/cluster
cleanup() {
  renkei cluster down --dir "$D" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "== kept $D"; else rm -rf "$(dirname "$D")"; fi
}
trap cleanup EXIT
step() { echo; echo "== $*"; }
FAILED=0
expect() {  # expect CODE DESCRIPTION -- command…
  local want=$1 what=$2; shift 3
  set +e; "$@" > "$D.out" 2>&1; local rc=$?; set -e
  sed 's/^/  /' "$D.out" | head -12
  if [[ $rc -eq $want ]]; then echo "  ok: $what (exit $rc)"; else echo "  FAILED: $what: exit $rc, expected $want"; FAILED=1; fi
}

step "renkei cluster up Cluster/local.json (PKI, directory, residents, 3 node processes)"
renkei cluster up Cluster/local.json --dir "$D" ${RESIDENTS:+--residents "$RESIDENTS"}

step "renkei cluster status"
renkei cluster status --dir "$D"

IZUMO=$(renkei cluster sample --dir "$D" --code 322032 --count 1)
YASUGI=$(renkei cluster sample --dir "$D" --code 322067 --count 1)
MATSUE=$(renkei cluster sample --dir "$D" --code 322016 --count 1)

step "松江市 asks 出雲市 about an Izumo resident (moving in from Izumo)"
expect 0 "MATCH" -- renkei inquire transfer --node "$D/322016" --from 322032 --number "$IZUMO"
step "松江市 asks 安来市 on the shared node"
expect 0 "MATCH" -- renkei inquire transfer --node "$D/322016" --from 322067 --number "$YASUGI"
step "the Yasugi resident asked of 浜田市, the other tenant of the same node"
expect 3 "NO_MATCH (tenants are separate)" -- renkei inquire transfer --node "$D/322016" --from 322024 --number "$YASUGI"
step "浜田市 asks 出雲市 about a Matsue resident"
expect 3 "NO_MATCH" -- renkei inquire transfer --node "$D/322024" --from 322032 --number "$MATSUE"
step "出雲市 asks 松江市 (acting as Izumo through its operator view)"
expect 0 "MATCH" -- renkei inquire transfer --node "$D/322032" --from 322016 --number "$MATSUE"

step "no plaintext CSV anywhere in the cluster directory; no number in the node logs"
if find "$D" -name '*.csv' | grep -q .; then echo "  FAILED: CSV files found"; FAILED=1; else echo "  ok: no CSV"; fi
if grep -q -e "$IZUMO" -e "$YASUGI" -e "$MATSUE" "$D"/nodes/*/node.log; then echo "  FAILED: a number is in a log"; FAILED=1; else echo "  ok: logs hold no number"; fi

step "renkei cluster down (each node exits 0 after a graceful shutdown)"
renkei cluster down --dir "$D"
step "renkei cluster down again (nothing to do)"
renkei cluster down --dir "$D"

if ((FAILED)); then echo; echo "== cluster demo FAILED"; exit 1; fi
echo; echo "== cluster demo passed"
