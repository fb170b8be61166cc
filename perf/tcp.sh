#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "tcp": weftd's tcp_proxy against the Linux kernel
# forwarding the same topology, and against HAProxy in TCP mode.
#
#   client ns --- c0/p0 --- weft ns --- p1/u0 --- upstream ns
#   (clients, cpu 1)        weftd worker on cpu 0       (sink and echo servers, cpu 1)
#
# Contenders, each measured in the same run on the same veths:
#   weft              weftd (af_packet ports) with a tcp_proxy listener; worker pinned to cpu 0
#   forwarder         dpdk-testpmd in io mode between the same two af_packet ports (same ring
#                     sizes), forwarding core on cpu 0: frames cross unchanged, the client's and
#                     the upstream's neighbour entries point at each other's MAC. It terminates
#                     nothing, so it is the ceiling of the transport weft runs on
#   linux-forwarding  weftd stopped, the weft namespace routes between the two
#                     veths (ip_forward=1), clients connect straight to the upstream
#   haproxy           HAProxy in mode tcp, one thread pinned to cpu 0, in the weft namespace
#
# Figures (JSON lines, median of REPEAT runs of SECONDS each):
#   goodput-1conn    one connection pushing into a sink, Mbit/s that arrived
#   goodput-64conn   64 connections at once
#   cps              connections per second: connect, 4-byte echo, close; 4 client processes
#   cycles-per-segment-{stack,proxy}  bench_tcp, in process, no kernel (see perf/README.md)
#
# Environment: SECONDS_PER_RUN (10), REPEAT (3), DRIVER (af_packet), BUILD (build),
# PEERS ("forwarder linux haproxy").
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/topo.sh"
DRIVER=${DRIVER:-af_packet}
RUN_S=${SECONDS_PER_RUN:-10}
REPEAT=${REPEAT:-3}
PEERS=${PEERS:-"forwarder linux haproxy"}
BUILD=${BUILD:-build}
BENCH=${BENCH_TCP:-$(dirname "${WEFTD:-$HERE/../$BUILD/policy/mgmt/weftd}")/../../perf/bench_tcp}
PY=/usr/bin/python3
TOOL="$HERE/../tests/integration/tcpcheck.py"
TMP=$(mktemp -d /tmp/weft-perf-tcp.XXXXXX)
SERVER_PIDS=()
HAPROXY_PID=
FWD_PID=

cleanup() {
	[ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null
	[ -n "$FWD_PID" ] && kill "$FWD_PID" 2>/dev/null
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	topo_down
	rm -rf "$TMP"
}
trap cleanup EXIT

topo_up 1
# Many short connections: let the kernels reuse TIME_WAIT tuples and use every port.
for ns in "$NS_C" "$NS_U" "$NS_W"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done

ipu taskset -c 1 "$PY" "$TOOL" serve --addr :: --port 5001 --mode sink --timeout 120 >>"$TMP/servers.log" 2>&1 &
SERVER_PIDS+=($!)
ipu taskset -c 1 "$PY" "$TOOL" serve --addr :: --port 5002 --mode echo --timeout 120 >>"$TMP/servers.log" 2>&1 &
SERVER_PIDS+=($!)

# Hugepages when enough are free for memory_mb below (other instances may hold some), else --no-huge.
HUGE=$(awk '/HugePages_Free/ {f = $2} /Hugepagesize/ {k = $2} END {print (f * k / 1024 >= 1024) ? "true" : "false"}' /proc/meminfo)
cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [0]
  memory_mb: 1024
  hugepages: $HUGE
  file_prefix: ${TOPO_ID}
  mbufs_per_worker: 131072
ports:
  - {name: p0, driver: $DRIVER, iface: p0, rx_desc: 8192, tx_desc: 8192, addresses: [198.18.0.1/24, "2001:db8::1/64"]}
  - {name: p1, driver: $DRIVER, iface: p1, rx_desc: 8192, tx_desc: 8192, addresses: [198.18.1.1/24, "2001:db8:1::1/64"]}
tcp:
  max_connections: 131072
  time_wait_ms: 2000
clusters:
  - {name: sink, endpoints: [{address: 198.18.1.2, port: 5001}]}
  - {name: echo, endpoints: [{address: 198.18.1.2, port: 5002}]}
listeners:
  - {name: sink, kind: tcp_proxy, address: 198.18.0.1, port: 5001, cluster: sink}
  - {name: echo, kind: tcp_proxy, address: 198.18.0.1, port: 5002, cluster: echo}
YAML

cat >"$TMP/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 8000
    log stdout format raw local0 emerg
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend sink
    bind 198.18.0.1:5001
    default_backend sink
backend sink
    server s1 198.18.1.2:5001
frontend echo
    bind 198.18.0.1:5002
    default_backend echo
backend echo
    server s1 198.18.1.2:5002
CFG

# measure KIND ADDR: one figure (goodput Mbit/s or cps) for ADDR as the entry point, median of REPEAT.
measure() {
	local kind=$1 addr=$2 vals=() i out
	for i in $(seq 1 "$REPEAT"); do
		case $kind in
		goodput-1conn) out=$(ipc taskset -c 1 timeout $((RUN_S + 120)) "$PY" "$TOOL" goodput --connect "$addr" 5001 \
			--conns 1 --procs 1 --seconds "$RUN_S") && vals+=("$(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mbit_s"])')") ;;
		goodput-64conn) out=$(ipc taskset -c 1 timeout $((RUN_S + 120)) "$PY" "$TOOL" goodput --connect "$addr" 5001 \
			--conns 64 --procs 4 --seconds "$RUN_S") && vals+=("$(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mbit_s"])')") ;;
		cps) out=$(ipc taskset -c 1 timeout $((RUN_S + 120)) "$PY" "$TOOL" cps --connect "$addr" 5002 \
			--procs 4 --seconds "$RUN_S") && vals+=("$(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cps"])')") ;;
		esac
		echo "# $kind via $addr run $i: ${out:-failed}" >&2
		sleep 1
	done
	printf '%s\n' "${vals[@]}" | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}'
}

CASES="goodput-1conn goodput-64conn cps"
declare -A W F L H

# --- weft ---
started=0
weft_start "$TMP/weft.yaml" "$TMP/weftd.log" && started=1
if [ "$started" = 0 ] && [ "$HUGE" = true ]; then
	# Someone took the hugepages meanwhile: ordinary memory is slower but measures the same code.
	echo "# weftd did not start with hugepages; trying without" >&2
	sed -i 's/^  hugepages: true/  hugepages: false/' "$TMP/weft.yaml"
	weft_start "$TMP/weft.yaml" "$TMP/weftd.log" && started=1
fi
if [ "$started" = 1 ]; then
	ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null
	ipu ping -c 1 -W 2 -q 198.18.1.1 >/dev/null
	for c in $CASES; do W[$c]=$(measure "$c" 198.18.0.1); done
	weft_admin /stats >"$TMP/weft-stats.json"
	weft_stop
else
	echo "# weftd did not start:" >&2
	sed 's/^/#   /' "$TMP/weftd.log" >&2
	for c in $CASES; do W[$c]=0; done
fi

# --- forwarder: testpmd io between p0 and p1, no addresses anywhere in the weft namespace ---
TESTPMD=$(command -v dpdk-testpmd)
if [[ " $PEERS " == *" forwarder "* ]] && [ "$DRIVER" = af_packet ] && [ -n "$TESTPMD" ]; then
	mac_c=$(ipc cat /sys/class/net/c0/address)
	mac_u=$(ipu cat /sys/class/net/u0/address)
	ipc ip neigh replace 198.18.0.1 lladdr "$mac_u" dev c0 nud permanent
	ipu ip neigh replace 198.18.1.1 lladdr "$mac_c" dev u0 nud permanent
	af="blocksz=4096,framesz=2048,framecnt=8192"
	# Forwarding core on cpu 0 (weft's worker's), the idle main core on cpu 1. testpmd runs until
	# its stdin ends: a fifo held open on fd 9, closed to stop it.
	mkfifo "$TMP/testpmd.in"
	ipw "$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 1024 --file-prefix "${TOPO_ID}fwd" --no-pci \
		--vdev "net_af_packet0,iface=p0,$af" --vdev "net_af_packet1,iface=p1,$af" -- \
		--forward-mode=io --nb-cores=1 --auto-start --txd=1024 --rxd=1024 \
		<"$TMP/testpmd.in" >"$TMP/testpmd.log" 2>&1 &
	FWD_PID=$!
	exec 9>"$TMP/testpmd.in"
	sleep 3
	if grep -q "Start automatic packet forwarding\|io packet forwarding" "$TMP/testpmd.log"; then
		for c in $CASES; do F[$c]=$(measure "$c" 198.18.1.2); done
	else
		sed 's/^/# testpmd: /' "$TMP/testpmd.log" >&2
	fi
	exec 9>&-
	for _ in $(seq 1 50); do kill -0 "$FWD_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$FWD_PID" 2>/dev/null
	wait "$FWD_PID" 2>/dev/null
	ipc ip neigh del 198.18.0.1 dev c0 2>/dev/null
	ipu ip neigh del 198.18.1.1 dev u0 2>/dev/null
fi

# The kernel gets the weft namespace's veths and addresses.
ipw sysctl -qw net.ipv6.conf.p0.disable_ipv6=0 net.ipv6.conf.p1.disable_ipv6=0
ipw ip addr add 198.18.0.1/24 dev p0
ipw ip addr add 198.18.1.1/24 dev p1
ipw sysctl -qw net.ipv4.ip_forward=1
ipc ip neigh flush dev c0
ipu ip neigh flush dev u0
sleep 1

# --- linux forwarding: the client talks to the upstream itself ---
if [[ " $PEERS " == *" linux "* ]]; then
	for c in $CASES; do L[$c]=$(measure "$c" 198.18.1.2); done
fi

# --- haproxy, one thread on the worker's cpu ---
if [[ " $PEERS " == *" haproxy "* ]] && command -v haproxy >/dev/null; then
	ipw sysctl -qw net.ipv4.ip_forward=0
	ipw taskset -c 0 haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	sleep 1
	kill -0 "$HAPROXY_PID" 2>/dev/null || sed 's/^/# haproxy: /' "$TMP/haproxy.log" >&2
	for c in $CASES; do H[$c]=$(measure "$c" 198.18.0.1); done
	kill "$HAPROXY_PID" 2>/dev/null
	wait "$HAPROXY_PID" 2>/dev/null
	HAPROXY_PID=
fi

line() { # case metric unit weft peer peer_value
	"$PY" -c '
import json, sys
c, m, u, w, peer, p = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
print(json.dumps({"bench": "tcp", "case": c, "metric": m, "unit": u, "weft": w, "peer": peer, "peer_value": p,
                  "ratio": round(w / p, 3) if p else None, "better": "higher"}))' "$@"
}
for c in $CASES; do
	if [ "$c" = cps ]; then m=cps u=conn/s; else m=goodput u=Mbit/s; fi
	[ -n "${F[$c]:-}" ] && line "$c" "$m" "$u" "${W[$c]}" testpmd-io-forwarder "${F[$c]}"
	[ -n "${L[$c]:-}" ] && line "$c" "$m" "$u" "${W[$c]}" linux-forwarding "${L[$c]}"
	[ -n "${H[$c]:-}" ] && line "$c" "$m" "$u" "${W[$c]}" haproxy "${H[$c]}"
done

# --- in process, no kernel ---
if [ -x "$BENCH" ]; then
	for c in stack proxy; do
		taskset -c 0 "$BENCH" --case "$c" --seconds "$RUN_S"
		taskset -c 0 "$BENCH" --case "$c" --seconds "$RUN_S" --offload
	done
else
	echo "# $BENCH not built" >&2
fi
