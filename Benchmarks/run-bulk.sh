#!/usr/bin/env bash
# Bulk-inquiry benchmark (issue 4): one command builds a cluster, runs a bulk
# inquiry with a realistic mix, measures single-inquiry latency during it, and
# measures two baselines on the same data, numbers and batches: the
# in-process ceiling and a PostgreSQL 15 peer. See Benchmarks/README.md.
#
#   Benchmarks/run-bulk.sh [--inquiries N] [--municipalities M] [--residents-per-municipality R]
#                          [--streams-per-provider S] [--concurrency K] [--batch B] [--seed S]
#                          [--quick] [--baselines-only] [--keep]
#
# Writes Benchmarks/results/bulk-<UTC time>.json and .svg. Cleans up (cluster
# down, PostgreSQL stopped, temp dir removed) on exit and on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ -x /opt/swift/usr/bin/swift ]] && ! command -v swift >/dev/null 2>&1; then
  export PATH=/opt/swift/usr/bin:$PATH
fi

INQUIRIES=""; MUNICIPALITIES=8; RESIDENTS=""; STREAMS=2; CONCURRENCY=""; BATCH=1000; SEED=3
QUICK=0; BASELINES_ONLY=0; KEEP=0; REQUESTER=322016
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while (($#)); do
  case "$1" in
    --inquiries) INQUIRIES=$2; shift 2 ;;
    --municipalities) MUNICIPALITIES=$2; shift 2 ;;
    --residents-per-municipality) RESIDENTS=$2; shift 2 ;;
    --streams-per-provider) STREAMS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --baselines-only) BASELINES_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    *) echo "run-bulk: unknown option $1" >&2; usage ;;
  esac
done
if ((QUICK)); then : "${INQUIRIES:=20000}" "${RESIDENTS:=5000}"; fi
# gen movers asks real and misaddressed rows (90% of the inquiries) of other
# municipalities' residents, so the default population covers them.
: "${INQUIRIES:=1000000}"
: "${RESIDENTS:=$(( (INQUIRIES * 9 / 10 + MUNICIPALITIES - 1) / MUNICIPALITIES > 100000 ? (INQUIRIES * 9 / 10 + MUNICIPALITIES - 1) / MUNICIPALITIES : 100000 ))}"
if ((MUNICIPALITIES < 2 || MUNICIPALITIES > 10)); then echo "run-bulk: --municipalities must be 2 to 10" >&2; exit 64; fi

log() { printf '[run-bulk %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

Ops/deps.sh postgresql-15 time

# (a) Build, release: the benchmark package and renkei itself, in ONE build
# (Benchmarks/.build): renkei is a product of the root package, which the
# benchmark package depends on by path, so the same sources are compiled once.
log "building renkei and bulk-baselines (release, Benchmarks/.build; the first time takes a while)"
swift build -c release --package-path Benchmarks --product bulk-baselines
swift build -c release --package-path Benchmarks --product renkei
BIN="$(swift build -c release --package-path Benchmarks --show-bin-path)"
RENKEI="$BIN/renkei"
BB="$BIN/bulk-baselines"

HAVE_BULK=1
# `--help` after an unknown word prints the parent's help and exits 0, so the
# usage line itself is checked.
HELP_BULK=$("$RENKEI" inquire bulk --help 2>&1 || true)
HELP_MOVERS=$("$RENKEI" gen movers --help 2>&1 || true)
if [[ $HELP_BULK != *"renkei inquire bulk"* || $HELP_MOVERS != *"renkei gen movers"* ]]; then
  HAVE_BULK=0
  if ((!BASELINES_ONLY)); then
    cat >&2 <<'MSG'
run-bulk: this renkei has no `renkei inquire bulk` and/or `renkei gen movers` yet
  (issue 4 items 1-3: the bulk RPC and its requester CLI). Merge them and run again,
  or run `Benchmarks/run-bulk.sh --baselines-only` to build the cluster and measure
  the two baselines (in-process ceiling, PostgreSQL 15) alone.
MSG
    exit 2
  fi
  log "no 'renkei inquire bulk' / 'renkei gen movers': baselines only, movers from 'bulk-baselines movers'"
fi

W=$(mktemp -d /tmp/renkei-bulk.XXXXXX)
chmod 0755 "$W"   # the PostgreSQL server user must reach $W/pg; secrets inside keep their own 0600
D=$W/cluster
SINGLE_PID=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SINGLE_PID" ]] && kill -0 "$SINGLE_PID" 2>/dev/null; then kill "$SINGLE_PID"; wait "$SINGLE_PID" 2>/dev/null; fi
  if [[ -f "$D/cluster.json" ]]; then "$RENKEI" cluster down --dir "$D" >/dev/null 2>&1 || log "cluster down failed"; fi
  if [[ -f "$W/pg/data/postmaster.pid" ]]; then
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$W/pg/data" -m immediate stop >/dev/null 2>&1
    else /usr/lib/postgresql/15/bin/pg_ctl -D "$W/pg/data" -m immediate stop >/dev/null 2>&1; fi
  fi
  if ((KEEP)); then log "kept $W"; else rm -rf "$W"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# (b) The cluster: the requester (Matsue) on its own node, M providers on
# three node processes: one alone, the others on two shared nodes.
read -r P0 P1 P2 P3 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
PROVIDERS=$(python3 - "$MUNICIPALITIES" <<'PY'
import sys
codes = ["322032","322024","322041","322059","322067","322075","322091","312011","312029","331007"]
print(" ".join(codes[:int(sys.argv[1])]))
PY
)
python3 - "$W/spec.json" "$REQUESTER" "$RESIDENTS" "$P0" "$P1" "$P2" "$P3" $PROVIDERS <<'PY'
import json, sys
out, requester, residents, p0, p1, p2, p3, *providers = sys.argv[1:]
residents = int(residents)
m = lambda c: {"code": c, "residents": residents}
rest = providers[1:]
half = (len(rest) + 1) // 2
nodes = [
  {"name": "requester", "port": int(p0), "municipalities": [{"code": requester, "residents": 1000}]},
  {"name": "city", "port": int(p1), "municipalities": [m(providers[0])]},
  {"name": "shared-east", "port": int(p2), "municipalities": [m(c) for c in rest[:half]]},
]
if rest[half:]:
  nodes.append({"name": "shared-west", "port": int(p3), "municipalities": [m(c) for c in rest[half:]]})
json.dump({"seed": 1, "directoryValidDays": 30, "nodes": nodes}, open(out, "w"), indent=2)
PY
# The baselines' concurrency: what the bulk requester runs at once, one
# connection per provider node with S streams each.
PROVIDER_NODES=$(python3 -c "import json; print(sum(1 for n in json.load(open('$W/spec.json'))['nodes'] if n['name'] != 'requester'))")
: "${CONCURRENCY:=$((PROVIDER_NODES * STREAMS))}"
log "cluster: requester $REQUESTER + $MUNICIPALITIES providers × $RESIDENTS residents ($PROVIDERS)"
T0=$(date +%s.%N)
"$RENKEI" cluster up "$W/spec.json" --dir "$D"
T1=$(date +%s.%N)
CLUSTER_UP_SECONDS=$(python3 -c "print(round($T1-$T0,1))")
log "cluster up in ${CLUSTER_UP_SECONDS} s"
# The single-inquiry target: a municipality on the busiest (shared) node.
SINGLE_TARGET=$(echo $PROVIDERS | cut -d' ' -f2)

# (c) The movers: real, misaddressed and unknown numbers.
if ((HAVE_BULK)); then
  "$RENKEI" gen movers --cluster-dir "$D" --to "$REQUESTER" --count "$INQUIRIES" --seed "$SEED" --out "$W/movers.csv"
else
  "$BB" movers --cluster-dir "$D" --to "$REQUESTER" --count "$INQUIRIES" --seed "$SEED" --out "$W/movers.csv"
fi

# Single-inquiry latency with nothing else running, for comparison.
"$BB" single-latency --node "$D/$REQUESTER" --target "$SINGLE_TARGET" --cluster-dir "$D" \
  --seconds 5 --phase idle --out "$W/single-idle.json"

node_pids() { for f in "$D"/nodes/*/node.pid; do echo "$(basename "$(dirname "$f")") $(cat "$f")"; done; }
proc_sample() { # name pid cpu_seconds vmhwm_bytes, one line per node
  local tck; tck=$(getconf CLK_TCK)
  node_pids | while read -r name pid; do
    if [[ -r /proc/$pid/stat ]]; then
      read -r -a f < <(sed 's/.*) //' "/proc/$pid/stat")
      hwm=$(awk '/VmHWM/ {print $2*1024}' "/proc/$pid/status")
      echo "$name $pid $(python3 -c "print((${f[11]}+${f[12]})/$tck)") $hwm"
    fi
  done
}

if ((HAVE_BULK)); then
  # (d) + (e) The bulk run, with single inquiries over one kept-open connection meanwhile.
  proc_sample > "$W/nodes-before.txt"
  "$BB" single-latency --node "$D/$REQUESTER" --target "$SINGLE_TARGET" --cluster-dir "$D" \
    --seconds 3600 --stop-file "$W/bulk.done" --phase during-bulk --out "$W/single-during.json" &
  SINGLE_PID=$!
  sleep 1
  log "bulk inquiry: $INQUIRIES rows"
  BULK_HELP=$("$RENKEI" inquire bulk --help 2>&1)
  BULK_OPTS=()
  [[ $BULK_HELP == *--streams-per-provider* ]] && BULK_OPTS+=(--streams-per-provider "$STREAMS")
  [[ $BULK_HELP == *--batch-size* ]] && BULK_OPTS+=(--batch-size "$BATCH")
  /usr/bin/time -v -o "$W/bulk.time" "$RENKEI" inquire bulk --node "$D/$REQUESTER" "$W/movers.csv" \
    --out "$W/results.csv" --progress none --stats-json "$W/bulk.json" "${BULK_OPTS[@]}"
  touch "$W/bulk.done"
  wait "$SINGLE_PID"; SINGLE_PID=""
  proc_sample > "$W/nodes-after.txt"
fi

"$RENKEI" cluster down --dir "$D"

# (f) The baselines, on the same node data directories and the same movers file.
log "ceiling (in process)"
"$BB" ceiling --cluster-dir "$D" --movers "$W/movers.csv" --batch "$BATCH" --concurrency "$CONCURRENCY" --out "$W/ceiling.json"
"$BB" ceiling --encode --cluster-dir "$D" --movers "$W/movers.csv" --batch "$BATCH" --concurrency "$CONCURRENCY" --out "$W/ceiling-encoded.json"
log "PostgreSQL 15 peer"
"$BB" postgres --cluster-dir "$D" --movers "$W/movers.csv" --batch "$BATCH" --concurrency "$CONCURRENCY" \
  --work "$W/pg" --out "$W/postgres.json"

# (g) + (h) One JSON with everything, ratios and targets, and the chart.
mkdir -p Benchmarks/results
STAMP=$(date -u +%Y%m%dT%H%MZ)
SUFFIX=""; ((QUICK)) && SUFFIX="-quick"; ((HAVE_BULK)) || SUFFIX="$SUFFIX-baselines-only"
python3 Benchmarks/bulk-report.py --work "$W" --out "Benchmarks/results/bulk-$STAMP$SUFFIX.json" \
  --svg "Benchmarks/results/bulk-$STAMP$SUFFIX.svg" \
  --param inquiries="$INQUIRIES" --param municipalities="$MUNICIPALITIES" \
  --param residentsPerMunicipality="$RESIDENTS" --param concurrency="$CONCURRENCY" --param batch="$BATCH" \
  --param streamsPerProvider="$STREAMS" --param providerNodes="$PROVIDER_NODES" \
  --param seed="$SEED" --param clusterUpSeconds="$CLUSTER_UP_SECONDS" --param quick="$QUICK" \
  --param singleTarget="$SINGLE_TARGET" --param requester="$REQUESTER" --param providers="$PROVIDERS"
if command -v rsvg-convert >/dev/null 2>&1; then
  rsvg-convert -o "Benchmarks/results/bulk-$STAMP$SUFFIX.png" "Benchmarks/results/bulk-$STAMP$SUFFIX.svg" && log "wrote Benchmarks/results/bulk-$STAMP$SUFFIX.png"
fi
