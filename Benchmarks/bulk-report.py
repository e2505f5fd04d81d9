#!/usr/bin/env python3
"""Merges the bulk benchmark's measurements into one JSON with ratios and
targets, prints a summary, and draws an SVG chart. Standard library only.

    bulk-report.py --work W --out R.json --svg R.svg [--param key=value ...]

W holds what Benchmarks/run-bulk.sh wrote: bulk.json (renkei inquire bulk
--stats-json), bulk.time (/usr/bin/time -v), nodes-before.txt /
nodes-after.txt (name pid cpuSeconds VmHWM per node process),
single-idle.json, single-during.json, ceiling.json, ceiling-encoded.json,
postgres.json (bulk-baselines). Missing files give null sections.
"""
import argparse, datetime, json, os, platform, re, sys
from xml.sax.saxutils import escape

TARGET_ITEMS_PER_SECOND = 100_000
TARGET_SECONDS_FOR_1M = 10.0
TARGET_CEILING_SHARE = 0.5
TARGET_POSTGRES_FACTOR = 2.0
TARGET_SINGLE_P99_MS = 5.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def time_v(path):
    """User+system CPU seconds, peak RSS bytes and wall seconds from GNU time -v."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return None
    def num(label):
        m = re.search(re.escape(label) + r":\s*([0-9.:]+)", text)
        return m.group(1) if m else None
    wall = num("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    if wall:
        for part in wall.split(":"):
            secs = secs * 60 + float(part)
    user, system = float(num("User time (seconds)") or 0), float(num("System time (seconds)") or 0)
    status = num("Exit status")
    return {"cpuSeconds": round(user + system, 3), "userSeconds": user, "systemSeconds": system,
            "peakRSSBytes": int(num("Maximum resident set size (kbytes)") or 0) * 1024,
            "wallSeconds": round(secs, 3), "exitStatus": int(status) if status else None}


def node_samples(path):
    out = {}
    try:
        for line in open(path):
            name, pid, cpu, hwm = line.split()
            out[name] = {"pid": int(pid), "cpuSeconds": float(cpu), "peakRSSBytes": int(hwm)}
    except FileNotFoundError:
        return None
    return out


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--param", action="append", default=[])
    a = ap.parse_args()
    w = a.work
    params = {}
    for p in a.param:
        k, _, v = p.partition("=")
        try:
            params[k] = int(v)
        except ValueError:
            try:
                params[k] = float(v)
            except ValueError:
                params[k] = v

    bulk = load(os.path.join(w, "bulk.json"))
    if bulk is not None:
        requester = time_v(os.path.join(w, "bulk.time"))
        before, after = node_samples(os.path.join(w, "nodes-before.txt")), node_samples(os.path.join(w, "nodes-after.txt"))
        nodes = []
        for name, b in (before or {}).items():
            e = (after or {}).get(name)
            if e and e["pid"] == b["pid"]:
                nodes.append({"name": name, "pid": b["pid"], "cpuSeconds": round(e["cpuSeconds"] - b["cpuSeconds"], 3),
                              "peakRSSBytes": e["peakRSSBytes"]})
        # `renkei inquire bulk --stats-json` writes snake_case keys and
        # outcome names as the results file does; the report speaks camelCase.
        if "itemsPerSecond" not in bulk and "items_per_second" in bulk:
            o = bulk.get("outcomes") or {}
            bulk = dict(bulk)
            bulk["itemsPerSecond"] = bulk.get("items_per_second")
            bulk["batchLatencyMs"] = bulk.get("batch_latency_ms")
            bulk["outcomes"] = {"match": o.get("MATCH"), "noMatch": o.get("NO_MATCH"),
                                "invalid": o.get("INVALID"), "unreachable": o.get("UNREACHABLE")}
        items = bulk.get("items") or 0
        cpu = (requester or {}).get("cpuSeconds", 0) + sum(n["cpuSeconds"] for n in nodes)
        wall = (requester or {}).get("wallSeconds")
        bulk = dict(bulk)
        bulk.update({
            "requesterProcess": requester, "nodeProcesses": nodes,
            "cpuSecondsAllProcesses": round(cpu, 3),
            "cpuSecondsPer1000Items": round(cpu / items * 1000, 4) if items else None,
            "endToEndSeconds": wall,
            "itemsPerSecondEndToEnd": round(items / wall, 1) if items and wall else None,
            "peakRSSBytesRequester": (requester or {}).get("peakRSSBytes"),
            "peakRSSBytesNodesMax": max((n["peakRSSBytes"] for n in nodes), default=None),
        })

    ceiling = load(os.path.join(w, "ceiling.json"))
    ceiling_enc = load(os.path.join(w, "ceiling-encoded.json"))
    postgres = load(os.path.join(w, "postgres.json"))
    single = {"idle": load(os.path.join(w, "single-idle.json")), "duringBulk": load(os.path.join(w, "single-during.json"))}

    ips = lambda r: (r or {}).get("itemsPerSecond")
    bulk_ips = ips(bulk)
    ratios = {
        "bulkToCeiling": ratio(bulk_ips, ips(ceiling)),
        "bulkToCeilingEncoded": ratio(bulk_ips, ips(ceiling_enc)),
        "bulkToPostgres": ratio(bulk_ips, ips(postgres)),
        "ceilingToPostgres": ratio(ips(ceiling), ips(postgres)),
        "ceilingEncodedToPostgres": ratio(ips(ceiling_enc), ips(postgres)),
    }
    def target(value, limit, ok):
        return {"value": value, "target": limit, "met": (ok(value) if value is not None else None)}
    during = single["duringBulk"] or {}
    e2e = (bulk or {}).get("endToEndSeconds")
    targets = {
        "itemsPerSecond": target(bulk_ips, TARGET_ITEMS_PER_SECOND, lambda v: v >= TARGET_ITEMS_PER_SECOND),
        "endToEndSecondsPerMillion": target(round(e2e / bulk["items"] * 1e6, 2) if bulk and e2e and bulk.get("items") else None,
                                            TARGET_SECONDS_FOR_1M, lambda v: v <= TARGET_SECONDS_FOR_1M),
        "shareOfCeiling": target(ratios["bulkToCeiling"], TARGET_CEILING_SHARE, lambda v: v >= TARGET_CEILING_SHARE),
        "timesPostgres": target(ratios["bulkToPostgres"], TARGET_POSTGRES_FACTOR, lambda v: v >= TARGET_POSTGRES_FACTOR),
        "singleInquiryP99MsDuringBulk": target((during.get("latencyMs") or {}).get("p99"), TARGET_SINGLE_P99_MS,
                                               lambda v: v <= TARGET_SINGLE_P99_MS),
    }
    report = {
        "suite": "bulk-inquiry",
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "kernel": platform.release(),
                    "loadAverageAtReport": open("/proc/loadavg").read().split()[:3]},
        "params": params,
        "bulk": bulk, "ceiling": ceiling, "ceilingEncoded": ceiling_enc, "postgres": postgres,
        "singleInquiry": single, "ratios": ratios, "targets": targets,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=2, sort_keys=False, ensure_ascii=False)
    write_svg(a.svg, report)
    print_summary(report)
    print(f"wrote {a.out}\nwrote {a.svg}")


def fmt(v, spec="{:,.0f}"):
    return "—" if v is None else spec.format(v)


def print_summary(r):
    rows = [("measure", "items/s", "batch p50 ms", "p95", "p99", "CPU s/1000", "peak RSS MiB")]
    for label, key in [("bulk (renkei inquire bulk)", "bulk"), ("ceiling (in process)", "ceiling"),
                       ("ceiling + encode", "ceilingEncoded"), ("PostgreSQL 15 peer", "postgres")]:
        x = r[key]
        if not x:
            rows.append((label, "not run", "", "", "", "", ""))
            continue
        lat = x.get("batchLatencyMs") or {}
        rss = x.get("peakRSSBytes") or x.get("peakRSSBytesRequester")
        rows.append((label, fmt(x.get("itemsPerSecond")), fmt(lat.get("p50"), "{:.2f}"), fmt(lat.get("p95"), "{:.2f}"),
                     fmt(lat.get("p99"), "{:.2f}"), fmt(x.get("cpuSecondsPer1000Items"), "{:.3f}"),
                     fmt(rss / 2**20 if rss else None)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row)))
    for phase, s in r["singleInquiry"].items():
        if s:
            l = s["latencyMs"]
            print(f"single inquiry, {phase}: {s['inquiries']} calls, p50 {l['p50']:.2f} ms, p99 {l['p99']:.2f} ms, errors {s['errors']}")
    print("ratios: " + ", ".join(f"{k} {fmt(v, '{:.2f}')}" for k, v in r["ratios"].items()))
    for k, t in r["targets"].items():
        met = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
        print(f"target {k}: {fmt(t['value'], '{:,.2f}')} (target {t['target']}): {met}")


def write_svg(path, r):
    W, H = 1100, 490
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    p = r["params"]
    n = lambda k: f"{p[k]:,}" if isinstance(p.get(k), (int, float)) else str(p.get(k, "?"))
    title = (f"Renkei bulk inquiry — {n('inquiries')} inquiries, {n('municipalities')} municipalities × "
             f"{n('residentsPerMunicipality')} residents, batch {n('batch')}, concurrency {n('concurrency')}")
    out.append(f'<text x="20" y="24" font-size="15" font-weight="bold">{escape(title)}</text>')
    out.append(f'<text x="20" y="42" fill="#555">{escape(r["createdAt"])} · {r["machine"]["cores"]} cores · '
               f'{escape("release build" if (r.get("ceiling") or {}).get("build") == "release" else "build: see JSON")}</text>')
    colors = {"bulk": "#1f77b4", "ceiling": "#2ca02c", "ceilingEncoded": "#98df8a", "postgres": "#d62728"}
    labels = {"bulk": "renkei bulk", "ceiling": "ceiling", "ceilingEncoded": "ceiling+encode", "postgres": "PostgreSQL 15"}

    # Panel 1: items/s.
    x0, y0, pw, ph = 60, 80, 380, 320
    vals = [(k, (r[k] or {}).get("itemsPerSecond")) for k in ["bulk", "ceiling", "ceilingEncoded", "postgres"]]
    top = max([v for _, v in vals if v] + [TARGET_ITEMS_PER_SECOND]) * 1.15
    out.append(f'<text x="{x0}" y="{y0 - 12}" font-weight="bold">Throughput (items/s, higher is better)</text>')
    out += axis(x0, y0, pw, ph, top)
    bw = pw / len(vals)
    for i, (k, v) in enumerate(vals):
        bx = x0 + i * bw + bw * 0.15
        if v:
            h = ph * v / top
            out.append(f'<rect x="{bx:.1f}" y="{y0 + ph - h:.1f}" width="{bw * 0.7:.1f}" height="{h:.1f}" fill="{colors[k]}"/>')
            out.append(f'<text x="{bx + bw * 0.35:.1f}" y="{y0 + ph - h - 4:.1f}" text-anchor="middle">{v:,.0f}</text>')
        else:
            out.append(f'<text x="{bx + bw * 0.35:.1f}" y="{y0 + ph - 6:.1f}" text-anchor="middle" fill="#999">not run</text>')
        out.append(f'<text x="{bx + bw * 0.35:.1f}" y="{y0 + ph + 16:.1f}" text-anchor="middle">{labels[k]}</text>')
    ty = y0 + ph - ph * TARGET_ITEMS_PER_SECOND / top
    out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#ff7f0e" stroke-dasharray="6,4"/>')
    out.append(f'<text x="{x0 + pw - 2}" y="{ty - 4:.1f}" text-anchor="end" fill="#ff7f0e">target 100,000/s</text>')

    # Panel 2: per-batch latency percentiles.
    x1 = 520
    keys = [k for k in ["bulk", "ceiling", "ceilingEncoded", "postgres"] if (r[k] or {}).get("batchLatencyMs")]
    pct = ["p50", "p95", "p99"]
    top2 = max([r[k]["batchLatencyMs"][q] for k in keys for q in pct] + [1]) * 1.15
    out.append(f'<text x="{x1}" y="{y0 - 12}" font-weight="bold">Per-batch latency (ms, lower is better)</text>')
    out += axis(x1, y0, 300, ph, top2)
    gw = 300 / max(len(pct), 1)
    for j, q in enumerate(pct):
        for i, k in enumerate(keys):
            v = r[k]["batchLatencyMs"][q]
            bw2 = gw * 0.8 / max(len(keys), 1)
            bx = x1 + j * gw + gw * 0.1 + i * bw2
            h = ph * v / top2
            out.append(f'<rect x="{bx:.1f}" y="{y0 + ph - h:.1f}" width="{bw2 * 0.9:.1f}" height="{h:.1f}" fill="{colors[k]}"/>')
            out.append(f'<text x="{bx + bw2 * 0.45:.1f}" y="{y0 + ph - h - 3:.1f}" text-anchor="middle" font-size="9">{v:.1f}</text>')
        out.append(f'<text x="{x1 + j * gw + gw / 2:.1f}" y="{y0 + ph + 16}" text-anchor="middle">{q}</text>')
    for i, k in enumerate(keys):
        out.append(f'<rect x="{x1 + 10}" y="{y0 + 6 + i * 16}" width="10" height="10" fill="{colors[k]}"/>'
                   f'<text x="{x1 + 24}" y="{y0 + 15 + i * 16}">{labels[k]}</text>')

    # Panel 3: single-inquiry latency.
    x2 = 890
    s = [(ph_, r["singleInquiry"][ph_]) for ph_ in ["idle", "duringBulk"] if r["singleInquiry"][ph_]]
    top3 = max([x["latencyMs"][q] for _, x in s for q in ["p50", "p99"]] + [TARGET_SINGLE_P99_MS]) * 1.15
    out.append(f'<text x="{x2 - 20}" y="{y0 - 12}" font-weight="bold">Single inquiry (ms)</text>')
    out += axis(x2, y0, 180, ph, top3)
    for i, (name, x) in enumerate(s):
        for j, q in enumerate(["p50", "p99"]):
            v = x["latencyMs"][q]
            bx = x2 + i * 90 + 10 + j * 36
            h = ph * v / top3
            out.append(f'<rect x="{bx}" y="{y0 + ph - h:.1f}" width="32" height="{h:.1f}" fill="{"#9467bd" if j else "#c5b0d5"}"/>')
            out.append(f'<text x="{bx + 16}" y="{y0 + ph - h - 3:.1f}" text-anchor="middle" font-size="10">{v:.2f}</text>')
            out.append(f'<text x="{bx + 16}" y="{y0 + ph + 14}" text-anchor="middle" font-size="10">{q}</text>')
        out.append(f'<text x="{x2 + i * 90 + 46}" y="{y0 + ph + 28}" text-anchor="middle">{"idle" if name == "idle" else "during bulk"}</text>')
    if not s:
        out.append(f'<text x="{x2 + 90}" y="{y0 + ph / 2}" text-anchor="middle" fill="#999">not run</text>')
    ty = y0 + ph - ph * TARGET_SINGLE_P99_MS / top3
    out.append(f'<line x1="{x2}" x2="{x2 + 180}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#ff7f0e" stroke-dasharray="6,4"/>')
    out.append(f'<text x="{x2 + 178}" y="{ty - 4:.1f}" text-anchor="end" fill="#ff7f0e">p99 target 5 ms</text>')

    rr = r["ratios"]
    foot = (f"bulk/ceiling {fmt(rr['bulkToCeiling'], '{:.2f}')} (target ≥ 0.5) · bulk/PostgreSQL {fmt(rr['bulkToPostgres'], '{:.2f}')} "
            f"(target ≥ 2) · ceiling/PostgreSQL {fmt(rr['ceilingToPostgres'], '{:.2f}')}")
    foot2 = "CPU s per 1,000 items (all processes): " + ", ".join(
        f"{labels[k]} {fmt((r[k] or {}).get('cpuSecondsPer1000Items'), '{:.3f}')}" for k in colors)
    out.append(f'<text x="20" y="{H - 32}" fill="#333">{escape(foot)}</text>')
    out.append(f'<text x="20" y="{H - 14}" fill="#333">{escape(foot2)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def axis(x, y, w, h, top):
    parts = [f'<line x1="{x}" x2="{x}" y1="{y}" y2="{y + h}" stroke="#333"/>',
             f'<line x1="{x}" x2="{x + w}" y1="{y + h}" y2="{y + h}" stroke="#333"/>']
    for i in range(1, 5):
        v = top * i / 5
        yy = y + h - h * i / 5
        label = f"{v / 1000:,.0f}k" if top >= 10000 else (f"{v:.1f}" if top < 20 else f"{v:,.0f}")
        parts.append(f'<line x1="{x}" x2="{x + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x - 4}" y="{yy + 4:.1f}" text-anchor="end" font-size="10" fill="#555">{label}</text>')
    return parts


if __name__ == "__main__":
    main()
