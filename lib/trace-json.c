/* SPDX-License-Identifier: MIT */
/*
 * trace-json.c: Chrome / Perfetto trace JSON from prqdrain trace events.
 *
 * The document is {"traceEvents":[ ... ],"displayTimeUnit":"ns"}. Everything is in process 1
 * ("prqdrain"); each (requester ID, PASID or none) gets its own thread-like track, named by a
 * "thread_name" metadata event the first time it appears, plus one "iommu" track for events of
 * the whole queue (overflow). A drain is a duration slice ("B" at PRQD_TR_DRAIN_BEGIN, "E" at
 * PRQD_TR_DRAIN_END) on its bond's track; every other event is an instant on that track.
 *
 * Perfetto reads pid and tid as 32-bit numbers, so tracks get small sequential ids from a
 * fixed table allocated with the writer (no allocation per event). Past TJ_MAX_TRACKS tracks
 * the rest share one "other tracks" track; their args still name the RID and PASID.
 *
 * Events may arrive from several threads (a deferred prqd_respond() traces in its caller's
 * thread): a platform lock serialises them. The writer stops writing at the first error of
 * the write callback and reports it from prqd_trace_json_finish().
 */
#include "lib/private.h"

#define TJ_MAX_TRACKS 1024u
#define TJ_SLOTS 2048u /* power of two, twice the tracks: short probe sequences */
#define TJ_TID_IOMMU 1u
#define TJ_TID_FIRST 2u
#define TJ_TID_OTHER (TJ_TID_FIRST + TJ_MAX_TRACKS)
#define TJ_BUF 1024

struct tj_slot {
	uint64_t key; /* 0: empty */
	uint32_t tid;
};

struct prqd_trace_json {
	struct prqd_ctx *ctx;
	prqd_write_fn write;
	void *user;
	void *lock;
	int error;     /* first error, 0 if none */
	uint32_t ntracks;
	bool other_named;
	struct tj_slot slots[TJ_SLOTS];
};

/* A bounded text buffer; prqd_fmt keeps it terminated and reports overflow by its length. */
struct tj_buf {
	char text[TJ_BUF];
	size_t len; /* may exceed the buffer: the event did not fit */
};

static void tj_add(struct tj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tj_add(struct tj_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= sizeof(b->text))
		return;
	va_start(ap, fmt);
	n = prqd_vfmt(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
	va_end(ap);
	b->len = n < 0 ? sizeof(b->text) : b->len + (size_t)n;
}

/* Append @s as a JSON string (quotes included), escaping what JSON requires. */
static void tj_add_str(struct tj_buf *b, const char *s)
{
	tj_add(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			tj_add(b, "\\%c", c);
		else if (c < 0x20)
			tj_add(b, "\\u%04x", c);
		else
			tj_add(b, "%c", c);
	}
	tj_add(b, "\"");
}

/* Hand a finished piece to the write callback; remembers the first error, then stays quiet. */
static void tj_emit(struct prqd_trace_json *tw, const struct tj_buf *b)
{
	int ret;

	if (tw->error)
		return;
	if (b->len >= sizeof(b->text)) {
		/* Cannot happen with the bounded fields below; refuse rather than cut JSON. */
		tw->error = -PRQD_ENOSPC;
		return;
	}
	ret = tw->write(tw->user, b->text, b->len);
	if (ret < 0)
		tw->error = ret;
}

/* A requester ID as bus:device.function. */
static void tj_add_bdf(struct tj_buf *b, uint16_t rid)
{
	tj_add(b, "%02x:%02x.%u", rid >> 8, (rid >> 3) & 0x1f, rid & 7u);
}

static void tj_add_thread_name(struct tj_buf *b, uint32_t tid, const struct prqd_trace_event *ev)
{
	tj_add(b, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":\"",
	       tid);
	if (tid == TJ_TID_OTHER) {
		tj_add(b, "other tracks");
	} else {
		tj_add_bdf(b, ev->rid);
		if (ev->pasid_valid)
			tj_add(b, " pasid %u", ev->pasid);
		else
			tj_add(b, " no pasid");
	}
	tj_add(b, "\"}}");
}

/*
 * The track of an event; on first sight of a track, its name goes into @b before the event.
 */
static uint32_t tj_track(struct prqd_trace_json *tw, const struct prqd_trace_event *ev,
			 struct tj_buf *b)
{
	uint64_t key;
	uint32_t i;

	if (ev->type == PRQD_TR_OVERFLOW)
		return TJ_TID_IOMMU;

	/* Never 0 (the empty slot): RID, a PASID-valid bit and the PASID, plus one. */
	key = ((uint64_t)ev->rid << 33 | (uint64_t)ev->pasid_valid << 32 |
	       (ev->pasid_valid ? ev->pasid : 0)) + 1;
	/* Fibonacci hashing: the top bits of the product index the table. */
	i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 53) & (TJ_SLOTS - 1);
	for (;; i = (i + 1) & (TJ_SLOTS - 1)) {
		struct tj_slot *slot = &tw->slots[i];

		if (slot->key == key)
			return slot->tid;
		if (slot->key == 0)
			break;
	}
	if (tw->ntracks == TJ_MAX_TRACKS) {
		if (!tw->other_named) {
			tw->other_named = true;
			tj_add_thread_name(b, TJ_TID_OTHER, ev);
		}
		return TJ_TID_OTHER;
	}
	tw->slots[i].key = key;
	tw->slots[i].tid = TJ_TID_FIRST + tw->ntracks++;
	tj_add_thread_name(b, tw->slots[i].tid, ev);
	return tw->slots[i].tid;
}

static const char *tj_code_name(unsigned code)
{
	static const char *const names[] = {
		[PRQD_RESP_SUCCESS] = "success",
		[PRQD_RESP_INVALID] = "invalid",
		[PRQD_RESP_FAILURE] = "failure",
	};

	return code < PRQD_ARRAY_SIZE(names) ? names[code] : "?";
}

static const char *tj_responder_name(unsigned by)
{
	static const char *const names[PRQD_NR_RESPONDERS] = {
		[PRQD_BY_HANDLER] = "handler",
		[PRQD_BY_STOP] = "stop",
		[PRQD_BY_NOBOND] = "nobond",
		[PRQD_BY_ABANDON] = "abandon",
		[PRQD_BY_LOCAL] = "local",
	};

	return by < PRQD_ARRAY_SIZE(names) ? names[by] : "?";
}

/* The "args" object: where the event happened, then what the event type carries. */
static void tj_add_args(struct tj_buf *b, const struct prqd_trace_event *ev)
{
	tj_add(b, "\"args\":{\"rid\":\"");
	tj_add_bdf(b, ev->rid);
	tj_add(b, "\"");
	if (ev->pasid_valid)
		tj_add(b, ",\"pasid\":%u", ev->pasid);
	else
		tj_add(b, ",\"pasid\":null");
	tj_add(b, ",\"gen\":%u", ev->bond_gen);

	switch (ev->type) {
	case PRQD_TR_REQUEST:
		tj_add(b, ",\"prg\":%u,\"addr\":\"0x%llx\"", ev->prg_index,
		       (unsigned long long)ev->value);
		break;
	case PRQD_TR_GROUP_DELIVER:
	case PRQD_TR_STOP_MARKER:
	case PRQD_TR_BAD_REQUEST:
		tj_add(b, ",\"prg\":%u", ev->prg_index);
		break;
	case PRQD_TR_RESPONSE:
	case PRQD_TR_LATE_RESPONSE:
		tj_add(b, ",\"prg\":%u,\"code\":", ev->prg_index);
		tj_add_str(b, tj_code_name(ev->code));
		tj_add(b, ",\"by\":");
		tj_add_str(b, tj_responder_name(ev->responder));
		break;
	case PRQD_TR_PARTIAL_DISCARD:
		tj_add(b, ",\"count\":%llu", (unsigned long long)ev->value);
		break;
	case PRQD_TR_BOND_STATE:
		tj_add(b, ",\"from\":");
		tj_add_str(b, prqd_bond_state_name(ev->state_from));
		tj_add(b, ",\"to\":");
		tj_add_str(b, prqd_bond_state_name(ev->state_to));
		break;
	case PRQD_TR_DRAIN_BEGIN:
		break;
	case PRQD_TR_DRAIN_STEP_START:
		tj_add(b, ",\"scope\":%llu", (unsigned long long)ev->value);
		break;
	case PRQD_TR_DRAIN_STEP_DONE:
	case PRQD_TR_DRAIN_END:
		tj_add(b, ",\"result\":%d", ev->result);
		break;
	default:
		tj_add(b, ",\"result\":%d,\"value\":%llu", ev->result, (unsigned long long)ev->value);
		break;
	}
	tj_add(b, "}");
}

PRQD_EXPORT int prqd_trace_json_new(struct prqd_ctx *ctx, prqd_write_fn write, void *user,
				    struct prqd_trace_json **out)
{
	struct prqd_trace_json *tw;
	struct tj_buf b;
	int ret;

	if (!ctx || !write || !out)
		return -PRQD_EINVAL;
	tw = prqd__alloc(ctx, sizeof(*tw));
	if (!tw)
		return -PRQD_ENOMEM;
	ret = prqd__lock_new(&ctx->plat, &tw->lock);
	if (ret < 0) {
		prqd__free(ctx, tw, sizeof(*tw));
		return ret;
	}
	tw->ctx = prqd_ctx_ref(ctx);
	tw->write = write;
	tw->user = user;

	b.len = 0;
	tj_add(&b, "{\"traceEvents\":[\n");
	tj_add(&b, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,"
		   "\"args\":{\"name\":\"prqdrain\"}},\n", TJ_TID_IOMMU);
	tj_add(&b, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,"
		   "\"args\":{\"name\":\"iommu\"}}", TJ_TID_IOMMU);
	tj_emit(tw, &b);
	if (tw->error) {
		ret = tw->error;
		prqd__lock_free(&ctx->plat, tw->lock);
		prqd__free(ctx, tw, sizeof(*tw));
		prqd_ctx_unref(ctx);
		return ret;
	}
	*out = tw;
	return 0;
}

PRQD_EXPORT void prqd_trace_json_event(void *writer, const struct prqd_trace_event *ev)
{
	struct prqd_trace_json *tw = writer;
	const struct prqd_plat *pl;
	struct tj_buf b;
	const char *ph = "i";
	const char *name;
	uint32_t tid;

	if (!tw || !ev)
		return;
	pl = &tw->ctx->plat;

	if (ev->type == PRQD_TR_DRAIN_BEGIN) {
		ph = "B";
		name = "drain";
	} else if (ev->type == PRQD_TR_DRAIN_END) {
		ph = "E";
		name = "drain";
	} else {
		name = prqd_trace_type_name(ev->type);
	}

	prqd__lock(pl, tw->lock);
	if (!tw->error) {
		b.len = 0;
		tid = tj_track(tw, ev, &b);
		tj_add(&b, ",\n{\"name\":");
		tj_add_str(&b, name);
		tj_add(&b, ",\"cat\":\"prqdrain\",\"ph\":\"%s\",", ph);
		if (*ph == 'i')
			tj_add(&b, "\"s\":\"t\",");
		tj_add(&b, "\"ts\":%llu.%03u,\"pid\":1,\"tid\":%u,",
		       (unsigned long long)(ev->time_ns / 1000), (unsigned)(ev->time_ns % 1000), tid);
		tj_add_args(&b, ev);
		tj_add(&b, "}");
		tj_emit(tw, &b);
	}
	prqd__unlock(pl, tw->lock);
}

PRQD_EXPORT int prqd_trace_json_finish(struct prqd_trace_json *tw)
{
	struct prqd_ctx *ctx;
	struct tj_buf b;
	int ret;

	if (!tw)
		return -PRQD_EINVAL;
	ctx = tw->ctx;
	b.len = 0;
	tj_add(&b, "\n],\"displayTimeUnit\":\"ns\"}\n");
	prqd__lock(&ctx->plat, tw->lock);
	tj_emit(tw, &b);
	ret = tw->error;
	prqd__unlock(&ctx->plat, tw->lock);

	prqd__lock_free(&ctx->plat, tw->lock);
	prqd__free(ctx, tw, sizeof(*tw));
	prqd_ctx_unref(ctx);
	return ret;
}
