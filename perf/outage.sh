#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "outage": the partial outage of issue 6, through weftd with its default
# resilience policy and through HAProxy with retries and passive health checking, on the
# same topology, one after the other.
#
#   client ns --- c0/p0 --- weft ns --- p1/u0 --- upstream ns
#   loadgen.py, cpu 1        the proxy, cpu 0        upstream.py e1 e2 e3 (198.18.1.2:8081..8083), cpu 1
#
# The scenario (tests/lib/outage.sh): OUTAGE_RATE (300) requests/s, open loop over a
# keep-alive pool, for OUTAGE_SECONDS (30); at 5 s e1 answers 503 at once, at 11 s e2 stops
# answering (accepts, reads, never answers), at 15.5 s both are healthy again.
#
# Contenders:
#   weft     weftd, one worker on cpu 0, route timeout_ms 2000 and per_try_timeout_ms 250;
#            everything else is weft's default: 2 retries on gateway errors, connect failures
#            and resets, backoff 25..250 ms with full jitter, a retry budget of 20 % (minimum
#            3), outlier detection (5 consecutive gateway errors or local failures)
#   haproxy  HAProxy 2.6, nbthread 1 on cpu 0: retries 3, retry-on all-retryable-errors,
#            option redispatch, timeout server 250 ms (a try), servers with check (TCP,
#            inter 1s, fall 3, rise 2), observe layer7, error-limit 5, on-error mark-down
#
# Output (perf/results/outage.jsonl): one JSON line per second per contender (client
# requests, upstream attempts, amplification = attempts / requests, success %), then one
# summary line per contender and one comparison line; the plot goes to
# perf/results/outage.png (OUTAGE_PNG). Environment: PEERS ("haproxy"), DRIVER
# (af_packet), BUILD (build), OUTAGE_* (tests/lib/outage.sh).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/topo.sh"
. "$HERE/../tests/lib/outage.sh"
DRIVER=${DRIVER:-af_packet}
PEERS=${PEERS:-haproxy}
BUILD=${BUILD:-build}
WEFTD=${WEFTD:-$HERE/../$BUILD/policy/mgmt/weftd}
PNG=${OUTAGE_PNG:-$HERE/results/outage.png}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/weft-perf-outage.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	outage_servers_stop
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT

command -v socat >/dev/null || { echo "# perf/outage: socat not installed" >&2; exit 1; }
topo_up 1
# Hugepages only when the whole pool fits in the free ones (other weftd instances may hold them).
HUGE=false
[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 272 ] 2>/dev/null && HUGE=true
outage_servers_start "$TMP"

cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [0]
  memory_mb: 512
  hugepages: $HUGE
  file_prefix: ${TOPO_ID}
ports:
  - {name: p0, driver: $DRIVER, iface: p0, addresses: [198.18.0.1/24]}
  - {name: p1, driver: $DRIVER, iface: p1, addresses: [198.18.1.1/24]}
admin: {address: 127.0.0.1, port: 9901}
clusters:
  - name: svc
    lb_policy: round_robin
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
route_configs:
  - name: main
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: svc, timeout_ms: 2000, retry_policy: {per_try_timeout_ms: 250}}
listeners:
  - {name: http, kind: http, address: 198.18.0.1, port: 80, route_config: main}
YAML

cat >"$TMP/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 8000
    log stdout format raw local0 emerg
    stats socket $TMP/haproxy.sock mode 600 level admin
defaults
    mode http
    option http-keep-alive
    http-reuse safe
    timeout connect 1s
    timeout client 30s
    timeout server 250ms
    timeout http-keep-alive 300s
    retries 3
    retry-on all-retryable-errors
    option redispatch
frontend web
    bind 198.18.0.1:80
    default_backend svc
backend svc
    balance roundrobin
    default-server check inter 1s fall 3 rise 2 observe layer7 error-limit 5 on-error mark-down
    server e1 198.18.1.2:8081
    server e2 198.18.1.2:8082
    server e3 198.18.1.2:8083
CFG

# --- weft ---
ran=()
if "$WEFTD" --validate "$TMP/weft.yaml" >/dev/null 2>"$TMP/validate.log"; then
	if weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
		ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null
		ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null
		outage_run weft "$TMP" "$WEFT_ADMIN" >&2
		ran+=(weft)
		weft_stop
	else
		echo "# weftd did not start" >&2
	fi
else
	echo "# weft: this build refuses the scenario's configuration:" >&2
	sed 's/^/#   /' "$TMP/validate.log" >&2
fi

# --- haproxy ---
if [[ " $PEERS " == *" haproxy "* ]] && command -v haproxy >/dev/null; then
	ipw ip addr add 198.18.0.1/24 dev p0
	ipw ip addr add 198.18.1.1/24 dev p1
	ipc ip neigh flush dev c0
	ipu ip neigh flush dev u0
	ip netns exec "$NS_W" taskset -c 0 haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
	hp=$!
	PIDS+=($hp)
	sleep 1.5
	outage_run haproxy "$TMP" "$TMP/haproxy.sock" >&2
	ran+=(haproxy)
	kill "$hp" 2>/dev/null
	wait "$hp" 2>/dev/null
fi

[ ${#ran[@]} -gt 0 ] || { echo "# perf/outage: nothing ran" >&2; exit 1; }
cat "$TMP/outage.jsonl"

# Summary per contender and the comparison: peak amplification over the run, the lowest
# success rate per second, and the requests that failed in all.
"$PY" - "$TMP" "${ran[@]}" <<'PY'
import json, sys
d, names = sys.argv[1], sys.argv[2:]
res = {}
for n in names:
    s = json.load(open("%s/%s.summary.json" % (d, n)))
    rows = [r for r in s["rows"] if r["sent"]]
    sent = sum(r["sent"] for r in rows)
    ok = sum(r["ok"] for r in rows)
    att = sum(r["attempts"] for r in rows)
    res[n] = {"peak_amplification": s["peak_amp"], "mean_amplification": round(att / sent, 3) if sent else None,
              "min_success_pct": s["min_success_pct"], "success_pct": round(100.0 * ok / sent, 3) if sent else None,
              "failed_requests": sent - ok, "client_requests": sent, "upstream_attempts": att}
    print(json.dumps(dict({"bench": "outage", "case": "partial-outage", "contender": n}, **res[n])))
if "weft" in res:
    w = res["weft"]
    for peer in names:
        if peer == "weft":
            continue
        p = res[peer]
        for m, better in (("peak_amplification", "lower"), ("failed_requests", "lower"), ("success_pct", "higher")):
            print(json.dumps({"bench": "outage", "case": "partial-outage", "metric": m, "weft": w[m], "peer": peer,
                              "peer_value": p[m], "ratio": round(w[m] / p[m], 3) if p[m] else None, "better": better}))
PY
"$PY" "$OUTAGE_TOOLS/outage.py" plot --in "$TMP/outage.jsonl" --out "$PNG" \
	--title "Partial outage, $OUTAGE_RATE req/s: e1 503 at ${OUTAGE_T_503}s, e2 hangs at ${OUTAGE_T_HANG}s, both back at ${OUTAGE_T_BACK}s" >&2 &&
	echo "# plot: $PNG" >&2
