/* SPDX-License-Identifier: MIT */
/* Logging through the context's sink: formatted on the stack, never allocated. */
#include "lib/private.h"

void prqd__vlog(const struct prqd_ctx *ctx, int prio, const char *file, int line, const char *fn,
		const char *fmt, va_list ap)
{
	char msg[256];
	prqd_vfmt(msg, sizeof(msg), fmt, ap);
	if (ctx->log_fn)
		ctx->log_fn(ctx->log_user, prio, file, line, fn, msg);
	else /* PRQDRAIN_LOG set and nobody listening: the platform's own sink (stderr) */
		ctx->plat.p.log(ctx->plat.p.user, prio, file, line, fn, msg);
}

void prqd__log(const struct prqd_ctx *ctx, int prio, const char *file, int line, const char *fn,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	prqd__vlog(ctx, prio, file, line, fn, fmt, ap);
	va_end(ap);
}

PRQD_EXPORT void prqd_ctx_set_log_fn(struct prqd_ctx *ctx, prqd_log_fn fn, void *user)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_user = user;
}

PRQD_EXPORT void prqd_ctx_set_log_priority(struct prqd_ctx *ctx, int prio)
{
	if (ctx)
		ctx->log_prio = prio;
}

PRQD_EXPORT int prqd_ctx_get_log_priority(const struct prqd_ctx *ctx)
{
	return ctx ? ctx->log_prio : 0;
}

int prqd__log_prio_parse(const char *s)
{
	static const struct {
		const char *name;
		int prio;
	} names[] = {
		{ "err", PRQD_LOG_ERR },   { "error", PRQD_LOG_ERR },      { "warning", PRQD_LOG_WARNING },
		{ "warn", PRQD_LOG_WARNING }, { "info", PRQD_LOG_INFO }, { "debug", PRQD_LOG_DEBUG },
	};
	for (unsigned i = 0; i < PRQD_ARRAY_SIZE(names); i++)
		if (prqd__strcmp(s, names[i].name) == 0)
			return names[i].prio;
	if (s[0] >= '0' && s[0] <= '9' && s[1] == '\0')
		return s[0] - '0';
	return 0;
}
