#!/usr/bin/env python3
"""Helpers of Cluster/soak.sh (issue 7, item 7: a bounded soak run). Stdlib only.

  soak.py spec --cluster FILE --out SPEC
      Copies the cluster file with a free loopback port for every node and
      the vault (the file must have a vault: the soak checks the restore).
      Prints one line per municipality: CODE NODE.

  soak.py split --pool DIR --rows N --out DIR
      Splits a generated population (DIR/residents.csv, vaccinations.csv)
      into import chunks: residents-K.csv with N residents each and
      vaccinations-K.csv with exactly those residents' doses. Prints the
      number of chunks.

  soak.py capture --renkei BIN (--view DIR | --data DIR --code C)
                  --numbers FILE --work DIR --out JSON
      One municipality's state, live through the running node (--view) or
      offline from a restored data directory (--data): record counts, the
      SHA-256 of the vaccination export (header, then the rows sorted), and
      the SHA-256 of `resident show` for the numbers in FILE (exit code and
      output of each, in order). No record, number or name leaves the work
      directory: the JSON holds counts and digests.

  soak.py report --work DIR --out JSON [--param k=v ...]
      Reads what soak.sh left in DIR (ops.log, samples.log, status.log,
      the captures and the restore outputs), judges it, writes the report
      JSON, prints a human summary, and exits 0 only if nothing was lost,
      every process stayed up and steady, and every kind of operation ran.

Steadiness thresholds (see Cluster/README.md, "Soak run"):
  * file descriptors: the maximum over the last quarter of the load window
    may exceed the maximum over its first half by at most FD_SLACK. RocksDB
    keeps its table files open (max_open_files 512), and a flush or a
    compaction opens new ones before it closes the old, so a node's count
    moves by a few around a level; a leak of one descriptor per request
    climbs by hundreds over the run.
  * resident memory: the median of the last quarter may exceed the median
    of the second quarter by at most RSS_GROWTH (the first quarter is
    warm-up: allocator arenas, the 64 MiB block cache and the memtables
    filling). The memtables (64 MiB per column family, unflushed in a run
    this size) legitimately grow with the data written, a few MiB per run.
"""
import argparse
import csv
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

FD_SLACK = 16
RSS_GROWTH = 0.25
MAX_FAILURE_RATIO = 0.10
KINDS = ["import-residents", "import-vaccinations", "inquire-transfer", "inquire-bulk", "backup-now", "backup-status"]


# ------------------------------------------------------------------ spec ----
def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def spec(args):
    with open(args.cluster, encoding="utf-8") as f:
        doc = json.load(f)
    if not doc.get("vault"):
        print(f"soak: {args.cluster} has no vault; the soak compares each node with its restore from the vault",
              file=sys.stderr)
        return 64
    ports = free_ports(len(doc["nodes"]) + 1)
    for node, port in zip(doc["nodes"], ports):
        node["port"] = port
    doc["vault"]["port"] = ports[-1]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
    for node in doc["nodes"]:
        for m in node["municipalities"]:
            print(m["code"], node["name"])
    return 0


# ----------------------------------------------------------------- split ----
def split(args):
    with open(os.path.join(args.pool, "residents.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    r_head, residents = rows[0], rows[1:]
    with open(os.path.join(args.pool, "vaccinations.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    v_head, doses = rows[0], rows[1:]
    addr_r, addr_v = r_head.index("宛名番号"), v_head.index("宛名番号")
    chunk_of = {}
    chunks = (len(residents) + args.rows - 1) // args.rows
    os.makedirs(args.out, exist_ok=True)
    by_chunk = [[] for _ in range(chunks)]
    for i, r in enumerate(residents):
        chunk_of[r[addr_r]] = i // args.rows
    for d in doses:
        k = chunk_of.get(d[addr_v])
        if k is not None:
            by_chunk[k].append(d)
    for k in range(chunks):
        for name, head, body in (("residents", r_head, residents[k * args.rows:(k + 1) * args.rows]),
                                 ("vaccinations", v_head, by_chunk[k])):
            path = os.path.join(args.out, f"{name}-{k}.csv")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(head)
                w.writerows(body)
    print(chunks)
    return 0


# --------------------------------------------------------------- capture ----
def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def sorted_digest(path):
    """SHA-256 of a CSV file's header line then its other lines sorted: the
    export's order is the store's key order, which a restore need not keep."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    head, body = lines[:1], sorted(lines[1:])
    h = hashlib.sha256()
    for line in head + body:
        h.update(line.rstrip(b"\r") + b"\n")
    return h.hexdigest(), len(body)


def capture(args):
    r = args.renkei
    live = args.view is not None
    where = ["--node", args.view] if live else ["--data", args.data, "--code", args.code]
    out = {"mode": "live" if live else "restored", "errors": []}
    tag = os.path.basename(args.view.rstrip("/")) if live else args.code
    out["code"] = tag
    if live:
        p = run([r, "assessment", "report", "--node", args.view, "--json"])
        if p.returncode == 0:
            a = json.loads(p.stdout)
            out["counts"] = {k: int(a.get(k, 0)) for k in ("residents", "vaccinations", "receivedFiles")}
        else:
            out["errors"].append(f"assessment report: exit {p.returncode}: {p.stderr.strip()[:300]}")
    else:
        p = run([r, "tenant", "list", "--data", args.data])
        if p.returncode == 0:
            for line in p.stdout.splitlines():
                cols = line.split()
                if cols and cols[0] == args.code and len(cols) >= 4:
                    out["tenantList"] = {"residents": int(cols[2]), "vaccinations": int(cols[3])}
        else:
            out["errors"].append(f"tenant list: exit {p.returncode}: {p.stderr.strip()[:300]}")
    export = os.path.join(args.work, f"export-{out['mode']}-{tag}.csv")
    p = run([r, "export", "vaccinations", *where, "--out", export])
    if p.returncode == 0:
        out["vaccinationExportSha256"], out["vaccinationExportRows"] = sorted_digest(export)
        os.unlink(export)
    else:
        out["errors"].append(f"export vaccinations: exit {p.returncode}: {p.stderr.strip()[:300]}")
    numbers = []
    if args.numbers and os.path.exists(args.numbers):
        with open(args.numbers) as f:
            numbers = [line.strip() for line in f if line.strip()]
    h = hashlib.sha256()
    found = 0
    for n in numbers:
        p = run([r, "resident", "show", *where, "--number", n])
        # 0 shown, 3 not found: both are the state; anything else is a failure.
        if p.returncode not in (0, 3):
            out["errors"].append(f"resident show: exit {p.returncode}: {p.stderr.strip()[:300]}")
        found += p.returncode == 0
        h.update(f"{p.returncode}\n".encode() + p.stdout.encode() + b"\0")
    out["residentSample"] = {"numbers": len(numbers), "found": found, "sha256": h.hexdigest()}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    return 0 if not out["errors"] else 1


# ---------------------------------------------------------------- report ----
def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]


def operations(work):
    """ops.log: start, kind, tenant, ok|fail, seconds, exit code, detail."""
    ops = {k: {"ok": 0, "failed": 0, "seconds": []} for k in KINDS}
    failures = []
    bulk = {"MATCH": 0, "NO_MATCH": 0, "INVALID": 0, "UNREACHABLE": 0}
    imported = {}  # code -> {residents: [min, max], vaccinations: [min, max]}
    for row in read_tsv(os.path.join(work, "ops.log")):
        t, kind, tenant, outcome, seconds, rc, detail = (row + [""] * 7)[:7]
        o = ops.setdefault(kind, {"ok": 0, "failed": 0, "seconds": []})
        o["ok" if outcome == "ok" else "failed"] += 1
        o["seconds"].append(float(seconds))
        if outcome != "ok":
            failures.append({"t": float(t), "kind": kind, "tenant": tenant, "exit": int(rc), "detail": detail})
        fields = dict(kv.split("=", 1) for kv in detail.split() if "=" in kv)
        if kind == "inquire-bulk":
            for k in bulk:
                bulk[k] += int(fields.get(k, 0))
        if kind in ("import-residents", "import-vaccinations"):
            what = kind.split("-")[1]
            lo_hi = imported.setdefault(tenant, {"residents": [0, 0], "vaccinations": [0, 0]})[what]
            if outcome == "ok":
                new = int(fields.get("new", 0))
                lo_hi[0] += new
                lo_hi[1] += new
            else:
                # A failed import counts as no data; its rows may or may not be stored.
                lo_hi[1] += int(fields.get("rows", 0))
    summary = {}
    for k, o in ops.items():
        s = o["seconds"]
        summary[k] = {"ok": o["ok"], "failed": o["failed"],
                      "secondsP50": round(pct(s, 50), 2) if s else None,
                      "secondsP95": round(pct(s, 95), 2) if s else None,
                      "secondsMax": round(max(s), 2) if s else None}
    return summary, failures, bulk, imported


def series(work, start, end):
    """samples.log: t, process, pid, rss kB, fds (or 'gone')."""
    procs = {}
    for row in read_tsv(os.path.join(work, "samples.log")):
        t, name, pid, rss, fds = (row + [""] * 5)[:5]
        t = float(t)
        p = procs.setdefault(name, {"pids": [], "t": [], "rssKiB": [], "fds": [], "gone": 0})
        if rss == "gone" or not rss:
            p["gone"] += 1
            continue
        if not p["pids"] or p["pids"][-1] != pid:
            p["pids"].append(pid)
        if start <= t <= end:
            p["t"].append(t)
            p["rssKiB"].append(int(rss))
            p["fds"].append(int(fds))
    return procs


def judge_process(name, p):
    n = len(p["fds"])
    out = {"samples": n, "pids": len(p["pids"]), "pidList": [int(x) for x in p["pids"] if x.isdigit()],
           "gone": p["gone"], "problems": []}
    if p["gone"] or len(p["pids"]) != 1:
        out["problems"].append(f"{name}: the process went away or was replaced ({len(p['pids'])} pids, {p['gone']} samples without it)")
    if n < 8:
        out["problems"].append(f"{name}: {n} samples in the load window; at least 8 are needed to judge")
        return out
    q = n // 4
    fds, rss = p["fds"], p["rssKiB"]
    first_half_max = max(fds[: n // 2])
    last_quarter_max = max(fds[n - q:])
    rss_q2 = statistics.median(rss[q: 2 * q])
    rss_q4 = statistics.median(rss[n - q:])
    growth = (rss_q4 - rss_q2) / rss_q2 if rss_q2 else 0.0
    out.update({
        "fds": {"first": fds[0], "min": min(fds), "max": max(fds), "last": fds[-1],
                "firstHalfMax": first_half_max, "lastQuarterMax": last_quarter_max,
                "limit": first_half_max + FD_SLACK},
        "rssMiB": {"first": round(rss[0] / 1024, 1), "min": round(min(rss) / 1024, 1), "max": round(max(rss) / 1024, 1),
                   "last": round(rss[-1] / 1024, 1), "secondQuarterMedian": round(rss_q2 / 1024, 1),
                   "lastQuarterMedian": round(rss_q4 / 1024, 1), "growth": round(growth, 4),
                   "limitGrowth": RSS_GROWTH},
        # Ten points spread over the window, for a glance at the shape.
        "shape": [{"t": round(p["t"][i] - p["t"][0]), "rssMiB": round(rss[i] / 1024, 1), "fds": fds[i]}
                  for i in sorted({round(j * (n - 1) / 9) for j in range(10)})],
    })
    if last_quarter_max > first_half_max + FD_SLACK:
        out["problems"].append(f"{name}: file descriptors rose to {last_quarter_max} in the last quarter "
                               f"(first half at most {first_half_max}, slack {FD_SLACK})")
    if growth > RSS_GROWTH:
        out["problems"].append(f"{name}: resident memory's last-quarter median {rss_q4 / 1024:.1f} MiB is "
                               f"{growth:.0%} above the second quarter's {rss_q2 / 1024:.1f} MiB (limit {RSS_GROWTH:.0%})")
    return out


def replication(work):
    """status.log: t, node, lagSeconds, lagBytes, lastChangeSeq, lastAckedSeq, vaultReachable, backlogDrops."""
    per = {}
    for row in read_tsv(os.path.join(work, "status.log")):
        t, node, lag_s, lag_b, change, acked, reachable, drops = (row + [""] * 8)[:8]
        p = per.setdefault(node, {"lagSeconds": [], "lagBytes": [], "unreachable": 0, "backlogDrops": 0, "lastChangeSeq": 0})
        p["lagSeconds"].append(float(lag_s))
        p["lagBytes"].append(int(lag_b))
        p["unreachable"] += reachable != "true"
        p["backlogDrops"] = max(p["backlogDrops"], int(drops or 0))
        p["lastChangeSeq"] = max(p["lastChangeSeq"], int(change))
    return {n: {"samples": len(p["lagSeconds"]), "lagSecondsP50": pct(p["lagSeconds"], 50),
                "lagSecondsMax": max(p["lagSeconds"]), "lagBytesMax": max(p["lagBytes"]),
                "unreachableSamples": p["unreachable"], "backlogDrops": p["backlogDrops"],
                "lastChangeSeq": p["lastChangeSeq"]} for n, p in per.items()}


def parse_restore(path):
    """The counts table `renkei restore` prints: CODE NAME RESIDENTS VACCINATIONS RECEIVED KEYRING."""
    counts, seconds = {}, None
    if not os.path.exists(path):
        return counts, seconds
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"restored node \S+ into \S+ in ([0-9.]+) s", line)
            if m:
                seconds = float(m.group(1))
            cols = line.split()
            if len(cols) >= 5 and re.fullmatch(r"\d{6}", cols[0]) and cols[2].isdigit():
                counts[cols[0]] = {"residents": int(cols[2]), "vaccinations": int(cols[3]), "receivedFiles": int(cols[4])}
    return counts, seconds


def tenants(work, imported, problems):
    out = {}
    with open(os.path.join(work, "tenants.txt")) as f:
        pairs = [line.split() for line in f if line.strip()]
    restored_counts = {}
    restore_seconds = {}
    for node in sorted({n for _, n in pairs}):
        c, s = parse_restore(os.path.join(work, f"restore-{node}.txt"))
        restored_counts.update(c)
        restore_seconds[node] = s
    for code, node in pairs:
        live = read_json(os.path.join(work, f"capture-live-{code}.json")) or {"errors": ["no live capture"]}
        rest = read_json(os.path.join(work, f"capture-restored-{code}.json")) or {"errors": ["no restored capture"]}
        t = {"node": node, "live": {}, "restored": {}, "checks": {}}
        lc = live.get("counts")
        rc = restored_counts.get(code)
        t["live"] = {"counts": lc, "vaccinationExportSha256": live.get("vaccinationExportSha256"),
                     "vaccinationExportRows": live.get("vaccinationExportRows"),
                     "residentSample": live.get("residentSample")}
        t["restored"] = {"counts": rc, "tenantList": rest.get("tenantList"),
                         "vaccinationExportSha256": rest.get("vaccinationExportSha256"),
                         "vaccinationExportRows": rest.get("vaccinationExportRows"),
                         "residentSample": rest.get("residentSample")}
        for e in live.get("errors", []) + rest.get("errors", []):
            problems.append(f"{code}: {e}")
        checks = t["checks"]
        checks["countsEqual"] = lc is not None and lc == rc
        checks["tenantListEqual"] = (lc is not None and rest.get("tenantList") is not None and
                                     rest["tenantList"] == {"residents": lc["residents"], "vaccinations": lc["vaccinations"]})
        checks["vaccinationExportEqual"] = (live.get("vaccinationExportSha256") is not None and
                                            live.get("vaccinationExportSha256") == rest.get("vaccinationExportSha256"))
        checks["exportRowsMatchCount"] = lc is not None and live.get("vaccinationExportRows") == lc["vaccinations"]
        ls, rs = live.get("residentSample") or {}, rest.get("residentSample") or {}
        checks["residentSampleEqual"] = bool(ls) and ls.get("sha256") == rs.get("sha256") and ls.get("numbers", 0) > 0
        # Live counts against the start plus what the imports reported stored.
        a = read_json(os.path.join(work, f"initial-{code}.json"))
        init = {k: int(a.get(k, 0)) for k in ("residents", "vaccinations", "receivedFiles")} if a else None
        imp = imported.get(code, {"residents": [0, 0], "vaccinations": [0, 0]})
        if init and lc:
            exp = {k: [init[k] + imp[k][0], init[k] + imp[k][1]] for k in ("residents", "vaccinations")}
            t["expected"] = {"initial": {k: init[k] for k in ("residents", "vaccinations", "receivedFiles")},
                             "imported": imp, "range": exp}
            checks["countsAsImported"] = all(exp[k][0] <= lc[k] <= exp[k][1] for k in exp)
        else:
            checks["countsAsImported"] = False
        for name, ok in checks.items():
            if not ok:
                problems.append(f"{code}: check {name} failed (live {lc}, restored {rc}, "
                                f"export {live.get('vaccinationExportSha256', '-')[:12]}/{(rest.get('vaccinationExportSha256') or '-')[:12]})")
        out[code] = t
    return out, restore_seconds


def read_kv(path):
    out = {}
    for row in read_tsv(path):
        if len(row) >= 2:
            out[row[0]] = row[1]
    return out


def catchup_table(work):
    """catchup.log: node, caught up (1/0), seconds waited, lastChangeSeq, lastAckedSeq, lastChangeSeq after the live capture."""
    out = {}
    for row in read_tsv(os.path.join(work, "catchup.log")):
        node, ok, seconds, change, acked, after = (row + [""] * 6)[:6]
        out[node] = {"caughtUp": ok == "1", "secondsWaited": float(seconds or 0), "lastChangeSeq": int(change or 0),
                     "lastAckedSeq": int(acked or 0), "lastChangeSeqAfterCapture": int(after) if after else None}
        out[node]["changedDuringCapture"] = after != "" and int(after) != int(change or 0)
    return out


def report(args):
    w = args.work
    params = dict(p.split("=", 1) for p in args.param)
    times = read_kv(os.path.join(w, "times.log"))
    start, end = float(times.get("loadStart", 0)), float(times.get("loadEnd", 0))
    problems = []
    ops, failures, bulk, imported = operations(w)
    for k in KINDS:
        o = ops[k]
        total = o["ok"] + o["failed"]
        if o["ok"] == 0:
            problems.append(f"operation {k}: no successful run")
        elif o["failed"] / total > MAX_FAILURE_RATIO:
            problems.append(f"operation {k}: {o['failed']} of {total} failed (more than {MAX_FAILURE_RATIO:.0%})")
    if bulk["UNREACHABLE"]:
        problems.append(f"bulk inquiries: {bulk['UNREACHABLE']} rows UNREACHABLE")
    lost_problems = []
    per_tenant, restore_seconds = tenants(w, imported, lost_problems)
    catchup = catchup_table(w)
    for node, c in catchup.items():
        if not c.get("caughtUp"):
            lost_problems.append(f"node {node}: the vault did not acknowledge every change ({c})")
        elif c.get("changedDuringCapture"):
            lost_problems.append(f"node {node}: its change sequence moved while the live state was read ({c})")
    procs = series(w, start, end)
    steady_problems = []
    processes = {}
    for name in sorted(procs):
        j = judge_process(name, procs[name])
        processes[name] = j
        steady_problems += j["problems"]
    if not procs:
        steady_problems.append("no RSS/FD sample was taken")
    nothing_lost = not lost_problems
    steady = not steady_problems
    ran = not problems
    verdict = "pass" if nothing_lost and steady and ran else "fail"
    result = {
        "kind": "soak",
        "verdict": verdict,
        "nothingLost": nothing_lost,
        "steady": steady,
        "operationsRan": ran,
        "problems": lost_problems + steady_problems + problems,
        "params": params,
        "window": {"loadSeconds": round(end - start, 1),
                   **{k: float(v) for k, v in times.items() if k not in ("loadStart", "loadEnd")}},
        "thresholds": {"fdSlack": FD_SLACK, "rssGrowth": RSS_GROWTH, "maxFailureRatio": MAX_FAILURE_RATIO},
        "operations": ops,
        "bulkOutcomes": bulk,
        "failures": failures[:50],
        "failuresLeftOff": max(0, len(failures) - 50),
        "replication": {"duringLoad": replication(w), "catchUp": catchup},
        "restoreSeconds": restore_seconds,
        "tenants": per_tenant,
        "processes": processes,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(summary(result))
    return 0 if verdict == "pass" else 1


def summary(r):
    lines = [f"soak: {r['window']['loadSeconds']} s of load; verdict {r['verdict'].upper()} "
             f"(nothing lost: {r['nothingLost']}, steady: {r['steady']}, every operation ran: {r['operationsRan']})",
             "", f"{'operation':22} {'ok':>6} {'failed':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"]
    for k, o in r["operations"].items():
        lines.append(f"{k:22} {o['ok']:>6} {o['failed']:>6} {o['secondsP50'] or '-':>7} {o['secondsP95'] or '-':>7} {o['secondsMax'] or '-':>7}")
    b = r["bulkOutcomes"]
    lines.append(f"bulk rows: MATCH {b['MATCH']}, NO_MATCH {b['NO_MATCH']}, INVALID {b['INVALID']}, UNREACHABLE {b['UNREACHABLE']}")
    lines += ["", f"{'tenant':8} {'residents':>10} {'vaccinations':>13} {'received':>9}  live = restored"]
    for code, t in r["tenants"].items():
        c = t["live"]["counts"] or {}
        ok = all(t["checks"].values())
        lines.append(f"{code:8} {c.get('residents', '-'):>10} {c.get('vaccinations', '-'):>13} {c.get('receivedFiles', '-'):>9}  "
                     f"{'yes' if ok else 'NO: ' + ', '.join(k for k, v in t['checks'].items() if not v)}"
                     f"  (export sha256 {(t['live']['vaccinationExportSha256'] or '-')[:16]})")
    lines += ["", f"{'process':14} {'samples':>7} {'fd first/max/last':>18} {'fd limit':>8} {'RSS MiB first/Q2/Q4/max':>26} {'growth':>7}"]
    for name, p in r["processes"].items():
        if "fds" in p:
            f, m = p["fds"], p["rssMiB"]
            lines.append(f"{name:14} {p['samples']:>7} {str(f['first']) + '/' + str(f['max']) + '/' + str(f['last']):>18} {f['limit']:>8} "
                         f"{'%s/%s/%s/%s' % (m['first'], m['secondQuarterMedian'], m['lastQuarterMedian'], m['max']):>26} {m['growth']:>7.1%}")
        else:
            lines.append(f"{name:14} {p['samples']:>7} (too few samples)")
    for node, rep in r["replication"]["duringLoad"].items():
        lines.append(f"replication {node}: lag p50 {rep['lagSecondsP50']} s, max {rep['lagSecondsMax']} s, "
                     f"max {rep['lagBytesMax']} bytes held back, {rep['unreachableSamples']} samples with the vault unreachable")
    if r["problems"]:
        lines += ["", "problems:"] + [f"  - {p}" for p in r["problems"]]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("spec")
    s.add_argument("--cluster", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("split")
    s.add_argument("--pool", required=True)
    s.add_argument("--rows", type=int, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("capture")
    s.add_argument("--renkei", required=True)
    s.add_argument("--view")
    s.add_argument("--data")
    s.add_argument("--code")
    s.add_argument("--numbers")
    s.add_argument("--work", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("--work", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--param", action="append", default=[])
    args = ap.parse_args()
    return {"spec": spec, "split": split, "capture": capture, "report": report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
