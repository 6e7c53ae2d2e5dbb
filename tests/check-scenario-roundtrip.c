/* SPDX-License-Identifier: MIT */
/*
 * scn_write() and scn_parse() round-trip exactly: for every example scenario, for scenarios of
 * the random workload generator, and for random scenarios built field by field over the ranges
 * of the text format, parse -> write -> parse gives the same structure and the second write
 * the same text (scn_check_round_trip). A dumped scenario (prqdrain-sim --dump) must run the
 * way the original does.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "tests/check-main.h"
#include "tests/testutil.h"

static void assert_round_trip(const struct scn *s, const char *what)
{
	char why[512];
	int rc = scn_check_round_trip(s, why, sizeof(why));

	ck_assert_msg(rc == 0, "%s: round trip broke (%d): %s", what, rc, why);
}

START_TEST(every_example_round_trips)
{
	DIR *d = opendir(scenario_dir());
	unsigned n = 0;
	struct dirent *e;

	ck_assert_msg(d != NULL, "cannot open %s", scenario_dir());
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[2048], err[512];
		struct scn *s;

		if (len < 5 || strcmp(e->d_name + len - 4, ".scn") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", scenario_dir(), e->d_name);
		ck_assert_msg(scn_load_file(path, &s, err, sizeof(err)) == 0, "%s", err);
		assert_round_trip(s, e->d_name);
		scn_free(s);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 9);
}
END_TEST

/* The regression of issue 7: `timeout=0` of wait-stopped was dropped, and the parser's default
 * (1 ms) came back. Also every other option whose value equals what leaving it out means for
 * some other operation. */
START_TEST(wait_stopped_timeout_zero_survives)
{
	static const char text[] = "device d rid=01:00.0\n"
				   "bind b d pasid=1\n"
				   "at 0 device-stop b\n"
				   "at 0 wait-stopped b timeout=0 expect=any\n"
				   "at 1us wait-stopped b expect=any\n"
				   "at 2us drain b timeout=0 expect=any\n"
				   "at 3us process budget=0\n";
	char err[256];
	struct scn *s;

	ck_assert_int_eq(scn_parse(text, sizeof(text) - 1, "t.scn", &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s->ops[1].timeout_ns, 0);
	ck_assert_uint_eq(s->ops[2].timeout_ns, 1000000);
	assert_round_trip(s, "wait-stopped timeout=0");
	scn_free(s);
}
END_TEST

START_TEST(generated_workloads_round_trip)
{
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct scn_workload w;
		struct scn *s;
		char what[64];

		scn_workload_default(&w);
		w.seed = seed;
		w.devices = 1 + (unsigned)(seed % 4);
		w.pasids = 1 + (unsigned)(seed % 5);
		w.requests = 50 + seed * 7;
		w.teardown_rate = (unsigned)(seed * 97 % 1001);
		w.overflow = seed % 3 == 0;
		w.inject = (uint32_t)(seed * 2654435761u) & 0xff;
		ck_assert_int_eq(scn_generate(&w, &s), 0);
		snprintf(what, sizeof(what), "generated seed %llu", (unsigned long long)seed);
		assert_round_trip(s, what);
		scn_free(s);
	}
}
END_TEST

/* ---- random scenarios built field by field ----------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
	/* splitmix64: enough to spread the choices; the seed makes a failure reproducible. */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t pick(uint64_t *rng, uint64_t n)
{
	return rng_next(rng) % n;
}

/* A time the format can say, at most @max_units ns: 0, or a count of ns, us, ms or s. */
static uint64_t pick_time(uint64_t *rng, uint64_t max_units)
{
	static const uint64_t units[] = { 1, 1000, 1000000, 1000000000 };
	uint64_t unit = units[pick(rng, 4)];

	if (unit > max_units)
		unit = 1;
	uint64_t limit = max_units / unit;

	return pick(rng, 5) == 0 ? 0 : (1 + pick(rng, limit < 999 ? limit : 999)) * unit;
}

static void random_device(struct scn *s, uint64_t *rng, unsigned i)
{
	struct scn_device d;
	char name[16];

	snprintf(name, sizeof(name), "dev%u", i);
	scn_device_init(&d, name, (uint16_t)(0x100 + i * 8 + pick(rng, 8)));
	d.cfg.capacity = 1 + (uint32_t)pick(rng, 65536);
	d.cfg.prg_resp_pasid_required = pick(rng, 2);
	d.cfg.uses_stop_markers = pick(rng, 2);
	d.cfg.pasid_width = (uint8_t)(pick(rng, 4) ? 1 + pick(rng, 20) : 0);
	d.cfg.atc_mode = (uint8_t)pick(rng, 3);
	d.cfg.atc_lat_ns = pick_time(rng, 1000000000);
	d.cfg.refault_permille = (uint16_t)pick(rng, 1001);
	d.cfg.misbehave = (uint32_t)pick(rng, 16);
	d.cfg.misbehave_permille = (uint16_t)pick(rng, 1001);
	ck_assert_int_ge(scn_add_device(s, &d), 0);
}

static uint32_t random_pasid(uint64_t *rng, const struct scn_device *d)
{
	if (d->cfg.pasid_width == 0 || pick(rng, 4) == 0)
		return PRQD_NO_PASID;
	return (uint32_t)pick(rng, 1ull << d->cfg.pasid_width);
}

static void random_bond(struct scn *s, uint64_t *rng, unsigned i)
{
	struct scn_bond b;

	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "bond%u", i);
	b.dev = (unsigned)pick(rng, s->ndevices);
	b.pasid = random_pasid(rng, &s->devices[b.dev]);
	b.handler.kind = (uint8_t)pick(rng, SCN_HANDLER_NEVER + 1);
	if (b.handler.kind == SCN_HANDLER_DEFER) {
		b.handler.code = (uint8_t)pick(rng, PRQD_RESP_FAILURE + 1);
		b.handler.delay_ns = pick_time(rng, 1000000000);
	}
	b.bound = pick(rng, 4) != 0;
	/* One bond per device and PASID: a repeated pick is left out. */
	int rc = scn_add_bond(s, &b);
	ck_assert(rc >= 0 || rc == -EEXIST);
}

static const int errnos[] = { 0, -PRQD_ETIMEDOUT, -PRQD_EBUSY, -PRQD_EOPNOTSUPP, -PRQD_EIO,
			      -PRQD_EINVAL, -PRQD_ENODEV, -PRQD_EAGAIN };

static void random_op(struct scn *s, uint64_t *rng, uint64_t at_ns)
{
	unsigned kind = (unsigned)pick(rng, SCN_OP_NR);
	struct scn_op op;

	scn_op_init(&op, kind, at_ns, 0);
	if (kind == SCN_OP_FAULT && pick(rng, 3) == 0)
		op.on_device = true;
	if (scn_op_has_target(&op))
		op.target = (unsigned)pick(rng, scn_op_on_device(&op) ? s->ndevices : s->nbonds);
	switch (kind) {
	case SCN_OP_FAULT:
		if (op.on_device)
			op.pasid = random_pasid(rng, &s->devices[op.target]);
		op.pages = 1 + (uint32_t)pick(rng, 512);
		op.count = 1 + (uint32_t)pick(rng, 1000000000);
		op.every_ns = pick_time(rng, 3600000000000ull);
		if (op.every_ns == 0)
			op.every_ns = 1;
		op.access = (uint8_t)(1 + pick(rng, 15));
		if (!(op.access & (SIM_R | SIM_W)))
			op.access |= SIM_R;
		op.addr = pick(rng, 2) ? pick(rng, 1ull << 36) << 12 : 0;
		break;
	case SCN_OP_DEVICE_STOP:
		/* A Stop Marker needs a PASID. */
		if (s->bonds[op.target].pasid != PRQD_NO_PASID && pick(rng, 2))
			op.flags = SCN_F_MARKER;
		break;
	case SCN_OP_DEV_UNBIND:
		op.flags = SCN_F_FORCE; /* the format's dev-unbind is always forced */
		break;
	case SCN_OP_WAIT_STOPPED:
	case SCN_OP_DRAIN:
	case SCN_OP_DEV_DRAIN:
		op.timeout_ns = pick_time(rng, 3600000000000ull);
		break;
	case SCN_OP_RESPOND_DEFERRED:
		op.code = (int8_t)((int)pick(rng, PRQD_RESP_FAILURE + 2) - 1);
		break;
	case SCN_OP_PROCESS:
		op.budget = pick(rng, 2) ? (uint32_t)rng_next(rng) : 0;
		break;
	default:
		break;
	}
	if ((kind == SCN_OP_STOP || kind == SCN_OP_DRAIN || kind == SCN_OP_DEV_STOP ||
	     kind == SCN_OP_DEV_DRAIN) && pick(rng, 2))
		op.flags |= SCN_F_ABANDON;
	if (kind == SCN_OP_UNBIND)
		op.flags = (uint32_t)pick(rng, 8) << 1; /* stop-marker, force, no-drain */
	if (kind != SCN_OP_FAULT && kind != SCN_OP_RESPOND_DEFERRED) {
		op.nexpect = (uint8_t)pick(rng, SCN_EXPECT_ALT + 1);
		for (unsigned k = 0; k < op.nexpect; k++)
			op.expect[k] = errnos[pick(rng, sizeof(errnos) / sizeof(errnos[0]))];
	}
	ck_assert_int_ge(scn_add_op(s, &op), 0);
}

static struct scn *random_scenario(uint64_t seed)
{
	static const char *const keys[] = { "violations", "stats.requests", "stats.drains",
					    "device.dev0.groups_sent", "bond.bond0.delivered", "time" };
	uint64_t rng = seed;
	struct scn *s;
	char err[256];

	ck_assert_int_eq(scn_new("random.scn", &s), 0);
	s->seed = rng_next(&rng);
	s->poll_ns = 100 + pick_time(&rng, 999000);
	s->limit_ns = 1000 + pick_time(&rng, 3599000000000ull);
	s->settle_ns = pick_time(&rng, 1000000000);
	s->fabric.set = (unsigned)pick(&rng, 8);
	s->fabric.lat_min_ns = pick_time(&rng, 500000000);
	s->fabric.lat_max_ns = s->fabric.lat_min_ns + pick_time(&rng, 500000000);
	s->fabric.resp_lat_ns = pick_time(&rng, 1000000000);
	s->fabric.relax_step_ns = 1 + pick_time(&rng, 999999999);
	if (pick(&rng, 2))
		ck_assert_int_ge(scn_add_param(s, "core.drain_timeout_ms", "7", 0), 0);
	unsigned ndev = 1 + (unsigned)pick(&rng, 3);
	for (unsigned i = 0; i < ndev; i++)
		random_device(s, &rng, i);
	unsigned nbond = 1 + (unsigned)pick(&rng, 5);
	for (unsigned i = 0; i < nbond; i++)
		random_bond(s, &rng, i);
	uint64_t at = 0;
	unsigned nops = (unsigned)pick(&rng, 30);
	for (unsigned i = 0; i < nops; i++) {
		at += pick(&rng, 3) ? 0 : pick_time(&rng, 1000000);
		random_op(s, &rng, at);
	}
	unsigned nexp = (unsigned)pick(&rng, 4);
	for (unsigned i = 0; i < nexp; i++) {
		const char *key = keys[pick(&rng, sizeof(keys) / sizeof(keys[0]))];
		enum scn_cmp cmp = (enum scn_cmp)pick(&rng, SCN_GE + 1);
		if (pick(&rng, 3) == 0)
			ck_assert_int_ge(scn_add_expect_key(s, key, cmp, "stats.groups", 0, err,
							    sizeof(err)), 0);
		else
			ck_assert_msg(scn_add_expect(s, key, cmp, pick(&rng, 100000), 0, err,
						     sizeof(err)) >= 0, "%s", err);
	}
	return s;
}

START_TEST(random_scenarios_round_trip)
{
	for (uint64_t seed = 1; seed <= 2000; seed++) {
		struct scn *s = random_scenario(seed);
		char what[64];

		snprintf(what, sizeof(what), "random scenario %llu", (unsigned long long)seed);
		assert_round_trip(s, what);
		scn_free(s);
	}
}
END_TEST

/* The comparison itself notices a difference (else the tests above prove nothing). */
START_TEST(a_changed_field_is_noticed)
{
	struct scn *a = random_scenario(7), *b = random_scenario(7);
	char why[256];

	ck_assert(scn_equal(a, b, why, sizeof(why)));
	b->devices[0].cfg.misbehave_permille++;
	ck_assert(!scn_equal(a, b, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "misbehave_permille"));
	scn_free(b);
	b = random_scenario(7);
	b->seed++;
	ck_assert(!scn_equal(a, b, why, sizeof(why)));
	scn_free(a);
	scn_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scenario-roundtrip");
	TCase *tc = tcase_create("roundtrip");

	tcase_add_test(tc, every_example_round_trips);
	tcase_add_test(tc, wait_stopped_timeout_zero_survives);
	tcase_add_test(tc, generated_workloads_round_trip);
	tcase_add_test(tc, random_scenarios_round_trip);
	tcase_add_test(tc, a_changed_field_is_noticed);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
