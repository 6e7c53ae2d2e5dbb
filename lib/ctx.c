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
	ctx->nparams = prqd__param_count();
	ctx->param_values = prqd__plat_alloc(&plat, ctx->nparams * sizeof(uint64_t));
	if (!ctx->param_values) {
		prqd__plat_free(&plat, ctx, sizeof(*ctx));
		return -PRQD_ENOMEM;
	}
	for (unsigned i = 0; i < ctx->nparams; i++)
		ctx->param_values[i] = prqd__param_def(i)->def;
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

PRQD_EXPORT const char *prqd_backend_name(unsigned index, const char **help)
{
	for (unsigned i = 0; prqd_backends[i]; i++) {
		if (i == index) {
			if (help)
				*help = prqd_backends[i]->help;
			return prqd_backends[i]->name;
		}
	}
	return NULL;
}
