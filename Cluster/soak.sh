#!/usr/bin/env bash
# Bounded soak run (issue 7, item 7): a cluster with its vault under mixed load
# for a set time, then a check that nothing was lost and that the processes
# stayed steady. See Cluster/README.md, "Soak run".
#
#   Cluster/soak.sh [--duration SECONDS] [--dir DIR] [--residents N] [--renkei PATH]
#                   [--out JSON] [--cluster FILE] [--import-rows N] [--bulk-rows N] [--show-sample N] [--keep]
#
#   --duration S     seconds of load (default 600)
#   --dir DIR        the cluster directory (default: inside a fresh temporary directory)
#   --residents N    residents per municipality at the start (default: the cluster file's)
#   --renkei PATH    the executable (default: the newer of .build/release/renkei, .build/debug/renkei)
#   --out JSON       the report (default Benchmarks/results/soak-<UTC time>.json)
#   --cluster FILE   the cluster file, with a vault (default Cluster/local.json)
#   --import-rows N  residents per import (default 50); --bulk-rows N rows per bulk inquiry (default 300)
#   --show-sample N  per municipality, `resident show` compares N residents of the start, N imported
#                    and N asked about (default 4)
#   --keep           keep the work directory (logs, restored copies) instead of removing it
#
# Load, all at once until the time is up: an import of new generated residents,
# then their vaccinations, into each municipality through its operator view
# (every 10 s); single transfer inquiries between every pair of municipalities
# (back to back, 1 s apart), for residents of the start and residents imported
# during the run; a bulk inquiry of --bulk-rows rows (every 30 s, each
# municipality in turn); `backup now` (every 60 s, each node in turn); `backup
# status` of every node (every 10 s). RSS and open file descriptors of every
# node and the vault are sampled throughout. At the end: the vault must catch
# up; each municipality's live counts, vaccination export and a sample of
# `resident show` must equal those of its node restored from the vault, and
# the live counts must be the start plus what the imports reported stored.
# Exit 0 only if nothing was lost, the processes stayed up and steady, and
# every kind of operation succeeded (with at most 10% failures). The cluster
# is stopped on every exit path.
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
ROOT=$PWD
HELPER=$ROOT/Cluster/soak.py

DURATION=600; DIR=""; RESIDENTS=""; RENKEI=""; OUT=""; CLUSTER=Cluster/local.json
IMPORT_ROWS=50; BULK_ROWS=300; KEEP=0
IMPORT_INTERVAL=10; TRANSFER_PAUSE=1; BULK_INTERVAL=30; BACKUP_INTERVAL=60; STATUS_INTERVAL=10
CATCHUP_TIMEOUT=300; SHOW_SAMPLE=4
usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --residents) RESIDENTS=$2; shift 2 ;;
    --renkei) RENKEI=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --cluster) CLUSTER=$2; shift 2 ;;
    --import-rows) IMPORT_ROWS=$2; shift 2 ;;
    --bulk-rows) BULK_ROWS=$2; shift 2 ;;
    --show-sample) SHOW_SAMPLE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }
is_int "$DURATION" && ((DURATION >= 20)) || { echo "soak: --duration must be a whole number of seconds, at least 20" >&2; exit 64; }
is_int "$IMPORT_ROWS" && ((IMPORT_ROWS >= 1 && IMPORT_ROWS <= 1000)) || { echo "soak: --import-rows must be 1 to 1000 (one atomic import batch)" >&2; exit 64; }
is_int "$SHOW_SAMPLE" && ((SHOW_SAMPLE >= 1 && SHOW_SAMPLE <= 100)) || { echo "soak: --show-sample must be 1 to 100" >&2; exit 64; }
is_int "$BULK_ROWS" && ((BULK_ROWS >= 1 && BULK_ROWS <= 100000)) || { echo "soak: --bulk-rows must be 1 to 100,000" >&2; exit 64; }
[[ -z $RESIDENTS ]] || { is_int "$RESIDENTS" && ((RESIDENTS >= 1)); } || { echo "soak: --residents must be a positive whole number" >&2; exit 64; }
[[ -f $CLUSTER ]] || { echo "soak: --cluster: no file $CLUSTER" >&2; exit 64; }
# The soak stops its cluster on every exit, so it never takes a directory that
# may hold someone else's.
if [[ -n $DIR && -e $DIR ]] && [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
  echo "soak: --dir $DIR is not empty; give a new or empty directory" >&2; exit 64
fi
if [[ -z $RENKEI ]]; then
  for candidate in .build/release/renkei .build/debug/renkei; do
    if [[ -x $candidate && ( -z $RENKEI || $candidate -nt $RENKEI ) ]]; then RENKEI=$candidate; fi
  done
fi
[[ -n $RENKEI && -x $RENKEI ]] || { echo "soak: no renkei executable (build it, or give --renkei PATH)" >&2; exit 64; }
RENKEI=$(cd "$(dirname "$RENKEI")" && pwd)/$(basename "$RENKEI")
R=$RENKEI
# Sampling: every 5 s in a long run, every 2 s in a short one (enough points to judge).
SAMPLE_INTERVAL=$(( DURATION >= 300 ? 5 : 2 ))
STAMP=$(date -u +%Y%m%dT%H%MZ)
: "${OUT:=Benchmarks/results/soak-$STAMP.json}"
[[ $OUT = /* ]] || OUT=$ROOT/$OUT

log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
load1() { cut -d' ' -f1 /proc/loadavg; }

W=$(mktemp -d /tmp/renkei-soak.XXXXXX)
: "${DIR:=$W/cluster}"
D=$DIR
BG=()            # background workers and the sampler (their ids)
CLUSTER_UP=0
cleanup() {
  local rc=$?
  set +e
  touch "$W/stop" "$W/stop-sampler" 2>/dev/null
  for pid in "${BG[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      pkill -TERM -P "$pid" 2>/dev/null   # the renkei command it is running, by its parent's id
      kill "$pid" 2>/dev/null
    fi
  done
  for pid in "${BG[@]}"; do wait "$pid" 2>/dev/null; done
  if ((CLUSTER_UP)) || [[ -f $D/cluster.json ]]; then
    "$R" cluster down --dir "$D" --grace 10 >/dev/null 2>&1 || log "cluster down failed for $D"
  fi
  if ((KEEP)); then log "kept $W"; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

time_kv() { printf '%s\t%s\n' "$1" "$2" >> "$W/times.log"; }
SETUP_T0=$(now_ms)
time_kv load1Start "$(load1)"

# ------------------------------------------------------------- 1. setup ----
log "renkei: $R"
python3 "$HELPER" spec --cluster "$CLUSTER" --out "$W/cluster.json" > "$W/tenants.txt"
mapfile -t CODES < <(cut -d' ' -f1 "$W/tenants.txt")
mapfile -t NODES < <(cut -d' ' -f2 "$W/tenants.txt" | awk '!seen[$0]++')
NC=${#CODES[@]}
((NC >= 2)) || { echo "soak: the cluster needs at least two municipalities (inquiries go between them)" >&2; exit 64; }
declare -A NODE_OF VIEW_OF
while read -r code node; do
  NODE_OF[$code]=$node
  [[ -n ${VIEW_OF[$node]:-} ]] || VIEW_OF[$node]=$D/$code
done < "$W/tenants.txt"

# The import pool: new residents (another seed than the cluster's, so other
# people) for each municipality, generated while the cluster comes up, in
# chunks of --import-rows. At most one chunk per IMPORT_INTERVAL is used.
CHUNKS=$(( DURATION / IMPORT_INTERVAL + 2 ))
gen_pool() {
  local code=$1
  "$R" gen population --code "$code" --count $(( CHUNKS * IMPORT_ROWS )) --seed 4242 --out "$W/pool/$code" --progress none > /dev/null
  python3 "$HELPER" split --pool "$W/pool/$code" --rows "$IMPORT_ROWS" --out "$W/chunks/$code" > /dev/null
  rm -rf "$W/pool/$code"
}
( for code in "${CODES[@]}"; do gen_pool "$code"; done ) > "$W/gen.log" 2>&1 &
GEN_PID=$!; BG+=($GEN_PID)

up_args=(cluster up "$W/cluster.json" --dir "$D")
[[ -z $RESIDENTS ]] || up_args+=(--residents "$RESIDENTS")
log "cluster up: $NC municipalities on ${#NODES[@]} nodes and a vault, in $D"
CLUSTER_UP=1
"$R" "${up_args[@]}" > "$W/cluster-up.txt"
cat "$W/cluster-up.txt" >&2
wait "$GEN_PID" || { cat "$W/gen.log" >&2; echo "soak: generating the import pool failed" >&2; exit 1; }

mkdir -p "$W/numbers" "$W/asked" "$W/bulk" "$W/err"
for code in "${CODES[@]}"; do
  # Residents of the start, for single inquiries (200 spread over the population).
  "$R" cluster sample --dir "$D" --code "$code" --count 200 > "$W/numbers/$code.txt"
  : > "$W/asked/$code.txt"
  # The counts at the start (and a login session for the view before the load).
  "$R" assessment report --node "$D/$code" --json > "$W/initial-$code.json"
done
declare -A OTHERS
for code in "${CODES[@]}"; do
  OTHERS[$code]=0
  for other in "${CODES[@]}"; do
    [[ $other == "$code" ]] || OTHERS[$code]=$(( OTHERS[$code] + $(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["residents"]))' "$W/initial-$other.json") ))
  done
done
: > "$W/imported.txt"; : > "$W/ops.log"; : > "$W/samples.log"; : > "$W/status.log"
time_kv setupSeconds "$(( ($(now_ms) - SETUP_T0) / 1000 ))"

# ------------------------------------------------------------- 2. load ----
START=$(date +%s)
END_AT=$(( START + DURATION ))
running() { [[ ! -e $W/stop ]] && (( $(date +%s) < END_AT )); }
sleep_until() { while running && (( $(date +%s) < $1 )); do sleep 0.5; done; }

# op KIND TENANT DETAIL CMD...: runs CMD (a renkei command), times it and
# appends one line to ops.log: start, kind, tenant, ok|fail, seconds, exit
# code, detail (key=value …; for a failure the first line of its error, any
# 12-digit run masked). Returns CMD's exit code.
op() {
  local kind=$1 tenant=$2 detail=$3; shift 3
  local t0 t1 rc=0 out=$W/err/$BASHPID.out err=$W/err/$BASHPID.err
  t0=$(now_ms)
  "$@" > "$out" 2> "$err" || rc=$?
  t1=$(now_ms)
  local new outcomes
  new=$(grep -o '[0-9]* new,' "$out" | head -1 | tr -dc 0-9 || true)
  [[ -z $new ]] || detail+=" new=$new"
  outcomes=$(sed -n 's/^rows [0-9]*: MATCH \([0-9]*\), NO_MATCH \([0-9]*\), INVALID \([0-9]*\), UNREACHABLE \([0-9]*\).*/MATCH=\1 NO_MATCH=\2 INVALID=\3 UNREACHABLE=\4/p' "$out")
  [[ -z $outcomes ]] || detail+=" $outcomes"
  if ((rc != 0)); then
    local first
    first=$( (grep -v '^[[:space:]]*$' "$err" "$out" 2>/dev/null || true) | head -1 | sed -E 's/^[^:]*\.(err|out)://; s/[0-9]{12}/############/g' | tr '\t' ' ' | cut -c1-240)
    detail+=" error=${first:-exit $rc}"
    cp "$err" "$W/err/$kind-$(date +%s%N).err" 2>/dev/null || true
  fi
  printf '%s.%03d\t%s\t%s\t%s\t%d.%03d\t%d\t%s\n' $((t0 / 1000)) $((t0 % 1000)) "$kind" "$tenant" \
    "$([[ $rc == 0 ]] && echo ok || echo fail)" $(((t1 - t0) / 1000)) $(((t1 - t0) % 1000)) "$rc" "$detail" >> "$W/ops.log"
  return "$rc"
}

importer() {
  local round=0 t0 code rows
  while running; do
    t0=$(date +%s)
    if ((round >= CHUNKS)); then log "import pool used up"; return 0; fi
    for code in "${CODES[@]}"; do
      running || break
      rows=$(( $(wc -l < "$W/chunks/$code/residents-$round.csv") - 1 ))
      if op import-residents "$code" "rows=$rows" "$R" import residents --node "$D/$code" "$W/chunks/$code/residents-$round.csv" --progress none; then
        echo "$code $round" >> "$W/imported.txt"
        rows=$(( $(wc -l < "$W/chunks/$code/vaccinations-$round.csv") - 1 ))
        op import-vaccinations "$code" "rows=$rows" "$R" import vaccinations --node "$D/$code" "$W/chunks/$code/vaccinations-$round.csv" --progress none || true
      fi
    done
    round=$((round + 1))
    sleep_until $((t0 + IMPORT_INTERVAL))
  done
}

# A resident of CODE: one of the start, or (when ODD is 1 and there is one)
# one imported during the run.
some_number() {
  local code=$1 odd=$2 i=$3 round
  if ((odd)) && round=$(grep "^$code " "$W/imported.txt" | shuf -n 1 | cut -d' ' -f2) && [[ -n $round ]]; then
    tail -n +2 "$W/chunks/$code/residents-$round.csv" | shuf -n 1 | cut -d, -f2
  else
    sed -n "$(( i % $(wc -l < "$W/numbers/$code.txt") + 1 ))p" "$W/numbers/$code.txt"
  fi
}

transferer() {
  local i=0 r p n pairs=()
  for r in "${CODES[@]}"; do for p in "${CODES[@]}"; do [[ $r == "$p" ]] || pairs+=("$r $p"); done; done
  while running; do
    read -r r p <<< "${pairs[i % ${#pairs[@]}]}"
    n=$(some_number "$p" $((i % 2)) "$i")
    # MATCH is exit 0; NO_MATCH (3) for a resident the provider holds is a failure too.
    if op inquire-transfer "$r" "from=$p" "$R" inquire transfer --node "$D/$r" --from "$p" --number "$n"; then
      echo "$n" >> "$W/asked/$r.txt"
    fi
    i=$((i + 1))
    sleep "$TRANSFER_PAUSE"
  done
}

bulker() {
  local k=0 t0 r rows
  sleep_until $((START + 3))
  while running; do
    t0=$(date +%s)
    r=${CODES[k % NC]}
    # Real movers are distinct residents of the other municipalities at the start.
    rows=$(( BULK_ROWS < OTHERS[$r] ? BULK_ROWS : OTHERS[$r] ))
    if "$R" gen movers --cluster-dir "$D" --to "$r" --count "$rows" --seed $((100 + k)) --out "$W/bulk/$k.csv" > /dev/null 2> "$W/bulk/$k.gen.err"; then
      op inquire-bulk "$r" "rows=$rows" "$R" inquire bulk --node "$D/$r" "$W/bulk/$k.csv" --out "$W/bulk/$k.out" --progress none || true
    else
      log "gen movers failed: $(head -1 "$W/bulk/$k.gen.err")"
      printf '%s\tinquire-bulk\t%s\tfail\t0.000\t1\tgen movers failed\n' "$(date +%s)" "$r" >> "$W/ops.log"
    fi
    rm -f "$W/bulk/$k.csv"
    k=$((k + 1))
    sleep_until $((t0 + BULK_INTERVAL))
  done
}

backer() {
  local j=0 t0 node
  # The first early (an eighth of a short run): a backup steps a node's RSS up (see the README), and
  # in a short run that step belongs in the warm-up quarter, not between the quarters compared.
  sleep_until $((START + (DURATION / 8 < BACKUP_INTERVAL / 2 ? DURATION / 8 : BACKUP_INTERVAL / 2)))
  while running; do
    t0=$(date +%s)
    node=${NODES[j % ${#NODES[@]}]}
    op backup-now "$node" "" "$R" backup now --node "${VIEW_OF[$node]}" || true
    j=$((j + 1))
    sleep_until $((t0 + BACKUP_INTERVAL))
  done
}

statuser() {
  local t0 node
  while running; do
    t0=$(date +%s)
    for node in "${NODES[@]}"; do
      if op backup-status "$node" "" "$R" backup status --node "${VIEW_OF[$node]}" --json; then
        python3 -c '
import json, sys, time
s = json.load(open(sys.argv[1]))
print("\t".join(str(x) for x in (round(time.time(), 3), sys.argv[2], s.get("lagSeconds", 0), s.get("lagBytes", 0),
      s.get("lastChangeSeq", 0), s.get("lastAckedSeq", 0), str(s.get("vaultReachable", False)).lower(), s.get("backlogDrops", 0))))
' "$W/err/$BASHPID.out" "$node" >> "$W/status.log"
      fi
    done
    sleep_until $((t0 + STATUS_INTERVAL))
  done
}

pid_file() { if [[ $1 == vault ]]; then echo "$D/vault-site/vault.pid"; else echo "$D/nodes/$1/node.pid"; fi; }
sampler() {
  local t name pid rss fds
  while [[ ! -e $W/stop-sampler ]]; do
    t=$(date +%s.%N)
    for name in vault "${NODES[@]}"; do
      pid=$(cat "$(pid_file "$name")" 2>/dev/null || true)
      if [[ -n $pid ]] && rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $rss ]]; then
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        printf '%.3f\t%s\t%s\t%s\t%s\n' "$t" "$name" "$pid" "$rss" "$fds" >> "$W/samples.log"
      else
        printf '%.3f\t%s\t%s\tgone\t\n' "$t" "$name" "${pid:-?}" >> "$W/samples.log"
      fi
    done
    sleep "$SAMPLE_INTERVAL"
  done
}

log "load for $DURATION s: imports of $IMPORT_ROWS residents, single and bulk ($BULK_ROWS rows) inquiries, backup now, backup status; sampling every $SAMPLE_INTERVAL s"
time_kv loadStart "$START"
sampler & BG+=($!); SAMPLER=$!
declare -A WORKER
for worker in importer transferer bulker backer statuser; do
  "$worker" & BG+=($!); WORKER[$!]=$worker
done
while running; do
  sleep 5
  if (( ($(date +%s) - START) % 60 < 5 )); then
    log "$(( $(date +%s) - START )) s: $(awk -F'\t' '{n++; if ($4 != "ok") f++} END {printf "%d operations, %d failed", n, f}' "$W/ops.log")"
  fi
done
touch "$W/stop"
log "time is up: waiting for the operations under way"
for pid in "${!WORKER[@]}"; do
  # A worker that stopped early (a bug of this script) shows in the counts; say so here.
  wait "$pid" || log "worker ${WORKER[$pid]} ended with exit code $?"
done
time_kv loadEnd "$(date +%s)"
touch "$W/stop-sampler"; wait "$SAMPLER" || true
time_kv load1End "$(load1)"

# ------------------------------------------------------------ 3. check ----
status_field() { python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["lastChangeSeq"], s["lastAckedSeq"], 1 if (s.get("lastSnapshotID") and not s["needsSnapshot"] and s["lastAckedSeq"] >= s["lastChangeSeq"]) else 0)'; }
CHECK_T0=$(now_ms)
log "waiting until the vault has acknowledged every change of every node"
declare -A CAUGHT
for node in "${NODES[@]}"; do
  t0=$(now_ms); ok=0; change=0; acked=0
  while (( $(now_ms) - t0 < CATCHUP_TIMEOUT * 1000 )); do
    if s=$("$R" backup status --node "${VIEW_OF[$node]}" --json 2>/dev/null) && read -r change acked ok < <(status_field <<< "$s") && ((ok)); then break; fi
    sleep 1
  done
  CAUGHT[$node]="$ok	$(( ($(now_ms) - t0) / 1000 ))	$change	$acked"
  ((ok)) || log "node $node: the vault is behind after $CATCHUP_TIMEOUT s (change $change, acknowledged $acked)"
done
time_kv catchUpSeconds "$(( ($(now_ms) - CHECK_T0) / 1000 ))"

# The numbers `resident show` looks at, per municipality: some residents of
# the start, some imported, some it asked others about (files received).
for code in "${CODES[@]}"; do
  {
    head -n "$SHOW_SAMPLE" "$W/numbers/$code.txt"
    grep "^$code " "$W/imported.txt" | shuf -n "$SHOW_SAMPLE" | while read -r _ round; do
      tail -n +2 "$W/chunks/$code/residents-$round.csv" | shuf -n 1 | cut -d, -f2
    done
    sort -u "$W/asked/$code.txt" | shuf -n "$SHOW_SAMPLE"
  } > "$W/show-$code.txt"
done
log "reading the live state of each municipality (counts, vaccination export, resident sample)"
# One municipality after another would take minutes: they go in parallel,
# except that a restored data directory opens for one command at a time (the
# RocksDB lock), so a restored node's municipalities take turns.
capture_one() { # live|restored CODE
  local args
  if [[ $1 == live ]]; then args=(--view "$D/$2"); else args=(--data "$W/restored/${NODE_OF[$2]}" --code "$2"); fi
  python3 "$HELPER" capture --renkei "$R" "${args[@]}" --numbers "$W/show-$2.txt" --work "$W" --out "$W/capture-$1-$2.json" \
    || log "$2: the $1 capture had errors (in the report)"
}
capture_all() { # live|restored
  local code node pids=()
  if [[ $1 == live ]]; then
    for code in "${CODES[@]}"; do capture_one live "$code" & pids+=($!); BG+=($!); done
  else
    for node in "${NODES[@]}"; do
      ( for code in "${CODES[@]}"; do [[ ${NODE_OF[$code]} != "$node" ]] || capture_one restored "$code"; done ) &
      pids+=($!); BG+=($!)
    done
  fi
  for pid in "${pids[@]}"; do wait "$pid" || true; done
}
capture_all live
for node in "${NODES[@]}"; do
  after=""
  if s=$("$R" backup status --node "${VIEW_OF[$node]}" --json 2>/dev/null); then read -r after _ _ < <(status_field <<< "$s"); fi
  printf '%s\t%s\t%s\n' "$node" "${CAUGHT[$node]}" "$after" >> "$W/catchup.log"
done

log "restoring every node from the vault (in parallel) into $W/restored"
mkdir -p "$W/restored"
RESTORE_T0=$(now_ms)
RESTORES=()
for node in "${NODES[@]}"; do
  args=(restore --vault "$D/vault" --node "$node" --to "$W/restored/$node" --progress none)
  for code in "${CODES[@]}"; do
    [[ ${NODE_OF[$code]} == "$node" ]] || continue
    args+=(--recovery-kit "$D/$code/recovery-kit.json")
  done
  for code in "${CODES[@]}"; do
    [[ ${NODE_OF[$code]} == "$node" ]] || continue
    args+=(--passphrase-file "$D/$code/recovery-kit.passphrase")
  done
  "$R" "${args[@]}" > "$W/restore-$node.txt" 2>&1 &
  RESTORES+=($!); BG+=($!)
done
for pid in "${RESTORES[@]}"; do wait "$pid" || log "a restore failed (its output is in the report's problems)"; done
time_kv restoreWallSeconds "$(( ($(now_ms) - RESTORE_T0) / 1000 ))"
for node in "${NODES[@]}"; do sed 's/^/  /' "$W/restore-$node.txt" >&2; done
capture_all restored
time_kv endCheckSeconds "$(( ($(now_ms) - CHECK_T0) / 1000 ))"

# ----------------------------------------------------------- 4. report ----
case $R in */release/*) BUILD=release ;; */debug/*) BUILD=debug ;; *) BUILD=unknown ;; esac
RC=0
python3 "$HELPER" report --work "$W" --out "$OUT" \
  --param stamp="$STAMP" --param durationSeconds="$DURATION" --param residents="${RESIDENTS:-as in the cluster file}" \
  --param cluster="$CLUSTER" --param importRows="$IMPORT_ROWS" --param bulkRows="$BULK_ROWS" --param showSample="$SHOW_SAMPLE" \
  --param importIntervalSeconds="$IMPORT_INTERVAL" --param transferPauseSeconds="$TRANSFER_PAUSE" \
  --param bulkIntervalSeconds="$BULK_INTERVAL" --param backupIntervalSeconds="$BACKUP_INTERVAL" \
  --param statusIntervalSeconds="$STATUS_INTERVAL" --param sampleIntervalSeconds="$SAMPLE_INTERVAL" \
  --param renkei="$R" --param build="$BUILD" --param cpus="$(nproc)" \
  --param commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" || RC=$?
log "report: $OUT"
exit "$RC"
