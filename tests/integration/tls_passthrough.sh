#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: an east-west gateway. weftd reads the SNI of each ClientHello
# without terminating TLS and sends the raw stream to the cluster the name
# routes to; the upstreams are openssl s_server processes with their own
# certificates, so the certificate the client sees tells which one it
# reached.
#
#   client ns (kernel)  --->  weft ns: weftd (af_packet)  --->  upstream ns (kernel)
#   198.18.0.2                p0 198.18.0.1                      198.18.1.2:9443  CN a.weft.test
#                             p1 198.18.1.1                      198.18.1.2:9444  CN b.weft.test
#
# Listeners:
#   :15443  a.weft.test and *.b.weft.test, no catch-all
#   :15444  a.weft.test, and "*" to the b server
#
# Cases: exact name, wildcard name, the catch-all, a ClientHello split over
# several segments (completed end to end), an unknown name without
# a catch-all (reset, tls_no_route), plaintext (reset, tls_not_tls), a
# hello that never completes (reset, tls_hello_timeouts), a malformed one
# (reset, tls_malformed), a reload that moves a name; afterwards no
# session is left in the stats.
#
# usage: tls_passthrough.sh      (TAP output; needs root)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

scenario_start pt openssl

# ---- certificates: one self-signed server certificate per upstream ------------------------------

cert() { # NAME SAN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$TMP/$1.key" -out "$TMP/$1.pem" -subj "/CN=$1" -addext "subjectAltName=$2" \
		>/dev/null 2>&1
}
cert a.weft.test "DNS:a.weft.test"
cert b.weft.test "DNS:b.weft.test,DNS:*.b.weft.test"

topo_up 1

# ---- upstreams -----------------------------------------------------------------------------------

server() { # PORT NAME
	ipu openssl s_server -accept "198.18.1.2:$1" -cert "$TMP/$2.pem" -key "$TMP/$2.key" -www -quiet \
		>>"$TMP/servers.log" 2>&1 &
	SERVER_PIDS+=($!)
}
server 9443 a.weft.test
server 9444 b.weft.test
for i in $(seq 1 50); do
	ipu ss -ltn | grep -q '198.18.1.2:9444' && ipu ss -ltn | grep -q '198.18.1.2:9443' && break
	sleep 0.1
done

# ---- weftd ---------------------------------------------------------------------------------------

{
	weft_yaml_base 512 "$(weft_hugepages 512)" 1
	cat <<YAML
clusters:
  - {name: cluster_a, endpoints: [{address: 198.18.1.2, port: 9443}]}
  - {name: cluster_b, endpoints: [{address: 198.18.1.2, port: 9444}]}
listeners:
  - name: east_west
    kind: tls_passthrough
    address: 198.18.0.1
    port: 15443
    sni_routes:
      - {server_names: ["a.weft.test"], cluster: cluster_a}
      - {server_names: ["*.b.weft.test"], cluster: cluster_b}
    connect_timeout_ms: 1000
    idle_timeout_ms: 300000
  - name: catch_all
    kind: tls_passthrough
    address: 198.18.0.1
    port: 15444
    sni_routes:
      - {server_names: ["a.weft.test"], cluster: cluster_a}
      - {server_names: ["*"], cluster: cluster_b}
YAML
} >"$TMP/weft.yaml"

if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
	tap_not_ok "weftd starts"
	tap_done
	exit 1
fi
tap_ok "weftd starts with tls_passthrough listeners"
ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1
ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null 2>&1

if grep -q '^weftd: TLS: ' "$TMP/weftd.log"; then
	tap_ok "weftd logs its TLS build: $(grep -m1 '^weftd: TLS: ' "$TMP/weftd.log" | cut -c1-100)"
else
	tap_skip "weftd logs its TLS build (built without wolfSSL?)"
fi

proxy_stat() { weft_metric "weft_tcp_proxy_$1_total" 'worker='; }

# fetch PORT SNI: one HTTP/1.0 request through s_client; prints what s_client printed.
fetch() {
	printf 'GET / HTTP/1.0\r\n\r\n' |
		ipc timeout 10 openssl s_client -connect "198.18.0.1:$1" -servername "$2" -ign_eof 2>&1
}
# reached PORT SNI CN: the peer certificate is CN's and its -www page came back through weft.
reached() {
	local out
	out=$(fetch "$1" "$2")
	if echo "$out" | grep -Eq "^subject=.*CN ?= ?$3\$" && echo "$out" | grep -q 'HTTP/1.0 200 ok'; then
		return 0
	fi
	echo "$out" | head -20 | sed 's/^/#   /'
	return 1
}

check "exact name a.weft.test reaches the a upstream" reached 15443 a.weft.test a.weft.test
check "wildcard *.b.weft.test: x.b.weft.test reaches the b upstream" reached 15443 x.b.weft.test b.weft.test
check "wildcard is case-insensitive: X.B.Weft.Test reaches b" reached 15443 X.B.Weft.Test b.weft.test
check "catch-all listener: exact name still wins" reached 15444 a.weft.test a.weft.test
check "catch-all listener: an unknown name reaches the * cluster" reached 15444 unknown.example b.weft.test
check "routed connections counted" test "$(proxy_stat tls_routed)" -eq 5

# no_session SNI: s_client through :15443 gets no TLS session (an error, no certificate).
no_session() {
	local out
	out=$(fetch 15443 "$1")
	! echo "$out" | grep -q '^subject='
}
# A real ClientHello (Python's ssl) sent in pieces: 3 bytes, then the rest of the record header,
# then the body in two parts, 100 ms apart; weft must keep them, route by the name and forward
# them all, and the handshake then completes end to end (the peer certificate is b's).
split_hello() {
	ipc "$PY" - <<'EOF'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="split.b.weft.test")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
s = socket.create_connection(("198.18.0.1", 15443), timeout=5)
for part in (hello[:3], hello[3:5], hello[5:40], hello[40:]):
    s.sendall(part)
    time.sleep(0.1)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        pass
    data = out.read()
    if data:
        s.sendall(data)
    d = s.recv(65536)
    if not d:
        sys.exit("eof during the handshake")
    inc.write(d)
s.sendall(out.read())
cert = tls.getpeercert(binary_form=True)
sys.exit(0 if b"b.weft.test" in cert else "peer certificate is not b's")
EOF
}
check "a ClientHello split over four segments is routed by its name and forwarded whole" split_hello

before=$(proxy_stat tls_no_route)
check "unknown name without a catch-all gets no session" no_session unknown.example
check "b.weft.test itself does not match *.b.weft.test" no_session b.weft.test
check "no route counted under tls_no_route" test "$(proxy_stat tls_no_route)" -eq $((before + 2))

# rst_after DATA [WAIT]: send DATA, expect an RST (or at least EOF) within 5 s with no bytes back.
rst_after() {
	ipc "$PY" - "$1" "${2:-0}" <<'EOF'
import socket, sys, time
s = socket.create_connection(("198.18.0.1", 15443), timeout=5)
s.sendall(sys.argv[1].encode().decode("unicode_escape").encode("latin-1"))
time.sleep(float(sys.argv[2]))
try:
    d = s.recv(100)
except ConnectionResetError:
    sys.exit(0)
except socket.timeout:
    sys.exit(1)
sys.exit(0 if d == b"" else 1)
EOF
}
before=$(proxy_stat tls_not_tls)
check "plaintext is reset" rst_after 'GET / HTTP/1.1\r\nHost: a.weft.test\r\n\r\n'
check "plaintext counted under tls_not_tls" test "$(proxy_stat tls_not_tls)" -eq $((before + 1))

before=$(proxy_stat tls_hello_timeouts)
# A handshake record header announcing a 512-byte record, then nothing: reset after connect_timeout_ms.
check "a ClientHello that never completes is reset" rst_after '\x16\x03\x01\x02\x00\x01\x00\x01\xfc'
check "counted under tls_hello_timeouts" test "$(proxy_stat tls_hello_timeouts)" -eq $((before + 1))

before=$(proxy_stat tls_malformed)
check "a malformed handshake record is reset" rst_after '\x16\x03\x01\x00\x04\x02\x00\x00\x00'
check "counted under tls_malformed" test "$(proxy_stat tls_malformed)" -eq $((before + 1))

# Nothing left behind: no session, no connection but TIME_WAIT (polls up to 5 s).
clean_after() {
	local i out
	for i in $(seq 1 25); do
		out=$(weft_admin /stats | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
left = {k: v for k, v in s["tcp"]["connections"].items() if k != "time_wait" and v}
act = s["tcp_proxy"]["sessions_active"]
print("sessions_active=%d %s" % (act, " ".join("%s=%d" % kv for kv in sorted(left.items()))))
sys.exit(0 if act == 0 and not left else 1)') && return 0
		sleep 0.2
	done
	echo "# left behind: $out"
	return 1
}
# A reload that sends a.weft.test to the b cluster applies to the next connection.
sed 's/- {server_names: \["a.weft.test"\], cluster: cluster_a}/- {server_names: ["a.weft.test"], cluster: cluster_b}/' \
	"$TMP/weft.yaml" >"$TMP/reload.yaml"
code=$(ipw curl -s -o "$TMP/post.out" -w '%{http_code}' -m 10 --data-binary @"$TMP/reload.yaml" \
	"http://$WEFT_ADMIN/config")
check "reload: POST /config with new sni_routes is applied ($code: $(head -c 80 "$TMP/post.out"))" test "$code" = 200
check "reload: a.weft.test now reaches the b upstream" reached 15443 a.weft.test b.weft.test

check "no session left behind" clean_after
check "weft_tcp_proxy_tls_* families are exported" \
	sh -c "ip netns exec $NS_W curl -sf -m 5 http://$WEFT_ADMIN/stats/prometheus | grep -q '^# HELP weft_tcp_proxy_tls_no_route_total'"

weft_stop
rc=$?
check "weftd exits cleanly" test "$rc" -eq 0
tap_done
