/* SPDX-License-Identifier: MIT */
/*
 * Parameters by name: the core's table, then each compiled-in backend's (static data: their
 * indices are the same in every context), then those of the backends added to the context
 * (prqd_ctx_add_backend()).
 */
#include "lib/private.h"

static const struct prqd_param_def core_params[] = {
	[PRQD_P_DRAIN_TIMEOUT_MS] = { "core.drain_timeout_ms",
				      "deadline of a drain (and of unbind's drain) when the caller "
				      "passes 0, in milliseconds",
				      1000, 1, 3600000, NULL },
	[PRQD_P_POOL_MAX] = { "core.pool_max",
			      "largest request pool per device; a device's pool is its PRI "
			      "allocation capped at this, plus core.pool_slack",
			      4096, 1, 1u << 20, NULL },
	[PRQD_P_POOL_SLACK] = { "core.pool_slack",
				"extra pool entries per device for devices that exceed their "
				"allocation and for groups a handler holds after an unbind",
				64, 0, 1u << 16, NULL },
	[PRQD_P_FETCH_BATCH] = { "core.fetch_batch", "requests read from the queue per backend call",
				 32, 1, 1024, NULL },
};

unsigned prqd__param_count(const struct prqd_ctx *ctx)
{
	unsigned n = 0;
	while (prqd__param_def(ctx, n))
		n++;
	return n;
}

const struct prqd_param_def *prqd__param_def(const struct prqd_ctx *ctx, unsigned index)
{
	if (index < PRQD_ARRAY_SIZE(core_params))
		return &core_params[index];
	index -= PRQD_ARRAY_SIZE(core_params);
	const struct prqd_backend *be;
	for (unsigned b = 0; (be = prqd__backend_at(ctx, b)) != NULL; b++) {
		for (const struct prqd_param_def *d = be->params; d && d->name; d++) {
			if (index == 0)
				return d;
			index--;
		}
	}
	return NULL;
}

int prqd__param_find(const struct prqd_ctx *ctx, const char *name)
{
	if (!name)
		return -PRQD_ENOENT;
	const struct prqd_param_def *d;
	for (unsigned i = 0; (d = prqd__param_def(ctx, i)) != NULL; i++)
		if (prqd__strcmp(d->name, name) == 0)
			return (int)i;
	return -PRQD_ENOENT;
}

static const char *const bool_false[] = { "off", "no", "false", NULL };
static const char *const bool_true[] = { "on", "yes", "true", NULL };

static bool word_in(const char *const *list, const char *word)
{
	for (; *list; list++)
		if (prqd__strcmp(*list, word) == 0)
			return true;
	return false;
}

PRQD_EXPORT int prqd_parse_u64(const char *s, bool hex, uint64_t *out)
{
	if (!s || !out)
		return -PRQD_EINVAL;
	unsigned base = 10;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -PRQD_EINVAL;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned digit;
		if (*s >= '0' && *s <= '9')
			digit = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = (unsigned)(*s - 'A' + 10);
		else
			return -PRQD_EINVAL;
		if (v > (UINT64_MAX - digit) / base)
			return -PRQD_ERANGE;
		v = v * base + digit;
	}
	*out = v;
	return 0;
}

int prqd__param_parse(const struct prqd_param_def *def, const char *value, uint64_t *out)
{
	if (!value)
		return -PRQD_EINVAL;
	uint64_t v;
	if (def->names) {
		for (v = 0; def->names[v]; v++)
			if (prqd__strcmp(def->names[v], value) == 0)
				break;
		if (!def->names[v] && prqd_parse_u64(value, true, &v) < 0)
			return -PRQD_EINVAL;
	} else if (def->min == 0 && def->max == 1 && word_in(bool_false, value)) {
		v = 0;
	} else if (def->min == 0 && def->max == 1 && word_in(bool_true, value)) {
		v = 1;
	} else if (prqd_parse_u64(value, true, &v) < 0) {
		return -PRQD_EINVAL;
	}
	if (v < def->min || v > def->max)
		return -PRQD_EINVAL;
	*out = v;
	return 0;
}

PRQD_EXPORT int prqd_ctx_set_param(struct prqd_ctx *ctx, const char *name, const char *value)
{
	if (!ctx)
		return -PRQD_EINVAL;
	int idx = prqd__param_find(ctx, name);
	if (idx < 0) {
		prqd_warn(ctx, "unknown parameter '%s'", name ? name : "(null)");
		return idx;
	}
	uint64_t v;
	int rc = prqd__param_parse(prqd__param_def(ctx, (unsigned)idx), value, &v);
	if (rc < 0) {
		prqd_warn(ctx, "bad value '%s' for parameter %s", value ? value : "(null)", name);
		return rc;
	}
	ctx->param_values[idx] = v;
	prqd_dbg(ctx, "parameter %s = %llu", name, (unsigned long long)v);
	return 0;
}

PRQD_EXPORT int prqd_ctx_get_param(const struct prqd_ctx *ctx, const char *name, uint64_t *value)
{
	if (!ctx || !value)
		return -PRQD_EINVAL;
	int idx = prqd__param_find(ctx, name);
	if (idx < 0)
		return idx;
	*value = ctx->param_values[idx];
	return 0;
}

PRQD_EXPORT int prqd_param_walk(int (*fn)(void *user, const struct prqd_param_info *info),
				void *user)
{
	return prqd_ctx_param_walk(NULL, fn, user);
}

PRQD_EXPORT int prqd_ctx_param_walk(const struct prqd_ctx *ctx,
				    int (*fn)(void *user, const struct prqd_param_info *info),
				    void *user)
{
	if (!fn)
		return -PRQD_EINVAL;
	const struct prqd_param_def *d;
	for (unsigned i = 0; (d = prqd__param_def(ctx, i)) != NULL; i++) {
		struct prqd_param_info info = {
			.name = d->name, .help = d->help, .def = d->def,
			.min = d->min,   .max = d->max,   .names = d->names,
		};
		int rc = fn(user, &info);
		if (rc)
			return rc;
	}
	return 0;
}
