/* SPDX-License-Identifier: MIT */
/* The library context: platform, logging, tracing, parameter values. */
#include "lib/private.h"

void *prqd__alloc(struct prqd_ctx *ctx, size_t size)
{
	return prqd__plat_alloc(&ctx->plat, size);
}

void prqd__free(struct prqd_ctx *ctx, void *p, size_t size)
{
	prqd__plat_free(&ctx->plat, p, size);
}

static const struct prqd_platform *default_platform(void)
{
#if defined(PRQD_HOSTED) && PRQD_HOSTED
	return prqd_platform_default();
#else
	return NULL;
#endif
}

PRQD_EXPORT int prqd_ctx_new(const struct prqd_ctx_opts *opts, struct prqd_ctx **out)
{
	if (!out)
		return -PRQD_EINVAL;
	if (opts && opts->size < offsetof(struct prqd_ctx_opts, flags) + sizeof(opts->flags))
		return -PRQD_EINVAL;
	if (opts && (opts->flags & ~(uint32_t)PRQD_CTX_IGNORE_ENV))
		return -PRQD_EINVAL;

	const struct prqd_platform *in = opts && opts->platform ? opts->platform : default_platform();
	struct prqd_plat plat;
	int rc = prqd__plat_fill(&plat, in);
	if (rc < 0)
		return rc;

	struct prqd_ctx *ctx = prqd__plat_alloc(&plat, sizeof(*ctx));
	if (!ctx)
		return -PRQD_ENOMEM;
	ctx->plat = plat;
	ctx->flags = opts ? opts->flags : 0;
	ctx->nparams = prqd__param_count(NULL);
	ctx->param_values = prqd__plat_alloc(&plat, ctx->nparams * sizeof(uint64_t));
	if (!ctx->param_values) {
		prqd__plat_free(&plat, ctx, sizeof(*ctx));
		return -PRQD_ENOMEM;
	}
	for (unsigned i = 0; i < ctx->nparams; i++)
		ctx->param_values[i] = prqd__param_def(NULL, i)->def;
	atomic_init(&ctx->refs, 1);

	if (!(ctx->flags & PRQD_CTX_IGNORE_ENV)) {
		const char *level = plat.p.getenv(plat.p.user, "PRQDRAIN_LOG");
		if (level)
			ctx->log_prio = prqd__log_prio_parse(level);
	}
	*out = ctx;
	return 0;
}

PRQD_EXPORT struct prqd_ctx *prqd_ctx_ref(struct prqd_ctx *ctx)
{
	if (ctx)
		atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
	return ctx;
}

PRQD_EXPORT struct prqd_ctx *prqd_ctx_unref(struct prqd_ctx *ctx)
{
	if (!ctx)
		return NULL;
	if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
		return NULL;
	struct prqd_plat plat = ctx->plat;
	prqd__plat_free(&plat, ctx->param_values, ctx->nparams * sizeof(uint64_t));
	prqd__plat_free(&plat, ctx, sizeof(*ctx));
	return NULL;
}

PRQD_EXPORT void prqd_ctx_set_trace_fn(struct prqd_ctx *ctx, prqd_trace_fn fn, void *user)
{
	if (!ctx)
		return;
	ctx->trace_fn = fn;
	ctx->trace_user = user;
}

/* ---- backends ---------------------------------------------------------------------------- */

const struct prqd_backend *prqd__backend_at(const struct prqd_ctx *ctx, unsigned index)
{
	unsigned builtin = 0;
	while (prqd_backends[builtin])
		builtin++;
	if (index < builtin)
		return prqd_backends[index];
	index -= builtin;
	return ctx && index < ctx->nadded ? &ctx->added[index] : NULL;
}

const struct prqd_backend *prqd__backend_find(const struct prqd_ctx *ctx, const char *name)
{
	const struct prqd_backend *be;
	for (unsigned i = 0; (be = prqd__backend_at(ctx, i)) != NULL; i++)
		if (prqd__strcmp(be->name, name) == 0)
			return be;
	return NULL;
}

PRQD_EXPORT const char *prqd_ctx_backend_name(const struct prqd_ctx *ctx, unsigned index,
					      const char **help)
{
	const struct prqd_backend *be = prqd__backend_at(ctx, index);
	if (be && help)
		*help = be->help;
	return be ? be->name : NULL;
}

PRQD_EXPORT const char *prqd_backend_name(unsigned index, const char **help)
{
	return prqd_ctx_backend_name(NULL, index, help);
}

/* Is @name "<prefix>.<something>"? */
static bool named_under(const char *name, const char *prefix)
{
	while (*prefix && *name == *prefix) {
		name++;
		prefix++;
	}
	return !*prefix && name[0] == '.' && name[1];
}

/* Are @be's parameters all named "<be->name>.<param>", new to @ctx and to each other, with
 * their defaults in range? Counts them in *@count. */
static bool params_valid(const struct prqd_ctx *ctx, const struct prqd_backend *be,
			 unsigned *count)
{
	*count = 0;
	for (const struct prqd_param_def *d = be->params; d && d->name; d++) {
		if (!named_under(d->name, be->name) || d->min > d->max || d->def < d->min ||
		    d->def > d->max)
			return false;
		if (prqd__param_find(ctx, d->name) >= 0)
			return false;
		for (const struct prqd_param_def *e = be->params; e != d; e++)
			if (prqd__strcmp(e->name, d->name) == 0)
				return false;
		(*count)++;
	}
	return true;
}

PRQD_EXPORT int prqd_ctx_add_backend(struct prqd_ctx *ctx, const struct prqd_backend *be)
{
	if (!ctx || !be || be->version == 0 || !be->name || !*be->name)
		return -PRQD_EINVAL;
	if (be->version > PRQD_BACKEND_VERSION) {
		prqd_err(ctx, "backend %s: contract version %u, this library knows up to %u",
			 be->name, (unsigned)be->version, (unsigned)PRQD_BACKEND_VERSION);
		return -PRQD_EOPNOTSUPP;
	}
	if (prqd__backend_find(ctx, be->name))
		return -PRQD_EEXIST;
	if (ctx->nadded == PRQD_CTX_BACKENDS_MAX)
		return -PRQD_ENOSPC;
	unsigned added_params;
	if (!params_valid(ctx, be, &added_params)) {
		prqd_err(ctx, "backend %s: a parameter is not named '%s.<param>', is taken, or "
			      "has its default out of range", be->name, be->name);
		return -PRQD_EINVAL;
	}
	/* The values grow by the new backend's parameters, at their defaults; IOMMUs opened
	 * before keep their snapshot. */
	unsigned nparams = ctx->nparams + added_params;
	uint64_t *values = prqd__plat_alloc(&ctx->plat, nparams * sizeof(uint64_t));
	if (!values)
		return -PRQD_ENOMEM;
	prqd__memcpy(values, ctx->param_values, ctx->nparams * sizeof(uint64_t));
	unsigned i = ctx->nparams;
	for (const struct prqd_param_def *d = be->params; d && d->name; d++)
		values[i++] = d->def;
	prqd__plat_free(&ctx->plat, ctx->param_values, ctx->nparams * sizeof(uint64_t));
	ctx->param_values = values;
	ctx->nparams = nparams;

	/* Version 1 is this header's whole struct; a later version copies the fields its
	 * caller's version has and leaves the rest zero (stubs). */
	struct prqd_backend *copy = &ctx->added[ctx->nadded++];
	*copy = *be;
	prqd__backend_fill_ops(&copy->ops, &be->ops);
	prqd_dbg(ctx, "backend %s added (%u parameters)", be->name, added_params);
	return 0;
}
