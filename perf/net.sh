#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "net": ICMP echo round trip through weftd against the
# Linux kernel answering on the same topology (the same veth, the same
# address, weftd stopped), and weftd's worker busy percentage idle and under
# a ping flood. Prints JSON lines.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/topo.sh"
DRIVER=${DRIVER:-af_packet}
COUNT=${COUNT:-2000}
TMP=$(mktemp -d /tmp/weft-perf-net.XXXXXX)
trap 'topo_down; rm -rf "$TMP"' EXIT

topo_up 0
cat >"$TMP/weft.yaml" <<YAML
eal:
  main_cpu: 0
  worker_cpus: [0]
  hugepages: $(weft_hugepages)
  file_prefix: ${TOPO_ID}
ports:
  - name: p0
    driver: $DRIVER
    iface: p0
    addresses: [198.18.0.1/24, "2001:db8::1/64"]
YAML

# rtt FAMILY ADDR -> "p50 p99" in microseconds, client pinned to cpu 1.
rtt() {
	ipc taskset -c 1 ping "$1" -c "$COUNT" -i 0.002 -W 1 "$2" 2>/dev/null |
		/usr/bin/python3 -c '
import re, sys
t = sorted(float(m.group(1)) * 1000 for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read()))
if not t:
    print("0 0"); sys.exit()
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print("%.1f %.1f" % (q(0.50), q(0.99)))'
}
busy() { weft_admin /stats/prometheus | awk '$1 ~ /^weft_worker_busy_percent\{/ {print $2; exit}'; }

weft_start "$TMP/weft.yaml" "$TMP/weftd.log" || { cat "$TMP/weftd.log" >&2; exit 1; }
ipc ping -c 2 -q 198.18.0.1 >/dev/null
sleep 2.5
busy_idle=$(busy)
ipc taskset -c 1 timeout 4 ping -f -w 3 -q 198.18.0.1 >"$TMP/flood" 2>&1 &
flood_pid=$!
sleep 2.5
busy_flood=$(busy)
wait "$flood_pid"
flood_rate=$(awk -F'[ ,]+' '/packets transmitted/ {print $1 / 3}' "$TMP/flood")
read -r w4_50 w4_99 < <(rtt -4 198.18.0.1)
read -r w6_50 w6_99 < <(rtt -6 2001:db8::1)
weft_stop

# The kernel answers on the very same interface and addresses.
ipw sysctl -qw net.ipv6.conf.p0.disable_ipv6=0
ipw ip addr add 198.18.0.1/24 dev p0
ipw ip -6 addr add 2001:db8::1/64 dev p0 nodad
ipc ip neigh flush dev c0
sleep 1
read -r k4_50 k4_99 < <(rtt -4 198.18.0.1)
read -r k6_50 k6_99 < <(rtt -6 2001:db8::1)

line() { # case metric weft peer_value
	/usr/bin/python3 -c '
import json, sys
c, m, w, p = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
print(json.dumps({"bench": "net", "case": c, "metric": m, "unit": "us", "weft": w, "peer": "linux",
                  "peer_value": p, "ratio": round(w / p, 3) if p else None, "better": "lower"}))' "$@"
}
line "icmp-echo-v4-$DRIVER" rtt_p50 "$w4_50" "$k4_50"
line "icmp-echo-v4-$DRIVER" rtt_p99 "$w4_99" "$k4_99"
line "icmp-echo-v6-$DRIVER" rtt_p50 "$w6_50" "$k6_50"
line "icmp-echo-v6-$DRIVER" rtt_p99 "$w6_99" "$k6_99"
printf '{"bench":"net","case":"worker-idle-%s","metric":"busy","unit":"%%","weft":%s}\n' "$DRIVER" "${busy_idle:-null}"
printf '{"bench":"net","case":"worker-ping-flood-%s","metric":"busy","unit":"%%","weft":%s,"flood_pps":%s}\n' "$DRIVER" "${busy_flood:-null}" "${flood_rate:-null}"
