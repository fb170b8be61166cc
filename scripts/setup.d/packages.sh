# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Sourced by scripts/setup. Step 1: Debian packages.

# Everything weft, its build, its tests and its benchmarks need.
WEFT_PACKAGES=(
	# build
	libdpdk-dev dpdk libhyperscan-dev libnuma-dev libnghttp2-dev libyaml-dev
	libjansson-dev libcmocka-dev meson ninja-build pkg-config gcc clang llvm
	libclang-rt-14-dev libbpf-dev libxdp-dev libpcap-dev
	# wolfSSL source build
	autoconf automake libtool dpkg-dev
	# tests and benchmarks
	python3 python3-scapy iproute2 iputils-ping iputils-arping ethtool curl wrk
	nghttp2-client haproxy nginx-light openssl gnutls-bin testssl.sh socat
	tcpdump procps psmisc jq node-llhttp slowhttptest python3-matplotlib
	# perf/tcp.sh's transport ceiling: dpdk-testpmd forwarding between the same ports
	dpdk-dev
)

# Packages whose maintainer scripts start a daemon on install.
WEFT_SERVICES=(nginx haproxy)

APT_OPTS=(
	-y -q --no-install-recommends
	-o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold
	-o DPkg::Lock::Timeout=600
)

# Prints the packages from "$@" that are not fully installed.
packages_missing() {
	local installed
	# ${db:Status-Abbrev} is "ii " for an installed package; unknown
	# packages are reported on stderr and simply absent from the output.
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
		awk '$2 == "ii" { print $1 }' || true)
	local p
	for p in "$@"; do
		if ! grep -qxF -- "$p" <<<"$installed"; then
			echo "$p"
		fi
	done
}

# A policy-rc.d that forbids starting services while we install; whatever was
# there before is put back afterwards.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_SAVED=/usr/sbin/policy-rc.d.weft-setup-saved

policy_rc_block() {
	if [ -e "$POLICY_RC" ] && [ ! -e "$POLICY_RC_SAVED" ]; then
		cp -p "$POLICY_RC" "$POLICY_RC_SAVED"
	fi
	printf '#!/bin/sh\n# installed by weft scripts/setup for the duration of apt-get install\nexit 101\n' \
		>"$POLICY_RC.tmp"
	chmod 0755 "$POLICY_RC.tmp"
	mv -f "$POLICY_RC.tmp" "$POLICY_RC"
}

policy_rc_restore() {
	if [ -e "$POLICY_RC_SAVED" ]; then
		mv -f "$POLICY_RC_SAVED" "$POLICY_RC"
	else
		rm -f "$POLICY_RC"
	fi
}

service_pidfile() {
	case "$1" in
	nginx) echo /run/nginx.pid ;;
	haproxy) echo /run/haproxy.pid ;;
	esac
}

# For services whose package was just installed: make sure no daemon was left
# running and that it does not start at boot. Instances that were running
# before the install (pid file present then) are not ours and are left alone.
services_quiesce() {
	local svc pidfile pid
	for svc in "$@"; do
		pidfile=$(service_pidfile "$svc")
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
			systemctl disable --now "$svc" >/dev/null 2>&1 || true
		else
			if [ -x "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null 2>&1; then
				update-rc.d "$svc" disable >/dev/null 2>&1 || true
			fi
			if [ -n "$pidfile" ] && [ -s "$pidfile" ] &&
				[ -z "${PIDFILE_BEFORE[$svc]:-}" ]; then
				pid=$(head -n1 "$pidfile" | tr -dc 0-9)
				if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
					log "stopping $svc (pid $pid) started by its package install"
					if [ -x "/etc/init.d/$svc" ]; then
						"/etc/init.d/$svc" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
					else
						kill "$pid" 2>/dev/null || true
					fi
				fi
			fi
		fi
	done
}

setup_packages() {
	local missing
	mapfile -t missing < <(packages_missing "${WEFT_PACKAGES[@]}")
	if [ "${#missing[@]}" -eq 0 ]; then
		log "packages: all ${#WEFT_PACKAGES[@]} installed, apt not needed"
		summary "packages   all ${#WEFT_PACKAGES[@]} present"
		packages_check_scapy
		return 0
	fi

	local missing_before=("${missing[@]}")
	log "packages: installing ${#missing[@]} missing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive

	# Remember which services already had a pid file (someone else's daemon).
	declare -gA PIDFILE_BEFORE=()
	local svc pidfile newly=()
	for svc in "${WEFT_SERVICES[@]}"; do
		pidfile=$(service_pidfile "$svc")
		if [ -s "$pidfile" ]; then PIDFILE_BEFORE[$svc]=1; fi
	done
	for svc in "${WEFT_SERVICES[@]}"; do
		case " ${missing[*]} " in
		*" $svc "* | *" $svc-"*) newly+=("$svc") ;;
		esac
	done
	# nginx-light pulls in nginx-common, which ships the service.
	case " ${missing[*]} " in *" nginx-light "*) newly+=(nginx) ;; esac

	policy_rc_block
	trap 'policy_rc_restore' EXIT
	local rc=0
	apt-get update -q -o DPkg::Lock::Timeout=600 || rc=$?
	if [ "$rc" -eq 0 ]; then
		apt-get install "${APT_OPTS[@]}" "${missing[@]}" || rc=$?
	fi
	policy_rc_restore
	trap - EXIT
	if [ "${#newly[@]}" -gt 0 ]; then
		local uniq
		mapfile -t uniq < <(printf '%s\n' "${newly[@]}" | sort -u)
		services_quiesce "${uniq[@]}"
	fi
	[ "$rc" -eq 0 ] || die "apt-get failed (exit $rc)"

	mapfile -t missing < <(packages_missing "${WEFT_PACKAGES[@]}")
	if [ "${#missing[@]}" -gt 0 ]; then
		die "still not installed after apt-get: ${missing[*]}"
	fi
	summary "packages   all ${#WEFT_PACKAGES[@]} present (${#missing_before[@]} installed now)"
	packages_check_scapy
}

# scapy is Debian's package, used through Debian's interpreter; the python3
# first on PATH may be a different one (pyenv) that does not have it.
packages_check_scapy() {
	if /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
		summary "scapy      $(dpkg-query -W -f='${Version}' python3-scapy 2>/dev/null) via /usr/bin/python3 (use that interpreter, not the one on PATH)"
	else
		warn "/usr/bin/python3 cannot import scapy"
		summary "scapy      NOT importable by /usr/bin/python3"
	fi
}
