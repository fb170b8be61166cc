/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weftd: start-up and shutdown. The order matters: config first (so a bad
 * file never touches the machine), then EAL, ports, workers' state, the
 * first snapshot, the admin API, and only then the workers' loops.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/net/net.h"
#include "dataplane/proxy/health.h"
#include "dataplane/proxy/http_proxy.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "drivers/port.h"
#include "policy/admin.h"
#include "policy/httpcfg.h"
#include "policy/mgmt/mgmt.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls.h"
#include "dataplane/tls/tls_ulp.h"
#include "policy/mgmt/tls_mgmt.h"
#endif

volatile sig_atomic_t weft_sig_stop;
volatile sig_atomic_t weft_sig_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		weft_sig_reload = 1;
	else
		weft_sig_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: weftd -c FILE [-- EAL arguments]\n"
		   "       weftd --validate FILE\n"
		   "\n"
		   "  -c, --config FILE    run with this configuration (YAML)\n"
		   "      --validate FILE  check a configuration and exit (0 valid, 1 not)\n"
		   "  -h, --help           this text\n"
		   "\n"
		   "Signals: SIGHUP reloads the configuration file; SIGINT and SIGTERM stop.\n");
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%.400s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The stack parameters from the tcp section (mirrored field by field, see policy/config.h). */
static void tcp_params_from_cfg(const struct weft_config *cfg, struct tcp_params *p)
{
	const struct weft_tcp_cfg *t = &cfg->tcp;

	tcp_params_default(p);
	p->max_conns = t->max_connections;
	p->sndbuf = t->sndbuf;
	p->rcvbuf = t->rcvbuf;
	p->syn_backlog = t->syn_backlog;
	p->syncookies = t->syncookies;
	p->opt_wscale = t->window_scaling;
	p->opt_ts = t->timestamps;
	p->opt_sack = t->sack;
	p->cc = t->congestion == WEFT_TCP_CC_NEWRENO ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
	p->rto_initial_ms = t->rto_initial_ms;
	p->rto_min_ms = t->rto_min_ms;
	p->rto_max_ms = t->rto_max_ms;
	p->max_retries = t->max_retries;
	p->syn_retries = t->syn_retries;
	p->delack_ms = t->delayed_ack_ms;
	p->time_wait_ms = t->time_wait_ms;
	p->fin_wait2_ms = t->fin_wait2_ms;
	p->keepalive_ms = t->keepalive_ms;
	p->keepalive_intvl_ms = t->keepalive_interval_ms;
	p->keepalive_probes = t->keepalive_probes;
	p->ooo_max_segs = t->ooo_max_segments;
	p->ooo_max_bytes = t->ooo_max_bytes;
	p->challenge_ack_per_s = t->challenge_acks_per_s;
	p->ephemeral_lo = t->ephemeral_port_min;
	p->ephemeral_hi = t->ephemeral_port_max;
	/* af_xdp in DPDK 22.11 sends single-segment frames only. */
	for (unsigned i = 0; i < cfg->n_ports && i < 8; i++)
		if (cfg->ports[i].driver == WEFT_DRV_AF_XDP)
			p->linear_tx_ports |= (uint8_t)(1u << i);
}

static int setup_workers(struct weft_mgmt *m, char *err, size_t errlen)
{
	struct tcp_params tp;
	int rc;

	unsigned nw = m->n_workers;
	unsigned nports = weft_port_count();

	m->workers = rte_zmalloc("weft_workers", sizeof(struct weft_worker) * nw, RTE_CACHE_LINE_SIZE);
	m->ctrs = rte_zmalloc("weft_ctrs", sizeof(struct weft_worker_counters) * nw, RTE_CACHE_LINE_SIZE);
	if (m->workers == NULL || m->ctrs == NULL) {
		snprintf(err, errlen, "cannot allocate worker state");
		return -1;
	}
	for (unsigned i = 0; i < nw; i++) {
		struct weft_worker *w = &m->workers[i];
		unsigned lcore = i + 1; /* lcore 0 is the management thread (see drivers/eal.c) */
		int socket = weft_lcore_socket(lcore);
		char name[RTE_RING_NAMESIZE];

		w->id = i;
		w->lcore = lcore;
		w->n_workers = nw;
		w->peers = m->workers;
		w->ctr = &m->ctrs[i];
		w->pool = weft_port_pool(socket);
		w->snap_slot = &m->pub.slot;
		w->qsbr = m->pub.qsbr;
		w->hz = rte_get_tsc_hz();
		w->running = &m->running;
		w->n_ports = (uint16_t)nports;
		if (nw > 1) {
			snprintf(name, sizeof(name), "weft_inbox%u", i);
			w->inbox = rte_ring_create(name, 4096, socket, RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "weft_neigh%u", i);
			w->neigh_in = rte_ring_create(name, 1024, socket, RING_F_SC_DEQ);
			if (w->inbox == NULL || w->neigh_in == NULL) {
				snprintf(err, errlen, "worker %u: cannot create rings", i);
				return -1;
			}
		}
		if (net_neigh_init(w) != 0) {
			snprintf(err, errlen, "worker %u: cannot allocate the neighbour table", i);
			return -1;
		}
		/* Every worker runs a TCP stack and tcp_proxy, listeners or not: a reload may add them. */
		tcp_params_from_cfg(&m->cfg, &tp);
		if ((rc = tcp_stack_init(w, &tp)) != 0) {
			snprintf(err, errlen, "worker %u: cannot create the TCP stack: %s", i, strerror(-rc));
			return -1;
		}
		if ((rc = tcp_proxy_init(w, tp.max_conns / 2 ? tp.max_conns / 2 : 1, 0, 0)) != 0) {
			snprintf(err, errlen, "worker %u: cannot allocate tcp_proxy sessions: %s", i, strerror(-rc));
			return -1;
		}
		/* HTTP streams and upstream connections share the stack's connection objects too. */
		if ((rc = http_proxy_init(w, tp.max_conns / 2 ? tp.max_conns / 2 : 1, tp.max_conns / 2 ? tp.max_conns / 2 : 1)) != 0) {
			snprintf(err, errlen, "worker %u: cannot allocate HTTP streams: %s", i, strerror(-rc));
			return -1;
		}
		/* Health checks too, with or without a health_check block now: a reload may add one. */
		if ((rc = health_init(w)) != 0) {
			snprintf(err, errlen, "worker %u: cannot allocate the health checker: %s", i, strerror(-rc));
			return -1;
		}
#ifdef WEFT_HAVE_TLS
		if ((rc = tls_ulp_init(w)) != 0) {
			snprintf(err, errlen, "worker %u: cannot set up TLS: %s", i, strerror(-rc));
			return -1;
		}
#endif
	}
	/*
	 * Queue ownership: worker w polls queue w of every port that has one
	 * for it. Queues spread by our own RSS key can be processed where they
	 * land; anything else (a kernel fanout hash, a single queue) goes
	 * through the software dispatcher so that a flow's frames always reach
	 * the worker that the Toeplitz hash with our key names.
	 */
	for (uint16_t p = 0; p < nports; p++) {
		const struct weft_port_info *pi = weft_port_info(p);
		bool dispatch = nw > 1 && !pi->rss;
		for (unsigned i = 0; i < nw && i < pi->n_rxq; i++) {
			struct weft_worker *w = &m->workers[i];
			w->rxq[w->n_rxq++] = (struct weft_rxq){
				.port = p, .queue = (uint16_t)i, .dispatch = dispatch};
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"validate", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct weft_mgmt m; /* large: keep it off the stack */
	char err[WEFT_CFG_ERR_LEN];
	const char *cfg_path = NULL, *validate = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 'V': validate = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}

	if (validate != NULL) {
		struct weft_config *cfg = malloc(sizeof(*cfg));
		if (cfg == NULL)
			return 1;
		int rc = weft_config_load(validate, cfg, err, sizeof(err));
		if (rc == 0) {
			/* What only the compilers judge: regexes, domains, balancer tables. */
			struct weft_http_snap *hs = NULL;
			rc = weft_http_compile(cfg, NULL, cfg->eal.n_workers, &hs, err, sizeof(err));
			weft_http_snap_free(hs);
#ifdef WEFT_HAVE_TLS
			/* Certificates, keys, bundles and CRLs are read and checked like at start-up. */
			if (rc == 0) {
				struct weft_snapshot *ts = calloc(1, sizeof(*ts));
				rc = ts == NULL ? -1 : weft_tls_compile(cfg, ts, err, sizeof(err));
				if (ts != NULL) {
					for (unsigned k = 0; k < WEFT_L4_MAX_LISTENERS; k++)
						tls_ulp_cfg_unref(ts->tls_listener[k]);
					for (unsigned k = 0; k < WEFT_L4_MAX_CLUSTERS; k++)
						tls_ulp_cfg_unref(ts->tls_cluster[k]);
					free(ts);
				}
			}
#endif
		}
		if (rc == 0)
			printf("%s: valid\n", validate);
		else
			fprintf(stderr, "%s\n", err);
		free(cfg);
		return rc == 0 ? 0 : 1;
	}
	if (cfg_path == NULL) {
		usage(stderr);
		return 2;
	}

	size_t len;
	char *text = read_file(cfg_path, &len, err, sizeof(err));
	if (text == NULL || weft_config_parse(text, len, cfg_path, &m.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		free(text);
		return 1;
	}
	snprintf(m.cfg_path, sizeof(m.cfg_path), "%s", cfg_path);
	m.cfg_hash = weft_hash_bytes(text, len);
	m.cfg_text = text; /* kept for /config_dump; replaced by every applied reload */
	m.cfg_len = len;
	m.n_workers = m.cfg.eal.n_workers;
	m.started_at = time(NULL);

	/* Everything after "--" goes to the EAL. */
	if (weft_eal_start(&m.cfg, argv[0], argc - optind, argv + optind, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		return 1;
	}
#ifdef WEFT_HAVE_TLS
	{
		char info[256];
		tls_build_info(info, sizeof(info));
		printf("weftd: TLS: %s\n", info);
		fflush(stdout);
	}
#endif
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	if (weft_ports_start(&m.cfg, m.n_workers, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		goto out_eal;
	}
	if (weft_publisher_init(&m.pub, m.n_workers, err, sizeof(err)) != 0 ||
	    setup_workers(&m, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		goto out_ports;
	}
	struct weft_snapshot *s = weft_mgmt_compile(&m.cfg, m.cfg_hash, err, sizeof(err));
	if (s == NULL || weft_mgmt_compile_http(&m.pub, &m.cfg, s, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		weft_snapshot_free(s);
		goto out_ports;
	}
	weft_publish(&m.pub, s);
	m.applied_at = s->applied_at;
	if (weft_mgmt_admin_open(&m, err, sizeof(err)) != 0) {
		fprintf(stderr, "weftd: %s\n", err);
		goto out_ports;
	}

	m.running = true;
	for (unsigned i = 0; i < m.n_workers; i++) {
		if (rte_eal_remote_launch(weft_worker_main, &m.workers[i], m.workers[i].lcore) != 0) {
			fprintf(stderr, "weftd: cannot launch worker %u on lcore %u\n", i, m.workers[i].lcore);
			weft_sig_stop = 1;
			break;
		}
	}
	for (unsigned p = 0; p < weft_port_count(); p++) {
		const struct weft_port_info *pi = weft_port_info((uint16_t)p);
		fprintf(stderr,
			"weftd: port %s: mac %02x:%02x:%02x:%02x:%02x:%02x, %u rx / %u tx queues%s, mtu %u\n",
			pi->name, pi->mac[0], pi->mac[1], pi->mac[2], pi->mac[3], pi->mac[4], pi->mac[5],
			pi->n_rxq, pi->n_txq, pi->rss ? " (rss)" : " (software dispatch)", pi->mtu);
	}
	fprintf(stderr, "weftd: %u worker(s) running; admin on port %u\n", m.n_workers,
		(unsigned)weft_admin_port(m.admin));

	weft_mgmt_loop(&m);
	rc = 0;

	fprintf(stderr, "weftd: stopping\n");
	__atomic_store_n(&m.running, false, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	weft_admin_close(m.admin);
	for (unsigned i = 0; i < m.n_workers; i++) {
		/* Sessions before the stack: the proxy holds payload, the stack owns the connections. */
		tcp_proxy_free(&m.workers[i]);
		http_proxy_free(&m.workers[i]);
		health_free(&m.workers[i]);
		tcp_stack_free(&m.workers[i]);
		net_neigh_free(&m.workers[i]);
		rte_ring_free(m.workers[i].inbox);
		rte_ring_free(m.workers[i].neigh_in);
	}
	weft_publisher_fini(&m.pub);
	free(m.cfg_text);
out_ports:
	weft_ports_stop();
out_eal:
	rte_eal_cleanup();
	return rc;
}
