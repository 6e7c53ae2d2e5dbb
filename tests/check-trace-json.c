/* SPDX-License-Identifier: MIT */
/*
 * check-trace-json: the Chrome / Perfetto trace JSON writer.
 *
 * Events are fed straight to prqd_trace_json_event(); the output is checked by Python's json
 * module (an independent parser: the document must load, have the expected number of events,
 * balanced B/E per track, 32-bit ids) and, for exact formatting, by string search here. The
 * Python part is skipped, not the test, when python3 is absent.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prqdrain.h"

#include "tests/check-main.h"

/* The validator. argv: file, total events, B events (= E events), metadata events. */
static const char validator[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"ev = d['traceEvents']\n"
	"total, nb, nm = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
	"assert d['displayTimeUnit'] == 'ns', d.get('displayTimeUnit')\n"
	"assert len(ev) == total, ('events', len(ev), total)\n"
	"count = {}\n"
	"depth = {}\n"
	"names = set()\n"
	"for e in ev:\n"
	"    ph = e['ph']\n"
	"    count[ph] = count.get(ph, 0) + 1\n"
	"    assert e['pid'] == 1, e\n"
	"    assert isinstance(e['tid'], int) and 0 < e['tid'] < 2**32, e\n"
	"    if ph == 'M':\n"
	"        assert e['name'] in ('process_name', 'thread_name'), e\n"
	"        if e['name'] == 'thread_name':\n"
	"            assert e['tid'] not in names, ('track named twice', e)\n"
	"            names.add(e['tid'])\n"
	"        continue\n"
	"    assert isinstance(e['ts'], float) or isinstance(e['ts'], int), e\n"
	"    assert e['tid'] in names, ('event on an unnamed track', e)\n"
	"    assert isinstance(e['args'], dict) and 'rid' in e['args'], e\n"
	"    if ph == 'B':\n"
	"        depth[e['tid']] = depth.get(e['tid'], 0) + 1\n"
	"    elif ph == 'E':\n"
	"        depth[e['tid']] = depth.get(e['tid'], 0) - 1\n"
	"        assert depth[e['tid']] >= 0, ('E without B', e)\n"
	"    else:\n"
	"        assert ph == 'i' and e['s'] == 't', e\n"
	"assert all(v == 0 for v in depth.values()), ('unbalanced', depth)\n"
	"assert count.get('B', 0) == nb and count.get('E', 0) == nb, count\n"
	"assert count.get('M', 0) == nm, count\n";

/* Output collected in memory. */
struct out {
	char *text;
	size_t len, cap;
	unsigned writes;
	unsigned fail_at;   /* fail the write with this 1-based number (0: never) */
	unsigned after_err; /* writes attempted after the failure */
	pthread_mutex_t lock;
};

static int collect(void *user, const char *buf, size_t len)
{
	struct out *o = user;
	int ret = 0;

	pthread_mutex_lock(&o->lock);
	o->writes++;
	if (o->fail_at && o->writes > o->fail_at) {
		o->after_err++;
	} else if (o->fail_at && o->writes == o->fail_at) {
		ret = -EIO;
	} else {
		if (o->len + len + 1 > o->cap) {
			o->cap = (o->len + len + 1) * 2;
			o->text = realloc(o->text, o->cap);
			ck_assert_ptr_nonnull(o->text);
		}
		memcpy(o->text + o->len, buf, len);
		o->len += len;
		o->text[o->len] = '\0';
	}
	pthread_mutex_unlock(&o->lock);
	return ret;
}

static void out_init(struct out *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
}

static void out_fini(struct out *o)
{
	free(o->text);
	pthread_mutex_destroy(&o->lock);
}

static struct prqd_ctx *new_ctx(void)
{
	struct prqd_ctx_opts opts = { .size = sizeof(opts), .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx = NULL;

	ck_assert_int_eq(prqd_ctx_new(&opts, &ctx), 0);
	return ctx;
}

static struct prqd_trace_event event(uint32_t type, uint64_t t, uint16_t rid, bool pasid_valid,
				     uint32_t pasid)
{
	struct prqd_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.time_ns = t;
	ev.rid = rid;
	ev.pasid_valid = pasid_valid;
	ev.pasid = pasid;
	ev.bond_gen = 3;
	return ev;
}

/*
 * Run the validator on @o's text. Returns true if it ran (and passed: a failure fails the
 * test), false if python3 is not available.
 */
static bool python_validate(const struct out *o, unsigned total, unsigned nb, unsigned nm)
{
	char path[] = "/tmp/prqd-trace-json-XXXXXX";
	char a_total[16], a_nb[16], a_nm[16];
	int fd, status;
	pid_t pid;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, o->text, o->len), (ssize_t)o->len);
	close(fd);
	snprintf(a_total, sizeof(a_total), "%u", total);
	snprintf(a_nb, sizeof(a_nb), "%u", nb);
	snprintf(a_nm, sizeof(a_nm), "%u", nm);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("python3", "python3", "-c", validator, path, a_total, a_nb, a_nm, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "check-trace-json: python3 not found, JSON validation skipped\n");
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rejected trace JSON (first 4000 bytes):\n%.4000s\n", o->text);
		ck_abort_msg("python3 rejected the trace JSON (see stderr)");
	}
	return true;
}

static const uint32_t all_types[] = {
	PRQD_TR_REQUEST,      PRQD_TR_GROUP_DELIVER, PRQD_TR_RESPONSE,        PRQD_TR_LATE_RESPONSE,
	PRQD_TR_STOP_MARKER,  PRQD_TR_BAD_REQUEST,   PRQD_TR_PARTIAL_DISCARD, PRQD_TR_OVERFLOW,
	PRQD_TR_BOND_STATE,   PRQD_TR_DRAIN_BEGIN,   PRQD_TR_DRAIN_STEP_START,  PRQD_TR_DRAIN_STEP_DONE,
	PRQD_TR_DRAIN_END,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/* Every event type on three tracks, including nested drains; the document must parse. */
START_TEST(test_all_types)
{
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	struct out o;
	unsigned events = 0;

	out_init(&o);
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), 0);
	ck_assert_ptr_nonnull(tw);

	for (unsigned round = 0; round < 3; round++) {
		for (size_t i = 0; i < NTYPES; i++) {
			struct prqd_trace_event ev =
				event(all_types[i], 1000000 * round + 1000 * i + 7, 0x0108, round != 2, 5);

			ev.prg_index = 511;
			ev.value = 0x7fff0000 + i;
			ev.code = PRQD_RESP_INVALID;
			ev.responder = PRQD_BY_STOP;
			ev.state_from = PRQD_BOND_ACTIVE;
			ev.state_to = PRQD_BOND_STOPPING;
			ev.result = -PRQD_ETIMEDOUT;
			if (round == 1)
				ev.rid = 0xff07; /* a second device */
			prqd_trace_json_event(tw, &ev);
			events++;
		}
	}
	ck_assert_int_eq(prqd_trace_json_finish(tw), 0);

	/* The text ends the document; every event's type name is there. */
	ck_assert_ptr_nonnull(o.text);
	ck_assert_ptr_nonnull(strstr(o.text, "{\"traceEvents\":["));
	ck_assert_ptr_nonnull(strstr(o.text, "],\"displayTimeUnit\":\"ns\"}"));
	for (size_t i = 0; i < NTYPES; i++) {
		char needle[64];

		if (all_types[i] == PRQD_TR_DRAIN_BEGIN || all_types[i] == PRQD_TR_DRAIN_END)
			continue;
		snprintf(needle, sizeof(needle), "\"name\":\"%s\"", prqd_trace_type_name(all_types[i]));
		ck_assert_msg(strstr(o.text, needle), "no %s in\n%.2000s", needle, o.text);
	}
	ck_assert_ptr_nonnull(strstr(o.text, "\"rid\":\"01:01.0\""));
	ck_assert_ptr_nonnull(strstr(o.text, "\"rid\":\"ff:00.7\""));
	ck_assert_ptr_nonnull(strstr(o.text, "\"name\":\"01:01.0 pasid 5\""));
	ck_assert_ptr_nonnull(strstr(o.text, "\"name\":\"01:01.0 no pasid\""));

	/* Metadata: process name, iommu track, three bond tracks. */
	python_validate(&o, events + 5, 3, 5);

	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

/* Timestamps are microseconds with exactly three decimals. */
START_TEST(test_timestamps)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{ 0, "\"ts\":0.000," },
		{ 5, "\"ts\":0.005," },
		{ 999, "\"ts\":0.999," },
		{ 1000, "\"ts\":1.000," },
		{ 1234567, "\"ts\":1234.567," },
		{ UINT64_MAX, "\"ts\":18446744073709551.615," },
	};
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	struct out o;

	out_init(&o);
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prqd_trace_event ev = event(PRQD_TR_REQUEST, cases[i].ns, 1, false, 0);

		prqd_trace_json_event(tw, &ev);
	}
	ck_assert_int_eq(prqd_trace_json_finish(tw), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(strstr(o.text, cases[i].text), "no %s in\n%.2000s", cases[i].text,
			      o.text);
	python_validate(&o, 6 + 3, 0, 3);
	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

/* More tracks than the writer names: the rest share one track, the JSON stays valid. */
START_TEST(test_many_tracks)
{
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	const unsigned nbonds = 3000;
	struct out o;

	out_init(&o);
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), 0);
	for (unsigned i = 0; i < nbonds; i++) {
		struct prqd_trace_event b = event(PRQD_TR_DRAIN_BEGIN, 10 * i, 0x10, true, i);
		struct prqd_trace_event e = event(PRQD_TR_DRAIN_END, 10 * i + 5, 0x10, true, i);

		prqd_trace_json_event(tw, &b);
		prqd_trace_json_event(tw, &e);
	}
	ck_assert_int_eq(prqd_trace_json_finish(tw), 0);
	ck_assert_ptr_nonnull(strstr(o.text, "\"name\":\"other tracks\""));
	ck_assert_ptr_eq(strstr(strstr(o.text, "other tracks") + 1, "other tracks"), NULL);
	/* 2 fixed metadata events, then one per named track (1024 at most) and "other". */
	python_validate(&o, 2 * nbonds + 2 + 1024 + 1, nbonds, 2 + 1024 + 1);
	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

/* The first write error is kept and returned; nothing is written after it. */
START_TEST(test_write_error)
{
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	struct out o;

	out_init(&o);
	o.fail_at = 3;
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), 0);
	for (unsigned i = 0; i < 10; i++) {
		struct prqd_trace_event ev = event(PRQD_TR_REQUEST, i, 1, true, 1);

		prqd_trace_json_event(tw, &ev);
	}
	ck_assert_int_eq(prqd_trace_json_finish(tw), -EIO);
	ck_assert_uint_eq(o.writes, 3);
	ck_assert_uint_eq(o.after_err, 0);
	out_fini(&o);

	/* A failure on the document's opening fails prqd_trace_json_new itself. */
	out_init(&o);
	o.fail_at = 1;
	tw = NULL;
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), -EIO);
	ck_assert_ptr_null(tw);
	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	struct out o;

	out_init(&o);
	ck_assert_int_eq(prqd_trace_json_new(NULL, collect, &o, &tw), -EINVAL);
	ck_assert_int_eq(prqd_trace_json_new(ctx, NULL, &o, &tw), -EINVAL);
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, NULL), -EINVAL);
	ck_assert_ptr_null(tw);
	ck_assert_int_eq(prqd_trace_json_finish(NULL), -EINVAL);
	prqd_trace_json_event(NULL, NULL); /* ignored */
	ck_assert_uint_eq(o.writes, 0);
	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

/* Events from several threads at once come out whole. */
struct feeder {
	struct prqd_trace_json *tw;
	uint16_t rid;
	unsigned count;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;

	for (unsigned i = 0; i < f->count; i++) {
		struct prqd_trace_event ev = event(i % 2 ? PRQD_TR_DRAIN_END : PRQD_TR_DRAIN_BEGIN,
						   i, f->rid, true, 9);

		prqd_trace_json_event(f->tw, &ev);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct prqd_ctx *ctx = new_ctx();
	struct prqd_trace_json *tw = NULL;
	struct feeder f[4];
	pthread_t th[4];
	struct out o;

	out_init(&o);
	ck_assert_int_eq(prqd_trace_json_new(ctx, collect, &o, &tw), 0);
	for (unsigned i = 0; i < 4; i++) {
		f[i] = (struct feeder){ .tw = tw, .rid = (uint16_t)(0x100 + i), .count = 2000 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, feed, &f[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(prqd_trace_json_finish(tw), 0);
	python_validate(&o, 4 * 2000 + 2 + 4, 4 * 1000, 2 + 4);
	out_fini(&o);
	prqd_ctx_unref(ctx);
}
END_TEST

static Suite *trace_json_suite(void)
{
	Suite *s = suite_create("trace-json");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_all_types);
	tcase_add_test(tc, test_timestamps);
	tcase_add_test(tc, test_many_tracks);
	tcase_add_test(tc, test_write_error);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(trace_json_suite());
}
