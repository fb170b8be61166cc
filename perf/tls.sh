#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Benchmark family "tls": weft's TLS engine in process on one core (full
# handshakes with ECDSA P-256 and RSA-2048, resumed handshakes, bulk
# AES-128-GCM through tls_write/tls_read), each next to a bound computed
# from `openssl speed` figures measured in the same run, on the same core.
# Prints JSON lines; perf/README.md (TLS section) explains the bounds.
#
# Environment: CPU (core to pin to, default 1), SECS (seconds per repeat,
# default 3), REPEATS (default 3), BENCH_TLS (path of bench_tls; default from
# $WEFTD as perf/run sets it, else build/perf/bench_tls).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CPU=${CPU:-1}
SECS=${SECS:-3}
REPEATS=${REPEATS:-3}
if [ -z "${BENCH_TLS:-}" ]; then
	if [ -n "${WEFTD:-}" ]; then
		BENCH_TLS=$(cd "$(dirname "$WEFTD")/../.." && pwd)/perf/bench_tls
	else
		BENCH_TLS=$ROOT/build/perf/bench_tls
	fi
fi
[ -x "$BENCH_TLS" ] || { echo "tls.sh: $BENCH_TLS missing (build with -Dtls=enabled)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "tls.sh: openssl missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/weft-perf-tls.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/tests/lib/certs.sh" "$TMP" >/dev/null

pin() { taskset -c "$CPU" "$@"; }

# openssl speed -mr prints "+F4:<n>:256:<sign/s>:<verify/s>" (ECDSA),
# "+F2:<n>:2048:<sign/s>:<verify/s>" (RSA), "+F5:<n>:253:<op/s>:<s/op>"
# (X25519) and "+F:<n>:AES-128-GCM:<bytes/s>" (one block size asked).
speed() { pin openssl speed -mr -seconds "$SECS" "$@" 2>/dev/null | grep '^+F'; }
field() { awk -F: -v f="$1" '{ print $f; exit }'; }

ec=$(speed ecdsap256)
rsa=$(speed rsa2048)
x=$(speed ecdhx25519)
gcm=$(speed -bytes 16384 -evp aes-128-gcm)

args=(
	"ecdsa_sign=$(field 4 <<<"$ec")" "ecdsa_verify=$(field 5 <<<"$ec")"
	"rsa_sign=$(field 4 <<<"$rsa")" "rsa_verify=$(field 5 <<<"$rsa")"
	"x25519=$(field 4 <<<"$x")" "gcm=$(field 4 <<<"$gcm")"
)
echo "# tls.sh: openssl $(openssl version | cut -d' ' -f2) on cpu $CPU: ${args[*]}" >&2

pin "$BENCH_TLS" "$TMP" -t "$SECS" -r "$REPEATS" "${args[@]}"
