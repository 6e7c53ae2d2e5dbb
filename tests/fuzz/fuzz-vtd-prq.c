/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: VT-d page request decoding through the backend. The library runs with the
 * "vtd" backend on the simulated world's register-level VT-d model; fuzzed 32-byte entries
 * are written straight into the page request queue the backend programmed (as a unit would
 * write them, garbage included) and prqd_iommu_process() reads them. Properties:
 *  - every entry written is read exactly once (stats.requests), none is lost or invented;
 *  - a handler only ever gets a group whose requests carry its bond's requester ID and PASID;
 *  - every answered group is answered once (responses sent == groups answered by someone);
 *  - teardown leaves no memory behind (the world counts its allocations).
 *
 * Input: records of one control byte and one 32-byte entry (little-endian quadwords). The
 * control byte steers an entry towards the known devices and PASIDs, so most inputs reach
 * the bonds and not only the unknown-requester path:
 *   bits 0-1  requester ID: 0 as given, 1 and 3 device A, 2 device B
 *   bits 2-3  PASID field: 0 and 3 as given, 1 PASID 1, 2 PASID 2
 *   bit 4     make the address canonical
 *   bit 5     call prqd_iommu_process() after this entry (budget from the entry's last byte)
 *   bit 6     let 10 us of simulated time pass (responses travel, deferred answers go out)
 *   bit 7     unbind PASID 1 with PRQD_UNBIND_FORCE and bind it again
 * The first byte of the input sets the model's ECAP.PDS (bit 0). Without page-drain, the
 * bind after a forced unbind has one proof that the old generation is gone: its Stop Marker
 * from the queue, which only a fuzzed entry can bring here. Without it the bind must fail
 * with -ETIMEDOUT and leave the PASID quarantined (its groups answered Invalid, never
 * delivered); a later record tries again.
 * Everything is created and freed per input: nothing carries over between inputs.
 */
#include <errno.h>
#include <string.h>

#include "backends/sim/sim-internal.h"
#include "lib/private.h"
#include "tests/fuzz/fuzz.h"

#define ENTRY_SIZE 32          /* a VT-d page request descriptor */
#define RECORD_SIZE (1 + ENTRY_SIZE)
#define MAX_DEFERRED 64
#define RID_A 0x0100
#define RID_B 0x0208

struct fuzz_run;

struct fuzz_bond {
	struct fuzz_run *run;
	struct prqd_dev *dev;
	struct prqd_bond *bond;
	uint16_t rid;
	uint32_t pasid; /* or PRQD_NO_PASID */
};

struct fuzz_run {
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct prqd_dev *dev_a, *dev_b;
	struct fuzz_bond bonds[4]; /* bonds[0].bond NULL: PASID 1 quarantined, not bound */
	bool pds;                  /* the model drains pages: a rebind always has its proof */
	struct prqd_group *deferred[MAX_DEFERRED];
	unsigned ndeferred;
	uint64_t written; /* entries put into the queue */
};

static void quiet(void *user, int prio, const char *file, int line, const char *fn,
		  const char *msg)
{
	(void)user, (void)prio, (void)file, (void)line, (void)fn, (void)msg;
}

/* Checks what it was given, then answers by the first page's address: success, invalid,
 * defer (answered later), failure. */
static int handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct fuzz_bond *fb = cookie;
	unsigned n = prqd_group_count(group);

	FUZZ_REQUIRE(bond == fb->bond, "group for another bond");
	FUZZ_REQUIRE(n >= 1, "empty group");
	for (unsigned i = 0; i < n; i++) {
		const struct prqd_request *q = prqd_group_request(group, i);
		FUZZ_REQUIRE(q && q->rid == fb->rid, "request %u of rid %#x for a bond of rid %#x",
			     i, q ? q->rid : 0, fb->rid);
		if (fb->pasid == PRQD_NO_PASID)
			FUZZ_REQUIRE(!q->pasid_valid, "request with PASID %u for a bond without",
				     q->pasid);
		else
			FUZZ_REQUIRE(q->pasid_valid && q->pasid == fb->pasid,
				     "request with PASID %u for a bond of PASID %u", q->pasid,
				     fb->pasid);
		FUZZ_REQUIRE(q->last == (i == n - 1), "Last at %u of %u", i, n);
	}
	switch ((prqd_group_request(group, 0)->addr >> 12) & 3) {
	case 0:
		return PRQD_RESP_SUCCESS;
	case 1:
		return PRQD_RESP_INVALID;
	case 2:
		if (fb->run->ndeferred < MAX_DEFERRED) {
			fb->run->deferred[fb->run->ndeferred++] = group;
			return PRQD_RESP_DEFER;
		}
		return PRQD_RESP_SUCCESS;
	default:
		return PRQD_RESP_FAILURE;
	}
}

/* Answer every deferred group (before anything that could take a group back). */
static void answer_deferred(struct fuzz_run *r)
{
	for (unsigned i = 0; i < r->ndeferred; i++) {
		int rc = prqd_respond(r->deferred[i], PRQD_RESP_SUCCESS);
		FUZZ_REQUIRE(rc == 0, "prqd_respond of a held group: %d", rc);
	}
	r->ndeferred = 0;
}

static void process(struct fuzz_run *r, unsigned budget)
{
	int rc = prqd_iommu_process(r->io, budget);

	FUZZ_REQUIRE(rc >= 0 || rc == -PRQD_EAGAIN, "prqd_iommu_process: %d", rc);
	answer_deferred(r);
}

/* The ring the backend programmed into the model, found by its bus address. */
static uint8_t *queue_ring(struct fuzz_run *r, size_t *bytes)
{
	const struct sim_dma *dma = &r->w->dma;
	uint64_t base = r->w->vtd.pqa & ~0xfffull;

	for (size_t i = 0; i < dma->len; i++)
		if (dma->regions[i].bus == base) {
			*bytes = dma->regions[i].size;
			return dma->regions[i].va;
		}
	return NULL;
}

static bool queue_full(struct fuzz_run *r, size_t bytes)
{
	const struct sim_vtd *v = &r->w->vtd;

	return ((v->pqt + ENTRY_SIZE) & (bytes - 1)) == (v->pqh & (bytes - 1));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Write one entry where the unit would, then move the tail past it. */
static void put_entry(struct fuzz_run *r, uint8_t ctl, const uint8_t *raw)
{
	size_t bytes;
	uint8_t *ring = queue_ring(r, &bytes);
	uint64_t qw[4];

	FUZZ_REQUIRE(ring && bytes >= 4096 && (bytes & (bytes - 1)) == 0, "no page request queue");
	while (queue_full(r, bytes))
		process(r, 0);
	for (int i = 0; i < 4; i++)
		qw[i] = le64(raw + 8 * i);
	static const uint16_t rids[] = { 0, RID_A, RID_B, RID_A };
	if (ctl & 3)
		qw[0] = (qw[0] & ~(0xffffull << 16)) | (uint64_t)rids[ctl & 3] << 16;
	unsigned pasid_choice = (ctl >> 2) & 3;
	if (pasid_choice == 1 || pasid_choice == 2)
		qw[0] = (qw[0] & ~(0xfffffull << 32)) | 1ull << 8 | (uint64_t)pasid_choice << 32;
	if (ctl & 0x10) /* bits 63:47 follow bit 47 */
		qw[1] = (qw[1] & 0x0000ffffffffffffull) |
			((qw[1] & (1ull << 47)) ? 0xffff000000000000ull : 0);
	struct sim_vtd *v = &r->w->vtd;
	memcpy(ring + (v->pqt & (bytes - 1)), qw, sizeof(qw));
	v->pqt = (v->pqt + ENTRY_SIZE) & (bytes - 1);
	r->written++;
}

static void bind(struct fuzz_run *r, unsigned i, struct prqd_dev *dev, uint16_t rid,
		 uint32_t pasid)
{
	struct fuzz_bond *fb = &r->bonds[i];

	fb->run = r;
	fb->dev = dev;
	fb->rid = rid;
	fb->pasid = pasid;
	FUZZ_REQUIRE(prqd_bind(dev, pasid, handler, fb, &fb->bond) == 0, "bind");
}

/* Unbind PASID 1 with FORCE (if it is bound) and bind it again: see the header for when the
 * bind may fail. */
static void unbind_and_bind_again(struct fuzz_run *r)
{
	struct fuzz_bond *fb = &r->bonds[0];

	answer_deferred(r);
	if (fb->bond)
		FUZZ_REQUIRE(prqd_unbind(fb->bond, PRQD_UNBIND_FORCE) == 0, "unbind force");
	fb->bond = NULL;
	int rc = prqd_bind(r->dev_a, 1, handler, fb, &fb->bond);
	FUZZ_REQUIRE(rc == 0 || (!r->pds && rc == -PRQD_ETIMEDOUT),
		     "bind after a forced unbind: %d (page-drain %s)", rc, r->pds ? "on" : "off");
	if (rc < 0)
		fb->bond = NULL;
}

/* A function in the world's fabric, and the library's view of it. */
static struct prqd_dev *add_device(struct fuzz_run *r, uint16_t rid, uint8_t pasid_width,
				   bool stop_markers)
{
	struct sim_dev_cfg dc;
	struct sim_dev *sd;
	struct prqd_dev_info info;
	struct prqd_dev *dev;

	sim_dev_cfg_default(&dc);
	dc.rid = rid;
	dc.pasid_width = pasid_width;
	dc.uses_stop_markers = stop_markers;
	FUZZ_REQUIRE(sim_dev_add(r->w, &dc, &sd) == 0, "sim_dev_add %#x", rid);
	sim_dev_info(sd, &info);
	FUZZ_REQUIRE(prqd_dev_add(r->io, &info, &dev) == 0, "prqd_dev_add %#x", rid);
	return dev;
}

static bool setup(struct fuzz_run *r, bool pds)
{
	struct sim_vtd_config vc;

	memset(r, 0, sizeof(*r));
	r->pds = pds;
	if (sim_world_new(NULL, 1, NULL, &r->w) != 0)
		return false;
	sim_vtd_config_default(&vc);
	vc.pds = pds;
	FUZZ_REQUIRE(sim_vtd_configure(r->w, &vc) == 0, "sim_vtd_configure");
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = sim_world_platform(r->w),
				    .flags = PRQD_CTX_IGNORE_ENV };
	FUZZ_REQUIRE(prqd_ctx_new(&co, &r->ctx) == 0, "prqd_ctx_new");
	prqd_ctx_set_log_fn(r->ctx, quiet, NULL);
	/* A rebind without proof waits this long (simulated) before it fails: short, so the
	 * fuzzer's runs stay fast; a hardware drain of the model takes microseconds. */
	FUZZ_REQUIRE(prqd_ctx_set_param(r->ctx, "core.drain_timeout_ms", "10") == 0,
		     "drain time-out");
	FUZZ_REQUIRE(prqd_iommu_open(r->ctx, "vtd", NULL, &r->io) == 0, "prqd_iommu_open");

	r->dev_a = add_device(r, RID_A, 20, true);
	r->dev_b = add_device(r, RID_B, 0, false);

	bind(r, 0, r->dev_a, RID_A, 1);
	bind(r, 1, r->dev_a, RID_A, 2);
	bind(r, 2, r->dev_a, RID_A, PRQD_NO_PASID);
	bind(r, 3, r->dev_b, RID_B, PRQD_NO_PASID);
	return true;
}

static void check_counters(struct fuzz_run *r)
{
	struct prqd_stats st;
	uint64_t sent = 0, answered = 0;

	FUZZ_REQUIRE(prqd_iommu_stats(r->io, &st, sizeof(st)) == 0, "stats");
	FUZZ_REQUIRE(st.requests == r->written, "%llu entries written, %llu read",
		     (unsigned long long)r->written, (unsigned long long)st.requests);
	for (unsigned i = 0; i < 3; i++)
		sent += st.responses[i];
	for (unsigned i = 0; i < PRQD_NR_RESPONDERS; i++)
		answered += st.by[i];
	FUZZ_REQUIRE(sent == answered, "%llu responses for %llu answered groups",
		     (unsigned long long)sent, (unsigned long long)answered);
	FUZZ_REQUIRE(st.delivered <= st.groups, "%llu delivered of %llu groups",
		     (unsigned long long)st.delivered, (unsigned long long)st.groups);
}

static void teardown(struct fuzz_run *r)
{
	struct sim_alloc_stats as;

	answer_deferred(r);
	for (unsigned i = 0; i < 4; i++)
		if (r->bonds[i].bond)
			FUZZ_REQUIRE(prqd_unbind(r->bonds[i].bond, PRQD_UNBIND_FORCE) == 0,
				     "unbind %u", i);
	FUZZ_REQUIRE(prqd_dev_remove(r->dev_a) == 0 && prqd_dev_remove(r->dev_b) == 0,
		     "prqd_dev_remove");
	FUZZ_REQUIRE(prqd_iommu_close(r->io) == 0, "prqd_iommu_close");
	prqd_ctx_unref(r->ctx);
	sim_alloc_stats(r->w, &as);
	FUZZ_REQUIRE(as.live == 0, "%llu allocations left", (unsigned long long)as.live);
	sim_world_free(r->w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run r;

	if (size < 1 || !setup(&r, data[0] & 1))
		return 0;
	data++;
	size--;
	for (; size >= RECORD_SIZE; data += RECORD_SIZE, size -= RECORD_SIZE) {
		uint8_t ctl = data[0];
		put_entry(&r, ctl, data + 1);
		if (ctl & 0x20)
			process(&r, data[RECORD_SIZE - 1] % 8);
		if (ctl & 0x40)
			sim_run_until(r.w, sim_now(r.w) + 10000);
		if (ctl & 0x80)
			unbind_and_bind_again(&r);
	}
	/* Read everything left, let the responses travel, then count. */
	for (int i = 0; i < 1000 && r.w->vtd.pqh != r.w->vtd.pqt; i++)
		process(&r, 0);
	process(&r, 0);
	sim_run_until(r.w, sim_now(r.w) + 100000);
	check_counters(&r);
	teardown(&r);
	return 0;
}
