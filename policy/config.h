/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration model: what an operator writes in weft.yaml, parsed and
 * validated but not yet compiled. Plain C, no DPDK, so it unit-tests alone.
 *
 * Addresses are kept in network byte order (IPv4 as a uint32_t holding the
 * four bytes as they appear on the wire, IPv6 as 16 bytes).
 */
#ifndef WEFT_POLICY_CONFIG_H
#define WEFT_POLICY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config_http.h"
#include "policy/config_tls.h"

#define WEFT_CFG_MAX_PORTS 8
#define WEFT_CFG_MAX_WORKERS 16
#define WEFT_CFG_MAX_ADDRS 8
#define WEFT_CFG_MAX_ROUTES 256
#define WEFT_CFG_MAX_EAL_ARGS 32
#define WEFT_CFG_MAX_LISTENERS 64
#define WEFT_CFG_MAX_CLUSTERS 64
#define WEFT_CFG_MAX_CLUSTER_ENDPOINTS 256 /* per cluster */
#define WEFT_CFG_MAX_ENDPOINTS 4096        /* all clusters together */
#define WEFT_CFG_NAME_LEN 32
#define WEFT_CFG_ERR_LEN 512
#define WEFT_CFG_MAX_SIZE (4u << 20) /* largest config accepted, file or API body */

enum weft_port_driver {
	WEFT_DRV_AF_PACKET,
	WEFT_DRV_AF_XDP,
	WEFT_DRV_TAP,
	WEFT_DRV_MEMIF,
	WEFT_DRV_RING,
	WEFT_DRV_NULL,
	WEFT_DRV_PCAP,
	WEFT_DRV_PCI,
};

/* An address family-tagged IP address. */
struct weft_ip {
	uint8_t af; /* 4 or 6 */
	union {
		uint32_t v4;     /* network byte order */
		uint8_t v6[16];
	};
};

struct weft_prefix {
	struct weft_ip ip;
	uint8_t plen;
};

/* Packet faults for one direction of one port. Probabilities in [0,1]. */
struct weft_fault_cfg {
	double drop;
	double duplicate;
	double corrupt;  /* flip one random byte past the Ethernet header */
	double reorder;  /* hold a packet back and release it after the next one */
	uint32_t delay_us;  /* fixed added latency */
	uint32_t jitter_us; /* uniform extra latency in [0, jitter_us] */
};

struct weft_port_cfg {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_port_driver driver;
	char iface[WEFT_CFG_NAME_LEN]; /* kernel interface (af_packet, af_xdp, tap), memif socket id, pcap file */
	char pci[WEFT_CFG_NAME_LEN];   /* PCI address for driver pci */
	char devargs[256];              /* extra devargs appended verbatim */
	uint16_t mtu;
	uint16_t rx_desc;
	uint16_t tx_desc;
	unsigned n_addrs;
	struct weft_prefix addrs[WEFT_CFG_MAX_ADDRS]; /* our addresses with their connected prefix */
	bool has_gw4;
	struct weft_ip gw4;
	bool has_gw6;
	struct weft_ip gw6;
	uint64_t fault_seed;
	bool fault_enabled;
	struct weft_fault_cfg fault_rx;
	struct weft_fault_cfg fault_tx;
	int line; /* source line, for later error messages */
};

struct weft_route_cfg {
	struct weft_prefix dst;
	struct weft_ip via;
	char port[WEFT_CFG_NAME_LEN]; /* optional; derived from the connected subnet of via */
	int line;
};

struct weft_eal_cfg {
	int main_cpu;                         /* cpu of the management thread */
	unsigned n_workers;
	int worker_cpus[WEFT_CFG_MAX_WORKERS]; /* one worker per entry */
	unsigned memory_mb;
	bool hugepages;                       /* false: --no-huge */
	char file_prefix[64];
	unsigned mbufs_per_worker;
	unsigned n_args;
	char args[WEFT_CFG_MAX_EAL_ARGS][128]; /* extra EAL arguments, verbatim */
};

struct weft_admin_cfg {
	struct weft_ip addr; /* must be loopback */
	uint16_t port;
};

enum weft_listener_kind {
	WEFT_LISTENER_TCP_PROXY, /* pipe bytes to an endpoint of a cluster */
	WEFT_LISTENER_HTTP,      /* HTTP/1.1 proxy: every request routed by a route config */
	WEFT_LISTENER_TLS_PASSTHROUGH, /* route the raw TLS stream to a cluster by the ClientHello's SNI */
};

#define WEFT_CFG_MAX_SNI 512     /* server names of every tls_passthrough listener together */
#define WEFT_CFG_SNI_LEN 256     /* a DNS name (253) with room for the NUL */

/*
 * One server name of a tls_passthrough listener's sni_routes: "a.b" (exact),
 * "*.b" (any name ending in ".b", at least one byte before it) or "*"
 * (anything). Kept lower case.
 */
struct weft_sni_cfg {
	char name[WEFT_CFG_SNI_LEN];
	unsigned cluster_idx; /* index into weft_config.clusters */
	int line;
};

/*
 * A listener: where weft accepts connections and what it does with them.
 * Listeners live in the snapshot and change on reload.
 */
struct weft_listener_cfg {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_listener_kind kind;
	struct weft_ip addr;  /* one of the ports' addresses, or 0.0.0.0 / :: (every address of the family) */
	bool any;             /* addr is the unspecified address */
	uint16_t port;
	char cluster[WEFT_CFG_NAME_LEN];
	unsigned cluster_idx; /* index into weft_config.clusters */
	uint32_t connect_timeout_ms; /* upstream handshake deadline */
	uint32_t idle_timeout_ms;    /* no byte either way for this long: both sides reset; 0 = never */
	uint32_t max_connections;    /* across workers; each admits ceil(max / workers) */
	int line;
	/* kind http (policy/config_http.c) */
	unsigned route_config;       /* index into weft_config.http.rc */
	uint32_t request_timeout_ms; /* time to the response head, unless the route sets timeout_ms */
	uint32_t request_header_timeout_ms; /* a whole request head within this from its first byte, else 408; 0: none */
	/* kind tls_passthrough: names in weft_config.sni[sni_first .. sni_first + n_sni) */
	unsigned sni_first, n_sni;
	/* kind http and tcp_proxy: 0 plaintext, else 1 + index into weft_config.tls.blocks */
	unsigned tls;
};

enum weft_lb_policy {
	WEFT_LB_ROUND_ROBIN, /* smooth weighted round robin, per worker */
	/* HTTP clusters only (policy/lb.h; the same order as enum weft_lb_algo): */
	WEFT_LB_LEAST_REQUEST, /* power of two choices on in-flight requests */
	WEFT_LB_RANDOM,        /* weighted random */
	WEFT_LB_RING_HASH,     /* consistent hashing on a ring */
	WEFT_LB_MAGLEV,        /* Maglev lookup table */
};

/* Where ring_hash and maglev take a request's key from (hash_policy). */
enum weft_hash_key {
	WEFT_HASH_NONE,
	WEFT_HASH_HEADER,
	WEFT_HASH_COOKIE,
	WEFT_HASH_SOURCE_IP,
};

struct weft_endpoint_cfg {
	struct weft_ip addr;
	uint16_t port;
	uint32_t weight;
	int line;
	weft_cfg_str locality; /* "region/zone/subzone" in weft_config.http.str, 0: none */
};

/* circuit_breakers of a cluster (policy/resilience.h): limits across all workers. */
struct weft_breaker_cfg {
	uint32_t max_connections;      /* upstream connections */
	uint32_t max_pending_requests; /* requests waiting for a connection */
	uint32_t max_requests;         /* requests in flight */
	uint32_t max_retries;          /* retries in flight; 0: no fixed cap (the budget governs) */
	bool budget_enabled;           /* retry_budget (on by default) */
	uint32_t budget_percent;       /* retries in flight up to this % of the requests in flight ... */
	uint32_t min_retry_concurrency; /* ... or this many, whichever is larger */
};

/* outlier_detection of a cluster. A threshold of 0 turns that detector off. */
struct weft_outlier_cfg {
	bool enabled;
	uint32_t consecutive_5xx;
	uint32_t consecutive_gateway_failure;
	uint32_t consecutive_local_origin_failure;
	uint32_t interval_ms;          /* success-rate evaluation period */
	uint32_t base_ejection_time_ms; /* ejection time = base * times ejected, up to max */
	uint32_t max_ejection_time_ms;
	uint32_t max_ejection_percent; /* at least one endpoint may always be ejected */
	uint32_t success_rate_minimum_hosts; /* 0: no success-rate ejection */
	uint32_t success_rate_request_volume; /* per endpoint and interval, to count */
	uint32_t success_rate_stdev_factor; /* /1000: eject below mean - factor * stdev */
};

/* Active health checks of a cluster's endpoints (policy/config_hc.c, dataplane/proxy/health.h). */
enum weft_hc_kind {
	WEFT_HC_NONE, /* no health_check block: no active checks */
	WEFT_HC_TCP,  /* healthy when the TCP handshake completes in time */
	WEFT_HC_HTTP, /* healthy when GET path answers an expected status in time */
};

#define WEFT_HC_MAX_STATUS_RANGES 16

struct weft_health_check_cfg {
	enum weft_hc_kind kind;
	char path[256];            /* kind http: request target, starts with '/' */
	char host[256];            /* kind http: Host header; the cluster name when not given */
	uint16_t status_lo[WEFT_HC_MAX_STATUS_RANGES], status_hi[WEFT_HC_MAX_STATUS_RANGES];
	unsigned n_status;         /* kind http: ranges of expected statuses (inclusive), >= 1 */
	uint32_t interval_ms;      /* from the end of one check to the start of the next ... */
	uint32_t jitter_ms;        /* ... plus a random 0..jitter_ms */
	uint32_t timeout_ms;       /* a check not done by then failed */
	uint32_t healthy_threshold;   /* consecutive successes that make an unhealthy endpoint healthy */
	uint32_t unhealthy_threshold; /* consecutive failures that make a healthy endpoint unhealthy */
	int line;                  /* of the health_check key's value */
};

struct weft_cluster_cfg {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_lb_policy lb;
	unsigned first_endpoint; /* into weft_config.endpoints */
	unsigned n_endpoints;    /* 1..WEFT_CFG_MAX_CLUSTER_ENDPOINTS */
	int line;
	/* Used by http listeners (policy/config_http.c); tcp_proxy balances round robin. */
	enum weft_hash_key hash_key;
	char hash_name[64];      /* header or cookie name */
	uint32_t ring_min, ring_max; /* ring_hash sizes, 0: defaults */
	uint32_t maglev_size;    /* 0: default */
	uint32_t choice_count;   /* least_request, 0: 2 */
	uint32_t max_idle;       /* idle upstream connections kept per endpoint and worker */
	uint32_t pool_idle_timeout_ms; /* an idle upstream connection is closed after this */
	/* Resilience (policy/resilience.h) */
	struct weft_breaker_cfg breakers;
	struct weft_outlier_cfg outlier;
	uint32_t panic_threshold_percent; /* fewer usable endpoints than this %: balance across all */
	struct weft_health_check_cfg hc; /* kind WEFT_HC_NONE: no active checks */
	unsigned tls;                    /* 0 plaintext, else 1 + index into weft_config.tls.blocks */
};

/** The breaker, outlier and panic defaults every cluster starts from (docs/configuration.md). */
void weft_cluster_resilience_defaults(struct weft_cluster_cfg *cl);

enum weft_tcp_cc {
	WEFT_TCP_CC_CUBIC,
	WEFT_TCP_CC_NEWRENO,
};

/*
 * Tuning of each worker's TCP stack: the fields of struct tcp_params
 * (dataplane/tcp/tcp.h) as plain values, so the config stays free of
 * DPDK. Bound at start-up: changing any of it needs a restart.
 */
struct weft_tcp_cfg {
	uint32_t max_connections;  /* connection objects per worker, TIME_WAIT included */
	uint32_t sndbuf;           /* bytes */
	uint32_t rcvbuf;           /* bytes */
	uint32_t syn_backlog;
	bool syncookies;
	bool window_scaling;
	bool timestamps;
	bool sack;
	enum weft_tcp_cc congestion;
	uint32_t rto_initial_ms;
	uint32_t rto_min_ms;
	uint32_t rto_max_ms;
	uint32_t max_retries;
	uint32_t syn_retries;
	uint32_t delayed_ack_ms;
	uint32_t time_wait_ms;
	uint32_t fin_wait2_ms;
	uint32_t keepalive_ms;     /* 0 = off */
	uint32_t keepalive_interval_ms;
	uint32_t keepalive_probes;
	uint32_t ooo_max_segments;
	uint32_t ooo_max_bytes;    /* 0 = rcvbuf */
	uint32_t challenge_acks_per_s;
	uint16_t ephemeral_port_min;
	uint16_t ephemeral_port_max;
};

struct weft_config {
	struct weft_eal_cfg eal;
	unsigned n_ports;
	struct weft_port_cfg ports[WEFT_CFG_MAX_PORTS];
	unsigned n_routes;
	struct weft_route_cfg routes[WEFT_CFG_MAX_ROUTES];
	struct weft_admin_cfg admin;
	unsigned n_listeners;
	struct weft_listener_cfg listeners[WEFT_CFG_MAX_LISTENERS];
	unsigned n_clusters;
	struct weft_cluster_cfg clusters[WEFT_CFG_MAX_CLUSTERS];
	unsigned n_endpoints;
	struct weft_endpoint_cfg endpoints[WEFT_CFG_MAX_ENDPOINTS]; /* clusters' endpoints, in order */
	struct weft_tcp_cfg tcp;
	struct weft_http_cfg http; /* route configs (policy/config_http.h) */
	unsigned n_sni;
	struct weft_sni_cfg sni[WEFT_CFG_MAX_SNI]; /* tls_passthrough listeners' server names, in order */
	struct weft_tls_cfg tls;   /* tls blocks of listeners and clusters (policy/config_tls.h) */
};

/**
 * Parse and validate a YAML configuration held in memory.
 *
 * @param text, len  the YAML document
 * @param name       file name used in error messages
 * @param cfg        filled on success; unspecified on failure
 * @param err        on failure, "NAME:LINE: KEY.PATH: what is wrong"
 * @return 0 on success, -1 on error (err filled)
 */
int weft_config_parse(const char *text, size_t len, const char *name, struct weft_config *cfg,
		      char *err, size_t errlen);

/** Read FILE and call weft_config_parse(). Returns 0 or -1 with err filled. */
int weft_config_load(const char *path, struct weft_config *cfg, char *err, size_t errlen);

/** Fill cfg with defaults (what an empty document means). */
void weft_config_defaults(struct weft_config *cfg);

/** Parse "198.18.0.1" or "2001:db8::1". Returns 0 or -1. */
int weft_ip_parse(const char *s, struct weft_ip *ip);
/** Parse "198.18.0.0/15" or "2001:db8::/32". Returns 0 or -1. */
int weft_prefix_parse(const char *s, struct weft_prefix *p);
/** Format into buf (at least 48 bytes). Returns buf. */
char *weft_ip_fmt(const struct weft_ip *ip, char *buf, size_t len);
/** True when addr lies inside prefix (same family). */
bool weft_prefix_contains(const struct weft_prefix *p, const struct weft_ip *addr);

const char *weft_driver_name(enum weft_port_driver d);

/** Driver by its config name ("af_packet", ...). Returns 0, or -1 for an unknown name. */
int weft_driver_parse(const char *s, enum weft_port_driver *d);
/** Format "198.18.0.0/15" into buf (at least 52 bytes). Returns buf. */
char *weft_prefix_fmt(const struct weft_prefix *p, char *buf, size_t len);
/** Fill t with the TCP stack defaults (those of tcp_params_default()). */
void weft_tcp_cfg_defaults(struct weft_tcp_cfg *t);
/** "cubic" or "newreno". */
const char *weft_tcp_cc_name(enum weft_tcp_cc cc);

/** Fill hc with a health_check block's defaults (kind WEFT_HC_NONE: what no block means). */
void weft_cfg_health_check_defaults(struct weft_health_check_cfg *hc);

/** Fill one port with the defaults a port entry starts from (mtu 1500, 1024 descriptors, fault seed 1). */
void weft_port_cfg_defaults(struct weft_port_cfg *p);

#endif
