#!/usr/bin/env bash
# The README's demo command: installs missing system packages (as root), builds
# renkei, and runs the local cluster story end to end in a throwaway directory:
# Cluster/local.json brought up as real node processes on loopback (throwaway
# PKI, signed directory, generated residents in embedded RocksDB), transfer
# inquiries between municipalities through each one's operator view, the
# addressing rules (a misaddressed number matches no one), moving in and out,
# the audit logs verified, operator accounts (a clerk logs in with password and
# TOTP, is refused a backup, logs out; access review, operation-log export,
# assessment figures), disaster recovery (a sentinel written, the node
# killed, its municipality restored from the vault), a plaintext scan (vault
# included), and the cluster stopped. Prints a report and exits non-zero if
# any check fails.
#
#   Ops/demo.sh [--residents N] [--keep]
#
# The single-node story (import, export, tenant deletion): Ops/demo-node.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
RESIDENTS=""
KEEP=0
while (($#)); do
  case "$1" in
    --residents) RESIDENTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi
Ops/deps.sh
echo "== building renkei (the first build takes several minutes)"
swift build --product renkei 2>&1 | grep -E "error|Build complete" || true
BIN="$(swift build --show-bin-path)/renkei"
[[ -x "$BIN" ]] || { echo "demo: build failed" >&2; exit 1; }
renkei() { "$BIN" "$@"; }

WORK=$(mktemp -d /tmp/renkei-demo.XXXXXX)
D=$WORK/cluster
cleanup() {
  renkei cluster down --dir "$D" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "== kept $D"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
step() { echo; echo "== $*"; }
FAILED=0
CHECKS=0
fail() { echo "  FAILED: $*"; FAILED=1; }
# expect CODE DESCRIPTION -- command…: runs it, shows its output, checks the exit code.
expect() {
  local want=$1 what=$2; shift 3
  set +e; "$@" > "$WORK/out" 2>&1; local rc=$?; set -e
  sed 's/^/  /' "$WORK/out" | head -14
  CHECKS=$((CHECKS + 1))
  if [[ $rc -eq $want ]]; then echo "  ok: $what (exit $rc)"; else fail "$what: exit $rc, expected $want"; fi
}
T0=$(date +%s.%N)

step "renkei cluster up Cluster/local.json: throwaway PKI, signed directory, residents, 3 node processes"
renkei cluster up Cluster/local.json --dir "$D" ${RESIDENTS:+--residents "$RESIDENTS"}
renkei cluster status --dir "$D"

# Synthetic residents, regenerated from the cluster's seed (nothing is stored in plaintext).
IZUMO=$(renkei cluster sample --dir "$D" --code 322032 --count 1)
HAMADA=$(renkei cluster sample --dir "$D" --code 322024 --count 1)
MATSUE=$(renkei cluster sample --dir "$D" --code 322016 --count 1)

step "松江市 (322016) asks 出雲市 (322032) about an Izumo resident who moved in"
expect 0 "MATCH, records printed and stored in Matsue's tenant" -- \
  renkei inquire transfer --node "$D/322016" --from 322032 --number "$IZUMO"
cp "$WORK/out" "$WORK/match.txt"
step "the same number asked of 浜田市 (322024): misaddressed"
expect 3 "NO_MATCH" -- renkei inquire transfer --node "$D/322016" --from 322024 --number "$IZUMO"
step "a Hamada resident asked of 安来市 (322067), the other tenant of the same shared node"
expect 3 "NO_MATCH (tenants are separate)" -- renkei inquire transfer --node "$D/322016" --from 322067 --number "$HAMADA"
step "an invalid municipality code"
expect 64 "clear error, nothing sent" -- renkei inquire transfer --node "$D/322016" --from 999999 --number 123456789018
step "a number with a wrong check digit"
BAD="${MATSUE:0:11}$(( (${MATSUE:11:1} + 1) % 10 ))"
expect 64 "refused locally, never sent" -- renkei inquire transfer --node "$D/322032" --from 322016 --number "$BAD"
step "浜田市 acts through its own view of the shared node and asks 松江市"
expect 0 "MATCH" -- renkei inquire transfer --node "$D/322024" --from 322016 --number "$MATSUE"

step "出雲市 marks the resident as moved out (転出) to 松江市, through the running node"
expect 0 "marked" -- renkei resident mark-moved-out --node "$D/322032" --number "$IZUMO" --to 322016
expect 0 "and 出雲市 still answers for them" -- \
  renkei inquire transfer --node "$D/322016" --from 322032 --number "$IZUMO"

step "audit logs, verified while the nodes run (hash chains; no numbers in them)"
for code in 322016 322032 322024; do
  expect 0 "audit verify $code" -- renkei audit verify --node "$D/$code"
done
renkei audit show --node "$D/322016" --last 4 | sed 's/^/  /'
CHECKS=$((CHECKS + 1))
if grep -rqF -e "$IZUMO" -e "$HAMADA" -e "$MATSUE" "$D"/nodes/*/data/audit; then fail "a number is in an audit log"; else echo "  ok: no number in any audit log"; fi

step "operators (issue 6): a clerk with least rights logs in with a password and a one-time code"
# The demo account op-322016 (every role; demo only) adds a clerk through the running node.
printf 'clerk-demo-password-1\n' > "$WORK/clerk.password"
expect 0 "administrator adds a clerk" -- renkei user add --node "$D/322016" --login clerk1 --role clerk \
  --person "Demo Clerk" --allow-terminal demo-desk --password-file "$WORK/clerk.password"
sed -n 's/^one-time-code secret.*: \([A-Z2-7]*\)$/\1/p' "$WORK/out" > "$WORK/clerk.secret"
CLERK="env RENKEI_SESSION_FILE=$WORK/clerk.session RENKEI_TERMINAL=demo-desk"
expect 0 "clerk logs in (password + TOTP)" -- $CLERK "$BIN" login --node "$D/322016" --user clerk1 \
  --password-file "$WORK/clerk.password" --totp "$(renkei user totp --secret-file "$WORK/clerk.secret")"
expect 0 "clerk views a resident (logged with the number's blind index)" -- \
  $CLERK "$BIN" resident show --node "$D/322016" --number "$MATSUE"
expect 4 "clerk may not start a backup: denied and logged" -- $CLERK "$BIN" backup now --node "$D/322016"
expect 0 "clerk logs out" -- $CLERK "$BIN" logout --node "$D/322016"
expect 4 "after logout every command needs a new login" -- $CLERK "$BIN" resident show --node "$D/322016" --number "$MATSUE"
expect 0 "periodic access review (recorded in the operation log)" -- renkei user review --node "$D/322016"
expect 0 "the auditor's export of the operation log" -- renkei audit export --node "$D/322016" --out "$WORK/oplog.csv"
tail -4 "$WORK/oplog.csv" | cut -c1-150 | sed 's/^/  /'
expect 0 "assessment figures" -- renkei assessment report --node "$D/322016"
CHECKS=$((CHECKS + 1))
if grep -qF "$MATSUE" "$WORK/oplog.csv"; then fail "a number is in the operation log export"; else echo "  ok: no number in the operation log export"; fi

step "disaster recovery (issue 5): a sentinel written on 松江市's node, the node killed, 322016 restored from the vault"
SENTINEL=$(renkei cluster sample --dir "$D" --code 322016 --count 3 | tail -1)
expect 0 "sentinel: 転出 of a Matsue resident, through the running node" -- \
  renkei resident mark-moved-out --node "$D/322016" --number "$SENTINEL" --to 322032 --on 2026-11-27
# Wait until the vault has acknowledged every change of the node (async shipping).
SHIPPED=0
for _ in $(seq 1 240); do
  STATUS=$(renkei backup status --node "$D/322016" --json 2>/dev/null || true)
  LAST=$(sed -n 's/.*"lastChangeSeq" *: *\([0-9]*\).*/\1/p' <<< "$STATUS")
  ACKED=$(sed -n 's/.*"lastAckedSeq" *: *\([0-9]*\).*/\1/p' <<< "$STATUS")
  if [[ -n "$LAST" && -n "$ACKED" && "$LAST" -gt 0 && "$ACKED" -ge "$LAST" ]]; then SHIPPED=1; break; fi
  sleep 0.5
done
renkei backup status --node "$D/322016" | sed 's/^/  /'
CHECKS=$((CHECKS + 1))
if ((SHIPPED)); then echo "  ok: the vault acknowledged change $ACKED"; else fail "the vault did not catch up within 120 s"; fi
MATSUE_PID=$(cat "$D/nodes/matsue/node.pid")
kill -9 "$MATSUE_PID"
echo "  kill -9 $MATSUE_PID (the 322016 node)"
expect 0 "restore 322016 from the vault with its recovery kit (new master key, every checksum verified)" -- \
  renkei restore --vault "$D/vault" --code 322016 --to "$D/restored" --progress none \
    --recovery-kit "$D/322016/recovery-kit.json" --passphrase-file "$D/322016/recovery-kit.passphrase"
expect 0 "the sentinel in the restored store" -- \
  renkei resident show --data "$D/restored" --code 322016 --number "$SENTINEL"
CHECKS=$((CHECKS + 1))
if grep -q "転出 *2026-11-27 to 322032" "$WORK/out"; then
  echo "  ok: sentinel found after restore: $(grep "転出" "$WORK/out" | sed 's/  */ /g')"
else
  fail "the sentinel is not in the restored store"
fi
expect 0 "backup verify: every segment and snapshot file of the vault intact" -- \
  renkei backup verify --vault-data "$D/vault-site/data"

step "renkei cluster down (each node exits 0 after a graceful shutdown; the killed one says so)"
renkei cluster down --dir "$D" | sed 's/^/  /'

step "what 松江市 now holds for the person (offline, the node is stopped)"
expect 0 "received file from 322032 kept in Matsue's tenant" -- \
  renkei resident show --data "$D/nodes/matsue/data" --code 322016 --number "$IZUMO"
grep -q "322032" "$WORK/out" || fail "resident show does not list the file received from 322032"
expect 0 "出雲市's record carries the 転出 flag" -- \
  renkei resident show --data "$D/nodes/izumo/data" --code 322032 --number "$IZUMO"

step "plaintext scan of the whole cluster directory (numbers and the name the MATCH printed)"
NAME=$(sed -n 's/^ *氏名 *\([^ ]*\).*/\1/p' "$WORK/match.txt" | head -1)
printf '%s\n' "$IZUMO" "$HAMADA" "$MATSUE" ${NAME:+"$NAME"} > "$WORK/needles.txt"
HITS=$( { grep -r -a -F -c -f "$WORK/needles.txt" "$D" 2>/dev/null || true; } | awk -F: '{s+=$NF} END {print s+0}')
CONTROL=$( { grep -a -F -c -f "$WORK/needles.txt" "$WORK/match.txt" || true; } )
echo "  searched $D for $(wc -l < "$WORK/needles.txt") values: $HITS hits (control: $CONTROL lines of the printed MATCH match)"
CHECKS=$((CHECKS + 1))
[[ $CONTROL -gt 0 ]] || fail "the scan found nothing even in the printed MATCH"
[[ $HITS -eq 0 ]] || fail "plaintext personal data found at rest"

T1=$(date +%s.%N)
echo
echo "== report"
awk -v a="$T0" -v b="$T1" -v c="$CHECKS" 'BEGIN { printf "  %d checks in %.1f s (debug build)\n", c, b - a }'
if ((FAILED)); then echo "  the cluster demo FAILED"; exit 1; fi
echo "  all demo checks passed"
