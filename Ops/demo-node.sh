#!/usr/bin/env bash
# The single-node story (Ops/demo.sh runs the cluster): installs missing system packages (as root), builds
# renkei, and runs the single-node story end to end in a throwaway directory:
# init, two tenants, a generated population, CSV import, lookups, tenant
# isolation, export without Individual Numbers, a plaintext scan of the data
# directory and a rejected bad file. Prints a short report.
#
#   Ops/demo-node.sh [--count N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=20000
KEEP=0
while (($#)); do
  case "$1" in
    --count) COUNT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
Ops/deps.sh
echo "== building renkei (first build takes a few minutes)"
swift build --product renkei 2>&1 | grep -E "error|warning: unre|Compiling renkei|Build complete" || true
BIN="$(swift build --show-bin-path)/renkei"
[[ -x "$BIN" ]] || { echo "demo: build failed" >&2; exit 1; }
renkei() { "$BIN" "$@"; }

D=$(mktemp -d /tmp/renkei-demo.XXXXXX)
if ((KEEP)); then echo "== working in $D (kept)"; else trap 'rm -rf "$D"' EXIT; fi
step() { echo; echo "== $*"; }
T0=$(date +%s.%N)

step "renkei init"
renkei init --data "$D/node"
step "renkei tenant add (松江市 322016, 出雲市 322032)"
renkei tenant add --data "$D/node" --code 322016 --name 松江市
renkei tenant add --data "$D/node" --code 322032 --name 出雲市
step "renkei gen: $COUNT residents of 松江市"
renkei gen --code 322016 --count "$COUNT" --seed 1 --out "$D/gen" --progress none
step "renkei import residents / vaccinations"
renkei import residents --data "$D/node" --code 322016 "$D/gen/residents.csv" --progress none
renkei import vaccinations --data "$D/node" --code 322016 "$D/gen/vaccinations.csv" --progress none
step "re-import (idempotent: nothing changes)"
renkei import residents --data "$D/node" --code 322016 "$D/gen/residents.csv" --progress none

NUMBER=$(awk -F, 'NR==2 {print $2}' "$D/gen/residents.csv")
step "renkei resident show --code 322016 (the person and their doses)"
echo "$NUMBER" | renkei resident show --data "$D/node" --code 322016 | sed 's/^/  /'
step "the same number asked of 出雲市 322032 (must be not found, exit 3)"
set +e
echo "$NUMBER" | renkei resident show --data "$D/node" --code 322032
RC=$?
set -e
echo "  exit code: $RC"
[[ $RC -eq 3 ]] || { echo "demo: FAILED: expected exit code 3" >&2; exit 1; }

step "renkei export vaccinations (no 個人番号 column)"
renkei export vaccinations --data "$D/node" --code 322016 --out "$D/export.csv"
head -1 "$D/export.csv" | cut -d, -f1-8
if grep -q "個人番号" "$D/export.csv" || grep -qF "$NUMBER" "$D/export.csv"; then
  echo "demo: FAILED: the export contains an Individual Number" >&2; exit 1
fi

step "renkei tenant list"
renkei tenant list --data "$D/node"

step "plaintext scan of the data directory (numbers, names, addresses)"
awk -F, 'NR>1 && NR<=201 {print $2; print $3; print $7}' "$D/gen/residents.csv" > "$D/needles.txt"
# grep exits 1 when nothing matches: that is the result we want.
HITS=$( { grep -r -a -F -c -f "$D/needles.txt" "$D/node" 2>/dev/null || true; } | awk -F: '{s+=$NF} END {print s+0}')
CONTROL=$( { grep -a -F -c -f "$D/needles.txt" "$D/gen/residents.csv" || true; } )
echo "  searched for $(wc -l < "$D/needles.txt") values from residents.csv: $HITS hits in the node (control: $CONTROL lines of residents.csv match)"
[[ $CONTROL -gt 0 ]] || { echo "demo: FAILED: the scan found nothing even in the source file" >&2; exit 1; }
[[ $HITS -eq 0 ]] || { echo "demo: FAILED: plaintext personal data found at rest" >&2; exit 1; }

step "a bad file is rejected whole (wrong check digit on one row)"
awk -F, 'BEGIN{OFS=","} NR==3 { $2 = substr($2,1,11) ((substr($2,12,1)+1)%10) } {print}' "$D/gen/residents.csv" > "$D/bad.csv"
set +e
renkei import residents --data "$D/node" --code 322016 "$D/bad.csv" --progress none
RC=$?
set -e
echo "  exit code: $RC (2 = rejected, nothing stored)"
[[ $RC -eq 2 ]] || { echo "demo: FAILED: expected exit code 2" >&2; exit 1; }

T1=$(date +%s.%N)
echo
echo "== report"
renkei tenant list --data "$D/node" | sed 's/^/  /'
awk -v a="$T0" -v b="$T1" -v n="$COUNT" 'BEGIN { printf "  elapsed: %.1f s for %d residents (debug build)\n", b - a, n }'
echo "  all demo checks passed"
