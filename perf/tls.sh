#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "tls": weft's TLS engine in process on one core (full
# handshakes with ECDSA P-256 and RSA-2048, resumed handshakes, bulk
# AES-128-GCM through tls_write/tls_read), each next to a bound computed
# from `openssl speed` figures measured in the same run, on the same core.
# Prints JSON lines; perf/README.md (TLS section) explains the bounds.
#
# Then HTTPS through a proxy terminating TLS (weftd, and HAProxy on the same
# topology), as perf/http.sh does for plain HTTP:
#
#   client ns --- c0/p0 --- weft ns --- p1/u0 --- upstream ns
#   wrk, cpu 1              the proxy, cpu 0          nginx (one worker, plain HTTP), cpu 1
#
# Both proxies present the same ECDSA P-256 certificate, request a client
# certificate without requiring one (weft: mode permissive; HAProxy: verify
# optional) and speak HTTP/1.1 to nginx over pooled connections. Cases:
#   https-keepalive-c$CONNS  wrk -t1 -c$CONNS, keep-alive: requests/s, p99 latency
#   https-handshake-c$HS_CONNS  wrk with "Connection: close": every request is a new
#                            connection and a full handshake (wrk keeps no sessions);
#                            requests/s = full handshakes/s through the listener
# Rounds alternate the contenders; medians over REPEAT rounds of SECONDS_PER_RUN.
#
# Environment: CPU (core to pin to, default 1), SECS (seconds per repeat,
# default 3), REPEATS (default 3), BENCH_TLS (path of bench_tls; default from
# $WEFTD as perf/run sets it, else build/perf/bench_tls); for HTTPS:
# HTTPS (1; 0 skips it, "only" runs only it), SECONDS_PER_RUN (10), REPEAT (3),
# CONNS (64), HS_CONNS (16), PEERS ("haproxy"), BUILD (build).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CPU=${CPU:-1}
SECS=${SECS:-3}
REPEATS=${REPEATS:-3}
if [ -z "${BENCH_TLS:-}" ]; then
	if [ -n "${WEFTD:-}" ]; then
		BENCH_TLS=$(cd "$(dirname "$WEFTD")/../.." && pwd)/perf/bench_tls
	else
		BENCH_TLS=$ROOT/build/perf/bench_tls
	fi
fi
HTTPS=${HTTPS:-1}
if [ "$HTTPS" != only ] && [ ! -x "$BENCH_TLS" ]; then
	echo "tls.sh: $BENCH_TLS missing (build with -Dtls=enabled)" >&2
	exit 1
fi
command -v openssl >/dev/null || { echo "tls.sh: openssl missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/weft-perf-tls.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/tests/lib/certs.sh" "$TMP" >/dev/null

if [ "$HTTPS" != only ]; then

pin() { taskset -c "$CPU" "$@"; }

# openssl speed -mr prints "+F4:<n>:256:<sign/s>:<verify/s>" (ECDSA),
# "+F2:<n>:2048:<sign/s>:<verify/s>" (RSA), "+F5:<n>:253:<op/s>:<s/op>"
# (X25519) and "+F:<n>:AES-128-GCM:<bytes/s>" (one block size asked).
speed() { pin openssl speed -mr -seconds "$SECS" "$@" 2>/dev/null | grep '^+F'; }
field() { awk -F: -v f="$1" '{ print $f; exit }'; }

ec=$(speed ecdsap256)
rsa=$(speed rsa2048)
x=$(speed ecdhx25519)
gcm=$(speed -bytes 16384 -evp aes-128-gcm)

args=(
	"ecdsa_sign=$(field 4 <<<"$ec")" "ecdsa_verify=$(field 5 <<<"$ec")"
	"rsa_sign=$(field 4 <<<"$rsa")" "rsa_verify=$(field 5 <<<"$rsa")"
	"x25519=$(field 4 <<<"$x")" "gcm=$(field 4 <<<"$gcm")"
)
echo "# tls.sh: openssl $(openssl version | cut -d' ' -f2) on cpu $CPU: ${args[*]}" >&2

pin "$BENCH_TLS" "$TMP" -t "$SECS" -r "$REPEATS" "${args[@]}"
fi

[ "$HTTPS" = 0 ] && exit 0

# ---- HTTPS through weftd and HAProxy ------------------------------------------------------------

set +e
. "$ROOT/tests/lib/topo.sh"
RUN_S=${SECONDS_PER_RUN:-10}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-64}
HS_CONNS=${HS_CONNS:-16}
PEERS=${PEERS:-haproxy}
BUILD=${BUILD:-build}
WEFTD=${WEFTD:-$ROOT/$BUILD/policy/mgmt/weftd}
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$TMP/up/nginx.pid" ] && kill -QUIT "$(cat "$TMP/up/nginx.pid")" 2>/dev/null
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT
for t in wrk nginx; do
	command -v $t >/dev/null || { echo "# perf/tls: $t not installed, no HTTPS figures" >&2; exit 0; }
done

C=$TMP
# Hugepages only when enough are free for the whole pool (other jobs may hold some).
HUGE=false
[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 300 ] 2>/dev/null && HUGE=true
# Does this weftd terminate TLS on listeners? (Until it does, the HTTPS figures are HAProxy's alone.)
cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [0]
  memory_mb: 512
  hugepages: $HUGE
  file_prefix: $TOPO_ID
  mbufs_per_worker: 65536
ports:
  - {name: p0, driver: af_packet, iface: p0, addresses: [198.18.0.1/24]}
  - {name: p1, driver: af_packet, iface: p1, addresses: [198.18.1.1/24]}
tcp: {max_connections: 131072, time_wait_ms: 2000}
clusters:
  - {name: up, max_idle_connections: 1024, endpoints: [{address: 198.18.1.2, port: 8080}]}
route_configs:
  - name: main
    virtual_hosts:
      - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: up}}]}
listeners:
  - name: https
    kind: http
    address: 198.18.0.1
    port: 443
    route_config: main
    tls:
      mode: permissive
      certificates: [{cert: $C/server-ec.pem, key: $C/server-ec.key, names: ["api.weft.test"]}]
      trust_bundle: $C/ca.pem
YAML
WEFT_TLS=1
if ! "$WEFTD" --validate "$TMP/weft.yaml" >"$TMP/validate.out" 2>&1; then
	echo "# perf/tls: this weftd does not terminate TLS on listeners: $(cat "$TMP/validate.out")" >&2
	WEFT_TLS=0
fi

topo_up 1
ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_tw_reuse=1
ip netns exec "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"

mkdir -p "$TMP/up/logs" "$TMP/up/tmp"
cat >"$TMP/up/nginx.conf" <<CONF
daemon on;
master_process on;
worker_processes 1;
worker_cpu_affinity 10;
user root;
pid $TMP/up/nginx.pid;
error_log $TMP/up/logs/error.log crit;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $TMP/up/tmp/body;
    proxy_temp_path $TMP/up/tmp/proxy;
    fastcgi_temp_path $TMP/up/tmp/fcgi;
    uwsgi_temp_path $TMP/up/tmp/uwsgi;
    scgi_temp_path $TMP/up/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server { listen 198.18.1.2:8080 reuseport backlog=4096; location / { return 200 "hello\n"; } }
}
CONF
ipu nginx -p "$TMP/up" -c "$TMP/up/nginx.conf" || { echo "# upstream nginx did not start" >&2; exit 1; }

cat "$C/server-ec.pem" "$C/server-ec.key" >"$TMP/haproxy.pem"
cat >"$TMP/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 8000
    log stdout format raw local0 emerg
    tune.ssl.default-dh-param 2048
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 300s
frontend web
    bind 198.18.0.1:443 ssl crt $TMP/haproxy.pem ca-file $C/ca.pem verify optional alpn http/1.1 ssl-min-ver TLSv1.2
    default_backend up
backend up
    server s1 198.18.1.2:8080 maxconn 0
CFG

cpu_ticks() {
	local sum=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo $sum
}
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

# once CASE NAME PIDS...: one wrk run through the proxy, appended to $TMP/runs-CASE-NAME as
# "rps p50_ms p99_ms cpu_us_per_req errors".
once() {
	local case=$1 name=$2 out rps p50 p99 t0 t1 reqs cpu errs conns hdr=()
	shift 2
	if [ "$case" = keepalive ]; then conns=$CONNS; else conns=$HS_CONNS; hdr=(-H "Connection: close"); fi
	ipc taskset -c 1 wrk -t1 -c"$conns" -d2s "${hdr[@]}" "https://198.18.0.1/" >/dev/null 2>&1
	t0=$(cpu_ticks "$@")
	out=$(ipc taskset -c 1 wrk -t1 -c"$conns" -d"${RUN_S}s" --latency "${hdr[@]}" "https://198.18.0.1/" 2>&1)
	t1=$(cpu_ticks "$@")
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
	p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
	errs=$(echo "$out" | awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}')
	if [ "${reqs:-0}" -gt 0 ]; then
		cpu=$("$PY" -c "print(($t1 - $t0) / $HZ * 1e6 / $reqs)")
	else
		cpu=0
	fi
	echo "# $case $name round $round: ${rps:-0} req/s, p50 $p50 ms, p99 $p99 ms, cpu $cpu us/req, errors $errs" >&2
	echo "${rps:-0} $p50 $p99 $cpu $errs" >>"$TMP/runs-$case-$name"
	sleep 1
}
median() { # CASE NAME
	[ -s "$TMP/runs-$1-$2" ] || return 0
	"$PY" - "$TMP/runs-$1-$2" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(" ".join("%.4f" % statistics.median(c) for c in zip(*rows)))
PY
}
kernel_addrs() {
	if [ "$1" = on ]; then
		ipw ip addr add 198.18.0.1/24 dev p0 2>/dev/null
		ipw ip addr add 198.18.1.1/24 dev p1 2>/dev/null
	else
		ipw ip addr flush dev p0
		ipw ip addr flush dev p1
	fi
	ipc ip neigh flush dev c0
	ipu ip neigh flush dev u0
	sleep 0.5
}

for round in $(seq 1 "$REPEAT"); do
	if [ "$WEFT_TLS" = 1 ]; then
		kernel_addrs off
		if weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
			ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null
			ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null
			once keepalive weft "$WEFTD_PID"
			once handshake weft "$WEFTD_PID"
			weft_stop
		else
			echo "# weftd did not start:" >&2
			sed 's/^/#   /' "$TMP/weftd.log" >&2
		fi
		kernel_addrs on
	fi
	if [[ " $PEERS " == *" haproxy "* ]] && command -v haproxy >/dev/null; then
		kernel_addrs on
		ip netns exec "$NS_W" taskset -c 0 haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
		hp=$!
		PIDS+=($hp)
		sleep 1
		kill -0 "$hp" 2>/dev/null || sed 's/^/# haproxy: /' "$TMP/haproxy.log" >&2
		once keepalive haproxy "$hp"
		once handshake haproxy "$hp"
		kill "$hp" 2>/dev/null
		wait "$hp" 2>/dev/null
	fi
done

"$PY" - "$CONNS" "$HS_CONNS" "$(median keepalive weft)" "$(median keepalive haproxy)" \
	"$(median handshake weft)" "$(median handshake haproxy)" <<'PY'
import json, sys
conns, hs = int(sys.argv[1]), int(sys.argv[2])
def parse(v):
    if not v.strip():
        return None
    rps, p50, p99, cpu, errs = map(float, v.split())
    return {"rps": rps, "p50": p50, "p99": p99, "cpu": cpu, "errors": errs}
cases = [("https-keepalive-c%d" % conns, parse(sys.argv[3]), parse(sys.argv[4]),
          [("rps", "req/s", "rps", "higher"), ("latency-p99", "ms", "p99", "lower"),
           ("latency-p50", "ms", "p50", "lower"), ("cpu-per-request", "us", "cpu", "lower")]),
         ("https-handshake-c%d" % hs, parse(sys.argv[5]), parse(sys.argv[6]),
          [("handshakes", "conn/s", "rps", "higher"), ("latency-p99", "ms", "p99", "lower")])]
for case, w, h, metrics in cases:
    if w and h:
        for m, unit, key, better in metrics:
            print(json.dumps({"bench": "tls", "case": case, "metric": m, "unit": unit, "weft": round(w[key], 4),
                              "peer": "haproxy", "peer_value": round(h[key], 4),
                              "ratio": round(w[key] / h[key], 3) if h[key] else None, "better": better}))
    for n, r in (("weft", w), ("haproxy", h)):
        if r:
            print(json.dumps({"bench": "tls", "case": case, "contender": n, "rps": r["rps"], "p50_ms": r["p50"],
                              "p99_ms": r["p99"], "cpu_us_per_request": r["cpu"], "errors": r["errors"]}))
PY
