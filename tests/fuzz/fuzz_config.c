/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the config loader: any byte string must either load
 * into a config that respects the schema's bounds, or be refused with a
 * message in the documented "FILE:LINE..." form. The sanitizers catch the
 * rest (leaks of libyaml objects included).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static bool fault_on(const struct weft_fault_cfg *f)
{
	return f->drop > 0 || f->duplicate > 0 || f->corrupt > 0 || f->reorder > 0 || f->delay_us > 0 ||
	       f->jitter_us > 0;
}

static void check_fault(const struct weft_fault_cfg *f)
{
	CHECK(f->drop >= 0 && f->drop <= 1 && f->duplicate >= 0 && f->duplicate <= 1);
	CHECK(f->corrupt >= 0 && f->corrupt <= 1 && f->reorder >= 0 && f->reorder <= 1);
	CHECK(f->delay_us <= 10000000 && f->jitter_us <= 10000000);
}

static void check_config(const struct weft_config *cfg)
{
	CHECK(cfg->eal.n_workers >= 1 && cfg->eal.n_workers <= WEFT_CFG_MAX_WORKERS);
	CHECK(cfg->eal.n_args <= WEFT_CFG_MAX_EAL_ARGS);
	CHECK(cfg->eal.main_cpu >= 0);
	CHECK(cfg->n_ports >= 1 && cfg->n_ports <= WEFT_CFG_MAX_PORTS);
	CHECK(cfg->n_routes <= WEFT_CFG_MAX_ROUTES);
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		const struct weft_port_cfg *p = &cfg->ports[i];
		CHECK(p->name[0] != '\0' && memchr(p->name, '\0', sizeof(p->name)) != NULL);
		CHECK(p->n_addrs <= WEFT_CFG_MAX_ADDRS);
		CHECK(p->mtu >= 68 && p->mtu <= 9000);
		for (unsigned j = 0; j < p->n_addrs; j++) {
			CHECK(p->addrs[j].ip.af == 4 || p->addrs[j].ip.af == 6);
			CHECK(p->addrs[j].ip.af == 4 || p->mtu >= 1280);
		}
		check_fault(&p->fault_rx);
		check_fault(&p->fault_tx);
		CHECK(p->fault_enabled == (fault_on(&p->fault_rx) || fault_on(&p->fault_tx)));
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct weft_route_cfg *r = &cfg->routes[i];
		CHECK(r->via.af == r->dst.ip.af);
		if (r->port[0] == '\0')
			continue;
		unsigned j = 0;
		while (j < cfg->n_ports && strcmp(cfg->ports[j].name, r->port) != 0)
			j++;
		CHECK(j < cfg->n_ports);
	}
}

/* A prefix that parses formats to text that parses back to the same prefix. */
static void check_prefix_roundtrip(const uint8_t *data, size_t size)
{
	char s[128], out[64];
	struct weft_prefix p, q;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (weft_prefix_parse(s, &p) != 0)
		return;
	weft_prefix_fmt(&p, out, sizeof(out));
	CHECK(weft_prefix_parse(out, &q) == 0);
	CHECK(q.plen == p.plen && q.ip.af == p.ip.af);
	CHECK(weft_prefix_contains(&p, &q.ip));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct weft_config cfg; /* large: not on the stack */
	char err[WEFT_CFG_ERR_LEN];

	memset(err, 'x', sizeof(err));
	int rc = weft_config_parse((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc == 0) {
		CHECK(err[0] == '\0');
		check_config(&cfg);
	} else {
		CHECK(rc == -1);
		CHECK(strncmp(err, "fuzz.yaml:", 10) == 0);
	}
	check_prefix_roundtrip(data, size);
	return 0;
}
