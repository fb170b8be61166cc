/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the YAML loader: what policy/config.c lends to the loaders of
 * other sections (policy/config_http.c), so that every section walks the
 * document with the same helpers and words its refusals the same way
 * ("FILE:LINE: key.path: what is wrong"), and the hooks config.c calls.
 *
 * The helpers are thin wrappers over config.c's own (static) ones. Each
 * returns -1 after filling the error, as they do.
 */
#ifndef WEFT_POLICY_CONFIG_YAML_H
#define WEFT_POLICY_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "policy/config.h"

#define WEFT_CFGY_PATH_LEN 160

/* The loader's state (config.c's struct ctx), opaque here. */
struct weft_cfg_ctx;

/* One known key of a mapping: its value (NULL when absent) and the line of the key. */
struct weft_cfgy_field {
	const char *key;
	yaml_node_t *val;
	int key_line;
};

__attribute__((format(printf, 4, 5))) int weft_cfgy_fail(struct weft_cfg_ctx *c, int line, const char *path,
							 const char *fmt, ...);
const char *weft_cfgy_file(const struct weft_cfg_ctx *c);
int weft_cfgy_line(const yaml_node_t *n);
bool weft_cfgy_is_null(const yaml_node_t *n);
size_t weft_cfgy_seq_len(const yaml_node_t *n);
yaml_node_t *weft_cfgy_seq_item(struct weft_cfg_ctx *c, const yaml_node_t *n, size_t i);
/** Match the keys of mapping n against f (unknown and repeated keys refused, with a suggestion). */
int weft_cfgy_fields(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path, struct weft_cfgy_field *f,
		     size_t nf);
/** The text of a scalar (NULL after an error: "expected WHAT"). */
const char *weft_cfgy_scalar(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path, const char *what);
int weft_cfgy_u64(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path, uint64_t lo, uint64_t hi,
		  uint64_t *out);
int weft_cfgy_bool(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path, bool *out);
/** A name of [a-z0-9_-]{1,31}; what names it ("a route config name") goes into the message. */
const char *weft_cfgy_name(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path, const char *what);
void weft_cfgy_path_key(char *out, const char *parent, const char *key);
void weft_cfgy_path_idx(char *out, const char *parent, size_t i);
/** s made safe to quote in a message: printable ASCII, at most 60 characters and "...". */
const char *weft_cfgy_show(const char *s, char out[72]);

/* ---- hooks config.c calls (policy/config_http.c) ---- */

/** Top level: route_configs (n may be NULL). Runs after clusters, before listeners. */
int weft_cfgh_route_configs(struct weft_cfg_ctx *c, const yaml_node_t *n, struct weft_config *cfg);

/** The HTTP keys of clusters[idx] (NULL when absent); lb_policy is already in cl->lb. */
int weft_cfgh_cluster(struct weft_cfg_ctx *c, const char *path, struct weft_cluster_cfg *cl,
		      const yaml_node_t *hash_policy, const yaml_node_t *ring_hash, const yaml_node_t *maglev,
		      const yaml_node_t *least_request, const yaml_node_t *max_idle,
		      const yaml_node_t *idle_timeout, struct weft_config *cfg);

/** An endpoint's locality (n NULL when absent). */
int weft_cfgh_endpoint(struct weft_cfg_ctx *c, const char *path, const yaml_node_t *locality,
		       struct weft_endpoint_cfg *e, struct weft_config *cfg);

/**
 * The keys of an http listener: route_config (a name, or an inline mapping),
 * request_timeout_ms, request_header_timeout_ms; line is the listener's (for "required key is missing").
 */
int weft_cfgh_listener(struct weft_cfg_ctx *c, const char *path, int line, const yaml_node_t *route_config,
		       const yaml_node_t *request_timeout, const yaml_node_t *request_header_timeout,
		       struct weft_listener_cfg *l, struct weft_config *cfg);

/**
 * The resilience keys of clusters[idx] (policy/config_res.c): circuit_breakers,
 * outlier_detection, panic_threshold_percent (NULL when absent). Fills the
 * defaults first.
 */
int weft_cfgh_cluster_resilience(struct weft_cfg_ctx *c, const char *path, struct weft_cluster_cfg *cl,
				 const yaml_node_t *breakers, const yaml_node_t *outlier, const yaml_node_t *panic);

/** A route's retry_policy (n NULL or null: the defaults) into r (policy/config_res.c). */
int weft_cfgh_retry_policy(struct weft_cfg_ctx *c, const yaml_node_t *n, const char *path,
			   struct weft_retry_policy *r);

/**
 * A cluster's health_check block (policy/config_hc.c); n NULL when absent.
 * cl->name must be set (the default Host). Always fills cl->hc (kind
 * WEFT_HC_NONE when absent).
 */
int weft_cfg_health_check(struct weft_cfg_ctx *c, const char *path, const yaml_node_t *n,
			  struct weft_cluster_cfg *cl);

/** The lb_policy names of enum weft_lb_policy; 0 or -1. */
int weft_cfgh_lb_policy(const char *s, enum weft_lb_policy *out);

/* ---- hooks config.c calls (policy/config_tls.c) ---- */

/** A listener's tls block (n not NULL); l->kind is known. Sets l->tls. */
int weft_cfgt_listener(struct weft_cfg_ctx *c, const char *lpath, const yaml_node_t *n, struct weft_listener_cfg *l,
		       struct weft_config *cfg);
/** A cluster's tls block (n not NULL). Sets cl->tls. */
int weft_cfgt_cluster(struct weft_cfg_ctx *c, const char *cpath, const yaml_node_t *n, struct weft_cluster_cfg *cl,
		      struct weft_config *cfg);
/** An allow_principals list at path into cfg->tls.principals; *out its range. */
int weft_cfgt_principals(struct weft_cfg_ctx *c, const char *path, const yaml_node_t *n, struct weft_config *cfg,
			 struct weft_cfg_range *out);

#endif
