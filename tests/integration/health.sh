#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: active health checks. weftd balances an http cluster "web" over two
# python upstreams and checks them with HTTP GET /healthz; cluster "open" is
# checked with TCP connects to instance 1, and later a cluster "closed" with
# TCP connects to a port nobody listens on.
#
#   client ns (kernel)  --->  weft ns: weftd, af_packet p0/p1  --->  upstream ns (kernel)
#   198.18.0.2                :80 listener -> cluster web             198.18.1.2:8081 (instance 1)
#                                                                     198.18.1.2:8082 (instance 2)
#                                                                     198.18.1.2:8099 (closed)
#
# Cases:
#   request    the check's request as the upstream sees it (GET /healthz HTTP/1.1, Host = the
#              cluster name, User-Agent weft-health-check, Connection: close)
#   500        instance 2 answers 500 to /healthz: it turns unhealthy (bad_status, /stats and
#              /clusters) and every client request goes to instance 1; back to 200: healthy again
#              and instance 2 takes requests again
#   down       instance 2 killed: unhealthy (connect_refused), traffic on instance 1; restarted:
#              healthy and taking traffic
#   reload     a reload that keeps the endpoints keeps their health (an unhealthy endpoint stays
#              out); removing the health_check block stops the checks
#   tcp        a reload adds a cluster checked by TCP on a closed port: unhealthy
#              (connect_refused); the open port's TCP checks keep succeeding
#   tls        clusters with a tls block are checked over TLS: a python TLS upstream gets the
#              check's GET; a plaintext server behind a TLS cluster fails its checks (tls)
#
# Timings never decide: every wait polls for the state it expects, with a deadline far above the
# configured interval x threshold (200 ms x 2). WORKER_CPUS="1, 0" runs weftd with two workers, so
# that the endpoints' checks are spread over both (each checked by one). Needs root; TAP output.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

scenario_start health curl

topo_up 1

# ---- upstreams ------------------------------------------------------------------------------

# An HTTP/1.1 server: every path answers "instance N"; /healthz answers 500 while the file
# $TMP/sick.N exists, else 200. The head of every /healthz request goes to $TMP/hc.N.log.
cat >"$TMP/up.py" <<'PY'
import http.server, os, sys
port, inst, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cert = sys.argv[4] if len(sys.argv) > 4 else None  # PREFIX of PREFIX.pem / PREFIX.key: serve TLS
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/healthz":
            with open(os.path.join(tmp, "hc.%s.log" % inst), "a") as f:
                f.write(self.requestline + "\n" + str(self.headers) + "--\n")
            code = 500 if os.path.exists(os.path.join(tmp, "sick." + inst)) else 200
        else:
            code = 200
        body = ("instance %s\n" % inst).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-instance", inst)
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer.allow_reuse_address = True
srv = http.server.ThreadingHTTPServer(("198.18.1.2", port), H)
if cert:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert + ".pem", cert + ".key")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY

UP1= UP2=
up_start() { # INSTANCE [CERT_PREFIX]
	# Not through ipu: a function in the background is a subshell, and $! would be its pid.
	ip netns exec "$NS_U" "$PY" "$TMP/up.py" 808"$1" "$1" "$TMP" ${2:-} >>"$TMP/up.log" 2>&1 &
	SERVER_PIDS+=($!)
	eval "UP$1=$!"
	local i
	for i in $(seq 1 50); do
		ipu "$PY" -c "import socket; socket.create_connection(('198.18.1.2', 808$1), 1)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
up_start 1
up_start 2

# ---- weftd ----------------------------------------------------------------------------------

# config WEB_HEALTH_CHECK_BLOCK [closed]: web's health_check lines ("" for none); "closed" adds a
# cluster checked with TCP connects to a port nobody listens on.
config() {
	# not the shared hugepages: other suites may hold them
	weft_yaml_base 256 false "${WORKER_CPUS:-1}" 16384
	cat <<YAML
clusters:
  - name: web
    outlier_detection: {enabled: false}   # what moves traffic here is the health checks alone
$1
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}]
$([ "${2:-}" = closed ] && cat <<CLOSED
  - name: closed
    health_check: {kind: tcp, interval_ms: 200, jitter_ms: 20, timeout_ms: 500, unhealthy_threshold: 2}
    endpoints: [{address: 198.18.1.2, port: 8099}]
CLOSED
)
  - name: open
    health_check: {kind: tcp, interval_ms: 200, jitter_ms: 20, timeout_ms: 500}
    endpoints: [{address: 198.18.1.2, port: 8081}]
$([ "${2:-}" = tls ] && cat <<SECURE
  - name: secure
    tls: {trust_bundle: $TMP/certs/ca.pem, sni: api.backend.weft.test}
    health_check: {kind: http, interval_ms: 200, jitter_ms: 20, timeout_ms: 500, unhealthy_threshold: 2}
    endpoints: [{address: 198.18.1.2, port: 8083}]
  - name: secure-plain
    tls: {trust_bundle: $TMP/certs/ca.pem, sni: api.backend.weft.test}
    health_check: {kind: http, interval_ms: 200, jitter_ms: 20, timeout_ms: 500, unhealthy_threshold: 2}
    endpoints: [{address: 198.18.1.2, port: 8081}]
SECURE
)
route_configs:
  - name: main
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - {match: {prefix: /}, route: {cluster: web}}
listeners:
  - {name: main, kind: http, address: 198.18.0.1, port: 80, route_config: main, connect_timeout_ms: 300}
YAML
}

HC_WEB="    health_check:
      kind: http
      path: /healthz
      interval_ms: 200
      jitter_ms: 20
      timeout_ms: 500
      healthy_threshold: 2
      unhealthy_threshold: 2"

config "$HC_WEB" >"$TMP/weft.yaml"
if ! "$WEFTD" --validate "$TMP/weft.yaml" >/dev/null 2>"$TMP/validate.log"; then
	tap_not_ok "the test configuration validates"
	sed 's/^/# /' "$TMP/validate.log"
	tap_done
	exit 1
fi
if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
	tap_not_ok "weftd starts"
	tap_done
	exit 1
fi
tap_ok "weftd starts with two health-checked clusters"

# ---- helpers ----------------------------------------------------------------------------------

hc_metric() { weft_metric "weft_health_check_$1" "${2:-}"; }
unhealthy() { hc_metric endpoints_unhealthy; }
# Predicates for wait_for (evaluated at every poll).
unhealthy_is() { [ "$(unhealthy)" = "$1" ]; }
checked_is() { [ "$(hc_metric endpoints)" = "$1" ]; }
failures_over() { [ "$(hc_metric failure_reasons_total "reason=\"$1\"")" -gt "$2" ]; }
successes_over() { [ "$(hc_metric successes_total)" -gt "$1" ]; }
# How long a state took to show, for the record (never a pass/fail criterion): "# took N ms".
t_mark() { T0=$(date +%s%N); }
t_took() { echo "# $1: $((($(date +%s%N) - T0) / 1000000)) ms (interval 200 + jitter 0..20, thresholds 2)"; }
secure_healthy() { weft_admin /clusters | grep -qx 'secure::198.18.1.2:8083::health_flags::healthy'; }
no_failure() { [ "$(hc_metric failures_total)" = 0 ] && unhealthy_is 0; }

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# The health flags of ADDR:PORT of cluster web in /clusters ("healthy", "/failed_active_hc", ...).
flags_of() {
	weft_admin /clusters | awk -F'::' -v ep="$1" '$1 == "web" && $2 == ep && $3 == "health_flags" {print $4}'
}
hc_failed() { flags_of "$1" | grep -q failed_active_hc; }
hc_ok() { local f; f=$(flags_of "$1"); [ -n "$f" ] && ! echo "$f" | grep -q failed_active_hc; }

# requests N: N client requests on fresh connections; prints "instance" counts, e.g. "1:20 2:0 err:0".
requests() {
	local n=$1 i one=0 two=0 err=0 body
	for i in $(seq 1 "$n"); do
		body=$(ipc curl -s -m 2 http://198.18.0.1/r$i 2>/dev/null)
		case "$body" in
		"instance 1") one=$((one + 1)) ;;
		"instance 2") two=$((two + 1)) ;;
		*) err=$((err + 1)) ;;
		esac
	done
	echo "1:$one 2:$two err:$err"
}
# two_takes_traffic: of 10 requests, instance 2 answers at least once (a request or two may still be
# picked before the pickers see a new verdict: that is why it polls).
two_takes_traffic() { requests 10 | grep -qv ' 2:0 '; }

# ---- request ----------------------------------------------------------------------------------

check "instance 1 and 2 receive health checks" wait_for 10 sh -c "test -s '$TMP/hc.1.log' && test -s '$TMP/hc.2.log'"
req=$(awk 'NR <= 6' "$TMP/hc.1.log" 2>/dev/null | tr -d '\r')
echo "$req" | sed 's/^/#   /'
check "the check is GET /healthz HTTP/1.1" sh -c "echo '$req' | head -1 | grep -qx 'GET /healthz HTTP/1.1'"
check "Host is the cluster name" sh -c "echo '$req' | grep -qix 'host: web'"
check "User-Agent is weft-health-check" sh -c "echo '$req' | grep -qix 'user-agent: weft-health-check'"
check "Connection: close" sh -c "echo '$req' | grep -qix 'connection: close'"

check "http and tcp checks succeed" wait_for 10 successes_over 6
check "every endpoint counted as checked (3)" checked_is 3
check "none unhealthy, no failure" no_failure

# ---- 500 --------------------------------------------------------------------------------------

r=$(requests 20)
echo "# before: $r"
check "both instances take requests while healthy ($r)" sh -c "echo '$r' | grep -q ' 2:[1-9]' && echo '$r' | grep -q '^1:[1-9]' && echo '$r' | grep -q 'err:0'"

bh=$(hc_metric became_unhealthy_total)
touch "$TMP/sick.2"
t_mark
check "instance 2 answering 500: unhealthy in /stats" wait_for 10 unhealthy_is 1
t_took "500 to unhealthy"
check "and in /clusters (failed_active_hc)" wait_for 5 hc_failed 198.18.1.2:8082
check "the failures are counted as bad_status" failures_over bad_status 1
check "became_unhealthy counted" test "$(hc_metric became_unhealthy_total)" -gt "$bh"
sleep 0.3 # a management tick (100 ms) publishes the verdict to every picker
r=$(requests 30)
echo "# instance 2 unhealthy: $r"
check "every request goes to instance 1 ($r)" test "$r" = "1:30 2:0 err:0"

rm -f "$TMP/sick.2"
t_mark
check "instance 2 answering 200 again: healthy in /stats" wait_for 10 unhealthy_is 0
t_took "200 to healthy"
check "and in /clusters" wait_for 5 hc_ok 198.18.1.2:8082
check "instance 2 takes requests again" wait_for 10 two_takes_traffic

# ---- down -------------------------------------------------------------------------------------

cr=$(hc_metric failure_reasons_total 'reason="connect_refused"')
kill "$UP2"
t_mark
wait "$UP2" 2>/dev/null
check "instance 2 stopped: unhealthy" wait_for 10 unhealthy_is 1
t_took "stopped to unhealthy"
weft_admin /stats | "$PY" -c 'import json,sys; print("#", json.load(sys.stdin)["health_check"])'
check "its failures are connect_refused" wait_for 10 failures_over connect_refused "$((cr + 1))"
sleep 0.3
r=$(requests 30)
echo "# instance 2 down: $r"
check "every request goes to instance 1 ($r)" test "$r" = "1:30 2:0 err:0"

# ---- reload -----------------------------------------------------------------------------------

bh=$(hc_metric became_healthy_total)
config "$(echo "$HC_WEB" | sed 's/interval_ms: .*/interval_ms: 300/')" >"$TMP/weft-b.yaml"
ipw curl -sf -m 5 --data-binary @"$TMP/weft-b.yaml" "http://$WEFT_ADMIN/config" >/dev/null
check "reload keeping the endpoints: instance 2 still unhealthy" unhealthy_is 1
r=$(requests 20)
check "and still out of the balancing right after the reload ($r)" test "$r" = "1:20 2:0 err:0"
check "no endpoint turned healthy by the reload" test "$(hc_metric became_healthy_total)" = "$bh"

up_start 2
check "instance 2 restarted: healthy again" wait_for 10 unhealthy_is 0
check "and takes requests" wait_for 10 two_takes_traffic

# ---- tcp --------------------------------------------------------------------------------------

config "" closed >"$TMP/weft-c.yaml"
ipw curl -sf -m 5 --data-binary @"$TMP/weft-c.yaml" "http://$WEFT_ADMIN/config" >/dev/null
check "reload without web's health_check and with a closed port's: 2 endpoints checked" wait_for 5 checked_is 2
cr=$(hc_metric failure_reasons_total 'reason="connect_refused"')
check "tcp check of a closed port fails with connect_refused" wait_for 10 failures_over connect_refused "$((cr + 1))"
check "the closed port is the one unhealthy endpoint" wait_for 10 unhealthy_is 1
s=$(hc_metric successes_total)
check "tcp checks of the open port still succeed" wait_for 10 successes_over "$((s + 1))"

# ---- tls --------------------------------------------------------------------------------------

if weft_admin /stats | grep -q '"tls"' && bash "$HERE/../lib/certs.sh" "$TMP/certs" >/dev/null 2>&1 &&
	up_start 3 "$TMP/certs/backend"; then
	config "" tls >"$TMP/weft-d.yaml"
	if ipw curl -sf -m 5 --data-binary @"$TMP/weft-d.yaml" "http://$WEFT_ADMIN/config" >/dev/null; then
		tl=$(hc_metric failure_reasons_total 'reason="tls"')
		check "TLS cluster: the http checks reach the TLS upstream (inside TLS)" \
			wait_for 10 sh -c "test \$(grep -c '^GET /healthz' '$TMP/hc.3.log' 2>/dev/null || echo 0) -ge 3"
		check "TLS cluster pointing at a plaintext server: its checks fail as tls" \
			wait_for 10 failures_over tls "$((tl + 1))"
		check "the plaintext one is the one unhealthy endpoint" wait_for 10 unhealthy_is 1
		check "the TLS upstream, checked 3 times and more, is healthy in /clusters" secure_healthy
	else
		tap_not_ok "a config with TLS clusters is applied"
	fi
else
	tap_skip "TLS cluster checks (no TLS in this weftd, or certs.sh failed)"
fi

weft_stop
rc=$?
check "weftd stops cleanly (rc $rc)" test "$rc" = 0
tap_done
