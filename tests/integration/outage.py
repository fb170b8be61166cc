#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The partial-outage scenario's bookkeeping, for tests/integration/resilience.sh
and perf/outage.sh.

  outage.py poll --admin 127.0.0.1:9901 --seconds 40 --out poll.jsonl
      Every 250 ms: weftd's GET /clusters (whole) and the resilience lines
      of /stats/prometheus, with the time, one JSON line each. With
      --haproxy SOCKET, HAProxy's "show stat" instead (a server DOWN counts
      as ejected).

  outage.py report --name weft --start EPOCH --seconds 30 --client client.jsonl
                   --upstream u1.jsonl u2.jsonl u3.jsonl [--poll poll.jsonl]
                   [--endpoints 198.18.1.2:8081,...] [--events "5=e1 503,11=e2 hang,15.5=recover"]
                   [--json summary.json] [--jsonl per-second.jsonl]
      Joins loadgen.py's and upstream.py's per-second logs (by epoch second)
      and prints, as TAP comments, one row per second: the client's requests
      (by the second they were due), the attempts the upstreams received for
      those requests (by their x-load-second, all of them and per endpoint,
      whenever they arrived), amplification = attempts / requests, successes (2xx) and the success rate, the failures by kind,
      and the client's p99 latency. The summary (JSON) holds the rows, the
      peak amplification, and from the admin polls when each endpoint was
      first seen ejected and seen back.

  outage.py plot --in outage.jsonl --out outage.png [--title TEXT]
      Amplification and success rate per second, one line per contender
      (matplotlib, no display needed).
"""
import argparse
import json
import re
import sys
import time
import urllib.request

EP_RE = re.compile(r"(\d+\.\d+\.\d+\.\d+:\d+|\[[0-9a-fA-F:]+\]:\d+)")


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.read().decode("utf-8", "replace")
    except Exception as e:  # an admin API that is slow or gone is recorded, not fatal
        return "error: %s" % e


def haproxy_clusters(sock_path):
    """HAProxy's "show stat" as /clusters-like lines: a server DOWN (or in
    maintenance) is reported the way weftd reports an ejected endpoint."""
    import csv
    import socket as so
    try:
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.settimeout(1)
        s.connect(sock_path)
        s.sendall(b"show stat\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError as e:
        return "error: %s" % e
    lines = data.decode("utf-8", "replace").lstrip("# ").splitlines()
    out = []
    for row in csv.DictReader(lines):
        if row.get("svname") in ("FRONTEND", "BACKEND") or not row.get("addr"):
            continue
        st = row.get("status", "")
        flag = "/failed_outlier_check" if st.startswith("DOWN") or st.startswith("MAINT") else "healthy"
        out.append("%s::%s::health_flags::%s  # %s %s" % (row["pxname"], row["addr"], flag, row["svname"], st))
    return "\n".join(out)


def cmd_poll(a):
    end = time.time() + a.seconds
    with open(a.out, "w", buffering=1) as out:
        while time.time() < end:
            t = time.time()
            if a.haproxy:
                out.write(json.dumps({"t": t, "clusters": haproxy_clusters(a.haproxy), "prom": []}) + "\n")
                time.sleep(max(0.0, 0.25 - (time.time() - t)))
                continue
            clusters = fetch("http://%s/clusters" % a.admin)
            prom = fetch("http://%s/stats/prometheus" % a.admin)
            keep = [l for l in prom.splitlines()
                    if not l.startswith("#") and re.search(r"outlier|eject|retr|overflow|breaker|upstream_requests|"
                                                           r"timeout|health", l)]
            out.write(json.dumps({"t": t, "clusters": clusters, "prom": keep}) + "\n")
            time.sleep(max(0.0, 0.25 - (time.time() - t)))


def ejected_endpoints(poll_line):
    """The endpoints weftd reports ejected by outlier detection in one poll."""
    eps = set()
    for l in poll_line["clusters"].splitlines():
        if "::health_flags::" in l and "failed_outlier_check" in l:
            m = EP_RE.search(l)
            if m:
                eps.add(m.group(1))
    return eps


def prom_sum(poll_line, name):
    s = 0.0
    for l in poll_line["prom"]:
        k = l.split("{")[0].split(" ")[0]
        if k == name:
            try:
                s += float(l.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return s


def load_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for l in f:
                l = l.strip()
                if l:
                    out.append(json.loads(l))
    except FileNotFoundError:
        pass
    return out


def cmd_report(a):
    start = int(a.start)
    client = {r["t"]: r for r in load_jsonl(a.client)}
    ups = [dict() for _ in a.upstream]   # by the second the attempt was read
    due = [dict() for _ in a.upstream]   # by the second its request was due (x-load-second)
    for i, p in enumerate(a.upstream):
        for r in load_jsonl(p):
            b = ups[i].setdefault(r["t"], {"req": 0, "ok": 0, "retry": 0})
            b["req"] += r["req"]
            b["ok"] += r["status"].get("200", 0)
            b["retry"] += sum(n for k, n in r["attempt"].items() if k not in ("1", "-"))
            for k, n in r.get("due", {}).items():
                due[i][int(k)] = due[i].get(int(k), 0) + n
    events = []
    if a.events:
        for ev in a.events.split(","):
            at, _, what = ev.partition("=")
            events.append((float(at), what.strip()))
    rows = []
    for s in range(int(a.seconds)):
        t = start + s
        c = client.get(t, {"sent": 0, "ok": 0, "fail": {}, "p99_ms": None})
        per = [u.get(t, {"req": 0, "ok": 0, "retry": 0}) for u in ups]
        per_due = [d.get(t, 0) for d in due]
        att = sum(per_due)
        sent = c["sent"]
        rows.append({"s": s, "sent": sent, "attempts": att, "per_endpoint": per_due,
                     "read_in_second": sum(p["req"] for p in per),
                     "per_endpoint_ok": [p["ok"] for p in per],
                     "retried_attempts": sum(p["retry"] for p in per),
                     "amp": round(att / sent, 3) if sent else None, "ok": c["ok"],
                     "success_pct": round(100.0 * c["ok"] / sent, 2) if sent else None,
                     "fail": c["fail"], "p99_ms": c.get("p99_ms"),
                     "events": [w for at, w in events if s <= at < s + 1],
                     "event_at": [at for at, w in events if s <= at < s + 1]})
    # ejections seen by the admin polls
    eps = a.endpoints.split(",") if a.endpoints else []
    seen = {}
    if a.poll:
        polls = load_jsonl(a.poll)
        for p in polls:
            rel = p["t"] - start
            ej = ejected_endpoints(p)
            for ep in eps:
                st = seen.setdefault(ep, {"ejected": [], "first_ejected": None})
                now = ep in ej
                if now and st["first_ejected"] is None:
                    st["first_ejected"] = round(rel, 2)
                if not st["ejected"] or st["ejected"][-1][0] != now:
                    st["ejected"].append([now, round(rel, 2)])
        if polls:
            seen["_ejections_active_max"] = max(prom_sum(p, "weft_outlier_ejections_active") for p in polls)
    amps = [r["amp"] for r in rows if r["amp"] is not None and r["sent"] > 0]
    summ = {"name": a.name, "start": start, "seconds": int(a.seconds), "events": events, "rows": rows,
            "peak_amp": max(amps) if amps else None,
            "min_success_pct": min((r["success_pct"] for r in rows if r["success_pct"] is not None), default=None),
            "endpoints": eps, "admin": seen}
    print("# %s: per second (requests and the attempts made for them, by the second the requests were due)"
          % a.name)
    print("# %4s %6s %8s %14s %6s %6s %8s %8s  %s" % ("sec", "client", "attempts", "per endpoint", "amp", "ok",
                                                        "success%", "p99 ms", "failures / events"))
    for r in rows:
        fails = " ".join("%s:%d" % kv for kv in sorted(r["fail"].items()))
        print("# %4d %6d %8d %14s %6s %6d %8s %8s  %s%s" % (
            r["s"], r["sent"], r["attempts"], "/".join(str(x) for x in r["per_endpoint"]),
            "%.3f" % r["amp"] if r["amp"] is not None else "-", r["ok"],
            "%.2f" % r["success_pct"] if r["success_pct"] is not None else "-",
            "%.1f" % r["p99_ms"] if r["p99_ms"] is not None else "-", fails,
            ("  <- " + "; ".join(r["events"])) if r["events"] else ""))
    print("# %s: peak amplification %s, lowest success %s%%" % (a.name, summ["peak_amp"], summ["min_success_pct"]))
    for ep in eps:
        if ep in seen:
            print("# %s: %s ejected/back at %s" % (a.name, ep, " ".join(
                ("%s@%.2fs" % ("out" if e else "in", t)) for e, t in seen[ep]["ejected"])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summ, f)
    if a.jsonl:
        with open(a.jsonl, "a") as f:
            for r in rows:
                f.write(json.dumps({"bench": "outage", "contender": a.name, "second": r["s"], "client_requests": r["sent"],
                                    "upstream_attempts": r["attempts"], "amplification": r["amp"],
                                    "success_pct": r["success_pct"], "per_endpoint": r["per_endpoint"],
                                    "failures": r["fail"], "p99_ms": r["p99_ms"], "events": r["events"],
                                    "event_at": r["event_at"]}) + "\n")


def cmd_plot(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = {}
    events = {}
    for r in load_jsonl(a.inp):
        if r.get("bench") != "outage" or "second" not in r:
            continue
        series.setdefault(r["contender"], []).append(r)
        for e, at in zip(r.get("events") or [], r.get("event_at") or []):
            events[e] = at
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for name, rows in series.items():
        rows.sort(key=lambda r: r["second"])
        xs = [r["second"] + 0.5 for r in rows]
        ax1.plot(xs, [r["amplification"] if r["amplification"] is not None else float("nan") for r in rows],
                 marker="o", ms=3, label=name)
        ax2.plot(xs, [r["success_pct"] if r["success_pct"] is not None else float("nan") for r in rows],
                 marker="o", ms=3, label=name)
    ax1.axhline(1.25, color="grey", ls=":", lw=1)
    ax1.set_ylabel("amplification\n(upstream attempts / client requests)")
    ax2.set_ylabel("client success (2xx), %")
    ax2.set_xlabel("second of the run")
    lo = min([r["success_pct"] for rows in series.values() for r in rows if r["success_pct"] is not None] or [0])
    ax2.set_ylim(max(0, lo - 5), 100.5)
    for e, s in events.items():
        for ax in (ax1, ax2):
            ax.axvline(s, color="red", ls="--", lw=0.8)
        ax1.annotate(e, (s, ax1.get_ylim()[1]), rotation=90, va="top", ha="right", fontsize=8, color="red")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.grid(alpha=0.3)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("poll")
    p.add_argument("--admin", default="127.0.0.1:9901")
    p.add_argument("--seconds", type=float, default=40)
    p.add_argument("--out", required=True)
    p.add_argument("--haproxy", help="HAProxy's stats socket instead of weftd's admin API")
    r = sub.add_parser("report")
    r.add_argument("--name", default="weft")
    r.add_argument("--start", type=float, required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--client", required=True)
    r.add_argument("--upstream", nargs="+", required=True)
    r.add_argument("--poll")
    r.add_argument("--endpoints")
    r.add_argument("--events")
    r.add_argument("--json")
    r.add_argument("--jsonl")
    g = sub.add_parser("plot")
    g.add_argument("--in", dest="inp", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--title")
    a = ap.parse_args()
    if a.cmd == "poll":
        cmd_poll(a)
    elif a.cmd == "plot":
        cmd_plot(a)
    else:
        cmd_report(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
