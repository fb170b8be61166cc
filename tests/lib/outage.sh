# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The partial-outage scenario, shared by tests/integration/resilience.sh and
# perf/outage.sh. Source it after tests/lib/topo.sh (topo_up 1 done).
#
#   three upstreams in the upstream namespace: upstream.py on 198.18.1.2:8081..8083
#   (e1, e2, e3), switched at run time through their control sockets
#   load: loadgen.py in the client namespace, OUTAGE_RATE req/s (300) for
#   OUTAGE_SECONDS (30) against the proxy at 198.18.0.1:80
#   timeline (seconds after the first request):
#     OUTAGE_T_503  (5)    e1 answers every request 503 at once
#     OUTAGE_T_HANG (11)   e2 accepts and reads requests but never answers (empty: never)
#     OUTAGE_T_BACK (15.5) e1 and e2 healthy again
#
# outage_servers_start DIR; outage_run NAME DIR [ADMIN]; outage_servers_stop.
# OUTAGE_PY (/usr/bin/python3), OUTAGE_CPU (cpu for the servers and the load, 1).

OUTAGE_PY=${OUTAGE_PY:-/usr/bin/python3}
OUTAGE_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
OUTAGE_RATE=${OUTAGE_RATE:-300}
OUTAGE_SECONDS=${OUTAGE_SECONDS:-30}
OUTAGE_T_503=${OUTAGE_T_503:-5}
OUTAGE_T_HANG=${OUTAGE_T_HANG-11}
OUTAGE_T_BACK=${OUTAGE_T_BACK:-15.5}
OUTAGE_CPU=${OUTAGE_CPU:-1}
OUTAGE_PORT0=${OUTAGE_PORT0:-8080} # the upstreams listen on PORT0+1..PORT0+3
OUTAGE_ENDPOINTS=198.18.1.2:$((OUTAGE_PORT0 + 1)),198.18.1.2:$((OUTAGE_PORT0 + 2)),198.18.1.2:$((OUTAGE_PORT0 + 3))
OUTAGE_SERVER_PIDS=()

# outage_servers_start DIR: the three upstreams, healthy, logging to DIR/uN.jsonl.
outage_servers_start() {
	local dir=$1 i j
	for i in 1 2 3; do
		ip netns exec "$NS_U" taskset -c "$OUTAGE_CPU" "$OUTAGE_PY" "$OUTAGE_TOOLS/upstream.py" \
			--addr 198.18.1.2 --port $((OUTAGE_PORT0 + i)) --instance $i --ctl "$dir/u$i.sock" --log "$dir/u$i.jsonl" \
			>>"$dir/upstreams.log" 2>&1 &
		OUTAGE_SERVER_PIDS+=($!)
	done
	for i in 1 2 3; do
		for j in $(seq 1 50); do
			[ -S "$dir/u$i.sock" ] && break
			sleep 0.1
		done
	done
}

outage_servers_stop() {
	local p
	for p in "${OUTAGE_SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${OUTAGE_SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	OUTAGE_SERVER_PIDS=()
}

# outage_ctl DIR N MODE...: switch upstream N (1..3).
outage_ctl() {
	local dir=$1 n=$2
	shift 2
	echo "$*" | socat -t 2 - "UNIX-CONNECT:$dir/u$n.sock" >/dev/null
}

# _outage_at START SECONDS: sleep until START + SECONDS (epoch, fractional).
_outage_at() {
	local d
	d=$("$OUTAGE_PY" -c "import time; print(max(0.0, $1 + $2 - time.time()))")
	sleep "$d"
}

# outage_run NAME DIR [ADMIN]: one run of the scenario against 198.18.0.1:80. With ADMIN
# (weftd's admin address, polled from the weft namespace, or the path of HAProxy's stats
# socket) the report also says when the proxy ejected (marked down) and re-admitted each
# endpoint. Leaves DIR/NAME.summary.json,
# DIR/NAME.client.jsonl and the report on stdout (TAP comments); appends per-second JSON
# lines to DIR/outage.jsonl.
outage_run() {
	local name=$1 dir=$2 admin=${3:-} start poller= lg i
	for i in 1 2 3; do outage_ctl "$dir" $i healthy; done
	start=$("$OUTAGE_PY" -c 'import time; print(int(time.time()) + 2)')
	if [ -n "$admin" ]; then
		case $admin in
		/*) set -- --haproxy "$admin" ;; # HAProxy's stats socket
		*) set -- --admin "$admin" ;;
		esac
		ip netns exec "$NS_W" taskset -c "$OUTAGE_CPU" "$OUTAGE_PY" "$OUTAGE_TOOLS/outage.py" poll \
			"$@" --seconds $((OUTAGE_SECONDS + 4)) --out "$dir/$name.poll.jsonl" &
		poller=$!
	fi
	ip netns exec "$NS_C" taskset -c "$OUTAGE_CPU" "$OUTAGE_PY" "$OUTAGE_TOOLS/loadgen.py" \
		--addr 198.18.0.1 --port 80 --rate "$OUTAGE_RATE" --seconds "$OUTAGE_SECONDS" \
		--start-at "$start" --timeout 5 --log "$dir/$name.client.jsonl" 2>"$dir/$name.loadgen.log" &
	lg=$!
	echo "$start" >"$dir/$name.start"
	_outage_at "$start" "$OUTAGE_T_503"
	outage_ctl "$dir" 1 503
	if [ -n "$OUTAGE_T_HANG" ]; then
		_outage_at "$start" "$OUTAGE_T_HANG"
		outage_ctl "$dir" 2 hang
	fi
	_outage_at "$start" "$OUTAGE_T_BACK"
	outage_ctl "$dir" 1 healthy
	outage_ctl "$dir" 2 healthy
	wait "$lg"
	[ -n "$poller" ] && wait "$poller"
	sleep 1.1 # the upstreams write a second when it is over
	"$OUTAGE_PY" "$OUTAGE_TOOLS/outage.py" report --name "$name" --start "$start" --seconds "$OUTAGE_SECONDS" \
		--client "$dir/$name.client.jsonl" --upstream "$dir/u1.jsonl" "$dir/u2.jsonl" "$dir/u3.jsonl" \
		${admin:+--poll "$dir/$name.poll.jsonl"} --endpoints "$OUTAGE_ENDPOINTS" \
		--events "$OUTAGE_T_503=e1 503${OUTAGE_T_HANG:+,$OUTAGE_T_HANG=e2 hang},$OUTAGE_T_BACK=healthy" \
		--json "$dir/$name.summary.json" --jsonl "$dir/outage.jsonl"
}
