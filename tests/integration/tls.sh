#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: TLS terminated by weftd's http listeners, with certificates made
# at test time (tests/lib/certs.sh), real clients (curl, openssl s_client,
# gnutls-cli, wrk, testssl) and real upstreams (nginx plain and with
# `ssl_verify_client on`, httpecho.py echoing what it received).
#
#   client ns (kernel)  --->  weft ns: weftd, af_packet p0/p1  --->  upstream ns (kernel)
#   198.18.0.2                :8443 strict  (EC + RSA certs, CRL)      198.18.1.2:8080 nginx, plain
#                             :8444 strict, listener allows ns/web/*   198.18.1.2:8443 nginx, TLS,
#                             :8445 permissive (rotated certificate)           ssl_verify_client on
#                             :8446 tcp_proxy, strict, to nginx plain
#                                                                      198.18.1.2:8081 httpecho.py
#
# Cases (WEFT_TLS_CASES="..." runs a subset; "start" always runs):
#   matrix    verify mode x client certificate (none, valid, unknown CA, expired,
#             not yet valid, wrong SAN, revoked), with curl and with s_client;
#             each refusal counted under its reason; a tcp_proxy listener terminating TLS
#   versions  versions: tls13 refuses TLS 1.2 (counted); a ClientHello that never completes
#             is reset after handshake_timeout_ms (counted)
#   gnutls    gnutls-cli with a client certificate, TLS 1.3 and TLS 1.2; TLS 1.1 refused
#   alpn_sni  the certificate chosen by SNI (ECDSA, RSA, the first for unknown or no
#             name), ALPN http/1.1 chosen from "h2,http/1.1", h2 alone never agreed
#   resume    TLS 1.2 (-reconnect) and TLS 1.3 (-sess_out/-sess_in) resumption, "Reused",
#             the identity still known on the resumed connection (also for an identity
#             too big for a ticket), the counter; a ticket opens no other listener;
#             session_tickets: false issues none
#   bodies    8 MiB up and 8 MiB down through TLS, sha256 checked by both ends
#   permissive  TLS and plaintext on one port, plaintext counted; a first byte alone;
#             pipelined requests over TLS
#   authz     per-route allow_principals (pattern and exact): allowed, 403 with
#             x-weft-reason: principal_denied, counted; two URI SANs are no SPIFFE ID
#   xfcc      x-forwarded-client-cert as the upstream sees it (Envoy's format: By, Hash,
#             URI), a client's own field removed
#   upstream  mTLS to nginx with ssl_verify_client on; without weft's certificate nginx
#             refuses; a wrong upstream SAN is refused by weft and counted
#   rotation  wrk for WEFT_TLS_ROTATE_S (20) s on the permissive listener, keep-alive and
#             a new connection per request, while its certificate files are replaced (new
#             fingerprint for new handshakes), an expired, a mismatched and a garbled
#             certificate are refused (error in /config/status, the previous one keeps
#             serving) and a new CRL revokes a client; no failed request
#   testssl   testssl (protocols, ciphers, vulnerabilities) finds nothing at LOW or above
#             and no protocol below TLS 1.2
#
# Needs root; TAP output.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

: "${WEFTD:?WEFTD must point at the weftd binary}"
PY=/usr/bin/python3
ECHO="$HERE/httpecho.py"
ROTATE_S=${WEFT_TLS_ROTATE_S:-20}
CASES=${WEFT_TLS_CASES:-"matrix versions gnutls alpn_sni resume bodies permissive authz xfcc upstream rotation testssl"}
TMP=$(mktemp -d /tmp/weft-tls.XXXXXX)
C=$TMP/certs
SERVER_PIDS=()
W=198.18.0.1

cleanup() {
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$TMP/up/nginx.pid" ] && kill "$(cat "$TMP/up/nginx.pid")" 2>/dev/null
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
for t in curl openssl nginx; do
	if ! command -v $t >/dev/null; then
		echo "1..0 # SKIP $t not installed"
		exit 0
	fi
done

want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
# skip_ni DESCRIPTION WHAT: a check whose feature weft does not have yet.
skip_ni() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP not implemented: $2"; }

bash "$HERE/../lib/certs.sh" "$C" >/dev/null || { echo "1..0 # SKIP certs.sh failed"; exit 0; }
mkdir -p "$TMP/rot"
cp "$C/server-ec.pem" "$TMP/rot/cert.pem"
cp "$C/server-ec.key" "$TMP/rot/key.pem"

# Hugepages only when enough are free for the whole pool (other suites may hold some).
HUGE=false
[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 300 ] 2>/dev/null && HUGE=true
topo_up 1

# ---- upstreams ------------------------------------------------------------------------------

mkdir -p "$TMP/up/logs" "$TMP/up/tmp"
head -c 8388608 /dev/urandom >"$TMP/up/big"
cat >"$TMP/up/nginx.conf" <<CONF
daemon on;
master_process on;
worker_processes 1;
user root;
pid $TMP/up/nginx.pid;
error_log $TMP/up/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/up/tmp/body;
    proxy_temp_path $TMP/up/tmp/proxy;
    fastcgi_temp_path $TMP/up/tmp/fcgi;
    uwsgi_temp_path $TMP/up/tmp/uwsgi;
    scgi_temp_path $TMP/up/tmp/scgi;
    keepalive_requests 1000000;
    server { listen 198.18.1.2:8080; location / { return 200 "hello\n"; } }
    server {
        listen 198.18.1.2:8443 ssl;
        ssl_certificate $C/backend.pem;
        ssl_certificate_key $C/backend.key;
        ssl_client_certificate $C/ca.pem;
        ssl_verify_client on;
        location /mtls/big { alias $TMP/up/big; }
        location / { return 200 "mtls \$ssl_client_verify \$ssl_client_s_dn\n"; }
    }
}
CONF
ipu nginx -p "$TMP/up" -c "$TMP/up/nginx.conf" || { echo "1..0 # SKIP upstream nginx did not start"; exit 0; }
ipu taskset -c 0 "$PY" "$ECHO" --addr 198.18.1.2 --port 8081 --instance 1 >>"$TMP/servers.log" 2>&1 &
SERVER_PIDS+=($!)

# ---- what this weftd supports ------------------------------------------------------------------

# probe KEY YAML: 0 when weftd --validate accepts YAML; 1 when it refuses KEY (the key path it
# names) as an unknown key; 2 for any other refusal. Every key probed here is part of weft, so a
# weftd that does not know one fails, unless WEFT_TLS_ALLOW_MISSING=1 (to run this suite against
# an older build: the checks of what it lacks are then skipped and say so).
probe() {
	local key=$1 out
	printf '%s\n' "$2" >"$TMP/probe.yaml"
	out=$("$WEFTD" --validate "$TMP/probe.yaml" 2>&1) && return 0
	case "$out" in *"$key: unknown key"*) return 1 ;; esac
	echo "# probe for $key: $out"
	return 2
}
P_HEAD="eal: {main_cpu: 0, worker_cpus: [1], memory_mb: 256, hugepages: false}
ports: [{name: p0, driver: af_packet, iface: p0, addresses: [198.18.0.1/24]}]"
P_RC="route_configs:
  - name: main
    virtual_hosts: [{name: all, domains: ['*'], routes: [{match: {prefix: /}, route: {cluster: up}}]}]"
P_TLS="    tls:
      mode: strict
      certificates: [{cert: $C/server-ec.pem, key: $C/server-ec.key, names: [api.weft.test]}]
      trust_bundle: $C/ca.pem"
P_L="listeners:
  - {name: l, kind: http, address: 198.18.0.1, port: 80, route_config: main"
have() { # NAME KEY YAML: sets HAVE_NAME=1 or 0; exits failing on an unexpected refusal
	local rc
	probe "$2" "$3"
	rc=$?
	if [ $rc = 2 ] || { [ $rc = 1 ] && [ "${WEFT_TLS_ALLOW_MISSING:-0}" != 1 ]; }; then
		[ $rc = 1 ] && echo "# weftd does not know $2"
		tap_not_ok "weftd --validate accepts $2 (see above)"
		tap_done
		exit 1
	fi
	eval "HAVE_$1=$((1 - rc))"
}
have LTLS "listeners[1].tls" "$P_HEAD
clusters: [{name: up, endpoints: [{address: 198.18.1.2, port: 80}]}]
$P_RC
$P_L}
  - name: t
    kind: http
    address: 198.18.0.1
    port: 8443
    route_config: main
$P_TLS"
have CTLS "clusters[0].tls" "$P_HEAD
clusters: [{name: up, endpoints: [{address: 198.18.1.2, port: 80}], tls: {trust_bundle: $C/ca.pem}}]
$P_RC
$P_L}"
have RAP "allow_principals" "$P_HEAD
clusters: [{name: up, endpoints: [{address: 198.18.1.2, port: 80}]}]
route_configs:
  - name: main
    virtual_hosts: [{name: all, domains: ['*'], routes: [{match: {prefix: /}, allow_principals: ['spiffe://weft.test/ns/db/*'], route: {cluster: up}}]}]
$P_L}"
HAVE_LAP=0
if [ "$HAVE_LTLS" = 1 ]; then
	have LAP "allow_principals" "$P_HEAD
clusters: [{name: up, endpoints: [{address: 198.18.1.2, port: 80}]}]
$P_RC
listeners:
  - name: t
    kind: http
    address: 198.18.0.1
    port: 8443
    route_config: main
$P_TLS
      allow_principals: ['spiffe://weft.test/ns/web/*']"
fi
echo "# this weftd: listener tls $HAVE_LTLS, cluster tls $HAVE_CTLS, route allow_principals $HAVE_RAP, listener allow_principals $HAVE_LAP"
if [ "$HAVE_LTLS" = 0 ] && [ "$HAVE_CTLS" = 0 ]; then
	for c in $CASES; do skip_ni "tls: $c" "TLS termination on listeners (listeners[].tls)"; done
	tap_done
	exit 0
fi
if [ "$HAVE_LTLS" = 0 ]; then
	# Only origination to test: one plaintext listener in front of the TLS clusters.
	for c in $CASES; do
		[ "$c" = upstream ] || skip_ni "tls: $c" "TLS termination on listeners (listeners[].tls)"
	done
	CASES=upstream
fi

# ---- weftd ----------------------------------------------------------------------------------

strict_tls() { # [EXTRA_LINE...]: empty ones left out
	cat <<YAML
    tls:
      mode: strict
      certificates:
        - {cert: $C/server-ec.pem, key: $C/server-ec.key, names: ["api.weft.test", "*.apps.weft.test"]}
        - {cert: $C/server-rsa.pem, key: $C/server-rsa.key, names: ["rsa.weft.test"]}
      trust_bundle: $C/ca.pem
      crl: $C/crl.pem
      handshake_timeout_ms: 3000
YAML
	local l
	for l in "$@"; do [ -n "$l" ] && echo "      $l"; done
	return 0
}
LAP_LINE=
[ "$HAVE_LAP" = 1 ] && LAP_LINE='allow_principals: ["spiffe://weft.test/ns/web/*"]'

secure_clusters() {
	[ "$HAVE_CTLS" = 1 ] || return 0
	cat <<YAML
  - name: secure
    endpoints: [{address: 198.18.1.2, port: 8443}]
    tls:
      cert: $C/mesh.pem
      key: $C/mesh.key
      trust_bundle: $C/ca.pem
      sni: api.backend.weft.test
      verify_san: ["spiffe://weft.test/ns/backend/sa/api"]
  - name: secure_nocert
    endpoints: [{address: 198.18.1.2, port: 8443}]
    tls: {trust_bundle: $C/ca.pem, sni: api.backend.weft.test}
  - name: secure_badsan
    endpoints: [{address: 198.18.1.2, port: 8443}]
    tls:
      cert: $C/mesh.pem
      key: $C/mesh.key
      trust_bundle: $C/ca.pem
      sni: api.backend.weft.test
      verify_san: ["spiffe://weft.test/ns/backend/sa/someone-else"]
YAML
}
secure_routes() {
	[ "$HAVE_CTLS" = 1 ] || return 0
	cat <<YAML
          - {match: {prefix: /mtls}, route: {cluster: secure}}
          - {match: {prefix: /nocert}, route: {cluster: secure_nocert}}
          - {match: {prefix: /badsan}, route: {cluster: secure_badsan}}
YAML
}
principal_routes() {
	[ "$HAVE_RAP" = 1 ] || return 0
	cat <<YAML
          - match: {prefix: /reader}
            allow_principals: ["spiffe://weft.test/ns/db/*"]
            route: {cluster: echo}
          - match: {prefix: /ops}
            allow_principals: ["spiffe://weft.test/ns/ops/sa/admin"]
            route: {cluster: echo}
          - match: {prefix: /team-a}
            allow_principals: ["spiffe://weft.test/ns/a/*"]
            route: {cluster: echo}
YAML
}

listeners() {
	if [ "$HAVE_LTLS" = 0 ]; then
		echo "  - {name: plain, kind: http, address: $W, port: 8445, route_config: main}"
		return 0
	fi
	cat <<YAML
  - name: strict
    kind: http
    address: $W
    port: 8443
    route_config: main
$(strict_tls)
  - name: strict_web
    kind: http
    address: $W
    port: 8444
    route_config: main
$(strict_tls 'versions: tls13' "$LAP_LINE")
  - name: pipe
    kind: tcp_proxy
    address: $W
    port: 8446
    cluster: plain
$(strict_tls 'session_tickets: false')
  - name: permissive
    kind: http
    address: $W
    port: 8445
    route_config: main
    tls:
      mode: permissive
      certificates:
        - {cert: $TMP/rot/cert.pem, key: $TMP/rot/key.pem, names: ["api.weft.test"]}
      trust_bundle: $C/ca.pem
      crl: $C/crl.pem
YAML
}

cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [${WORKER_CPUS:-1}]
  memory_mb: 512
  hugepages: $HUGE
  file_prefix: ${TOPO_ID}
  mbufs_per_worker: 65536
ports:
  - {name: p0, driver: af_packet, iface: p0, addresses: [198.18.0.1/24]}
  - {name: p1, driver: af_packet, iface: p1, addresses: [198.18.1.1/24]}
admin: {address: 127.0.0.1, port: 9901}
tcp: {time_wait_ms: 2000}
clusters:
  - {name: echo, endpoints: [{address: 198.18.1.2, port: 8081}]}
  - {name: plain, endpoints: [{address: 198.18.1.2, port: 8080}]}
$(secure_clusters)
route_configs:
  - name: main
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
$(principal_routes)
$(secure_routes)
          - {match: {prefix: /plain}, route: {cluster: plain}}
          - {match: {prefix: /}, route: {cluster: echo}}
listeners:
$(listeners)
YAML

if ! "$WEFTD" --validate "$TMP/weft.yaml" >"$TMP/validate.out" 2>&1; then
	sed 's/^/# /' "$TMP/validate.out"
	tap_not_ok "weftd --validate accepts the configuration"
	tap_done
	exit 1
fi
tap_ok "weftd --validate accepts the configuration"
if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
	tap_not_ok "weftd starts with the TLS listeners and clusters it has"
	tap_done
	exit 1
fi
tap_ok "weftd starts with the TLS listeners and clusters it has"
ipc ping -c 1 -W 2 -q $W >/dev/null 2>&1
ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null 2>&1

# ---- helpers ------------------------------------------------------------------------------

# req PORT SNI WHO PATH [curl args...]: HTTPS through weft with WHO's client certificate
# (none: without); prints the status (000: no HTTP response). Head in $TMP/head, body in $TMP/body.
req() {
	local port=$1 sni=$2 who=$3 path=$4
	shift 4
	local a=(--cacert "$C/ca.pem" --resolve "$sni:$port:$W")
	[ "$who" != none ] && a+=(--cert "$C/$who.pem" --key "$C/$who.key")
	: >"$TMP/head"
	: >"$TMP/body"
	ipc curl -s -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' -m 10 "${a[@]}" "$@" "https://$sni:$port$path"
}
# code_is WANT PORT SNI WHO PATH [curl args]: req gives WANT.
code_is() {
	local want=$1 got
	shift
	got=$(req "$@")
	[ "$got" = "$want" ] && return 0
	echo "# got $got, wanted $want: $(head -c 200 "$TMP/body" | tr -d '\r' | tr '\n' ' ')"
	return 1
}
# sc PORT SNI WHO [s_client args...]: a GET /plain through s_client; prints its output.
sc() {
	local port=$1 sni=$2 who=$3
	shift 3
	local a=(-connect "$W:$port" -CAfile "$C/ca.pem")
	[ -n "$sni" ] && a+=(-servername "$sni")
	[ "$who" != none ] && a+=(-cert "$C/$who.pem" -key "$C/$who.key")
	printf 'GET /plain HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "${sni:-x}" |
		ipc timeout 10 openssl s_client "${a[@]}" -ign_eof "$@" 2>&1
}
sc_ok() { # PORT SNI WHO: the request through s_client got nginx's 200 "hello"
	local out
	out=$(sc "$@")
	# (s_client's session printout may interleave with the response: no anchors)
	echo "$out" | grep -aq 'HTTP/1.1 200' && echo "$out" | grep -aq 'hello' && return 0
	echo "$out" | grep -aE 'alert|error|HTTP/' | head -5 | sed 's/^/#   /'
	return 1
}
sc_refused() { # PORT SNI WHO: no response, and s_client saw the refusal (alert or reset)
	local out
	out=$(sc "$@")
	if echo "$out" | grep -aq 'HTTP/1\.1 [0-9]'; then
		echo "$out" | grep -a 'HTTP/1\.1 [0-9]' | head -2 | sed 's/^/#   /'
		return 1
	fi
	return 0
}
# prom_sum PATTERN: the sum of every Prometheus sample whose line (name and labels) contains
# PATTERN and whose family name contains "tls" or "principal".
prom_sum() {
	weft_admin /stats/prometheus | awk -v p="$1" '
		$0 !~ /^#/ && ($1 ~ /tls/ || $1 ~ /principal/) && index($1, p) > 0 { s += $NF }
		END { printf "%d\n", s }'
}
# tls_reason REASON: failures counted under that reason (the TLS_ERRORS label).
tls_reason() { prom_sum "\"$1\""; }
grew() { # WHAT BEFORE: prom_sum WHAT is now above BEFORE
	local now
	now=$(prom_sum "$1")
	[ "$now" -gt "$2" ] && return 0
	echo "# $1: $now, was $2"
	return 1
}
fingerprint() { # PORT SNI: the SHA-256 fingerprint of the certificate weft serves
	ipc timeout 10 openssl s_client -connect "$W:$1" -servername "$2" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
matches() { # ERE TEXT: a line of TEXT matches ERE
	echo "$2" | grep -Eq -- "$1" && return 0
	echo "# no line matches $1"
	return 1
}
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

if grep -q '^weftd: TLS: ' "$TMP/weftd.log"; then
	tap_ok "weftd logs its TLS build: $(grep -m1 '^weftd: TLS: ' "$TMP/weftd.log" | cut -c1-100)"
else
	tap_not_ok "weftd logs its TLS build"
fi

# ---- matrix: verify mode x client certificate -------------------------------------------------

if want matrix; then
	check "strict, valid client certificate: 200 (curl)" code_is 200 8443 api.weft.test client /plain
	check "strict, valid client certificate: 200 (s_client)" sc_ok 8443 api.weft.test client
	# reason REASON WHO: one refused curl and one refused s_client, and the reason counted.
	for row in "none:tls_peer_cert_missing:no client certificate" \
		"unknown:tls_peer_cert_unknown_ca:unknown CA" \
		"expired:tls_peer_cert_expired:expired" \
		"future:tls_peer_cert_not_yet_valid:not yet valid" \
		"revoked:tls_peer_cert_revoked:revoked (CRL)"; do
		who=${row%%:*}
		rest=${row#*:}
		reason=${rest%%:*}
		what=${rest#*:}
		before=$(tls_reason "$reason")
		check "strict, $what: refused (curl)" code_is 000 8443 api.weft.test "$who" /plain
		check "strict, $what: refused (s_client)" sc_refused 8443 api.weft.test "$who"
		check "strict, $what: counted under $reason" grew "\"$reason\"" "$before"
	done
	if [ "$HAVE_LAP" = 1 ]; then
		check "strict + listener allow_principals ns/web/*: valid in-namespace client 200" \
			code_is 200 8444 api.weft.test client /plain
		c=$(req 8444 api.weft.test wrong-san /plain)
		check "strict + listener allow_principals: wrong SAN (ns/evil) refused ($c)" \
			test "$c" = 000 -o "$c" = 403
		check "strict + listener allow_principals: wrong SAN refused (s_client)" sc_refused 8444 api.weft.test wrong-san
		check "strict + listener allow_principals: revoked refused" code_is 000 8444 api.weft.test revoked /plain
	else
		skip_ni "strict + listener allow_principals: wrong SAN refused" "listeners[].tls.allow_principals"
	fi
	check "tcp_proxy, strict, valid client certificate: the plaintext upstream answers through the pipe" \
		code_is 200 8446 api.weft.test client /plain
	check "tcp_proxy, strict, no client certificate: refused" code_is 000 8446 api.weft.test none /plain
	check "tcp_proxy, strict, revoked: refused (s_client)" sc_refused 8446 api.weft.test revoked
	check "strict, wrong SAN without listener allow_principals: verified, 200" \
		code_is 200 8443 api.weft.test wrong-san /plain
	check "permissive, no client certificate: 200 (curl)" code_is 200 8445 api.weft.test none /plain
	check "permissive, no client certificate: 200 (s_client)" sc_ok 8445 api.weft.test none
	check "permissive, valid client certificate: 200 (curl)" code_is 200 8445 api.weft.test client /plain
	check "permissive, valid client certificate: 200 (s_client)" sc_ok 8445 api.weft.test client
	for who in unknown expired future revoked; do
		check "permissive, $who client certificate sent: refused (curl)" code_is 000 8445 api.weft.test $who /plain
		check "permissive, $who client certificate sent: refused (s_client)" sc_refused 8445 api.weft.test $who
	done
fi

# ---- versions and the handshake deadline ----------------------------------------------------------

# stalled_hello: a handshake record announcing 512 bytes, 9 of them sent, then silence: weft must
# reset or close within 8 s (handshake_timeout_ms is 3000 on :8443).
stalled_hello() {
	ipc timeout 20 "$PY" - <<'EOF2'
import socket, sys
s = socket.create_connection(("198.18.0.1", 8443), timeout=8)
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc")
try:
    d = s.recv(100)
except ConnectionResetError:
    sys.exit(0)
except socket.timeout:
    sys.exit("still open after 8 s")
sys.exit(0 if d == b"" else "got bytes: %r" % d[:20])
EOF2
}
if want versions; then
	before=$(tls_reason tls_version)
	check "versions: tls13: a TLS 1.2 client is refused" sc_refused 8444 api.weft.test client -tls1_2
	check "versions: tls13: counted under tls_version" grew '"tls_version"' "$before"
	check "versions: tls13: a TLS 1.3 client gets through" sc_ok 8444 api.weft.test client -tls1_3
	check "versions: tls12+: a TLS 1.2 client gets through" sc_ok 8443 api.weft.test client -tls1_2
	# 100 handshakes stalled in the middle do not hold up another one (non-blocking handshakes).
	ipc timeout 20 "$PY" - <<'EOF2' &
import socket, time
socks = []
for i in range(100):
    s = socket.create_connection(("198.18.0.1", 8443), timeout=5)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc")
    socks.append(s)
time.sleep(2.5)
EOF2
	stall_pid=$!
	sleep 1
	check "100 stalled handshakes in flight: another client still gets through" \
		code_is 200 8443 api.weft.test client /plain
	wait $stall_pid
	before=$(prom_sum handshake_timeout)
	check "a ClientHello that never completes is closed at handshake_timeout_ms" stalled_hello
	check "... counted (handshake_timeouts)" grew handshake_timeout "$before"
fi

# ---- gnutls-cli ---------------------------------------------------------------------------------

gnutls() { # PRIORITY: GET /plain with the client certificate through gnutls-cli; 200 "hello"
	local out
	out=$(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n' |
		ipc timeout 10 gnutls-cli --x509cafile "$C/ca.pem" --x509certfile "$C/client.pem" \
			--x509keyfile "$C/client.key" --sni-hostname api.weft.test --verify-hostname api.weft.test \
			--priority "$1" -p 8443 $W 2>&1)
	echo "$out" | grep -q '^HTTP/1.1 200' && echo "$out" | grep -q '^hello' && return 0
	echo "$out" | grep -iE 'error|fatal|alert|HTTP/' | head -4 | sed 's/^/#   /'
	return 1
}
gnutls_refused() { ! gnutls "$1" >/dev/null; }
if want gnutls; then
	if command -v gnutls-cli >/dev/null; then
		check "gnutls-cli, client certificate, TLS 1.3: 200" gnutls NORMAL:-VERS-ALL:+VERS-TLS1.3
		check "gnutls-cli, client certificate, TLS 1.2: 200" gnutls NORMAL:-VERS-ALL:+VERS-TLS1.2
		check "gnutls-cli, TLS 1.1 only: refused" gnutls_refused NORMAL:-VERS-ALL:+VERS-TLS1.1
	else
		tap_skip "gnutls-cli not installed"
	fi
fi

# ---- ALPN and SNI -----------------------------------------------------------------------------

# served PORT SNI WANT_PEM [KEYTYPE]: the certificate weft serves for SNI is WANT_PEM
served() {
	local got want
	got=$(fingerprint "$1" "$2")
	want=$(fp_file "$3")
	[ -n "$got" ] && [ "$got" = "$want" ] && return 0
	echo "# served ${got:-nothing}, wanted $want ($3)"
	return 1
}
alpn_is() { # SNI ALPN WANT: s_client offering ALPN gets "ALPN protocol: WANT" (none: nothing agreed)
	local out
	out=$(sc 8445 "$1" none -alpn "$2")
	if [ "$3" = none ]; then
		! echo "$out" | grep -q '^ALPN protocol:' && return 0
	else
		echo "$out" | grep -q "^ALPN protocol: $3\$" && return 0
	fi
	echo "$out" | grep -E 'ALPN|alert' | head -3 | sed 's/^/#   /'
	return 1
}
if want alpn_sni; then
	check "SNI api.weft.test: the ECDSA certificate" served 8443 api.weft.test "$C/server-ec.pem"
	check "SNI rsa.weft.test: the RSA certificate" served 8443 rsa.weft.test "$C/server-rsa.pem"
	check "SNI x.apps.weft.test (wildcard name): the ECDSA certificate" served 8443 x.apps.weft.test "$C/server-ec.pem"
	check "SNI unknown.example: the first certificate" served 8443 unknown.example "$C/server-ec.pem"
	check "RSA certificate over HTTPS with a client certificate: 200" code_is 200 8443 rsa.weft.test client /plain
	out=$(ipc timeout 10 openssl s_client -connect "$W:8443" -noservername -cert "$C/client.pem" \
		-key "$C/client.key" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
	check "no SNI at all: the first certificate" test "$out" = "$(fp_file "$C/server-ec.pem")"
	check "ALPN h2,http/1.1 offered: http/1.1 agreed" alpn_is api.weft.test h2,http/1.1 http/1.1
	check "ALPN h2 alone: not agreed" alpn_is api.weft.test h2 none
	check "curl negotiates http/1.1 by ALPN" sh -c "ip netns exec $NS_C curl -sv -o /dev/null -m 10 --cacert $C/ca.pem \
		--resolve api.weft.test:8445:$W https://api.weft.test:8445/plain 2>&1 | grep -q 'ALPN: server accepted http/1.1'"
fi

# ---- resumption -------------------------------------------------------------------------------

if want resume; then
	before=$(prom_sum resum)
	out=$(sc 8443 api.weft.test client -tls1_2 -reconnect)
	n=$(echo "$out" | grep -c '^Reused, TLSv1.2')
	check "TLS 1.2 -reconnect: the session is reused ($n of 5 reconnections)" test "$n" -ge 5
	ipc timeout 10 openssl s_client -connect "$W:8443" -servername api.weft.test -CAfile "$C/ca.pem" \
		-cert "$C/client.pem" -key "$C/client.key" -tls1_3 -sess_out "$TMP/sess13" -ign_eof \
		< <(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n') >/dev/null 2>&1
	out=$(printf 'GET /echo HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n' |
		ipc timeout 10 openssl s_client -connect "$W:8443" -servername api.weft.test -CAfile "$C/ca.pem" \
			-tls1_3 -sess_in "$TMP/sess13" -ign_eof 2>&1)
	check "TLS 1.3 -sess_in: Reused, TLSv1.3" matches '^Reused, TLSv1.3' "$out"
	# The resumed connection carries no certificate: the identity must come from the ticket.
	check "TLS 1.3 resumed: the upstream still gets the client's SPIFFE ID" \
		matches 'URI=spiffe://weft.test/ns/web/sa/frontend' "$out"
	check "resumed handshakes counted" grew resum "$before"
	# A ticket is no key to another listener: a session made without a certificate on the
	# permissive listener must not open the strict one, nor a session of a verified peer
	# outside ns/web the listener that allows only ns/web/*.
	ipc timeout 10 openssl s_client -connect "$W:8445" -servername api.weft.test -CAfile "$C/ca.pem" \
		-tls1_3 -sess_out "$TMP/sessperm" -ign_eof \
		< <(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n') >/dev/null 2>&1
	check "a permissive listener's session (no certificate) does not open the strict listener" \
		sc_refused 8443 api.weft.test none -tls1_3 -sess_in "$TMP/sessperm"
	ipc timeout 10 openssl s_client -connect "$W:8443" -servername api.weft.test -CAfile "$C/ca.pem" \
		-cert "$C/wrong-san.pem" -key "$C/wrong-san.key" -tls1_3 -sess_out "$TMP/sesswrong" -ign_eof \
		< <(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n') >/dev/null 2>&1
	if [ "$HAVE_LAP" = 1 ]; then
		check "an ns/evil session from :8443 does not open :8444 (allows ns/web/* only)" \
			sc_refused 8444 api.weft.test none -tls1_3 -sess_in "$TMP/sesswrong"
	fi
	ipc timeout 10 openssl s_client -connect "$W:8445" -servername api.weft.test -tls1_2 \
		-sess_out "$TMP/sessperm12" </dev/null >/dev/null 2>&1
	check "TLS 1.2: a permissive listener's ticket does not open the strict listener" \
		sc_refused 8443 api.weft.test none -tls1_2 -sess_in "$TMP/sessperm12"
	# session_tickets: false (the tcp_proxy listener on :8446): no TLS 1.3 resumption.
	ipc timeout 10 openssl s_client -connect "$W:8446" -servername api.weft.test -CAfile "$C/ca.pem" \
		-cert "$C/client.pem" -key "$C/client.key" -tls1_3 -sess_out "$TMP/sessnt" -ign_eof \
		< <(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n') >/dev/null 2>&1
	# (with TLS 1.3, s_client saves a session only from a ticket; :8443's was saved above)
	check "session_tickets: false: no TLS 1.3 ticket issued (s_client had no session to save)" \
		test ! -s "$TMP/sessnt" -a -s "$TMP/sess13"
	check "session_tickets: false: the listener works" sc_ok 8446 api.weft.test client
	# An identity too big for a ticket: resumed or not, the upstream must get the right one.
	ipc timeout 10 openssl s_client -connect "$W:8443" -servername api.weft.test -CAfile "$C/ca.pem" \
		-cert "$C/client-big.pem" -key "$C/client-big.key" -tls1_3 -sess_out "$TMP/sessbig" -ign_eof \
		< <(printf 'GET /plain HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n') >/dev/null 2>&1
	out=$(printf 'GET /echo HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n' |
		ipc timeout 10 openssl s_client -connect "$W:8443" -servername api.weft.test -CAfile "$C/ca.pem" \
			-cert "$C/client-big.pem" -key "$C/client-big.key" -tls1_3 -sess_in "$TMP/sessbig" -ign_eof 2>&1)
	check "TLS 1.3 with an identity too big for a ticket: the next connection still carries it ($(echo "$out" | grep -a -m1 -o '^Reused\|^New'))" \
		matches 'URI=spiffe://weft.test/ns/web/sa/big' "$out"
fi

# ---- bodies ----------------------------------------------------------------------------------------

BODY=8388608
big_up() {
	head -c $BODY /dev/urandom >"$TMP/blob"
	local want got
	want=$(sha256sum "$TMP/blob" | cut -c1-64)
	code_is 200 8443 api.weft.test client /upload --data-binary @"$TMP/blob" || return 1
	got=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["body_sha256"])' "$TMP/body" 2>/dev/null)
	[ "$got" = "$want" ] && return 0
	echo "# upstream got sha256 $got, sent $want"
	return 1
}
big_down() {
	local want got
	code_is 200 8443 api.weft.test client /bytes/$BODY || return 1
	want=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import httpecho, hashlib; print(hashlib.sha256(httpecho.stream_bytes(int(sys.argv[2]))).hexdigest())' "$HERE" $BODY)
	got=$(sha256sum "$TMP/body" | cut -c1-64)
	[ "$got" = "$want" ] && return 0
	echo "# got $(stat -c %s "$TMP/body") bytes, sha256 $got, wanted $want"
	return 1
}
big_down_chunked() {
	code_is 200 8443 api.weft.test client "/bytes/$BODY?chunked=1" || return 1
	[ "$(stat -c %s "$TMP/body")" -eq $BODY ] && return 0
	echo "# got $(stat -c %s "$TMP/body") bytes"
	return 1
}
if want bodies; then
	check "8 MiB uploaded through TLS reach the upstream intact" big_up
	check "8 MiB downloaded through TLS arrive intact" big_down
	check "8 MiB downloaded chunked arrive whole" big_down_chunked
fi

# slow_first PORT tls|plain: the first byte alone, the rest 200 ms later; then GET /echo; 200 back.
slow_first() {
	ipc timeout 20 "$PY" - "$1" "$2" <<'EOF2'
import socket, ssl, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("198.18.0.1", port), timeout=8)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = b"GET /echo HTTP/1.1\r\nHost: api.weft.test\r\nConnection: close\r\n\r\n"
if kind == "plain":
    s.sendall(req[:1]); time.sleep(0.2); s.sendall(req[1:])
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
else:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(inc, out, server_hostname="api.weft.test")
    try:
        t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    s.sendall(hello[:1]); time.sleep(0.2); s.sendall(hello[1:])
    while True:
        try:
            t.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        o = out.read()
        if o:
            s.sendall(o)
        d = s.recv(65536)
        if not d:
            sys.exit("eof during the handshake")
        inc.write(d)
    t.write(req)
    s.sendall(out.read())
    data = b""
    while True:
        try:
            d = t.read(65536)
            if not d:
                break
            data += d
            continue
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
        o = out.read()
        if o:
            s.sendall(o)
        d = s.recv(65536)
        if not d:
            break
        inc.write(d)
sys.exit(0 if data.startswith(b"HTTP/1.1 200") else "got %r" % data[:80])
EOF2
}
# pipelined PORT: three requests in one TLS write; the answers come back in order.
pipelined() {
	ipc timeout 20 "$PY" - "$1" <<'EOF2'
import json, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("198.18.0.1", int(sys.argv[1])), timeout=8),
                    server_hostname="api.weft.test")
reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: api.weft.test\r\n%s\r\n" % (i, b"Connection: close\r\n" if i == 3 else b"")
                for i in (1, 2, 3))
s.sendall(reqs)
data = b""
while True:
    try:
        d = s.recv(65536)
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
    if not d:
        break
    data += d
paths = []
rest = data
while rest:
    head, _, rest = rest.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    body, rest = rest[:n], rest[n:]
    paths.append(json.loads(body)["path"])
sys.exit(0 if paths == ["/p1", "/p2", "/p3"] else "answers: %r" % paths)
EOF2
}

# ---- permissive: TLS and plaintext on one port ---------------------------------------------------

if want permissive; then
	before=$(prom_sum plaintext)
	c=$(ipc curl -s -o /dev/null -w '%{http_code}' -m 10 "http://$W:8445/plain")
	check "permissive: plaintext HTTP on the TLS port: 200" test "$c" = 200
	check "permissive: HTTPS on the same port: 200" code_is 200 8445 api.weft.test none /plain
	check "permissive: plaintext counted (plaintext_in_permissive)" grew plaintext "$before"
	c=$(ipc curl -s -o /dev/null -w '%{http_code}' -m 10 "http://$W:8443/plain")
	check "strict: plaintext refused ($c)" test "$c" = 000
	check "permissive: a ClientHello sent one byte first, then the rest, 200 ms later" slow_first 8445 tls
	check "permissive: plaintext sent one byte first, then the rest, 200 ms later" slow_first 8445 plain
	check "TLS: three pipelined requests in one write, three answers in order" pipelined 8445
fi

# ---- principal authorization ---------------------------------------------------------------------

has_reason() { tr -d '\r' <"$TMP/head" | grep -qi '^x-weft-reason: principal_denied$'; }
if want authz && [ "$HAVE_RAP" = 0 ]; then
	skip_ni "authz: per-route allow_principals" "routes[].allow_principals"
elif want authz; then
	before=$(prom_sum principal_denied)
	check "route allows spiffe://weft.test/ns/db/*: ns/db/sa/reader gets 200" code_is 200 8443 api.weft.test client2 /reader
	check "route allows ns/db/*: ns/web/sa/frontend gets 403" code_is 403 8443 api.weft.test client /reader
	check "the 403 says x-weft-reason: principal_denied" has_reason
	check "route allows exactly ns/ops/sa/admin: admin gets 200" code_is 200 8443 api.weft.test admin /ops/x
	check "route allows exactly ns/ops/sa/admin: ns/db/sa/reader gets 403" code_is 403 8443 api.weft.test client2 /ops/x
	check "permissive, no certificate (no principal): 403 on an allow_principals route" \
		code_is 403 8445 api.weft.test none /reader
	c=$(ipc curl -s -o /dev/null -w '%{http_code}' -m 10 "http://$W:8445/ops/x")
	check "permissive, plaintext (no principal): 403 on an allow_principals route ($c)" test "$c" = 403
	now=$(prom_sum principal_denied)
	check "denials counted in /stats/prometheus (principal_denied $before -> $now, 4 denied)" \
		test "$now" -eq $((before + 4))
	check "routes without allow_principals stay open to every verified peer" code_is 200 8443 api.weft.test client2 /plain
	check "ns/db/* does not match spiffe://weft.test/ns/dbx/sa/reader: 403" code_is 403 8443 api.weft.test dbx /reader
	check "a certificate with two URI SANs has no SPIFFE ID: 403 on a route allowing ns/a/*" \
		code_is 403 8443 api.weft.test client-two-uris /team-a
	check "... while a certificate with the one URI spiffe://weft.test/ns/a/sa/one gets 200" \
		code_is 200 8443 api.weft.test team-a /team-a
fi

# ---- x-forwarded-client-cert ---------------------------------------------------------------------

# xfcc_of: the x-forwarded-client-cert values httpecho.py received (from $TMP/body), one a line.
xfcc_of() {
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d["headers"]:
    if k.lower() == "x-forwarded-client-cert":
        print(v)' "$TMP/body" 2>/dev/null
}
xfcc_is() { # WANT (empty: none)
	local got
	got=$(xfcc_of)
	[ "$got" = "$1" ] && return 0
	echo "# upstream got x-forwarded-client-cert: '${got}', wanted '$1'"
	return 1
}
if want xfcc; then
	hash=$(openssl x509 -in "$C/client.pem" -outform DER | sha256sum | cut -c1-64)
	want_x="By=spiffe://weft.test/ns/default/sa/api;Hash=$hash;URI=spiffe://weft.test/ns/web/sa/frontend"
	check "xfcc: the request reaches the echo upstream" code_is 200 8443 api.weft.test client /echo
	check "xfcc: By (weft's SPIFFE ID), Hash (sha256 of the client's DER), URI (its SPIFFE ID)" xfcc_is "$want_x"
	check "xfcc: a client's own x-forwarded-client-cert is replaced" \
		code_is 200 8443 api.weft.test client /echo -H 'x-forwarded-client-cert: By=spiffe://evil;URI=spiffe://weft.test/ns/ops/sa/admin'
	check "xfcc: ... the upstream sees weft's value only" xfcc_is "$want_x"
	check "xfcc: two fields from the client, in other cases, are both removed" \
		code_is 200 8443 api.weft.test client /echo -H 'X-Forwarded-Client-Cert: URI=spiffe://a' -H 'X-FORWARDED-CLIENT-CERT: URI=spiffe://b'
	check "xfcc: ... the upstream sees weft's value only" xfcc_is "$want_x"
	check "xfcc: permissive listener, client certificate sent: reaches the upstream" \
		code_is 200 8445 api.weft.test client /echo
	check "xfcc: ... with the client's identity (By is the permissive listener's certificate's)" xfcc_is "$want_x"
	hash2=$(openssl x509 -in "$C/client2.pem" -outform DER | sha256sum | cut -c1-64)
	code_is 200 8443 api.weft.test client2 /echo >/dev/null
	check "xfcc: another client, its own hash and URI" \
		xfcc_is "By=spiffe://weft.test/ns/default/sa/api;Hash=$hash2;URI=spiffe://weft.test/ns/db/sa/reader"
	c=$(ipc curl -s -o "$TMP/body" -w '%{http_code}' -m 10 \
		-H 'x-forwarded-client-cert: URI=spiffe://weft.test/ns/ops/sa/admin' "http://$W:8445/echo")
	check "xfcc: plaintext with a forged field reaches the upstream ($c)" test "$c" = 200
	check "xfcc: ... without it (no peer certificate: none sent)" xfcc_is ""
fi

# ---- upstream mTLS ---------------------------------------------------------------------------------

if want upstream && [ "$HAVE_CTLS" = 0 ]; then
	skip_ni "upstream mTLS to nginx with ssl_verify_client on" "clusters[].tls"
elif want upstream; then
	# ureq PATH: through the strict listener with a client certificate (or, in a weftd that does
	# not terminate TLS yet, the plaintext listener); prints the status, body in $TMP/body.
	ureq() {
		if [ "$HAVE_LTLS" = 1 ]; then
			req 8443 api.weft.test client "$1"
		else
			ipc curl -s -o "$TMP/body" -w '%{http_code}' -m 10 "http://$W:8445$1"
		fi
	}
	ucode_is() {
		local got
		got=$(ureq "$2")
		[ "$got" = "$1" ] && return 0
		echo "# got $got, wanted $1: $(head -c 200 "$TMP/body" | tr -d '\r' | tr '\n' ' ')"
		return 1
	}
	check "upstream mTLS: nginx (ssl_verify_client on) answers 200" ucode_is 200 /mtls
	check "upstream mTLS: nginx verified weft's certificate (CN=weft)" \
		grep -Eq '^mtls SUCCESS .*CN=weft' "$TMP/body"
	check "upstream TLS without weft's certificate: nginx refuses it (400)" ucode_is 400 /nocert
	check "... nginx said no certificate was sent" grep -q 'No required SSL certificate' "$TMP/body"
	before=$(tls_reason tls_peer_name_mismatch)
	c=$(ureq /badsan)
	check "upstream SAN not the expected one: refused by weft ($c, 502 or 503)" test "$c" = 502 -o "$c" = 503
	check "... counted under tls_peer_name_mismatch" grew '"tls_peer_name_mismatch"' "$before"
	up_big() {
		ucode_is 200 /mtls/big || return 1
		local want got
		want=$(sha256sum "$TMP/up/big" | cut -c1-64)
		got=$(sha256sum "$TMP/body" | cut -c1-64)
		[ "$got" = "$want" ] && return 0
		echo "# got $(stat -c %s "$TMP/body") bytes, sha256 $got, wanted $want"
		return 1
	}
	check "upstream mTLS: 8 MiB from nginx over weft's TLS arrive intact" up_big
	up_many() { # 20 requests on one client connection, each answered by nginx over upstream TLS
		local n
		if [ "$HAVE_LTLS" = 1 ]; then
			n=$(ipc curl -s -m 30 --cacert "$C/ca.pem" --resolve "api.weft.test:8443:$W" --cert "$C/client.pem" \
				--key "$C/client.key" $(for i in $(seq 1 20); do echo "https://api.weft.test:8443/mtls/$i"; done) |
				grep -c '^mtls SUCCESS')
		else
			n=$(ipc curl -s -m 30 $(for i in $(seq 1 20); do echo "http://$W:8445/mtls/$i"; done) | grep -c '^mtls SUCCESS')
		fi
		[ "$n" = 20 ] && return 0
		echo "# $n of 20 answered"
		return 1
	}
	check "upstream mTLS: 20 requests in a row, every one verified by nginx" up_many
	if [ "$HAVE_LTLS" = 1 ] && command -v wrk >/dev/null; then
		ipc taskset -c 0 wrk -t1 -c16 -d5s "https://$W:8445/mtls" >"$TMP/wrk-up.out" 2>&1
		n=$(awk '/requests in/ {print $1}' "$TMP/wrk-up.out")
		check "upstream mTLS under wrk -c16 for 5 s: requests made (${n:-0}), none failed" \
			sh -c "[ '${n:-0}' -gt 50 ] && ! grep -q -e 'Socket errors' -e 'Non-2xx' '$TMP/wrk-up.out'" ||
			sed 's/^/#   /' "$TMP/wrk-up.out"
	fi
fi

# ---- rotation under load ----------------------------------------------------------------------------

# status_has TEXT: /config/status mentions TEXT
status_has() { weft_admin /config/status | grep -q -- "$1"; }
# wait_fp WANT: within 5 s new handshakes on :8445 get the certificate whose fingerprint is WANT
wait_fp() {
	local i got
	for i in $(seq 1 25); do
		got=$(fingerprint 8445 api.weft.test)
		[ "$got" = "$1" ] && return 0
		sleep 0.2
	done
	echo "# still served: $got"
	return 1
}
# put CERT KEY: replace the rotated pair the way an operator's tooling does (new files, renamed)
put() {
	cp "$2" "$TMP/rot/key.new" && cp "$1" "$TMP/rot/cert.new"
	mv "$TMP/rot/key.new" "$TMP/rot/key.pem" && mv "$TMP/rot/cert.new" "$TMP/rot/cert.pem"
}
if want rotation; then
	if command -v wrk >/dev/null; then
		fp1=$(fp_file "$C/server-ec.pem")
		fp2=$(fp_file "$C/server-ec2.pem")
		check "rotation: the first certificate serves before" wait_fp "$fp1"
		# Established keep-alive connections, and a new connection (full handshake) per request.
		ipc taskset -c 0 wrk -t1 -c8 -d"${ROTATE_S}s" "https://$W:8445/plain" >"$TMP/wrk.out" 2>&1 &
		wrk_pid=$!
		ipc taskset -c 0 wrk -t1 -c2 -d"${ROTATE_S}s" -H 'Connection: close' "https://$W:8445/plain" \
			>"$TMP/wrk-hs.out" 2>&1 &
		wrk_hs_pid=$!
		sleep 3
		put "$C/server-ec2.pem" "$C/server-ec2.key"
		check "rotation: files replaced, new handshakes get the new certificate (file watch)" wait_fp "$fp2"
		# An expired certificate: refused, the current one keeps serving.
		put "$C/server-expired.pem" "$C/server-expired.key"
		code=$(ipw curl -s -o "$TMP/reload.out" -w '%{http_code}' -m 10 -X POST "http://$WEFT_ADMIN/tls/reload")
		check "rotation: POST /tls/reload with an expired certificate is refused ($code: $(head -c 100 "$TMP/reload.out"))" \
			sh -c "[ '$code' -ge 400 ] && [ '$code' != 404 ] && grep -qi expire '$TMP/reload.out'"
		sleep 1.5
		check "rotation: /config/status names the refused file" status_has "$TMP/rot/cert.pem"
		check "rotation: /config/status says it has expired" sh -c "ip netns exec $NS_W curl -sf -m 5 http://$WEFT_ADMIN/config/status | grep -qi expire"
		check "rotation: the previous certificate keeps serving" wait_fp "$fp2"
		# A certificate that does not match its key.
		cp "$C/other.key" "$TMP/rot/key.new" && mv "$TMP/rot/key.new" "$TMP/rot/key.pem"
		cp "$C/server-ec.pem" "$TMP/rot/cert.new" && mv "$TMP/rot/cert.new" "$TMP/rot/cert.pem"
		sleep 2.5
		check "rotation: a certificate with another certificate's key is refused, the previous serves" wait_fp "$fp2"
		# A garbled PEM.
		put "$C/garbled.pem" "$C/server-ec.key"
		sleep 2.5
		check "rotation: a garbled certificate is refused, the previous serves" wait_fp "$fp2"
		# Back to the first pair, through the admin API.
		put "$C/server-ec.pem" "$C/server-ec.key"
		code=$(ipw curl -s -o "$TMP/reload.out" -w '%{http_code}' -m 10 -X POST "http://$WEFT_ADMIN/tls/reload")
		check "rotation: POST /tls/reload with a good pair: 200 ($code: $(head -c 60 "$TMP/reload.out"))" test "$code" = 200
		check "rotation: the first certificate serves again" wait_fp "$fp1"
		# The CRL is a rotated file too: revoke client2 and publish a new CRL.
		check "rotation: before, client2 gets through :8443" code_is 200 8443 api.weft.test client2 /plain
		before=$(tls_reason tls_peer_cert_revoked)
		(cd "$C" && openssl ca -batch -config ca.cnf -revoke client2.pem >/dev/null 2>&1 &&
			openssl ca -batch -config ca.cnf -gencrl -out crl.new >/dev/null 2>&1 && mv crl.new crl.pem)
		revoked_soon() { # within 5 s, client2 is refused
			local i
			for i in $(seq 1 25); do
				[ "$(req 8443 api.weft.test client2 /plain)" = 000 ] && return 0
				sleep 0.2
			done
			return 1
		}
		check "rotation: a new CRL revoking client2 applies to new handshakes" revoked_soon
		check "rotation: ... counted under tls_peer_cert_revoked" grew '"tls_peer_cert_revoked"' "$before"
		check "rotation: ... other clients still get through" code_is 200 8443 api.weft.test client /plain
		wait "$wrk_pid"
		wait "$wrk_hs_pid"
		for f in wrk wrk-hs; do
			sed 's/^/#   /' "$TMP/$f.out"
			n=$(awk '/requests in/ {print $1}' "$TMP/$f.out")
			what="keep-alive"
			[ $f = wrk-hs ] && what="a handshake per request"
			check "rotation: wrk ($what) made requests during the rotation (${n:-0})" test "${n:-0}" -gt 50
			check "rotation: wrk ($what): no socket error and no non-2xx answer" \
				sh -c "! grep -q -e 'Socket errors' -e 'Non-2xx' '$TMP/$f.out'"
		done
	else
		tap_skip "wrk not installed"
	fi
fi

# ---- testssl -------------------------------------------------------------------------------------

if want testssl; then
	TESTSSL=$(command -v testssl || command -v testssl.sh)
	if [ -n "$TESTSSL" ]; then
		# Offline (no phone-out, no DNS), protocols, ciphers per protocol, forward secrecy, the
		# server's preferences and defaults, and the vulnerability checks; bounded by timeouts.
		# (about 50 s on an idle machine; a loaded one can take several times that)
		ipc timeout 300 "$TESTSSL" --quiet --color 0 --warnings off --nodns none --ip "$W" \
			--openssl-timeout 5 --connect-timeout 5 --add-ca "$C/ca.pem" --sneaky \
			-p -s -f -P -S -U --jsonfile "$TMP/testssl.json" "api.weft.test:8445" >"$TMP/testssl.out" 2>&1
		"$PY" - "$TMP/testssl.json" >"$TMP/testssl.sum" 2>&1 <<'EOF'
import json, sys
try:
    rows = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit("no complete JSON from testssl (did it finish?): %s" % e)
bad = [r for r in rows if r.get("severity") in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
old = [r for r in rows if r.get("id") in ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
       and "not offered" not in r.get("finding", "")]
new = [r for r in rows if r.get("id") in ("TLS1_2", "TLS1_3") and r.get("finding", "").startswith("offered")]
for r in bad:
    print("finding %s %s: %s" % (r["severity"], r["id"], r.get("finding", "")[:100]))
for r in old:
    print("old protocol %s: %s" % (r["id"], r.get("finding", "")))
print("rows %d, LOW+ %d, old protocols %d, TLS1.2/1.3 offered %d" % (len(rows), len(bad), len(old), len(new)))
sys.exit(0 if rows and not bad and not old and len(new) == 2 else 1)
EOF
		rc=$?
		sed 's/^/#   /' "$TMP/testssl.sum"
		check "testssl: nothing at LOW or above, nothing below TLS 1.2, 1.2 and 1.3 offered" test "$rc" -eq 0
	else
		tap_skip "testssl not installed"
	fi
fi

# ---- at the end ---------------------------------------------------------------------------------

check "handshakes counted in /stats/prometheus" sh -c "test \$(ip netns exec $NS_W curl -sf -m 5 \
	http://$WEFT_ADMIN/stats/prometheus | awk '\$0 !~ /^#/ && \$1 ~ /tls/ && \$1 ~ /handshake/ {s += \$NF} END {printf \"%d\", s}') -gt 0"
weft_stop
rc=$?
check "weftd exits cleanly" test "$rc" -eq 0
tap_done
