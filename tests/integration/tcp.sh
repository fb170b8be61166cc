#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: Linux clients and servers through weftd's tcp_proxy.
#
#   client ns (kernel)  --->  weft ns: weftd, two af_packet ports  --->  upstream ns (kernel)
#   198.18.0.2                p0 198.18.0.1 / 2001:db8::1                198.18.1.2, .3
#   2001:db8::2               p1 198.18.1.1 / 2001:db8:1::1              2001:db8:1::2
#
# Listeners (weft.yaml below) and what answers behind them:
#   :5000 (v4 and v6)  blast server: sends its stream while reading ours, both checked by sha256
#   :5100  the same, WEFT_TCP_BYTES long, for the fault cases (connect_timeout_ms 8000:
#          a lost SYN or SYN-ACK costs a 1 s retransmission timeout, then 2 s, 4 s)
#   :5101  the same, WEFT_TCP_LOSS5_BYTES long, for 5% loss
#   :5002  an upstream port nobody listens on          -> the client must get an RST
#   :5003  an upstream address nobody answers (ARP)    -> RST after connect_timeout_ms
#   :5004  a server that never reads nor writes        -> RST both ways after idle_timeout_ms
#   :5005  a server killed in the middle of a transfer -> the client must get an RST
#   :5006  three echo servers, weights 1:1:2            -> round robin shares
#   :5007  max_connections 2 (echo server)              -> the third SYN refused
#   :5008  digest server (half close)                   -> the reply after our FIN
#   :5009  asyncio echo server                          -> 1000 concurrent connections
#
# Cases: transfers in each direction at once, checked by sha256 at the far
# end: clean (IPv4 and IPv6, WEFT_TCP_CLEAN_BYTES each way) and under weft's
# own fault injection on both ports, both directions (WEFT_TCP_BYTES each
# way): 1% and 5% loss, 25% reordering, 1% duplication, 0.1% corruption,
# 20 ms delay. After every case the admin stats must show no tcp_proxy
# session and no connection but TIME_WAIT ("nothing left behind").
#
# Sizes default to 1 GiB each way, clean and under every fault but 5% loss,
# which moves WEFT_TCP_LOSS5_BYTES, 64 MiB: 5% on every link, data and ACKs,
# makes every TCP there (the kernels' as much as weft's) live on
# retransmission timeouts, about 1 MiB/s, and 1 GiB takes a quarter of an
# hour. The whole matrix at 1 GiB, 5% loss included:
#   sudo WEFT_TCP_LOSS5_BYTES=1073741824 WEFTD=build/policy/mgmt/weftd tests/integration/tcp.sh
# WEFT_TCP_CASES="clean loss1 ..." runs a subset; WEFT_TCP_PCAP=DIR keeps
# captures of every transfer in DIR, on the client's link and on the upstream's.
#
# Clients and servers run on cpu 0, next to the (mostly idle) management
# thread: the worker busy-polls cpu 1.
#
# usage: tcp.sh      (TAP output; needs root)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

: "${WEFTD:?WEFTD must point at the weftd binary}"
PY=/usr/bin/python3
TOOL="$HERE/tcpcheck.py"
BYTES=${WEFT_TCP_BYTES:-1073741824}
CLEAN_BYTES=${WEFT_TCP_CLEAN_BYTES:-1073741824}
LOSS5_BYTES=${WEFT_TCP_LOSS5_BYTES:-67108864}
CASES=${WEFT_TCP_CASES:-"clean clean6 halfclose many refused timeout idle killed roundrobin limit nolistener reload loss1 loss5 reorder25 dup1 corrupt01 delay20"}
PCAP_DIR=${WEFT_TCP_PCAP:-}
TMP=$(mktemp -d /tmp/weft-tcp.XXXXXX)
SERVER_PIDS=()
DUMP_PID=

cleanup() {
	[ -n "$DUMP_PID" ] && kill $DUMP_PID 2>/dev/null
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi

want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
# xfer_timeout BYTES RATE: seconds a transfer may take at no less than RATE bytes/s, plus a minute.
xfer_timeout() { echo $(($1 / $2 + 60)); }

topo_up 1
ipu ip addr add 198.18.1.3/24 dev u0

# ---- the upstream servers (they outlive weftd's restarts) --------------------------------------

# The clients send the stream of seed 1, the servers that of seed 2; both ends know what to expect.
# E_CLIENT[BYTES], E_SERVER[BYTES]: what each stream of that length hashes to.
declare -A E_CLIENT E_SERVER
for n in "$BYTES" "$CLEAN_BYTES" "$LOSS5_BYTES"; do
	[ -n "${E_CLIENT[$n]:-}" ] && continue
	E_CLIENT[$n]=$($PY "$TOOL" digest --seed 1 --bytes "$n")
	E_SERVER[$n]=$($PY "$TOOL" digest --seed 2 --bytes "$n")
done
server() { # PORT MODE [ARGS...]
	local port=$1 mode=$2
	shift 2
	ipu taskset -c 0 "$PY" "$TOOL" serve --addr :: --port "$port" --mode "$mode" --timeout 600 "$@" \
		>>"$TMP/servers.log" 2>&1 &
	SERVER_PIDS+=($!)
}
server 5001 blast --seed 2 --bytes "$CLEAN_BYTES" --expect "${E_CLIENT[$CLEAN_BYTES]}" --log "$TMP/blast.log"
server 5061 blast --seed 2 --bytes "$BYTES" --expect "${E_CLIENT[$BYTES]}" --log "$TMP/blast.log"
server 5062 blast --seed 2 --bytes "$LOSS5_BYTES" --expect "${E_CLIENT[$LOSS5_BYTES]}" --log "$TMP/blast.log"
server 5011 count --log "$TMP/rr.log"
server 5012 count --log "$TMP/rr.log"
server 5013 count --log "$TMP/rr.log"
server 5021 digest
server 5031 echo
server 5041 hold --timeout 120

# ---- weftd --------------------------------------------------------------------------------------

# config FAULT: weft.yaml with FAULT (a flow mapping or empty) on both ports, both directions.
config() {
	local fault=$1 fblock=""
	if [ -n "$fault" ]; then
		fblock="    fault: {seed: 7, rx: $fault, tx: $fault}"
	fi
	cat <<YAML
eal:
  main_cpu: 0
  worker_cpus: [1]
  memory_mb: 768
  hugepages: false         # other instances on the machine may hold the hugepages at any time
  file_prefix: ${TOPO_ID}
  mbufs_per_worker: 65536
ports:
  - name: p0
    driver: af_packet
    iface: p0
    addresses: [198.18.0.1/24, "2001:db8::1/64"]
$fblock
  - name: p1
    driver: af_packet
    iface: p1
    addresses: [198.18.1.1/24, "2001:db8:1::1/64"]
$fblock
admin:
  address: 127.0.0.1
  port: 9901
tcp:
  max_connections: 16384
  time_wait_ms: 2000        # the 1000-connection case leaves 1000 upstream tuples in TIME_WAIT
clusters:
  - {name: blast, endpoints: [{address: 198.18.1.2, port: 5001}]}
  - {name: blast6, endpoints: [{address: "2001:db8:1::2", port: 5001}]}
  - {name: faulty, endpoints: [{address: 198.18.1.2, port: 5061}]}
  - {name: faulty5, endpoints: [{address: 198.18.1.2, port: 5062}]}
  - {name: dead, endpoints: [{address: 198.18.1.2, port: 5999}]}
  - {name: void, endpoints: [{address: 198.18.1.99, port: 5001}]}
  - {name: hold, endpoints: [{address: 198.18.1.2, port: 5041}]}
  - {name: victim, endpoints: [{address: 198.18.1.2, port: 5051}]}
  - name: rr
    endpoints:
      - {address: 198.18.1.2, port: 5011, weight: 1}
      - {address: 198.18.1.3, port: 5012, weight: 1}
      - {address: "2001:db8:1::2", port: 5013, weight: 2}
  - {name: digest, endpoints: [{address: 198.18.1.2, port: 5021}]}
  - {name: echo, endpoints: [{address: 198.18.1.2, port: 5031}]}
listeners:
  - {name: tcp_in, kind: tcp_proxy, address: 198.18.0.1, port: 5000, cluster: blast}
  - {name: tcp_in6, kind: tcp_proxy, address: "2001:db8::1", port: 5000, cluster: blast6}
  - {name: refused, kind: tcp_proxy, address: 198.18.0.1, port: 5002, cluster: dead}
  - {name: blackhole, kind: tcp_proxy, address: 198.18.0.1, port: 5003, cluster: void, connect_timeout_ms: 500}
  - {name: idle, kind: tcp_proxy, address: 198.18.0.1, port: 5004, cluster: hold, idle_timeout_ms: 1000}
  - {name: victim, kind: tcp_proxy, address: 198.18.0.1, port: 5005, cluster: victim}
  - {name: rr, kind: tcp_proxy, address: 0.0.0.0, port: 5006, cluster: rr}
  - {name: limited, kind: tcp_proxy, address: 198.18.0.1, port: 5007, cluster: echo, max_connections: 2}
  - {name: halfclose, kind: tcp_proxy, address: 198.18.0.1, port: 5008, cluster: digest}
  - {name: many, kind: tcp_proxy, address: "::", port: 5009, cluster: echo}
  - {name: faulty, kind: tcp_proxy, address: 198.18.0.1, port: 5100, cluster: faulty, connect_timeout_ms: 8000}
  - {name: faulty5, kind: tcp_proxy, address: 198.18.0.1, port: 5101, cluster: faulty5, connect_timeout_ms: 8000}
YAML
}

start_weft() { # NAME FAULT
	config "$2" >"$TMP/weft-$1.yaml"
	if ! weft_start "$TMP/weft-$1.yaml" "$TMP/weftd-$1.log"; then
		tap_not_ok "$1: weftd starts"
		return 1
	fi
	# Neighbours first: a burst of SYNs to an unresolved neighbour overflows its ARP
	# queue, and a lost SYN costs its first retransmission timeout (1 s), which is
	# as long as the default connect_timeout_ms.
	ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null 2>&1
	ipc ping -6 -c 1 -W 2 -q 2001:db8::1 >/dev/null 2>&1
	ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null 2>&1
	ipu ping -c 1 -W 2 -q -I 198.18.1.3 198.18.1.1 >/dev/null 2>&1
	ipu ping -6 -c 1 -W 2 -q 2001:db8:1::1 >/dev/null 2>&1
	return 0
}

stats_json() { weft_admin /stats; }
# jtest JSON EXPR: the Python expression EXPR holds for r, the parsed JSON object.
jtest() {
	"$PY" -c '
import json, sys
try:
    r = json.loads(sys.argv[1]) or {}
except ValueError:
    r = {}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
# proxy_stat NAME: a tcp_proxy counter summed over the workers.
proxy_stat() { weft_metric "weft_tcp_proxy_$1_total" 'worker='; }
drop_stat() { weft_metric weft_drops_total "reason=\"$1\""; }

# Nothing left behind: no tcp_proxy session, no connection in any state but
# TIME_WAIT. Polls for up to 5 s (closes finish in the background). Prints
# what was left on failure.
clean_after() {
	local i out
	for i in $(seq 1 25); do
		out=$(stats_json | "$PY" -c '
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

# What weft's TCP stack went through (for the log of a fault case).
tcp_summary() {
	stats_json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
t, p, d = s["tcp"], s["tcp_proxy"], s["drops"]
keys = ("segs_in", "segs_out", "retransmits", "rto_fires", "fast_retransmits", "sack_recoveries",
        "spurious_rto", "limited_transmits", "rescue_retransmits", "tlp_probes", "tlp_recoveries",
        "lost_retransmits", "rto_recoveries", "rack_timeouts", "reordering_seen",
        "ooo_segs", "ooo_drops", "dup_acks", "resets_in", "resets_out", "timeouts",
        "rst_after_close")
out = ["%s=%d" % (k, t[k]) for k in keys if t.get(k)]
out += ["proxy.%s=%d" % (k, v) for k, v in p.items() if isinstance(v, int) and v and not k.startswith("bytes")]
out += ["drop.%s=%d" % (k, v) for k, v in d.items() if v and k.startswith("tcp")]
print(" ".join(out))' 2>/dev/null
}

# What a kernel end went through since kernel_snap saved its counters in FILE: retransmission
# timeouts, retransmitted segments, loss probes, SACK recoveries and aborts.
KERNEL_COUNTERS="TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPLossProbes TcpExtTCPSackRecovery TcpExtTCPAbortOn*"
kernel_snap() { "$1" nstat -az $KERNEL_COUNTERS 2>/dev/null >"$2"; }
kernel_tcp() {
	"$1" nstat -az $KERNEL_COUNTERS 2>/dev/null | awk -v before="$2" '
		BEGIN { while ((getline l < before) > 0) { split(l, f); was[f[1]] = f[2] } }
		$2 ~ /^[0-9]+$/ && $2 - was[$1] > 0 { printf "%s=%d ", $1, $2 - was[$1] }'
}

case_begin() {
	[ -z "$PCAP_DIR" ] && return 0
	mkdir -p "$PCAP_DIR"
	ipc tcpdump -U -i c0 -s 128 -w "$PCAP_DIR/$1.pcap" >/dev/null 2>&1 &
	DUMP_PID=$!
	ipu tcpdump -U -i u0 -s 128 -w "$PCAP_DIR/$1-upstream.pcap" >/dev/null 2>&1 &
	DUMP_PID="$DUMP_PID $!"
	sleep 0.5
}
case_end() {
	[ -n "$DUMP_PID" ] || return 0
	sleep 0.5
	kill $DUMP_PID 2>/dev/null
	wait $DUMP_PID 2>/dev/null
	DUMP_PID=
}

# transfer NAME ADDR PORT BYTES RATE: BYTES each way at once through ADDR:PORT, sha256 checked
# at both ends, bounded by RATE bytes/s at the slowest.
transfer() {
	local name=$1 addr=$2 port=$3 bytes=$4 rate=$5 res srv ok=0 e_server=${E_SERVER[$4]}
	case_begin "$name"
	: >"$TMP/blast.log"
	res=$(ipc timeout "$(xfer_timeout "$bytes" "$rate")" taskset -c 0 "$PY" "$TOOL" blast --connect "$addr" "$port" \
		--seed 1 --bytes "$bytes" --expect "$e_server" --expect-bytes "$bytes" --timeout 60) && ok=1
	echo "# client: $res"
	for _ in $(seq 1 50); do [ -s "$TMP/blast.log" ] && break; sleep 0.1; done
	srv=$(tail -n 1 "$TMP/blast.log")
	echo "# server: $srv"
	case_end
	check "$name: $((bytes >> 20)) MiB client->server arrives intact (sha256 at the server)" \
		jtest "$srv" "r.get('match') is True and r.get('received') == $bytes"
	check "$name: $((bytes >> 20)) MiB server->client arrives intact (sha256 at the client)" test "$ok" = 1
	check "$name: nothing left behind" clean_after
}

# ---- cases --------------------------------------------------------------------------------------

if ! start_weft clean ""; then
	tap_done
	exit 1
fi
tap_ok "weftd starts with tcp_proxy listeners"

if want clean; then
	transfer clean 198.18.0.1 5000 "$CLEAN_BYTES" 4000000
	up=$(proxy_stat bytes_to_upstream)
	check "clean: bytes_to_upstream counted ($up >= $CLEAN_BYTES)" test "$up" -ge "$CLEAN_BYTES"
fi
if want clean6; then
	transfer clean6 2001:db8::1 5000 "$CLEAN_BYTES" 4000000
fi

if want halfclose; then
	res=$(ipc timeout 60 "$PY" "$TOOL" halfclose --connect 198.18.0.1 5008 --seed 3 --bytes 4000000 --timeout 30)
	echo "# $res"
	check "halfclose: the server's answer arrives after our FIN (half close passed on)" \
		jtest "$res" "r.get('match') is True"
	check "halfclose: nothing left behind" clean_after
fi

if want many; then
	res=$(ipc timeout 120 taskset -c 0 "$PY" "$TOOL" many --connect 2001:db8::1 5009 --conns 1000 --msg 2000 --timeout 60)
	echo "# $res"
	check "many: 1000 concurrent connections opened, used and closed" jtest "$res" "r.get('ok') == 1000"
	check "many: nothing left behind" clean_after
fi

if want refused; then
	before=$(proxy_stat connect_refused)
	res=$(ipc timeout 30 "$PY" "$TOOL" probe --connect 198.18.0.1 5002 --bytes 100 --timeout 10)
	echo "# $res"
	check "refused upstream: the client gets a reset" jtest "$res" "r.get('outcome') == 'reset'"
	after=$(proxy_stat connect_refused)
	check "refused upstream: connect_refused counted ($before -> $after)" test "$after" -gt "$before"
	check "refused upstream: drop tcp_proxy_connect_refused counted" test "$(drop_stat tcp_proxy_connect_refused)" -gt 0
	check "refused upstream: nothing left behind" clean_after
fi

if want timeout; then
	before=$(proxy_stat connect_timeouts)
	res=$(ipc timeout 30 "$PY" "$TOOL" probe --connect 198.18.0.1 5003 --timeout 10)
	echo "# $res"
	check "connect timeout: the client gets a reset after about 500 ms" \
		jtest "$res" "r.get('outcome') == 'reset' and 0.4 <= r.get('seconds', 0) <= 3"
	after=$(proxy_stat connect_timeouts)
	check "connect timeout: connect_timeouts counted ($before -> $after)" test "$after" -gt "$before"
	check "connect timeout: nothing left behind" clean_after
fi

if want idle; then
	before=$(proxy_stat idle_timeouts)
	res=$(ipc timeout 30 "$PY" "$TOOL" probe --connect 198.18.0.1 5004 --timeout 10)
	echo "# $res"
	check "idle timeout: the client gets a reset after about 1 s without traffic" \
		jtest "$res" "r.get('outcome') == 'reset' and 0.9 <= r.get('seconds', 0) <= 4"
	after=$(proxy_stat idle_timeouts)
	check "idle timeout: idle_timeouts counted ($before -> $after)" test "$after" -gt "$before"
	check "idle timeout: nothing left behind" clean_after
fi

if want killed; then
	# A blast server of its own, killed 1 s into a transfer it could not finish in time.
	ipu "$PY" "$TOOL" serve --addr :: --port 5051 --mode blast --seed 2 --bytes $((1 << 34)) --pidfile "$TMP/victim.pid" \
		--timeout 60 >>"$TMP/servers.log" 2>&1 &
	for _ in $(seq 1 50); do [ -s "$TMP/victim.pid" ] && break; sleep 0.1; done
	vpid=$(cat "$TMP/victim.pid") # the server itself, not the shell that started it
	ipc timeout 60 "$PY" "$TOOL" blast --connect 198.18.0.1 5005 --seed 1 --bytes $((1 << 34)) --timeout 20 >"$TMP/killed.json" 2>"$TMP/killed.err" &
	cpid=$!
	sleep 1.5
	before=$(proxy_stat upstream_resets)
	kill -9 "$vpid"
	wait "$cpid"
	res=$(cat "$TMP/killed.json")
	sed "s/^/# client stderr: /" "$TMP/killed.err"
	echo "# $res"
	check "upstream killed mid-transfer: the client gets a reset, not a clean end" \
		jtest "$res" "'ECONNRESET' in (r.get('recv_error'), r.get('send_error'))"
	after=$(proxy_stat upstream_resets)
	check "upstream killed: upstream_resets counted ($before -> $after)" test "$after" -gt "$before"
	check "upstream killed: nothing left behind" clean_after
fi

if want roundrobin; then
	: >"$TMP/rr.log"
	res=$(ipc timeout 60 "$PY" "$TOOL" many --connect 198.18.0.1 5006 --conns 40 --msg 10 --timeout 20)
	echo "# $res"
	sleep 0.3
	shares=$(sort "$TMP/rr.log" | uniq -c | awk '{printf "%s:%s ", $2, $1}')
	echo "# round robin shares: $shares"
	check "round robin: weights 1:1:2 over 40 connections give 10/10/20 ($shares)" \
		test "$shares" = "5011:10 5012:10 5013:20 "
	check "round robin: nothing left behind" clean_after
fi

if want limit; then
	# Two connections that stay quiet for 3 s hold the listener's two places.
	ipc timeout 20 "$PY" "$TOOL" probe --connect 198.18.0.1 5007 --timeout 3 >"$TMP/l1" &
	l1=$!
	ipc timeout 20 "$PY" "$TOOL" probe --connect 198.18.0.1 5007 --timeout 3 >"$TMP/l2" &
	l2=$!
	sleep 1
	before=$(proxy_stat refused_listener_full)
	active=$(weft_metric weft_tcp_proxy_sessions_active 'listener="limited"')
	res=$(ipc timeout 10 "$PY" "$TOOL" probe --connect 198.18.0.1 5007 --timeout 5)
	echo "# third connection: $res"
	check "limit: the listener shows 2 sessions active ($active)" test "$active" = 2
	check "limit: the third connection over max_connections 2 is refused" jtest "$res" "r.get('outcome') == 'refused'"
	after=$(proxy_stat refused_listener_full)
	check "limit: refused_listener_full counted ($before -> $after)" test "$after" -gt "$before"
	check "limit: drop tcp_proxy_listener_full counted" test "$(drop_stat tcp_proxy_listener_full)" -gt 0
	wait "$l1" "$l2" 2>/dev/null
	check "limit: nothing left behind" clean_after
fi

if want nolistener; then
	before=$(drop_stat tcp_no_listener)
	res=$(ipc timeout 10 "$PY" "$TOOL" probe --connect 198.18.0.1 6000 --timeout 5)
	check "no listener: connection refused ($res)" jtest "$res" "r.get('outcome') == 'refused'"
	after=$(drop_stat tcp_no_listener)
	check "no listener: tcp_no_listener counted ($before -> $after)" test "$after" -gt "$before"
fi

if want reload; then
	config "" >"$TMP/reload.yaml"
	cat >>"$TMP/reload.yaml" <<'YAML'
  - {name: added, kind: tcp_proxy, address: 198.18.0.1, port: 5010, cluster: echo}
YAML
	code=$(ipw curl -s -o "$TMP/post.out" -w '%{http_code}' -m 10 --data-binary @"$TMP/reload.yaml" \
		"http://$WEFT_ADMIN/config")
	check "reload: POST /config adding a listener is applied ($code: $(head -c 80 "$TMP/post.out"))" test "$code" = 200
	res=$(ipc timeout 10 "$PY" "$TOOL" probe --connect 198.18.0.1 5010 --bytes 10 --timeout 5)
	check "reload: the new listener proxies ($res)" jtest "$res" "r.get('outcome') == 'eof' and r.get('received') == 10"
	# A tcp section change needs a restart: refused, the running config keeps serving.
	sed 's/time_wait_ms: 2000/time_wait_ms: 3000/' "$TMP/reload.yaml" >"$TMP/reload-bad.yaml"
	code=$(ipw curl -s -o "$TMP/post.out" -w '%{http_code}' -m 10 --data-binary @"$TMP/reload-bad.yaml" \
		"http://$WEFT_ADMIN/config")
	check "reload: changing tcp is refused as restart-bound ($(head -c 100 "$TMP/post.out"))" \
		grep -q "changing tcp needs a restart" "$TMP/post.out"
	config "" >"$TMP/reload.yaml"
	code=$(ipw curl -s -o /dev/null -w '%{http_code}' -m 10 --data-binary @"$TMP/reload.yaml" "http://$WEFT_ADMIN/config")
	res=$(ipc timeout 10 "$PY" "$TOOL" probe --connect 198.18.0.1 5010 --timeout 5)
	check "reload: the removed listener refuses again ($res)" jtest "$res" "r.get('outcome') == 'refused'"
	check "reload: nothing left behind" clean_after
fi

weft_stop
rc=$?
check "weftd stops cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0

# ---- the fault matrix: weftd restarted with faults on both ports, both directions -----------------

for f in "loss1:{drop: 0.01}" "loss5:{drop: 0.05}" "reorder25:{reorder: 0.25}" "dup1:{duplicate: 0.01}" \
	"corrupt01:{corrupt: \"0.1%\"}" "delay20:{delay_ms: 10}"; do
	name=${f%%:*}
	fault=${f#*:}
	want "$name" || continue
	# delay20: 10 ms each way on both ports, so each connection's round trip grows by 20 ms.
	if ! start_weft "$name" "$fault"; then
		continue
	fi
	# 5% loss on every link lives on retransmission timeouts: a lower floor, and its own size.
	port=5100 bytes=$BYTES rate=1000000
	if [ "$name" = loss5 ]; then port=5101 bytes=$LOSS5_BYTES rate=200000; fi
	kernel_snap ipc "$TMP/kc"
	kernel_snap ipu "$TMP/ku"
	transfer "$name" 198.18.0.1 "$port" "$bytes" "$rate"
	echo "# $name: weft's stack: $(tcp_summary)"
	echo "# $name: kernels: client $(kernel_tcp ipc "$TMP/kc")upstream $(kernel_tcp ipu "$TMP/ku")"
	weft_stop
	rc=$?
	check "$name: weftd stops cleanly (exit $rc)" test "$rc" -eq 0
done

tap_done
