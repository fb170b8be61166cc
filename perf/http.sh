#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "http": small keep-alive requests through weftd's HTTP/1.1
# proxy, against HAProxy and nginx as proxies and against no proxy at all.
#
#   client ns --- c0/p0 --- weft ns --- p1/u0 --- upstream ns
#   wrk, cpu 1              the proxy, cpu 0          nginx (one worker), cpu 1
#
# Contenders, one after the other on the same veths, each proxy alone on cpu 0:
#   weft       weftd (af_packet ports), one worker on cpu 0, an http listener
#   haproxy    HAProxy 2.6 in mode http, nbthread 1, pinned to cpu 0, in the weft namespace
#   nginx      nginx as a reverse proxy, one worker pinned to cpu 0, upstream keepalive
#   no-proxy   weftd stopped, the weft namespace's kernel routes between the veths
#              (ip_forward=1) and wrk talks to the upstream nginx directly
#
# Load: wrk -t1 -c$CONNS, GET / of a 6-byte body, keep-alive both sides, $SECONDS_PER_RUN
# seconds, $REPEAT runs, medians. Per contender: requests/s, p50 and p99 latency
# (wrk --latency), and the proxy's CPU time per request (utime + stime of its processes
# from /proc/PID/stat over the run, divided by the requests; weftd's worker polls, so its
# CPU time is the whole core; its busy share from its own counters is reported beside it).
#
# Output: one JSON line per (metric, peer) with weft, peer_value and ratio = weft / peer,
# then one summary line per contender, then bench_http's in-process cycles per request
# (the HTTP proxy, and tcp_proxy moving the same bytes; see perf/bench_http.c). Environment: SECONDS_PER_RUN (10), REPEAT (3),
# CONNS (64), PEERS ("haproxy nginx no-proxy"), PROXY_NICE (0), DRIVER (af_packet), BUILD (build).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/topo.sh"
DRIVER=${DRIVER:-af_packet}
RUN_S=${SECONDS_PER_RUN:-10}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-64}
PEERS=${PEERS:-"haproxy nginx no-proxy"}
# Niceness of every proxy (0: as any process). A polling worker shares a core badly with other
# work, which event-driven proxies preempt on wake-up; a negative value stands in for the
# isolated core a deployment gives the worker. The same value applies to every contender.
PROXY_NICE=${PROXY_NICE:-0}
BUILD=${BUILD:-build}
WEFTD=${WEFTD:-$HERE/../$BUILD/policy/mgmt/weftd}
BENCH=${BENCH_HTTP:-$(dirname "$WEFTD")/../../perf/bench_http}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/weft-perf-http.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT

for t in wrk nginx; do
	command -v $t >/dev/null || { echo "# perf/http: $t not installed" >&2; exit 1; }
done
topo_up 1
HZ=$(getconf CLK_TCK)

# ---- the upstream: nginx, one worker on cpu 1 ----------------------------------------------------

# nginx_conf PREFIX CPUMASK BODY: a one-worker nginx config whose server block is BODY.
nginx_conf() {
	mkdir -p "$1/logs" "$1/tmp"
	cat <<CONF
daemon on;
master_process on;
worker_processes 1;
worker_cpu_affinity $2;
user root;
pid $1/nginx.pid;
error_log $1/logs/error.log crit;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
$3
}
CONF
}
mkdir -p "$TMP/up" "$TMP/px"
nginx_conf "$TMP/up" 10 '    server { listen 198.18.1.2:8080 reuseport backlog=4096; location / { return 200 "hello\n"; } }' \
	>"$TMP/up/nginx.conf"
ipu nginx -p "$TMP/up" -c "$TMP/up/nginx.conf" || { echo "# upstream nginx did not start" >&2; exit 1; }

# ---- the contenders' configurations -----------------------------------------------------------

cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [0]
  memory_mb: 1024
  hugepages: $(weft_hugepages 1024)
  file_prefix: ${TOPO_ID}
  mbufs_per_worker: 131072
ports:
  - {name: p0, driver: $DRIVER, iface: p0, addresses: [198.18.0.1/24]}
  - {name: p1, driver: $DRIVER, iface: p1, addresses: [198.18.1.1/24]}
clusters:
  - {name: up, max_idle_connections: 1024, endpoints: [{address: 198.18.1.2, port: 8080}]}
route_configs:
  - name: main
    virtual_hosts:
      - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: up}}]}
listeners:
  - {name: http, kind: http, address: 198.18.0.1, port: 80, route_config: main}
YAML

cat >"$TMP/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 8000
    log stdout format raw local0 emerg
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 300s
frontend web
    bind 198.18.0.1:80
    default_backend up
backend up
    server s1 198.18.1.2:8080 maxconn 0
CFG

nginx_conf "$TMP/px" 01 '    upstream up { server 198.18.1.2:8080; keepalive 1024; keepalive_requests 10000000; }
    server {
        listen 198.18.0.1:80 reuseport backlog=4096;
        location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on; }
    }' >"$TMP/px/nginx.conf"

# ---- measuring ----------------------------------------------------------------------------------

# cpu_ticks PID...: utime + stime of every thread of these processes, in clock ticks.
cpu_ticks() {
	local sum=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		# fields 14 and 15, after the command name (which may hold spaces, so cut at the last ')')
		sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo $sum
}

# to_ms VALUE: wrk's "1.23ms" / "456.78us" / "1.2s" as milliseconds.
to_ms() {
	"$PY" -c '
import sys
v = sys.argv[1]
for suf, mul in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
    if v.endswith(suf):
        print(float(v[: -len(suf)]) * mul)
        break
else:
    print(0)' "$1"
}

# once ADDR NAME PIDS...: one wrk run against ADDR, appended to $TMP/runs-NAME as
# "rps p50_ms p99_ms cpu_us_per_req". PIDS are the proxy's processes, whose CPU time is
# read around the run.
once() {
	local addr=$1 name=$2 out rps p50 p99 t0 t1 reqs cpu
	shift 2
	# A short warm-up: connections opened, pools filled.
	ipc taskset -c 1 wrk -t1 -c"$CONNS" -d2s "http://$addr/" >/dev/null 2>&1
	local sampler=
	t0=$(cpu_ticks "$@")
	if [ "$name" = weft ]; then
		# weftd's worker polls: its share of busy iterations, read in the middle of the run.
		(sleep $((RUN_S / 2)); weft_admin /stats/prometheus |
			awk '/^weft_worker_busy_percent/ {print $2; exit}' >>"$TMP/busy") &
		sampler=$!
	fi
	out=$(ipc taskset -c 1 wrk -t1 -c"$CONNS" -d"${RUN_S}s" --latency "http://$addr/" 2>&1)
	t1=$(cpu_ticks "$@")
	[ -n "$sampler" ] && wait "$sampler"
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
	p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
	if [ $# -gt 0 ] && [ "${reqs:-0}" -gt 0 ]; then
		cpu=$("$PY" -c "print(($t1 - $t0) / $HZ * 1e6 / $reqs)")
	else
		cpu=0
	fi
	if echo "$out" | grep -q -e 'Socket errors' -e 'Non-2xx'; then
		echo "# $name round $round: $(echo "$out" | grep -e 'Socket errors' -e 'Non-2xx')" >&2
	fi
	echo "# $name round $round: ${rps:-0} req/s, p50 $p50 ms, p99 $p99 ms, cpu $cpu us/req" >&2
	echo "${rps:-0} $p50 $p99 $cpu" >>"$TMP/runs-$name"
	sleep 1
}

# median NAME: the medians of NAME's runs, "rps p50 p99 cpu"; empty when it never ran.
median() {
	[ -s "$TMP/runs-$1" ] || return 0
	"$PY" - "$TMP/runs-$1" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(" ".join("%.4f" % statistics.median(c) for c in zip(*rows)))
PY
}

# The weft namespace's kernel owns the veths' addresses (for the other contenders), or not (weft).
kernel_addrs() {
	if [ "$1" = on ]; then
		ipw ip addr add 198.18.0.1/24 dev p0 2>/dev/null
		ipw ip addr add 198.18.1.1/24 dev p1 2>/dev/null
	else
		ipw ip addr flush dev p0
		ipw ip addr flush dev p1
		ipw sysctl -qw net.ipv4.ip_forward=0
	fi
	ipc ip neigh flush dev c0
	ipu ip neigh flush dev u0
	sleep 0.5
}

# Rounds alternate the contenders, so that the load of a shared machine, which drifts over
# minutes, weighs on all of them alike.
for round in $(seq 1 "$REPEAT"); do
	# --- weft ---
	kernel_addrs off
	: >"$TMP/weftd.log"
	if weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
		ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null
		ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null
		renice -n "$PROXY_NICE" -p $(ls /proc/"$WEFTD_PID"/task) >/dev/null
		once 198.18.0.1 weft "$WEFTD_PID"
		echo "# weft round $round: $(weft_metric weft_http_upstream_connects_total worker=) upstream connects, $(weft_metric weft_http_pool_reuse_total worker=) pool reuses" >&2
		weft_stop
	else
		echo "# weftd did not start:" >&2
		sed 's/^/#   /' "$TMP/weftd.log" >&2
	fi
	kernel_addrs on

	# --- haproxy ---
	if [[ " $PEERS " == *" haproxy "* ]] && command -v haproxy >/dev/null; then
		# Not through ipw (a function: & would give the subshell's pid, not haproxy's).
		ip netns exec "$NS_W" taskset -c 0 nice -n "$PROXY_NICE" haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
		hp=$!
		PIDS+=($hp)
		sleep 1
		once 198.18.0.1 haproxy "$hp"
		kill "$hp" 2>/dev/null
		wait "$hp" 2>/dev/null
	fi

	# --- nginx ---
	if [[ " $PEERS " == *" nginx "* ]]; then
		ipw nice -n "$PROXY_NICE" nginx -p "$TMP/px" -c "$TMP/px/nginx.conf"
		sleep 1
		master=$(cat "$TMP/px/nginx.pid" 2>/dev/null)
		workers=$(pgrep -P "$master" | tr '\n' ' ')
		# shellcheck disable=SC2086
		once 198.18.0.1 nginx $master $workers
		kill -QUIT "$master" 2>/dev/null
		sleep 1
	fi

	# --- no proxy: the kernel routes, wrk talks to the upstream nginx ---
	if [[ " $PEERS " == *" no-proxy "* ]]; then
		ipw sysctl -qw net.ipv4.ip_forward=1
		sleep 0.5
		once 198.18.1.2:8080 no-proxy
		ipw sysctl -qw net.ipv4.ip_forward=0
	fi
done
kill -QUIT "$(cat "$TMP/up/nginx.pid" 2>/dev/null)" 2>/dev/null
WEFT_BUSY=$(sort -g "$TMP/busy" 2>/dev/null | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}')

# ---- JSON ---------------------------------------------------------------------------------------

"$PY" - "$CONNS" "${WEFT_BUSY:-0}" "$(median weft)" "$(median haproxy)" "$(median nginx)" "$(median no-proxy)" <<'PY'
import json, sys
conns, busy = int(sys.argv[1]), float(sys.argv[2] or 0)
names = ["weft", "haproxy", "nginx", "no-proxy"]
res = {}
for n, v in zip(names, sys.argv[3:]):
    if v.strip():
        rps, p50, p99, cpu = map(float, v.split())
        res[n] = {"rps": rps, "p50": p50, "p99": p99, "cpu": cpu}
case = "keepalive-6B-c%d" % conns
if "weft" not in res:
    sys.exit("weft never ran")
w = res["weft"]
metrics = [("rps", "req/s", "rps", "higher"), ("latency-p50", "ms", "p50", "lower"),
           ("latency-p99", "ms", "p99", "lower"), ("cpu-per-request", "us", "cpu", "lower")]
for m, unit, key, better in metrics:
    for peer in names[1:]:
        if peer not in res or (key == "cpu" and peer == "no-proxy"):
            continue
        p = res[peer][key]
        print(json.dumps({"bench": "http", "case": case, "metric": m, "unit": unit, "weft": round(w[key], 4),
                          "peer": peer, "peer_value": round(p, 4),
                          "ratio": round(w[key] / p, 3) if p else None, "better": better}))
# weftd's CPU time is the whole core (it polls); its busy share is what the work cost.
if w["rps"] and busy:
    wb = busy / 100.0 * 1e6 / w["rps"]
    for peer in ("haproxy", "nginx"):
        if peer in res and res[peer]["cpu"]:
            p = res[peer]["cpu"]
            print(json.dumps({"bench": "http", "case": case, "metric": "busy-cpu-per-request", "unit": "us",
                              "weft": round(wb, 4), "peer": peer, "peer_value": round(p, 4),
                              "ratio": round(wb / p, 3), "better": "lower"}))
for n in names:
    if n in res:
        r = res[n]
        line = {"bench": "http", "case": case, "contender": n, "rps": r["rps"], "p50_ms": r["p50"],
                "p99_ms": r["p99"]}
        if n != "no-proxy":
            line["cpu_us_per_request"] = r["cpu"]
        if n == "weft":
            line["worker_busy_pct"] = busy
            # what the worker spent in iterations that found work, per request
            line["busy_us_per_request"] = round(busy / 100.0 * 1e6 / r["rps"], 4) if r["rps"] else None
        print(json.dumps(line))
PY

# ---- in process, no kernel: weft's own cycles per request ----------------------------------------

if [ -x "$BENCH" ]; then
	for c in http tcp; do
		taskset -c 0 "$BENCH" --case "$c" --seconds "$RUN_S" --conns "$CONNS"
	done
else
	echo "# $BENCH not built" >&2
fi
