/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Named drop reasons and event counters.
 *
 * Every refused packet is counted under exactly one reason from WEFT_DROPS.
 * The list generates the enum, the exported names (used verbatim as the
 * Prometheus label value and the JSON key) and the help text, so a new reason
 * is one new line here and nothing else.
 *
 * Counters are per worker and written only by their worker; the management
 * thread reads them without locks. WEFT_CTR_ADD() is a relaxed load and
 * store, which compiles to a plain add on x86: no locked instruction on the
 * hot path, and the reader never sees a torn 64-bit value.
 */
#ifndef WEFT_DATAPLANE_COUNTERS_H
#define WEFT_DATAPLANE_COUNTERS_H

#include <stdint.h>

/* X(ENUM_SUFFIX, "name", "help") */
#define WEFT_DROPS(X)                                                                              \
	X(ETH_TOO_SHORT, "eth_too_short", "frame shorter than an Ethernet header")                 \
	X(ETH_NOT_FOR_US, "eth_not_for_us", "destination MAC is neither ours, broadcast nor a group we joined") \
	X(ETH_BAD_SRC, "eth_bad_src", "source MAC is multicast or broadcast")                      \
	X(ETH_UNKNOWN_TYPE, "eth_unknown_type", "ethertype not handled (not IPv4, IPv6 or ARP)")   \
	X(ETH_VLAN, "eth_vlan", "VLAN-tagged frame on an untagged port")                           \
	X(ARP_MALFORMED, "arp_malformed", "ARP packet truncated or not Ethernet/IPv4")              \
	X(ARP_BAD_OP, "arp_bad_op", "ARP operation neither request nor reply")                     \
	X(ARP_BAD_SENDER, "arp_bad_sender", "ARP sender address is broadcast, multicast or ours")  \
	X(ARP_NOT_FOR_US, "arp_not_for_us", "ARP target address is not one of ours")               \
	X(IP4_TOO_SHORT, "ip4_too_short", "packet shorter than an IPv4 header")                    \
	X(IP4_BAD_VERSION, "ip4_bad_version", "IP version field is not 4")                         \
	X(IP4_BAD_IHL, "ip4_bad_ihl", "IPv4 header length below 5 words or beyond the packet")     \
	X(IP4_BAD_CHECKSUM, "ip4_bad_checksum", "IPv4 header checksum mismatch")                   \
	X(IP4_BAD_LENGTH, "ip4_bad_length", "IPv4 total length below the header or beyond the frame") \
	X(IP4_TTL_ZERO, "ip4_ttl_zero", "IPv4 TTL of zero, which no host may send")                \
	X(IP4_OPTIONS, "ip4_options", "IPv4 header carries options")                               \
	X(IP4_FRAGMENT, "ip4_fragment", "IPv4 fragment (reassembly not supported)")                \
	X(IP4_BAD_SRC, "ip4_bad_src", "IPv4 source is multicast, broadcast, loopback or ours")     \
	X(IP4_NOT_FOR_US, "ip4_not_for_us", "IPv4 destination is not one of our addresses")        \
	X(IP4_UNKNOWN_PROTO, "ip4_unknown_proto", "IPv4 protocol without a handler")               \
	X(IP4_NO_ROUTE, "ip4_no_route", "no IPv4 route to the destination")                        \
	X(ICMP_TOO_SHORT, "icmp_too_short", "ICMP message shorter than its header")                \
	X(ICMP_BAD_CHECKSUM, "icmp_bad_checksum", "ICMP checksum mismatch")                        \
	X(ICMP_UNHANDLED_TYPE, "icmp_unhandled_type", "ICMP type other than echo request")         \
	X(IP6_TOO_SHORT, "ip6_too_short", "packet shorter than an IPv6 header")                    \
	X(IP6_BAD_VERSION, "ip6_bad_version", "IP version field is not 6")                         \
	X(IP6_BAD_LENGTH, "ip6_bad_length", "IPv6 payload length beyond the frame")                \
	X(IP6_BAD_SRC, "ip6_bad_src", "IPv6 source is multicast, loopback or ours")                \
	X(IP6_NOT_FOR_US, "ip6_not_for_us", "IPv6 destination is not ours nor a group we joined")  \
	X(IP6_FRAGMENT, "ip6_fragment", "IPv6 fragment (reassembly not supported)")                \
	X(IP6_EXT_HEADER, "ip6_ext_header", "IPv6 extension header not supported")                 \
	X(IP6_UNKNOWN_PROTO, "ip6_unknown_proto", "IPv6 next header without a handler")            \
	X(IP6_NO_ROUTE, "ip6_no_route", "no IPv6 route to the destination")                        \
	X(ICMP6_TOO_SHORT, "icmp6_too_short", "ICMPv6 message shorter than its header")            \
	X(ICMP6_BAD_CHECKSUM, "icmp6_bad_checksum", "ICMPv6 checksum mismatch")                    \
	X(ICMP6_UNHANDLED_TYPE, "icmp6_unhandled_type", "ICMPv6 type weft does not answer")        \
	X(ND_MALFORMED, "nd_malformed", "neighbour discovery message malformed (RFC 4861 7.1.1)") \
	X(ND_BAD_HOP_LIMIT, "nd_bad_hop_limit", "neighbour discovery hop limit is not 255")        \
	X(ND_NOT_FOR_US, "nd_not_for_us", "neighbour solicitation for an address not ours")        \
	X(ND_TARGET_OURS, "nd_target_ours", "neighbour advertisement claims one of our addresses") \
	X(NEIGH_QUEUE_FULL, "neigh_queue_full", "packet waiting for address resolution over the queue bound") \
	X(NEIGH_TIMEOUT, "neigh_timeout", "address resolution failed; waiting packet dropped")     \
	X(NEIGH_TABLE_FULL, "neigh_table_full", "neighbour table full; packet needing resolution dropped") \
	X(TCP_NO_LISTENER, "tcp_no_listener", "TCP segment for a port without a listener")         \
	X(UDP_NO_LISTENER, "udp_no_listener", "UDP datagram for a port without a listener")        \
	X(TX_FULL, "tx_full", "transmit queue full")                                               \
	X(NO_MBUF, "no_mbuf", "mbuf pool exhausted")                                               \
	X(DISPATCH_FULL, "dispatch_full", "software dispatch ring to another worker full")         \
	X(FAULT_DROP, "fault_drop", "dropped by configured fault injection")                       \
	X(FAULT_QUEUE_FULL, "fault_queue_full", "fault-injection delay queue full")                \
	X(TCP_BAD_HEADER, "tcp_bad_header", "TCP segment shorter than its header or data offset out of range") \
	X(TCP_BAD_CHECKSUM, "tcp_bad_checksum", "TCP checksum mismatch")                           \
	X(TCP_BAD_FLAGS, "tcp_bad_flags", "TCP flags not allowed in the connection state (no ACK, SYN with FIN/RST)") \
	X(TCP_NO_CONN, "tcp_no_conn", "TCP segment for no connection (answered with RST)")         \
	X(TCP_CONN_LIMIT, "tcp_conn_limit", "SYN refused with RST: every connection object of the worker in use") \
	X(TCP_SYN_BACKLOG_FULL, "tcp_syn_backlog_full", "SYN over the backlog with SYN cookies off") \
	X(TCP_BAD_COOKIE, "tcp_bad_cookie", "ACK carrying an invalid or expired SYN cookie")       \
	X(TCP_PAWS, "tcp_paws", "TCP segment with an old timestamp (PAWS, RFC 7323 5)")            \
	X(TCP_OUT_OF_WINDOW, "tcp_out_of_window", "TCP segment outside the receive window (answered with an ACK)") \
	X(TCP_BAD_ACK, "tcp_bad_ack", "TCP ACK for data never sent or too old (RFC 5961 5)")       \
	X(TCP_BAD_RST, "tcp_bad_rst", "RST outside the window or not exactly at RCV.NXT (RFC 5961 3)") \
	X(TCP_BAD_SYN, "tcp_bad_syn", "SYN on a synchronized connection (RFC 5961 4, challenge ACK)") \
	X(TCP_OOO_FULL, "tcp_ooo_full", "out-of-order segment over the queue bound")               \
	X(TCP_AFTER_CLOSE, "tcp_after_close", "data for a connection the application closed (answered with RST)") \
	X(TCP_PROXY_LISTENER_FULL, "tcp_proxy_listener_full", "connection refused with RST: the listener's max_connections share of the worker in use") \
	X(TCP_PROXY_NO_SESSION, "tcp_proxy_no_session", "connection refused with RST: every tcp_proxy session object of the worker in use") \
	X(TCP_PROXY_LISTENER_GONE, "tcp_proxy_listener_gone", "handshake completed after a reload removed its listener (reset)") \
	X(TCP_PROXY_CONNECT_ERROR, "tcp_proxy_connect_error", "downstream reset: no upstream connection could be opened (no route, source port or connection object)") \
	X(TCP_PROXY_CONNECT_REFUSED, "tcp_proxy_connect_refused", "downstream reset: the upstream refused the connection") \
	X(TCP_PROXY_CONNECT_TIMEOUT, "tcp_proxy_connect_timeout", "downstream reset: the upstream handshake took longer than connect_timeout_ms") \
	X(HTTP_LISTENER_FULL, "http_listener_full", "connection refused with RST: the http listener's max_connections share of the worker in use") \
	X(HTTP_NO_STREAM, "http_no_stream", "connection refused with RST: every HTTP stream object of the worker in use") \
	X(HTTP_LISTENER_GONE, "http_listener_gone", "handshake completed after a reload removed its http listener (reset)")

/* Things that happened, not refusals. */
#define WEFT_EVENTS(X)                                                                             \
	X(ARP_REQUEST_IN, "arp_request_in", "ARP requests received for our addresses")             \
	X(ARP_REPLY_IN, "arp_reply_in", "ARP replies received")                                    \
	X(ARP_REQUEST_OUT, "arp_request_out", "ARP requests sent")                                 \
	X(ARP_REPLY_OUT, "arp_reply_out", "ARP replies sent")                                      \
	X(ARP_GRATUITOUS_IN, "arp_gratuitous_in", "gratuitous ARP announcements received")         \
	X(ICMP_ECHO_IN, "icmp_echo_in", "ICMP echo requests received")                            \
	X(ICMP_ECHO_OUT, "icmp_echo_out", "ICMP echo replies sent")                                \
	X(ND_NS_IN, "nd_ns_in", "neighbour solicitations received")                                \
	X(ND_NA_IN, "nd_na_in", "neighbour advertisements received")                               \
	X(ND_NS_OUT, "nd_ns_out", "neighbour solicitations sent")                                  \
	X(ND_NA_OUT, "nd_na_out", "neighbour advertisements sent")                                 \
	X(ICMP6_ECHO_IN, "icmp6_echo_in", "ICMPv6 echo requests received")                         \
	X(ICMP6_ECHO_OUT, "icmp6_echo_out", "ICMPv6 echo replies sent")                            \
	X(NEIGH_LEARNED, "neigh_learned", "neighbour entries learned or refreshed")                \
	X(FAULT_DELAYED, "fault_delayed", "packets held back by fault injection delay")            \
	X(FAULT_REORDERED, "fault_reordered", "packets reordered by fault injection")              \
	X(FAULT_DUPLICATED, "fault_duplicated", "packets duplicated by fault injection")           \
	X(FAULT_CORRUPTED, "fault_corrupted", "packets corrupted by fault injection")

#define WEFT_X_ENUM_DROP(e, n, h) WEFT_DROP_##e,
enum weft_drop { WEFT_DROPS(WEFT_X_ENUM_DROP) WEFT_DROP_MAX };
#undef WEFT_X_ENUM_DROP

#define WEFT_X_ENUM_EVENT(e, n, h) WEFT_EV_##e,
enum weft_event { WEFT_EVENTS(WEFT_X_ENUM_EVENT) WEFT_EV_MAX };
#undef WEFT_X_ENUM_EVENT

extern const char *const weft_drop_name[WEFT_DROP_MAX];
extern const char *const weft_drop_help[WEFT_DROP_MAX];
extern const char *const weft_event_name[WEFT_EV_MAX];
extern const char *const weft_event_help[WEFT_EV_MAX];

#define WEFT_MAX_PORTS 8
#define WEFT_MAX_WORKERS 16

struct weft_port_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
};

/*
 * One per worker, cache aligned, written only by that worker.
 * Readers (management thread) use WEFT_CTR_READ().
 */
struct weft_worker_counters {
	uint64_t drops[WEFT_DROP_MAX];
	uint64_t events[WEFT_EV_MAX];
	struct weft_port_counters port[WEFT_MAX_PORTS];
	uint64_t busy_cycles;  /* TSC cycles of iterations that handled work */
	uint64_t idle_cycles;  /* TSC cycles of iterations that found nothing */
	uint64_t iterations;
} __attribute__((aligned(64)));

#define WEFT_CTR_ADD(field, n)                                                                     \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n),               \
			 __ATOMIC_RELAXED)
#define WEFT_CTR_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
