/* SPDX-License-Identifier: MIT */
/*
 * sim-public-api: what a test author writes against the installed headers alone
 * (prqdrain.h, prqdrain-sim.h; built without the source tree on the include path) and the
 * installed libraries (libprqdrain-sim.so on libprqdrain.so).
 *
 * On "sim" and on every backend compiled into the library ("vtd" drives the world's VT-d
 * model): create a world, add a device, open the IOMMU, bind, make the device
 * fault while the queue is consumed, drain, unbind, close, and read the checker's verdict:
 * no violation. Then the same with the checker told, wrongly, that the bond ended before more
 * faults: the requests issued then and delivered to the bond must come back as violations,
 * so a verdict of 0 above means something.
 *
 * Exit status 0 when every check held, 1 otherwise (the failed check on stderr).
 */
#include <stdio.h>
#include <string.h>

#include <prqdrain.h>
#include <prqdrain-sim.h>

#define RID 0x0100
#define PASID 5
#define FAULTS 60

static int failures;

#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "sim-public-api: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                   \
			failures++;                                                            \
		}                                                                              \
	} while (0)

struct handler_state {
	struct prqd_sim_world *world;
	unsigned delivered;
};

/* The bond's handler: the checker looks at every group, then it is answered Success. */
static int handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct handler_state *st = cookie;
	(void)bond;
	CHECK(prqd_sim_check_delivery(st->world, group) == 0, "check_delivery");
	st->delivered++;
	return PRQD_RESP_SUCCESS;
}

/* @faults page faults of one page each, the world running and the queue consumed between
 * them. Returns how many the device could send. */
static unsigned fault_and_consume(struct prqd_sim_world *world, struct prqd_sim_dev *sdev,
				  struct prqd_iommu *io, unsigned faults, uint64_t first_page)
{
	unsigned sent = 0;
	for (unsigned i = 0; i < faults; i++) {
		int rc = prqd_sim_dev_fault(sdev, PASID, (first_page + i) << 12, 1,
					    PRQD_SIM_READ | PRQD_SIM_WRITE);
		CHECK(rc == 0 || rc == -PRQD_EAGAIN, "fault %u: %d", i, rc);
		sent += rc == 0;
		prqd_sim_run_for(world, 3000);
		CHECK(prqd_iommu_process(io, 0) >= 0, "process");
	}
	return sent;
}

static void print_violations(const struct prqd_sim_world *world)
{
	char text[256];
	for (unsigned i = 0; prqd_sim_violation_text(world, i, text, sizeof(text)) == 0; i++)
		fprintf(stderr, "  %s\n", text);
}

/* One run on @backend; with @mislead the checker is told the bond ended before a second
 * round of faults that still reaches it. Returns the checker's verdict (violations). */
static unsigned run(const char *backend, bool mislead)
{
	struct prqd_sim_world *world = NULL;
	CHECK(prqd_sim_world_new(42, &world) == 0, "world");
	if (!world)
		return 0;
	struct prqd_sim_dev_cfg cfg = {
		.size = sizeof(cfg),
		.rid = RID,
		.pri_capacity = 16,
		.pasid_width = 20,
		.uses_stop_markers = true,
		.prg_resp_pasid_required = true,
		.atc = PRQD_SIM_ATC_ANSWERS,
	};
	struct prqd_sim_dev *sdev = NULL;
	CHECK(prqd_sim_dev_add(world, &cfg, &sdev) == 0, "dev_add");

	/* The ordinary API on the world's context. */
	struct prqd_ctx *ctx = NULL;
	struct prqd_iommu *io = NULL;
	struct prqd_dev *dev = NULL;
	struct prqd_bond *bond = NULL;
	struct handler_state st = { .world = world };
	struct prqd_dev_info info;
	CHECK(prqd_sim_ctx_new(world, &ctx) == 0, "ctx");
	CHECK(prqd_iommu_open(ctx, backend, NULL, &io) == 0, "open %s", backend);
	CHECK(strcmp(prqd_iommu_backend(io), backend) == 0, "backend name");
	CHECK(prqd_sim_dev_info(sdev, &info) == 0, "dev_info");
	CHECK(prqd_dev_add(io, &info, &dev) == 0, "prqd_dev_add");
	CHECK(prqd_bind(dev, PASID, handler, &st, &bond) == 0, "prqd_bind");
	CHECK(prqd_sim_note_bind(world, bond) == 0, "note_bind");

	unsigned sent = fault_and_consume(world, sdev, io, FAULTS, 0x100);
	CHECK(sent > 0, "no fault sent");
	if (mislead) {
		/* Wrong on purpose: the bond is alive, so what follows is delivered to it. */
		prqd_sim_note_unbind(world, bond);
		sent += fault_and_consume(world, sdev, io, FAULTS, 0x1000);
		prqd_sim_note_bind(world, bond);
	}

	uint64_t start = prqd_sim_now(world);
	CHECK(prqd_drain(bond, 0, 0) == 0, "prqd_drain");
	CHECK(prqd_sim_check_drained(world, bond, start) == 0, "check_drained");
	CHECK(st.delivered == sent, "%u groups delivered of %u sent", st.delivered, sent);

	CHECK(prqd_sim_note_unbind(world, bond) == 0, "note_unbind");
	CHECK(prqd_unbind(bond, 0) == 0, "prqd_unbind");
	CHECK(prqd_dev_remove(dev) == 0, "prqd_dev_remove");
	CHECK(prqd_iommu_close(io) == 0, "prqd_iommu_close");
	prqd_ctx_unref(ctx);

	/* Responses still on the wire arrive, then the end-of-run checks. */
	prqd_sim_run_for(world, 1000000);
	unsigned verdict = prqd_sim_finish(world);
	CHECK(verdict == prqd_sim_violation_count(world), "finish and count differ");
	if (verdict && !mislead)
		print_violations(world);
	if (mislead) {
		char text[256];
		CHECK(prqd_sim_violation_text(world, 0, text, sizeof(text)) == 0 &&
			      strstr(text, "wrong-generation"),
		      "first violation: %s", text);
	}
	prqd_sim_world_free(world);
	return verdict;
}

/* Check and print one backend's two runs. */
static void both_runs(const char *backend)
{
	unsigned verdict = run(backend, false);
	CHECK(verdict == 0, "%s: %u violations", backend, verdict);
	verdict = run(backend, true);
	CHECK(verdict > 0, "%s: a delivery the checker was told is stale went unseen", backend);
	printf("sim-public-api: backend %s: clean run 0 violations, misled checker %u\n", backend,
	       verdict);
}

int main(void)
{
	/* The simulator's own backend, then every one the library has compiled in: each runs
	 * on a world (a register-level one on the world's model of its hardware). */
	both_runs("sim");
	for (unsigned i = 0; prqd_backend_name(i, NULL); i++)
		both_runs(prqd_backend_name(i, NULL));
	return failures ? 1 : 0;
}
