#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: curl, wrk and raw sockets through weftd's HTTP/1.1 proxy to three
# real HTTP servers that say which instance answered and echo what they got.
#
#   client ns (kernel)  --->  weft ns: weftd, af_packet p0/p1  --->  upstream ns (kernel)
#   198.18.0.2                :80 listener "main", :81 "swap"          198.18.1.2:8081..8083
#                                                                       (httpecho.py, instances 1..3)
#
# What each case proves (the weft.yaml below holds the routes it uses):
#   routing     Host (exact, wildcard, none -> 404), path exact/prefix/regex,
#               method, header and query conditions, first match wins
#   rewrites    prefix, regex and host rewrites as the upstream sees them
#   headers     request and response add/set/remove; hop-by-hop fields gone;
#               x-forwarded-for, x-forwarded-proto and x-request-id added
#   local       direct_response, redirect, 404/503/504 with x-weft-reason
#   balancing   weighted split (80/20 over 1000 requests), round_robin (exact
#               thirds), least_request and random (every instance used),
#               ring_hash and maglev (a key stays on one instance)
#   keep-alive  500 requests on one client connection cost a few upstream
#               connections (pool reuse, from /stats)
#   bodies      64 MiB up and down, Content-Length and chunked, sha256 checked
#   protocol    pipelining in order, 100-continue, smuggling and malformed
#               requests answered with the parser's status and counted
#   failures    upstream refused, blackholed, slow, reset mid-response
#   reload      the config file rewritten (applied without a signal), SIGHUP, a bad
#               file refused while the last good one keeps serving
#   swap        wrk -t1 -c16 for WEFT_HTTP_SWAP_S (20) seconds while the config
#               is POSTed every 100 ms, alternating two route versions: no
#               failed request, both versions seen, old snapshots reclaimed
#
# WEFT_HTTP_BYTES (64 MiB) sizes the body cases; WEFT_HTTP_CASES="routing ..."
# runs a subset. Needs root; TAP output.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

ECHO="$HERE/httpecho.py"
BYTES=${WEFT_HTTP_BYTES:-67108864}
SWAP_S=${WEFT_HTTP_SWAP_S:-20}
CASES=${WEFT_HTTP_CASES:-"routing rewrites headers local balancing keepalive bodies protocol failures reload swap"}
scenario_start http curl socat

want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

HUGE=$(weft_hugepages 768)
topo_up 1

# ---- upstreams ------------------------------------------------------------------------------

for i in 1 2 3; do
	ipu taskset -c 0 "$PY" "$ECHO" --addr 198.18.1.2 --port 808$i --instance $i --log "$TMP/conns.log" \
		>>"$TMP/servers.log" 2>&1 &
	SERVER_PIDS+=($!)
done

# ---- weftd ----------------------------------------------------------------------------------

# The "swap" route config in version $1 (a or b): the same route, another response header.
swap_rc() {
	cat <<YAML
  - name: swap
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: c$2}
            response_headers_to_add: [{name: x-version, value: $1}]
YAML
}

config() { # VERSION INSTANCE
	weft_yaml_base 768 "$HUGE" "${WORKER_CPUS:-1}" 65536 v6
	cat <<YAML
tcp: {time_wait_ms: 2000}
clusters:
  - {name: c1, endpoints: [{address: 198.18.1.2, port: 8081}]}
  - {name: c2, endpoints: [{address: 198.18.1.2, port: 8082}]}
  - {name: c3, endpoints: [{address: 198.18.1.2, port: 8083}]}
  - name: rr
    lb_policy: round_robin
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - name: lr
    lb_policy: least_request
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - name: rand
    lb_policy: random
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - name: ring
    lb_policy: ring_hash
    hash_policy: {header: x-user}
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - name: mag
    lb_policy: maglev
    hash_policy: {cookie: session}
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - name: src
    lb_policy: maglev
    hash_policy: {source_ip: true}
    endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.2, port: 8082}, {address: 198.18.1.2, port: 8083}]
  - {name: dead, endpoints: [{address: 198.18.1.2, port: 8099}]}
  - {name: void, endpoints: [{address: 198.18.1.99, port: 8081}]}
route_configs:
  - name: main
    virtual_hosts:
      - name: api
        domains: [api.test]
        routes:
          - {match: {path: /healthz}, direct_response: {status: 200, body: "healthy\n"}}
          - match: {prefix: /v1/, headers: [{name: x-canary, exact: "1"}]}
            route: {cluster: c3}
          - match: {prefix: /v1/, methods: [POST, PUT]}
            route: {cluster: c2}
          - match: {prefix: /v1/, query: [{name: debug, present: true}]}
            route: {cluster: c2}
            response_headers_to_add: [{name: x-debug-route, value: "yes"}]
          - match: {prefix: /v1/}
            route: {cluster: c1, prefix_rewrite: /api/}
            request_headers_to_add: [{name: x-added, value: weft}]
            request_headers_to_set: [{name: x-set, value: by-weft}]
            request_headers_to_remove: [x-secret]
            response_headers_to_add: [{name: x-resp-added, value: weft}]
            response_headers_to_set: [{name: x-resp-set, value: by-weft}]
            response_headers_to_remove: [x-conn]
          - match: {regex: "/svc/[a-z]+/.*"}
            route: {cluster: c1, regex_rewrite: {pattern: "^/svc/([a-z]+)(/.*)$", substitution: "\\\\2/instance/\\\\1"}}
          - {match: {prefix: /host/}, route: {cluster: c1, host_rewrite: backend.internal}}
          - {match: {prefix: /old/}, redirect: {prefix_rewrite: /new/, response_code: 301}}
          - {match: {prefix: /moved}, redirect: {scheme_redirect: https, host_redirect: new.test, port_redirect: 8443, response_code: 308}}
          - match: {prefix: /split/}
            route: {weighted_clusters: [{name: c1, weight: 80}, {name: c2, weight: 20}]}
          - {match: {prefix: /rr/}, route: {cluster: rr}}
          - {match: {prefix: /lr/}, route: {cluster: lr}}
          - {match: {prefix: /rand/}, route: {cluster: rand}}
          - {match: {prefix: /ring/}, route: {cluster: ring}}
          - {match: {prefix: /mag/}, route: {cluster: mag}}
          - {match: {prefix: /src/}, route: {cluster: src}}
          - {match: {prefix: /dead/}, route: {cluster: dead}}
          - {match: {prefix: /void/}, route: {cluster: void}}
          - {match: {prefix: /slow/}, route: {cluster: c1, timeout_ms: 300}}
          - {match: {prefix: /}, route: {cluster: c1}}
      - name: wild
        domains: ["*.example.test"]
        routes:
          - {match: {prefix: /}, direct_response: {status: 200, body: "wildcard\n"}}
$(swap_rc "$1" "$2")
listeners:
  - {name: main, kind: http, address: 198.18.0.1, port: 80, route_config: main, connect_timeout_ms: 300}
  - {name: swap, kind: http, address: 198.18.0.1, port: 81, route_config: swap}
YAML
}

config a 1 >"$TMP/weft-a.yaml"
config b 2 >"$TMP/weft-b.yaml"
if ! "$WEFTD" --validate "$TMP/weft-a.yaml" >/dev/null 2>"$TMP/validate.log"; then
	tap_not_ok "the test configuration validates"
	sed 's/^/# /' "$TMP/validate.log"
	tap_done
	exit 1
fi
cp "$TMP/weft-a.yaml" "$TMP/weft.yaml" # the file weftd runs with (and watches)
if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
	tap_not_ok "weftd starts"
	tap_done
	exit 1
fi
ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1
ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null 2>&1

# ---- helpers --------------------------------------------------------------------------------

URL=http://198.18.0.1
H="Host: api.test"
# get PATH [CURL ARGS...]: the response head and body, written to $TMP/r (head in $TMP/h).
# The Host is api.test unless GH says otherwise.
get() {
	local path=$1
	shift
	: >"$TMP/h"
	ipc curl -s -m 10 -D "$TMP/h" -o "$TMP/r" -H "Host: ${GH:-api.test}" "$@" "$URL$path"
	tr -d '\r' <"$TMP/h" >"$TMP/h2" && mv "$TMP/h2" "$TMP/h"
}
# The final status (a 100 Continue head may come first).
status() { awk '/^HTTP\// {s = $2} END {print s}' "$TMP/h"; }
hdr() { awk -v n="$(echo "$1" | tr A-Z a-z)" 'BEGIN{FS=": "} tolower($1)==n {print $2; exit}' "$TMP/h"; }
# jbody EXPR: the Python expression EXPR on r, the JSON body, holds.
jbody() {
	"$PY" -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(1)
h = {}
for k, v in r.get("headers", []):
    h.setdefault(k.lower(), v)
sys.exit(0 if eval(sys.argv[2]) else 1)' "$TMP/r" "$1" 2>/dev/null
}
metric() { weft_metric "$1" "${2:-worker=}"; }
stat_http() { metric "weft_http_$1_total"; }
# instances N PATH [NAME:VALUE...]: N requests on one keep-alive connection, with those
# fields; one line of output per answer: the instance that answered.
instances() {
	local n=$1 path=$2
	shift 2
	ipc "$PY" - "$n" "$path" "$@" <<'PY'
import http.client, sys
n, path = int(sys.argv[1]), sys.argv[2]
hdrs = {"Host": "api.test"}
for a in sys.argv[3:]:
    k, _, v = a.partition(":")
    hdrs[k] = v.strip()
c = http.client.HTTPConnection("198.18.0.1", 80, timeout=5)
for i in range(n):
    c.request("GET", path, headers=hdrs)
    r = c.getresponse()
    r.read()
    print(r.getheader("x-instance"))
PY
}
# kv_count FILE: "instance count" lines.
counts() { sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' '; }
# raw REQUEST: send bytes (printf format) on one connection, print the answer.
raw() { printf "$1" | ipc timeout 5 socat -t 2 - TCP:198.18.0.1:80 2>/dev/null; }
raw_status() { raw "$1" | head -1 | tr -d '\r' | awk '{print $2}'; }

# ---- routing --------------------------------------------------------------------------------

if want routing; then
	get /healthz
	check "direct response on an exact path" test "$(status)" = 200 -a "$(cat "$TMP/r")" = healthy
	get /v1/users -H "x-canary: 1"
	check "header condition (x-canary: 1) picks instance 3" test "$(hdr x-instance)" = 3
	get /v1/users -X POST -d x=1
	check "method condition (POST) picks instance 2" test "$(hdr x-instance)" = 2
	get "/v1/users?debug"
	check "query condition (debug present) picks instance 2" test "$(hdr x-instance)" = 2 -a "$(hdr x-debug-route)" = yes
	get /v1/users
	check "first match in config order: the plain /v1/ route" test "$(hdr x-instance)" = 1
	get /other
	check "catch-all route" test "$(status)" = 200 -a "$(hdr x-instance)" = 1
	GH=shop.example.test get /x
	check "wildcard virtual host (*.example.test)" test "$(cat "$TMP/r")" = wildcard
	GH=nowhere.test get /x
	check "unknown Host: 404 no_vhost" test "$(status)" = 404 -a "$(hdr x-weft-reason)" = no_vhost
	GH=API.Test:80 get /x
	check "Host in any case and with its port" test "$(hdr x-instance)" = 1
fi

# ---- rewrites -------------------------------------------------------------------------------

if want rewrites; then
	get "/v1/users/7?q=1"
	check "prefix rewrite /v1/ -> /api/ keeps the query" jbody 'r["path"] == "/api/users/7?q=1"'
	get /svc/billing/invoices/3
	check "regex rewrite /svc/NAME/REST -> /REST/instance/NAME" jbody 'r["path"] == "/invoices/3/instance/billing"'
	get /host/x
	check "host rewrite" jbody 'h["host"] == "backend.internal"'
	get /plain
	check "no rewrite: path and Host as sent" jbody 'r["path"] == "/plain" and h["host"] == "api.test"'
fi

# ---- headers --------------------------------------------------------------------------------

if want headers; then
	get /v1/h -H "x-secret: s3cret" -H "x-set: client" -H "x-keep: 1" -H "Connection: keep-alive, x-hop" -H "x-hop: 1" -H "Keep-Alive: timeout=5"
	check "request header added" jbody 'h.get("x-added") == "weft"'
	check "request header set (replaces the client's)" jbody '[v for k, v in r["headers"] if k.lower() == "x-set"] == ["by-weft"]'
	check "request header removed" jbody '"x-secret" not in h'
	check "other request headers kept" jbody 'h.get("x-keep") == "1"'
	check "hop-by-hop fields stripped (Connection, Keep-Alive, the fields Connection names)" \
		jbody '"connection" not in h and "keep-alive" not in h and "x-hop" not in h'
	check "x-forwarded-for and x-forwarded-proto added" jbody 'h.get("x-forwarded-for") == "198.18.0.2" and h.get("x-forwarded-proto") == "http"'
	check "x-request-id generated (UUID v4)" jbody 'len(h.get("x-request-id", "")) == 36 and h["x-request-id"][14] == "4"'
	check "response header added and set" test "$(hdr x-resp-added)" = weft -a "$(hdr x-resp-set)" = by-weft
	check "response header removed (x-conn)" test -z "$(hdr x-conn)"
	get /v1/h -H "x-request-id: client-id-1" -H "X-Forwarded-For: 203.0.113.9"
	check "a valid incoming x-request-id is kept; x-forwarded-for appended to" \
		jbody 'h.get("x-request-id") == "client-id-1" and h.get("x-forwarded-for") == "203.0.113.9, 198.18.0.2"'
fi

# ---- local answers ----------------------------------------------------------------------------

if want local; then
	get /old/page?a=1
	check "redirect: 301 with the prefix rewritten, query kept" \
		test "$(status)" = 301 -a "$(hdr location)" = "http://api.test/new/page?a=1"
	get /moved/x
	check "redirect: scheme, host and port (308)" test "$(status)" = 308 -a "$(hdr location)" = "https://new.test:8443/moved/x"
fi

# ---- balancing --------------------------------------------------------------------------------

if want balancing; then
	got=$(instances 1000 /split/ | counts)
	n1=$(echo "$got" | grep -o '1=[0-9]*' | cut -d= -f2)
	n2=$(echo "$got" | grep -o '2=[0-9]*' | cut -d= -f2)
	check "weighted clusters 80/20 over 1000 requests ($got)" \
		test "${n1:-0}" -ge 740 -a "${n1:-0}" -le 860 -a $((${n1:-0} + ${n2:-0})) -eq 1000
	got=$(instances 300 /rr/ | counts)
	check "round_robin: exact thirds ($got)" test "$got" = "1=100 2=100 3=100 "
	got=$(instances 150 /lr/ | counts)
	check "least_request: every instance used ($got)" test "$(echo "$got" | wc -w)" = 3
	got=$(instances 150 /rand/ | counts)
	check "random: every instance used ($got)" test "$(echo "$got" | wc -w)" = 3
	ok=1
	all=""
	for u in $(seq 1 12); do
		got=$(instances 5 /ring/ "x-user: user-$u" | counts)
		[ "$(echo "$got" | wc -w)" = 1 ] || ok=0
		all="$all $got"
	done
	spread=$(echo "$all" | tr ' ' '\n' | cut -d= -f1 | sort -u | grep -c .)
	check "ring_hash: each x-user stays on one instance, keys spread ($spread instances)" test $ok = 1 -a "$spread" -ge 2
	ok=1
	all=""
	for u in $(seq 1 12); do
		got=$(instances 5 /mag/ "Cookie: theme=dark; session=s$u" | counts)
		[ "$(echo "$got" | wc -w)" = 1 ] || ok=0
		all="$all $got"
	done
	spread=$(echo "$all" | tr ' ' '\n' | cut -d= -f1 | sort -u | grep -c .)
	check "maglev: each session cookie stays on one instance, keys spread ($spread instances)" test $ok = 1 -a "$spread" -ge 2
	got=$(instances 20 /src/ | counts)
	check "maglev on the source address: one client, one instance ($got)" test "$(echo "$got" | wc -w)" = 1
fi

# ---- keep-alive -------------------------------------------------------------------------------

if want keepalive; then
	c0=$(stat_http upstream_connects)
	r0=$(stat_http pool_reuse)
	ipc "$PY" -c '
import http.client
c = http.client.HTTPConnection("198.18.0.1", 80, timeout=5)
ok = 0
for i in range(500):
    c.request("GET", "/ka/%d" % i, headers={"Host": "api.test"})
    r = c.getresponse()
    r.read()
    ok += r.status == 200
print(ok)' >"$TMP/ka.out" 2>&1
	c1=$(stat_http upstream_connects)
	r1=$(stat_http pool_reuse)
	check "500 keep-alive requests answered" test "$(cat "$TMP/ka.out")" = 500
	check "upstream connections reused: $((c1 - c0)) opened, $((r1 - r0)) reuses" \
		test $((c1 - c0)) -le 5 -a $((r1 - r0)) -ge 495
fi

# ---- bodies -----------------------------------------------------------------------------------

if want bodies; then
	want_sha=$("$PY" "$ECHO" --port 1 --digest "$BYTES")
	got=$(ipc curl -s -m 120 -H "$H" "$URL/bytes/$BYTES" | sha256sum | cut -d' ' -f1)
	check "download $BYTES bytes (Content-Length), sha256" test "$got" = "$want_sha"
	got=$(ipc curl -s -m 120 -H "$H" "$URL/bytes/$BYTES?chunked=1" | sha256sum | cut -d' ' -f1)
	check "download $BYTES bytes (chunked), sha256" test "$got" = "$want_sha"
	want_1m=$("$PY" "$ECHO" --port 1 --digest 1000000)
	got=$(ipc curl -0 -s -m 60 -H "$H" "$URL/bytes/1000000?chunked=1" | sha256sum | cut -d' ' -f1)
	check "an HTTP/1.0 client gets a chunked response plain, ended by close, sha256" test "$got" = "$want_1m"
	head -c "$BYTES" /dev/urandom >"$TMP/blob"
	up_sha=$(sha256sum "$TMP/blob" | cut -d' ' -f1)
	ipc curl -s -m 120 -H "$H" -H "Expect:" --data-binary @"$TMP/blob" -o "$TMP/r" "$URL/upload"
	check "upload $BYTES bytes (Content-Length), sha256" jbody "r['body_len'] == $BYTES and r['body_sha256'] == '$up_sha'"
	ipc curl -s -m 120 -H "$H" -H "Transfer-Encoding: chunked" --data-binary @"$TMP/blob" -o "$TMP/r" "$URL/upload"
	check "upload $BYTES bytes (chunked), sha256" jbody "r['body_len'] == $BYTES and r['body_sha256'] == '$up_sha'"
	rm -f "$TMP/blob"
	ipc curl -s -m 10 -H "$H" -o "$TMP/r" "$URL/close"
	check "a body delimited by the upstream's close" test "$(wc -l <"$TMP/r")" = 200
fi

# ---- protocol ---------------------------------------------------------------------------------

if want protocol; then
	out=$(raw 'GET /p1 HTTP/1.1\r\nHost: api.test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: api.test\r\n\r\nGET /p3 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n')
	order=$(echo "$out" | grep -a -o '"path": "/p[0-9]"\|^healthy' | tr -d '"' | awk '{print $NF}' | tr '\n' ' ')
	check "pipelined requests answered in order ($order)" test "$order" = "/p1 healthy /p3 "
	start=$(date +%s%N)
	get /v1/e -X PUT -H "Expect: 100-continue" -d hello
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	check "Expect: 100-continue answered by weft (${ms} ms, no 1 s client wait)" \
		test "$(status)" = 200 -a "$ms" -lt 900
	check "the upstream saw the body but no Expect" jbody 'r["body_len"] == 5 and "expect" not in h'
	e0=$(metric weft_http_request_errors_total 'reason="cl_with_te"')
	declare -A cases=(
		[cl_with_te]='POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n|400'
		[cl_repeated]='POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello|400'
		[te_not_chunked]='POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n|400'
		[bad_chunk_size]='POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n|400'
		[missing_host]='GET / HTTP/1.1\r\n\r\n|400'
		[bad_version]='GET / HTTP/2.0\r\nHost: api.test\r\n\r\n|505'
		[obs_fold]='GET / HTTP/1.1\r\nHost: api.test\r\nX-A: 1\r\n folded\r\n\r\n|400'
		[ws_before_colon]='GET / HTTP/1.1\r\nHost : api.test\r\n\r\n|400'
		[bare_lf]='GET / HTTP/1.1\nHost: api.test\n\n|400'
		[upgrade_refused]='GET / HTTP/1.1\r\nHost: api.test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n|501'
		[connect_unsupported]='CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n|501'
		[expect_unsupported]='GET / HTTP/1.1\r\nHost: api.test\r\nExpect: gold\r\n\r\n|417'
	)
	for name in "${!cases[@]}"; do
		spec=${cases[$name]}
		req=${spec%|*}
		want_st=${spec##*|}
		got=$(raw_status "$req")
		n=$(metric weft_http_request_errors_total "reason=\"$name\"")
		check "refused: $name -> $want_st (got ${got:-nothing}), counted ($n)" test "$got" = "$want_st" -a "$n" -ge 1
	done
	long=$(printf 'a%.0s' $(seq 1 9000))
	got=$(raw_status "GET /$long HTTP/1.1\r\nHost: api.test\r\n\r\n")
	check "request-target over 8 KiB: 414" test "$got" = 414
	many=$(for i in $(seq 1 120); do printf 'X-H%d: v\\r\\n' "$i"; done)
	got=$(raw_status "GET / HTTP/1.1\r\nHost: api.test\r\n${many}\r\n")
	check "more than 100 fields: 431" test "$got" = 431
fi

# ---- failures ---------------------------------------------------------------------------------

if want failures; then
	get /dead/x
	check "upstream refuses: 503 connect_refused" test "$(status)" = 503 -a "$(hdr x-weft-reason)" = connect_refused
	get /void/x
	check "upstream does not answer: 503 connect_timeout" test "$(status)" = 503 -a "$(hdr x-weft-reason)" = connect_timeout
	get /slow/2000
	check "no response within the route's 300 ms: 504 upstream_timeout" \
		test "$(status)" = 504 -a "$(hdr x-weft-reason)" = upstream_timeout
	a0=$(stat_http upstream_aborted)
	ipc curl -s -m 10 -H "$H" -o /dev/null "$URL/truncate"
	rc=$?
	a1=$(stat_http upstream_aborted)
	check "upstream reset mid-response: the client's connection is cut (curl exit $rc)" \
		test "$rc" != 0 -a $((a1 - a0)) -ge 1
	get /after
	check "and the next request is fine" test "$(status)" = 200
	n=$(metric weft_http_local_errors_total 'reason="connect_refused"')
	check "local errors counted by reason (connect_refused: $n)" test "$n" -ge 1
fi

# ---- reloads ----------------------------------------------------------------------------------

cfg_version() { weft_admin /config/status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
# version_is V: within 5 s, a new request on :81 carries x-version V.
version_is() {
	local i
	for i in $(seq 1 25); do
		[ "$(ipc curl -s -m 2 -D - -o /dev/null http://198.18.0.1:81/v | tr -d '\r' |
			awk -F': ' 'tolower($1)=="x-version" {print $2}')" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

if want reload; then
	v0=$(cfg_version)
	cp "$TMP/weft-b.yaml" "$TMP/weft.yaml"
	check "the config file rewritten: applied without a signal" version_is b
	cp "$TMP/weft-a.yaml" "$TMP/weft.yaml"
	kill -HUP "$WEFTD_PID"
	check "SIGHUP: the file applied" version_is a
	v1=$(cfg_version)
	check "versions counted ($v0 -> $v1)" test "$v1" -gt "$v0"
	r0=$(weft_admin /config/status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["rejected_count"])')
	# The swap route names a cluster that does not exist.
	sed 's/^            route: {cluster: c1}$/            route: {cluster: nope}/' "$TMP/weft-a.yaml" >"$TMP/weft.yaml"
	sleep 2.5
	st=$(weft_admin /config/status)
	r1=$(echo "$st" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["rejected_count"])')
	err=$(echo "$st" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["last_rejected"]["error"])' 2>/dev/null)
	echo "# $err"
	check "a bad file is refused, with its line and key in /config/status ($r0 -> $r1)" \
		sh -c "test '$r1' -gt '$r0' && echo '$err' | grep -q 'weft.yaml:[0-9]*: route_configs\[1\].*no cluster named'"
	check "the last good config keeps serving" version_is a
	cp "$TMP/weft-a.yaml" "$TMP/weft.yaml"
	sleep 1.5
fi

# ---- config swap under load --------------------------------------------------------------------

if want swap; then
	cat >"$TMP/versions.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) a = 0; b = 0; other = 0 end
function response(status, headers, body)
	local v = headers["x-version"]
	if v == "a" then a = a + 1 elseif v == "b" then b = b + 1 else other = other + 1 end
end
function done(summary, latency, requests)
	local ta, tb, to = 0, 0, 0
	for _, t in ipairs(threads) do
		ta = ta + t:get("a"); tb = tb + t:get("b"); to = to + t:get("other")
	end
	io.write(string.format("versions a=%d b=%d other=%d\n", ta, tb, to))
end
LUA
	if ! command -v wrk >/dev/null; then
		tap_skip "config swap under load: wrk not installed"
	else
		# Two workers when there are two CPUs: every one of them must follow the swaps.
		nw=1
		if [ "$(nproc)" -ge 2 ]; then
			nw=2
			weft_stop
			WORKER_CPUS="1, 0" config a 1 >"$TMP/weft-a.yaml"
			WORKER_CPUS="1, 0" config b 2 >"$TMP/weft-b.yaml"
			cp "$TMP/weft-a.yaml" "$TMP/weft.yaml"
			if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
				tap_not_ok "weftd restarts with two workers"
			fi
			ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1
			ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null 2>&1
		fi
		v0=$(weft_admin /config/status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"])')
		ipc taskset -c 0 wrk -t1 -c16 -d"${SWAP_S}s" -s "$TMP/versions.lua" http://198.18.0.1:81/swap >"$TMP/wrk.out" 2>&1 &
		wrk_pid=$!
		posted=0
		refused=0
		end=$((SECONDS + SWAP_S))
		# One POST every 100 ms (less the time the POST took), alternating b and a.
		while [ $SECONDS -lt $end ]; do
			for v in b a; do
				t0=${EPOCHREALTIME/./}
				if ipw curl -s -m 2 -o /dev/null -w '%{http_code}' --data-binary @"$TMP/weft-$v.yaml" \
					"http://$WEFT_ADMIN/config" | grep -q 200; then
					posted=$((posted + 1))
				else
					refused=$((refused + 1))
				fi
				left=$((100000 - (${EPOCHREALTIME/./} - t0)))
				[ $left -gt 0 ] && sleep "0.$(printf '%06d' $left)"
			done
		done
		wait $wrk_pid
		v1=$(weft_admin /config/status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"])')
		sed 's/^/# /' "$TMP/wrk.out"
		reqs=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
		check "$posted configs applied during the run, none refused ($((v1 - v0)) versions)" \
			test "$refused" = 0 -a "$posted" -ge $((SWAP_S * 3)) -a $((v1 - v0)) = "$posted"
		check "wrk: $reqs requests, no socket error, no non-2xx" \
			sh -c "! grep -q -e 'Socket errors' -e 'Non-2xx' '$TMP/wrk.out' && test '${reqs:-0}' -gt 1000"
		va=$(grep -o 'a=[0-9]*' "$TMP/wrk.out" | cut -d= -f2)
		vb=$(grep -o 'b=[0-9]*' "$TMP/wrk.out" | cut -d= -f2)
		vo=$(grep -o 'other=[0-9]*' "$TMP/wrk.out" | cut -d= -f2)
		check "both route versions answered during the run (a=$va b=$vb, none without: $vo)" \
			test "${va:-0}" -gt 100 -a "${vb:-0}" -gt 100 -a "${vo:-1}" = 0
		# The loop ended on version a. New connections land on every worker (RSS of their
		# source ports): each must answer with it.
		seen=$(for i in $(seq 1 24); do
			ipc curl -s -m 5 -D - -o /dev/null "http://198.18.0.1:81/after" | tr -d '\r' |
				awk -F': ' 'tolower($1)=="x-version" {print $2}'
		done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
		check "after the last swap, 24 new connections all see its routes ($seen)" test "$seen" = "a=24 "
		per=$(weft_admin /stats | "$PY" -c '
import json, sys
print(" ".join(str(w["http"]["requests"]) for w in json.load(sys.stdin)["workers"]))')
		check "every worker ($nw) carried requests during the swaps (requests per worker: $per)" \
			"$PY" -c "import sys; v = [int(x) for x in '$per'.split()]; sys.exit(0 if len(v) == $nw and min(v) > 100 else 1)"
		# Nothing held forever: every request ended, so every replaced snapshot is reclaimed.
		sleep 0.5
		act=$(metric weft_http_streams_active)
		check "no request left in flight after the run ($act)" test "$act" = 0
	fi
fi

# ---- the end ----------------------------------------------------------------------------------

weft_stop
rc=$?
check "weftd stops cleanly (exit $rc)" test "$rc" = 0
if [ "$TAP_FAIL" -gt 0 ]; then
	echo "# weftd log:"
	tail -20 "$TMP/weftd.log" | sed 's/^/#   /'
fi
tap_done
