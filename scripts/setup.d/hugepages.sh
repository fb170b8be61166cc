# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Sourced by scripts/setup. Step 3: 2 MiB hugepages for DPDK.

HUGE_WANT=512
HUGE_MNT=/dev/hugepages

# The knob for 2 MiB pages: /proc/sys/vm/nr_hugepages when 2 MiB is the
# default hugepage size (x86_64), else the size-specific sysfs file.
huge_knob() {
	local def
	def=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo 2>/dev/null)
	if [ "$def" = 2048 ] && [ -e /proc/sys/vm/nr_hugepages ]; then
		echo /proc/sys/vm/nr_hugepages
	elif [ -e /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages ]; then
		echo /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	fi
}

huge_mounted() {
	awk -v m="$HUGE_MNT" '$2 == m && $3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}

setup_hugepages() {
	local knob have=0 free_pages
	knob=$(huge_knob)
	if [ -z "$knob" ]; then
		log "hugepages: this kernel offers no 2 MiB hugepages"
		echo "hugepages: none available; weft will run with --no-huge"
		summary "hugepages  none (kernel has no 2 MiB pages): run weft with --no-huge"
		return 0
	fi

	have=$(cat "$knob" 2>/dev/null || echo 0)
	if [ "$have" -lt "$HUGE_WANT" ]; then
		log "hugepages: $have reserved, asking for $HUGE_WANT"
		if ! echo "$HUGE_WANT" >"$knob" 2>/dev/null; then
			warn "could not write $knob"
		fi
		have=$(cat "$knob" 2>/dev/null || echo 0)
		if [ "$have" -lt "$HUGE_WANT" ]; then
			warn "got $have of $HUGE_WANT 2 MiB hugepages (memory fragmented or limited)"
		fi
	fi

	if [ "$have" -gt 0 ] && ! huge_mounted; then
		mkdir -p "$HUGE_MNT"
		if mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_MNT" 2>/dev/null ||
			mount -t hugetlbfs nodev "$HUGE_MNT" 2>/dev/null; then
			log "hugepages: mounted hugetlbfs on $HUGE_MNT"
		else
			warn "could not mount hugetlbfs on $HUGE_MNT"
		fi
	fi

	if [ "$have" -gt 0 ] && huge_mounted; then
		free_pages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo "?")
		echo "hugepages: $have x 2 MiB reserved ($free_pages free), hugetlbfs on $HUGE_MNT"
		summary "hugepages  $have x 2 MiB reserved ($free_pages free), hugetlbfs on $HUGE_MNT"
	else
		echo "hugepages: none usable; weft will run with --no-huge"
		summary "hugepages  none usable: run weft with --no-huge"
	fi
}
