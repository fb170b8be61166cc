/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "dataplane/counters.h"

#define X_NAME(e, n, h) [WEFT_DROP_##e] = n,
#define X_HELP(e, n, h) [WEFT_DROP_##e] = h,
const char *const weft_drop_name[WEFT_DROP_MAX] = {WEFT_DROPS(X_NAME)};
const char *const weft_drop_help[WEFT_DROP_MAX] = {WEFT_DROPS(X_HELP)};
#undef X_NAME
#undef X_HELP

#define X_NAME(e, n, h) [WEFT_EV_##e] = n,
#define X_HELP(e, n, h) [WEFT_EV_##e] = h,
const char *const weft_event_name[WEFT_EV_MAX] = {WEFT_EVENTS(X_NAME)};
const char *const weft_event_help[WEFT_EV_MAX] = {WEFT_EVENTS(X_HELP)};
#undef X_NAME
#undef X_HELP
