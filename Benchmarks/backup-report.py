#!/usr/bin/env python3
"""Helpers of Benchmarks/run-backup.sh (issue 5 benchmark).

  backup-report.py sample --renkei BIN --node VIEW --out FILE --stop-file F
                          [--interval 0.3] [--drain-timeout 60] [--max-samples N]
      Runs `renkei backup status --node VIEW --json` every INTERVAL seconds
      and appends one JSON line per sample to FILE: {"t": unix seconds,
      "phase": "writes"|"drain", "ok": bool, "status": {...}, "load1": x}.
      Once STOP-FILE exists it keeps sampling ("drain") until the vault has
      acknowledged every change (lastAckedSeq >= lastChangeSeq and no lag)
      or DRAIN-TIMEOUT seconds have passed. For a node without a vault the
      command fails at once; the sampler still runs it at the same pace, so
      the baseline pays the same sampling cost.

  backup-report.py report --work W --out JSON --md MD [--param k=v ...]
      Reads what run-backup.sh left in W and writes the results JSON and a
      short Markdown summary.

Only counts, sequence numbers, times and sizes are read or written: no
resident data ever passes through here.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

TARGET_LAG_P99_S = 1.0
TARGET_RESTORE_1M_S = 60.0


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def sample(args):
    start = time.time()
    drain_started = None
    n = 0
    with open(args.out, "a") as out:
        while n < args.max_samples:
            t = time.time()
            phase = "drain" if os.path.exists(args.stop_file) else "writes"
            if phase == "drain" and drain_started is None:
                drain_started = t
            p = subprocess.run([args.renkei, "backup", "status", "--node", args.node, "--json"],
                               capture_output=True, text=True)
            rec = {"t": round(t, 3), "phase": phase, "ok": p.returncode == 0, "load1": load1()}
            if p.returncode == 0:
                try:
                    rec["status"] = json.loads(p.stdout)
                except ValueError:
                    rec["ok"] = False
            out.write(json.dumps(rec) + "\n")
            out.flush()
            n += 1
            if phase == "drain":
                s = rec.get("status")
                drained = s is not None and s["lastAckedSeq"] >= s["lastChangeSeq"] and s["lagSeconds"] == 0
                if drained or not rec["ok"] or t - drain_started > args.drain_timeout:
                    break
            time.sleep(max(0.0, args.interval - (time.time() - t)))
    return 0


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_kv(path):
    """KEY=VALUE lines that run-backup.sh wrote (times, sizes, loads)."""
    kv = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    try:
                        kv[k] = float(v) if re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", v) else v
                    except ValueError:
                        kv[k] = v
    return kv


def lag_variant(w, name, kv):
    bulk = read_json(os.path.join(w, f"bulk-{name}.json"))
    samples = read_lines(os.path.join(w, f"samples-{name}.jsonl"))
    if bulk is None:
        return None
    wall = kv.get(f"{name}.bulkWallSeconds")
    outcomes = bulk.get("outcomes") or {}
    matches = outcomes.get("MATCH") or 0
    r = {
        "rows": bulk.get("items"),
        "rowsPerSecond": round(bulk["items_per_second"], 1) if bulk.get("items_per_second") else None,
        "bulkSeconds": round(bulk.get("seconds", 0), 3),
        "bulkWallSeconds": wall,
        "receivedFilesStored": matches,
        "receivedFilesPerSecond": round(matches / bulk["seconds"], 1) if bulk.get("seconds") else None,
        "outcomes": outcomes,
        "samples": len(samples),
        "load1DuringWrites": None,
    }
    during = [s for s in samples if s["phase"] == "writes"]
    loads = [s["load1"] for s in during]
    if loads:
        r["load1DuringWrites"] = {"min": min(loads), "max": max(loads), "mean": round(sum(loads) / len(loads), 2)}
    ok = [s for s in during if s.get("ok")]
    if ok:
        lag = [s["status"]["lagSeconds"] for s in ok]
        lag_bytes = [s["status"]["lagBytes"] for s in ok]
        first, last = ok[0]["status"], ok[-1]["status"]
        r["lagSeconds"] = {"p50": pct(lag, 50), "p99": pct(lag, 99), "max": max(lag), "samples": len(lag)}
        r["lagBytes"] = {"p50": pct(lag_bytes, 50), "max": max(lag_bytes)}
        behind = [max(0, s["status"]["lastChangeSeq"] - s["status"]["lastAckedSeq"]) for s in ok]
        r["lagChanges"] = {"p50": pct(behind, 50), "p99": pct(behind, 99), "max": max(behind)}
        r["changes"] = {"firstSampledSeq": first["lastChangeSeq"], "lastSampledSeq": last["lastChangeSeq"]}
        r["statusCalls"] = {"ok": len(ok), "failed": len(during) - len(ok)}
        drain = [s for s in samples if s["phase"] == "drain" and s.get("ok")]
        if drain:
            end = drain[-1]["status"]
            r["afterWrites"] = {
                "drained": end["lastAckedSeq"] >= end["lastChangeSeq"] and end["lagSeconds"] == 0,
                "secondsToDrain": round(drain[-1]["t"] - drain[0]["t"], 2),
                "lastChangeSeq": end["lastChangeSeq"], "lastAckedSeq": end["lastAckedSeq"],
                "backlogDrops": end["backlogDrops"], "needsSnapshot": end["needsSnapshot"],
            }
    else:
        r["statusCalls"] = {"ok": 0, "failed": len(during)}
    return r


def parse_restore(path):
    """The summary `renkei restore` prints (counts, sizes, its own clock)."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    r = {}
    m = re.search(r" in ([0-9.]+) s\n", text)
    if m:
        r["reportedSeconds"] = float(m.group(1))
    m = re.search(r"base snapshot: (\S+) \(changes 1–([0-9]+), ([0-9]+) files, ([0-9]+) bytes\)", text)
    if m:
        r["snapshot"] = {"id": m.group(1), "coversSeq": int(m.group(2)), "files": int(m.group(3)), "bytes": int(m.group(4))}
    m = re.search(r"changes replayed: ([0-9]+) from ([0-9]+) segments", text)
    if m:
        r["changesReplayed"] = int(m.group(1))
        r["segmentsRead"] = int(m.group(2))
    tenants = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 6 and re.fullmatch(r"[0-9]{6}", cols[0]) and all(c.isdigit() for c in cols[2:5]):
            tenants[cols[0]] = {"residents": int(cols[2]), "vaccinations": int(cols[3]), "receivedFiles": int(cols[4])}
    r["tenants"] = tenants
    return r


def restore_section(w, kv, residents):
    out = {}
    for name in ["node", "code"]:
        wall = kv.get(f"restore.{name}.seconds")
        if wall is None:
            continue
        parsed = parse_restore(os.path.join(w, f"restore-{name}.txt")) or {}
        restored_residents = sum(t["residents"] for t in parsed.get("tenants", {}).values())
        out[name] = {
            "command": kv.get(f"restore.{name}.command"),
            "wallSeconds": wall,
            "residentsRestored": restored_residents,
            "residentsPerSecond": round(restored_residents / wall, 1) if wall else None,
            "bytesRestored": int(kv.get(f"restore.{name}.bytes", 0)),
            "load1Before": kv.get(f"restore.{name}.load1Before"),
            "load1After": kv.get(f"restore.{name}.load1After"),
            **parsed,
        }
    if "copy.seconds" in kv:
        out["baselineCopy"] = {
            "what": "cp -r of the node's data directory (after cluster down; no fsync)",
            "wallSeconds": kv["copy.seconds"], "bytes": int(kv.get("copy.bytes", 0)),
            "residentsPerSecond": round(residents / kv["copy.seconds"], 1) if kv["copy.seconds"] else None,
        }
        for name in ["node", "code"]:
            if name in out and kv["copy.seconds"]:
                out[name]["ratioToCopy"] = round(out[name]["wallSeconds"] / kv["copy.seconds"], 2)
    return out


def report(args):
    w = args.work
    kv = read_kv(os.path.join(w, "times.txt"))
    params = {}
    for p in args.param or []:
        k, v = p.split("=", 1)
        params[k] = int(v) if re.fullmatch(r"[0-9]+", v) else v
    residents = int(params.get("residents", 0))
    res = {"benchmark": "backup (issue 5)", "build": "release", "parameters": params,
           "host": {"cpus": os.cpu_count(), "load1": {k[len("load."):]: v for k, v in kv.items() if k.startswith("load.")}},
           "phases": {k: v for k, v in kv.items() if k.startswith("phase.") or k.startswith("setup.")}}
    lag = {}
    if params.get("lag", 1):
        for name in ["plain", "vault"]:
            v = lag_variant(w, name, kv)
            if v:
                lag["withVault" if name == "vault" else "withoutVault"] = v
        a, b = lag.get("withVault"), lag.get("withoutVault")
        if a and b and a.get("rowsPerSecond") and b.get("rowsPerSecond"):
            lag["throughputRatio"] = round(a["rowsPerSecond"] / b["rowsPerSecond"], 3)
    res["replication"] = lag or None
    restore = restore_section(w, kv, residents) if params.get("restore", 1) else {}
    res["restore"] = restore or None
    if restore.get("node") and residents:
        res["restore"]["secondsPerMillionResidents"] = round(restore["node"]["wallSeconds"] / residents * 1e6, 1)
    p99 = ((lag.get("withVault") or {}).get("lagSeconds") or {}).get("p99")
    node_s = (restore.get("node") or {}).get("wallSeconds")
    res["targets"] = {
        "replicationLagP99Seconds": {"value": p99, "target": TARGET_LAG_P99_S, "met": None if p99 is None else p99 <= TARGET_LAG_P99_S},
        "restore1MResidentsSeconds": {
            "value": round(node_s / residents * 1e6, 1) if node_s and residents else None,
            "measuredResidents": residents or None,
            "target": TARGET_RESTORE_1M_S,
            "met": None if not (node_s and residents) else (node_s / residents * 1e6 <= TARGET_RESTORE_1M_S),
            "note": "measured at 1,000,000 residents" if residents == 1_000_000 else
                    "extrapolated linearly from the measured population; run without --quick for the real number",
        },
    }
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(args.md, "w") as f:
        f.write(markdown(res))
    print(markdown(res))
    return 0


def fmt(v, spec="{:,}"):
    if v is None:
        return "–"
    return spec.format(v)


def markdown(r):
    p = r["parameters"]
    lines = [f"# Backup benchmark {p.get('stamp', '')}", "",
             f"Release build, {r['host']['cpus']} CPUs; load average (1 min) at each phase: "
             + ", ".join(f"{k} {v}" for k, v in r["host"]["load1"].items())
             + ". The machine was shared with other builds: absolute numbers are depressed; ratios are within one run.", ""]
    lag = r.get("replication")
    if lag:
        lines += ["## Replication lag under sustained writes", "",
                  f"`renkei inquire bulk` of {fmt(p.get('movers'))} movers into 322016 (node `requester`), answered by node "
                  f"`provider` (322032, {fmt(p.get('lagResidents'))} residents); every MATCH is a received file stored on "
                  f"the requester (one write per provider batch). `backup status` sampled every {p.get('interval')} s.", "",
                  "| run | rows/s | files stored/s | lag p50 s | lag p99 s | lag max s | lag bytes max | drained after writes | load1 during |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for key, label in [("withoutVault", "without vault (baseline)"), ("withVault", "with vault, async")]:
            v = lag.get(key)
            if not v:
                continue
            ls = v.get("lagSeconds") or {}
            lb = v.get("lagBytes") or {}
            aw = v.get("afterWrites") or {}
            ld = v.get("load1DuringWrites") or {}
            lines.append(f"| {label} | {fmt(v.get('rowsPerSecond'))} | {fmt(v.get('receivedFilesPerSecond'))} | "
                         f"{fmt(ls.get('p50'), '{:.3f}')} | {fmt(ls.get('p99'), '{:.3f}')} | {fmt(ls.get('max'), '{:.3f}')} | "
                         f"{fmt(lb.get('max'))} | "
                         + (f"{aw.get('secondsToDrain')} s" if aw.get("drained") else ("no" if aw else "–"))
                         + f" | {ld.get('min', '–')}–{ld.get('max', '–')} |")
        lines += ["", f"Throughput ratio with shipping / without: **{fmt(lag.get('throughputRatio'), '{:.2f}')}**.", ""]
    rs = r.get("restore")
    if rs:
        lines += ["## Restore", "",
                  f"Node `city`: 322032 with {fmt(p.get('residents'))} residents and their vaccination records, plus "
                  f"322024 with {fmt(p.get('smallResidents'))}. Cluster load (`cluster up`, nice 10): "
                  f"{fmt(r['phases'].get('phase.restoreClusterUpSeconds'), '{:.0f}')} s; first base snapshot shipped "
                  f"{fmt(r['phases'].get('phase.initialSnapshotSeconds'), '{:.0f}')} s after the node started; "
                  f"`backup now`: {fmt(r['phases'].get('phase.backupNowSeconds'), '{:.1f}')} s.", "",
                  "| what | seconds | residents | residents/s | bytes | × cp -r |", "|---|---|---|---|---|---|"]
        for key, label in [("node", "restore --node city (remote vault)"), ("code", "restore --code 322032 (remote vault)")]:
            v = rs.get(key)
            if v:
                lines.append(f"| {label} | {fmt(v['wallSeconds'], '{:.1f}')} | {fmt(v['residentsRestored'])} | "
                             f"{fmt(v['residentsPerSecond'], '{:,.0f}')} | {fmt(v['bytesRestored'])} | {fmt(v.get('ratioToCopy'), '{:.1f}')} |")
        c = rs.get("baselineCopy")
        if c:
            lines.append(f"| baseline: cp -r of the node data directory | {fmt(c['wallSeconds'], '{:.1f}')} | | | {fmt(c['bytes'])} | 1 |")
        lines.append("")
    t = r["targets"]
    lines += ["## Targets", "",
              f"- replication lag p99 ≤ 1 s: {fmt(t['replicationLagP99Seconds']['value'], '{:.3f}')} s — "
              + {True: "**met**", False: "**not met**", None: "not measured"}[t["replicationLagP99Seconds"]["met"]],
              f"- restore of 1M residents ≤ 60 s: {fmt(t['restore1MResidentsSeconds']['value'], '{:.1f}')} s per 1M — "
              + {True: "**met**", False: "**not met**", None: "not measured"}[t["restore1MResidentsSeconds"]["met"]]
              + f" ({t['restore1MResidentsSeconds']['note']})", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--renkei", required=True)
    s.add_argument("--node", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--stop-file", required=True)
    s.add_argument("--interval", type=float, default=0.3)
    s.add_argument("--drain-timeout", type=float, default=60)
    s.add_argument("--max-samples", type=int, default=20_000)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--md", required=True)
    r.add_argument("--param", action="append")
    a = ap.parse_args()
    return sample(a) if a.cmd == "sample" else report(a)


if __name__ == "__main__":
    sys.exit(main())
