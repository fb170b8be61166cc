#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scenario: weftd on one port of a namespace topology, driven by the kernel
# of a client namespace.
#   client: ping, ping -6 (global and link-local), arping   -> answered
#   client: a scapy barrage of malformed frames              -> each counted
#           under its named drop reason, weftd still answering afterwards
#
# usage: net.sh af_packet|af_xdp      (TAP output; needs root)
set -u
DRIVER=${1:-af_packet}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/topo.sh"

: "${WEFTD:?WEFTD must point at the weftd binary}"
TMP=$(mktemp -d /tmp/weft-net.XXXXXX)
trap 'topo_down; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi

topo_up 0

cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [1]
  memory_mb: 256
  hugepages: $(weft_hugepages 256)
  file_prefix: ${TOPO_ID}
  mbufs_per_worker: 4096
ports:
  - name: p0
    driver: $DRIVER
    iface: p0
    addresses: [198.18.0.1/24, "2001:db8::1/64"]
admin:
  address: 127.0.0.1
  port: 9901
YAML

if ! weft_start "$TMP/weft.yaml" "$TMP/weftd.log"; then
	if [ "$DRIVER" = af_xdp ] && grep -qiE 'af_xdp|xsk|bpf' "$TMP/weftd.log"; then
		echo "1..0 # SKIP af_xdp unavailable on this kernel"
		exit 0
	fi
	tap_not_ok "weftd starts on $DRIVER"
	tap_done
	exit 1
fi
tap_ok "weftd starts on $DRIVER and reports ready"

weft_admin /config_dump >"$TMP/dump.yaml"
check "/config_dump serves the applied file" cmp -s "$TMP/dump.yaml" "$TMP/weft.yaml"
check "ping 198.18.0.1 answered" ipc ping -c 3 -i 0.2 -W 2 -q 198.18.0.1
check "ping -6 2001:db8::1 answered" ipc ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8::1
mac=$(ipw cat /sys/class/net/p0/address)
ll=$(/usr/bin/python3 - "$mac" <<'PY'
import sys
b = [int(x, 16) for x in sys.argv[1].split(":")]
b[0] ^= 2
e = b[:3] + [0xff, 0xfe] + b[3:]
print("fe80::%x:%x:%x:%x" % tuple((e[i] << 8) | e[i + 1] for i in range(0, 8, 2)))
PY
)
check "ping -6 link-local $ll%c0 answered" ipc ping -6 -c 2 -i 0.2 -W 2 -q "$ll%c0"
ipc ip neigh flush dev c0
check "arping 198.18.0.1 answered" ipc arping -c 2 -w 4 -I c0 198.18.0.1
ipc ping -c 1 -W 2 -q 198.18.0.1 >/dev/null
lladdr=$(ipc ip neigh show 198.18.0.1 dev c0 | awk '{print $3}')
check "client learned weft's MAC ($lladdr = $mac)" test "$lladdr" = "$mac"
echo_in=$(weft_metric weft_events_total 'event="icmp_echo_in"')
check "icmp_echo_in counted ($echo_in >= 3)" test "$echo_in" -ge 3

# Malformed frames: each case is sent COUNT times and must move its counter by
# at least COUNT. The list of cases lives in malformed.py.
before="$TMP/before.prom"
weft_admin /stats/prometheus >"$before"
ipc /usr/bin/python3 "$HERE/malformed.py" --iface c0 --mac "$mac" --list >"$TMP/cases"
ipc /usr/bin/python3 "$HERE/malformed.py" --iface c0 --mac "$mac" --send >"$TMP/sent" 2>"$TMP/scapy.err" ||
	sed 's/^/# /' "$TMP/scapy.err"
sleep 0.5
after="$TMP/after.prom"
weft_admin /stats/prometheus >"$after"
sum_reason() {
	awk -v r="reason=\"$2\"" '$1 ~ /^weft_drops_total\{/ && index($1, r) { s += $2 } END { printf "%d\n", s }' "$1"
}
while read -r reason count desc; do
	# DPDK's af_packet joins a PACKET_FANOUT group with the defrag flag: the
	# kernel reassembles IPv4 before weft sees it and keeps lone fragments.
	if [ "$DRIVER" = af_packet ] && [ "$reason" = ip4_fragment ]; then
		tap_skip "malformed: $desc -> $reason (the kernel defragments IPv4 for af_packet fanout)"
		continue
	fi
	b=$(sum_reason "$before" "$reason")
	a=$(sum_reason "$after" "$reason")
	check "malformed: $desc -> $reason (+$((a - b)), want >= $count)" test $((a - b)) -ge "$count"
done <"$TMP/cases"

check "weftd alive after the barrage" kill -0 "$WEFTD_PID"
check "ping still answered after the barrage" ipc ping -c 2 -i 0.2 -W 2 -q 198.18.0.1
check "ping -6 still answered after the barrage" ipc ping -6 -c 2 -i 0.2 -W 2 -q 2001:db8::1
busy=$(weft_admin /stats/prometheus | awk '$1 ~ /^weft_worker_busy_percent\{/ {print $2; exit}')
check "busy percentage exported ($busy)" test -n "$busy"

weft_stop
rc=$?
check "weftd stops cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0
tap_done
