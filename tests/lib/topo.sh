# SPDX-License-Identifier: GPL-2.0-or-later
# Namespace topologies for weft's integration tests and demo. Source it.
#
#   client ns (kernel stack)         weft ns (weftd on DPDK)
#   c0 198.18.0.2/24           <-->  p0  weft: 198.18.0.1/24
#      2001:db8::2/64                          2001:db8::1/64
#
#   upstream ns (kernel stack)
#   u0 198.18.1.2/24           <-->  p1  weft: 198.18.1.1/24
#      2001:db8:1::2/64                        2001:db8:1::1/64
#
# Only 198.18.0.0/15 and 2001:db8::/32 are used, inside namespaces created
# here; topo_down removes everything topo_up made.

TOPO_ID=${TOPO_ID:-w$$}
NS_C="${TOPO_ID}-c"
NS_W="${TOPO_ID}-w"
NS_U="${TOPO_ID}-u"
WEFT_ADMIN=127.0.0.1:9901
WEFTD_PID=

ipc() { ip netns exec "$NS_C" "$@"; }
ipw() { ip netns exec "$NS_W" "$@"; }
ipu() { ip netns exec "$NS_U" "$@"; }

# topo_up [with_upstream]
topo_up() {
	local with_up=${1:-0}
	ip netns add "$NS_C"
	ip netns add "$NS_W"
	ip -n "$NS_W" link set lo up
	ip -n "$NS_C" link set lo up
	ip link add "${TOPO_ID}c0" type veth peer name "${TOPO_ID}p0"
	ip link set "${TOPO_ID}c0" netns "$NS_C" name c0
	ip link set "${TOPO_ID}p0" netns "$NS_W" name p0
	_topo_kernel_end "$NS_C" c0 198.18.0.2/24 2001:db8::2/64
	_topo_weft_end p0
	ip -n "$NS_C" route add 198.18.1.0/24 via 198.18.0.1
	ip -n "$NS_C" -6 route add 2001:db8:1::/64 via 2001:db8::1
	if [ "$with_up" = 1 ]; then
		ip netns add "$NS_U"
		ip -n "$NS_U" link set lo up
		ip link add "${TOPO_ID}u0" type veth peer name "${TOPO_ID}p1"
		ip link set "${TOPO_ID}u0" netns "$NS_U" name u0
		ip link set "${TOPO_ID}p1" netns "$NS_W" name p1
		_topo_kernel_end "$NS_U" u0 198.18.1.2/24 2001:db8:1::2/64
		_topo_weft_end p1
		ip -n "$NS_U" route add 198.18.0.0/24 via 198.18.1.1
		ip -n "$NS_U" -6 route add 2001:db8::/64 via 2001:db8:1::1
	fi
}

# A kernel-side end: addresses, no DAD wait, and tx checksum offload off:
# af_packet on veth would otherwise hand weft TCP/UDP with unfinished checksums.
_topo_kernel_end() {
	local ns=$1 dev=$2 a4=$3 a6=$4
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0"
	ip -n "$ns" link set "$dev" up
	ip -n "$ns" addr add "$a4" dev "$dev"
	ip -n "$ns" -6 addr add "$a6" dev "$dev" nodad
	ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 || true
}

# weft's end: no kernel addresses at all (the kernel would otherwise answer
# neighbour solicitations for the same EUI-64 link-local address weft uses).
_topo_weft_end() {
	local dev=$1
	ipw sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
	ip -n "$NS_W" link set "$dev" up
	ipw ethtool -K "$dev" tx off >/dev/null 2>&1 || true
}

topo_down() {
	weft_stop
	local ns
	for ns in "$NS_C" "$NS_W" "$NS_U"; do
		if ip netns list | grep -qw "^$ns"; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		fi
	done
	return 0
}

# Hugepages when enough are free, otherwise --no-huge with a small pool.
weft_hugepages() {
	# weft_hugepages [MB]: "true" when MB (default 320) of 2 MiB pages are free now, else
	# "false" (weftd then runs with --no-huge): a config must never ask for more than is free.
	local mb=${1:-320} free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "${free:-0}" -ge $(((mb + 1) / 2)) ]; then echo true; else echo false; fi
}

# weft_start CONFIG LOG: run weftd in the weft namespace, wait for /ready.
weft_start() {
	local cfg=$1 log=$2 i
	ip netns exec "$NS_W" "$WEFTD" -c "$cfg" >"$log" 2>&1 &
	WEFTD_PID=$!
	for i in $(seq 1 150); do
		if ! kill -0 "$WEFTD_PID" 2>/dev/null; then
			echo "# weftd exited during start-up:" >&2
			sed 's/^/#   /' "$log" >&2
			WEFTD_PID=
			return 1
		fi
		if ipw curl -sf -m 1 "http://$WEFT_ADMIN/ready" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "# weftd not ready after 30 s" >&2
	sed 's/^/#   /' "$log" >&2
	return 1
}

# weft_stop: SIGTERM, wait up to 10 s, then SIGKILL. Returns weftd's exit code.
weft_stop() {
	[ -n "${WEFTD_PID:-}" ] || return 0
	local pid=$WEFTD_PID rc=0 i
	WEFTD_PID=
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# weft_admin PATH: GET from the admin API.
weft_admin() { ipw curl -sf -m 5 "http://$WEFT_ADMIN$1"; }

# weft_metric NAME LABEL_MATCH: sum of a Prometheus family over samples whose
# labels contain LABEL_MATCH (e.g. 'reason="ip4_bad_checksum"').
weft_metric() {
	weft_admin /stats/prometheus | awk -v n="$1" -v l="$2" '
		$0 !~ /^#/ && index($1, n "{") == 1 && index($1, l) > 0 { s += $2 }
		$0 !~ /^#/ && $1 == n && l == "" { s += $2 }
		END { printf "%.0f\n", s }'
}

# scenario_start NAME [TOOL...]: what every integration scenario does first. WEFTD must be
# set; TMP is a fresh /tmp/weft-NAME.XXXXXX and PY the system python. At exit the script's
# scenario_cleanup runs (when it defines one), the pids in SERVER_PIDS are killed, the
# topology and TMP removed. Without root or without one of the TOOLs the scenario prints
# "1..0 # SKIP ..." and exits 0.
scenario_start() {
	local name=$1 t
	shift
	: "${WEFTD:?WEFTD must point at the weftd binary}"
	PY=/usr/bin/python3
	TMP=$(mktemp -d "/tmp/weft-$name.XXXXXX")
	SERVER_PIDS=()
	trap _scenario_exit EXIT
	trap 'exit 130' INT TERM
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root"
		exit 0
	fi
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "1..0 # SKIP $t not installed"
			exit 0
		fi
	done
}

_scenario_exit() {
	local p
	if declare -F scenario_cleanup >/dev/null; then
		scenario_cleanup
	fi
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	topo_down
	rm -rf "$TMP"
}

# weft_yaml_base MEMORY_MB HUGEPAGES WORKER_CPUS [MBUFS_PER_WORKER [v6]]: the eal, ports and
# admin sections of a weftd config for this topology (p0 198.18.0.1/24, p1 198.18.1.1/24 on
# af_packet; "v6" adds 2001:db8::1/64 and 2001:db8:1::1/64), admin on 127.0.0.1:9901.
weft_yaml_base() {
	local p0=198.18.0.1/24 p1=198.18.1.1/24
	if [ "${5:-}" = v6 ]; then
		p0="$p0, \"2001:db8::1/64\""
		p1="$p1, \"2001:db8:1::1/64\""
	fi
	cat <<YAML
eal:
  main_cpu: 0
  worker_cpus: [$3]
  memory_mb: $1
  hugepages: $2
  file_prefix: ${TOPO_ID}
YAML
	[ -n "${4:-}" ] && echo "  mbufs_per_worker: $4"
	cat <<YAML
ports:
  - {name: p0, driver: af_packet, iface: p0, addresses: [$p0]}
  - {name: p1, driver: af_packet, iface: p1, addresses: [$p1]}
admin: {address: 127.0.0.1, port: 9901}
YAML
}

# TAP helpers
TAP_N=0
TAP_FAIL=0
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
tap_not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $* # SKIP"; }
# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; fi
}
tap_done() { echo "1..$TAP_N"; [ "$TAP_FAIL" -eq 0 ]; }
