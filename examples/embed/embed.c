/* SPDX-License-Identifier: MIT */
/*
 * embed: the smallest realistic embedder of libprqdrain, shaped like a hypervisor's IOMMU
 * driver. It brings its own platform table:
 *  - its own allocator (a heap with accounting, checked for leaks at the end);
 *  - its own clock and relax (the hypervisor's virtual time; here the simulated world's);
 *  - its own locks (pthread mutexes);
 *  - MMIO callbacks over the VT-d unit's register window, and DMA memory the unit can reach;
 *  - its own PASID table, whose Present bits the library asks it to clear and restore.
 * The "hardware" behind the register window is libprqdrain-sim's register-level VT-d model
 * with two PRI devices, so the program runs anywhere and the simulator's checker can say
 * whether every guarantee held.
 *
 * It opens the "vtd" backend, binds two PASIDs, takes page faults on both, tears one PASID
 * down (the device stops it, the library drains and unbinds) and binds it again for a new
 * user, then closes everything. Exit status 0 when the checker saw no violation and nothing
 * leaked.
 *
 * Build against the installed libraries:
 *   cc -o embed embed.c $(pkg-config --cflags --libs prqdrain-sim) -lpthread
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <prqdrain.h>
#include <prqdrain-sim.h>

#define NIC_RID 0x0300 /* 03:00.0 */
#define DSA_RID 0x6a08 /* 6a:01.0 */
#define VM_PASID 0x10
#define JOB_PASID 0x1234

/* ---- the hypervisor's side of the platform ------------------------------------------------ */

struct hypervisor {
	struct prqd_sim_world *world;           /* the machine: devices and the VT-d unit */
	const struct prqd_platform *machine;    /* its register window and DMA memory */
	size_t heap_live_bytes, heap_allocs;    /* the allocator's accounting */
	uint8_t pasid_present[2][1 << 16 >> 3]; /* Present bits of the PASID tables, per device */
	unsigned pasid_entry_writes;
};

static void *hv_alloc(void *user, size_t size)
{
	struct hypervisor *hv = user;
	void *p = calloc(1, size);
	if (p) {
		hv->heap_live_bytes += size;
		hv->heap_allocs++;
	}
	return p;
}

static void hv_free(void *user, void *ptr, size_t size)
{
	struct hypervisor *hv = user;
	hv->heap_live_bytes -= size;
	free(ptr);
}

static uint64_t hv_now_ns(void *user)
{
	struct hypervisor *hv = user;
	return prqd_sim_now(hv->world);
}

/* While the library polls (a drain, an unbind), the machine runs on for a microsecond. */
static void hv_relax(void *user)
{
	struct hypervisor *hv = user;
	prqd_sim_run_for(hv->world, 1000);
}

static int hv_lock_init(void *user, void *lock)
{
	return -pthread_mutex_init(lock, NULL);
}

static void hv_lock_destroy(void *user, void *lock)
{
	pthread_mutex_destroy(lock);
}

static void hv_lock(void *user, void *lock)
{
	pthread_mutex_lock(lock);
}

static void hv_unlock(void *user, void *lock)
{
	pthread_mutex_unlock(lock);
}

/* The register window of the VT-d unit: offsets within it. */
static uint32_t hv_read32(void *user, uint64_t off)
{
	struct hypervisor *hv = user;
	return hv->machine->mmio_read32(hv->machine->user, off);
}

static uint64_t hv_read64(void *user, uint64_t off)
{
	struct hypervisor *hv = user;
	return hv->machine->mmio_read64(hv->machine->user, off);
}

static void hv_write32(void *user, uint64_t off, uint32_t value)
{
	struct hypervisor *hv = user;
	hv->machine->mmio_write32(hv->machine->user, off, value);
}

static void hv_write64(void *user, uint64_t off, uint64_t value)
{
	struct hypervisor *hv = user;
	hv->machine->mmio_write64(hv->machine->user, off, value);
}

static int hv_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	struct hypervisor *hv = user;
	return hv->machine->dma_alloc(hv->machine->user, size, align, va, bus);
}

static void hv_dma_free(void *user, void *va, size_t size)
{
	struct hypervisor *hv = user;
	hv->machine->dma_free(hv->machine->user, va, size);
}

/* The hypervisor owns the PASID tables: the library asks it to clear a Present bit before it
 * drains a PASID and to restore it for the next bind. The entry is also handed to the
 * machine when its model keeps PASID entries, so its IOMMU sees what software wrote. */
static int hv_pasid_entry_set_present(void *user, uint32_t source_id, uint32_t pasid,
				      bool present)
{
	struct hypervisor *hv = user;
	unsigned dev = source_id == NIC_RID ? 0 : 1;
	uint32_t index = pasid == PRQD_NO_PASID ? 0 : pasid & 0xffff;
	uint8_t *byte = &hv->pasid_present[dev][index >> 3], bit = (uint8_t)(1u << (index & 7));
	bool was = (*byte & bit) != 0;
	*byte = present ? (uint8_t)(*byte | bit) : (uint8_t)(*byte & ~bit);
	hv->pasid_entry_writes++;
	if (hv->machine->size > offsetof(struct prqd_platform, pasid_entry_set_present) &&
	    hv->machine->pasid_entry_set_present)
		return hv->machine->pasid_entry_set_present(hv->machine->user, source_id, pasid,
							     present);
	return was != present;
}

static void hv_log(void *user, int prio, const char *file, int line, const char *fn,
		   const char *msg)
{
	fprintf(stderr, "embed: libprqdrain: %s\n", msg);
}

/* ---- the guest's fault handling ---------------------------------------------------------- */

struct guest {
	struct prqd_sim_world *world;
	const char *name;
	unsigned groups;
};

/* Map the pages (nothing to do in this example) and answer Success. */
static int guest_fault(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct guest *g = cookie;
	prqd_sim_check_delivery(g->world, group); /* the checker looks at every delivery */
	g->groups++;
	return PRQD_RESP_SUCCESS;
}

/* Let the devices fault for a while, consuming the page request queue as an interrupt
 * handler would. */
static void run_faults(struct prqd_sim_world *world, struct prqd_iommu *iommu,
		       struct prqd_sim_dev *sdev, uint32_t pasid, unsigned count, uint64_t page)
{
	for (unsigned i = 0; i < count; i++) {
		prqd_sim_dev_fault(sdev, pasid, (page + i) << 12, 1, PRQD_SIM_READ | PRQD_SIM_WRITE);
		prqd_sim_run_for(world, 2000);
		prqd_iommu_process(iommu, 0);
	}
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "embed: %s: %d\n", what, rc);
	return 1;
}

int main(void)
{
	static struct hypervisor hv;
	if (prqd_sim_world_new(7, &hv.world) < 0)
		return fail("creating the machine", -1);
	hv.machine = prqd_sim_world_platform(hv.world);

	struct prqd_sim_dev_cfg nic_cfg = { .size = sizeof(nic_cfg), .rid = NIC_RID,
					    .pri_capacity = 32, .pasid_width = 16,
					    .prg_resp_pasid_required = true };
	struct prqd_sim_dev_cfg dsa_cfg = nic_cfg;
	dsa_cfg.rid = DSA_RID;
	dsa_cfg.uses_stop_markers = true;
	struct prqd_sim_dev *nic, *dsa;
	if (prqd_sim_dev_add(hv.world, &nic_cfg, &nic) < 0 ||
	    prqd_sim_dev_add(hv.world, &dsa_cfg, &dsa) < 0)
		return fail("adding the devices", -1);

	/* README-snippet-begin */
	static const struct prqd_platform platform = {
		.size = sizeof(struct prqd_platform),
		.user = &hv,
		.alloc = hv_alloc, .free = hv_free,
		.now_ns = hv_now_ns, .relax = hv_relax,
		.lock_size = sizeof(pthread_mutex_t),
		.lock_init = hv_lock_init, .lock_destroy = hv_lock_destroy,
		.lock = hv_lock, .unlock = hv_unlock,
		.mmio_read32 = hv_read32, .mmio_read64 = hv_read64,
		.mmio_write32 = hv_write32, .mmio_write64 = hv_write64,
		.dma_alloc = hv_dma_alloc, .dma_free = hv_dma_free,
		.log = hv_log,
		.pasid_entry_set_present = hv_pasid_entry_set_present,
	};
	struct prqd_ctx_opts opts = { .size = sizeof(opts), .platform = &platform,
				      .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	int rc = prqd_ctx_new(&opts, &ctx);           /* silent unless a level is set */
	if (rc < 0)
		return fail("prqd_ctx_new", rc);
	prqd_ctx_set_log_priority(ctx, PRQD_LOG_WARNING);
	struct prqd_iommu *iommu;
	rc = prqd_iommu_open(ctx, "vtd", NULL, &iommu); /* the VT-d unit behind the window */
	if (rc < 0)
		return fail("prqd_iommu_open", rc);

	struct prqd_dev_info info;                    /* from lspci or prqd_pci_dev_info() */
	prqd_sim_dev_info(nic, &info);
	struct prqd_dev *dev;
	if ((rc = prqd_dev_add(iommu, &info, &dev)) < 0)
		return fail("prqd_dev_add", rc);
	struct guest vm = { .world = hv.world, .name = "vm" };
	struct prqd_bond *bond;
	if ((rc = prqd_bind(dev, VM_PASID, guest_fault, &vm, &bond)) < 0)
		return fail("prqd_bind", rc);
	/* README-snippet-end */
	prqd_sim_note_bind(hv.world, bond);

	prqd_sim_dev_info(dsa, &info);
	struct prqd_dev *dsa_dev;
	if ((rc = prqd_dev_add(iommu, &info, &dsa_dev)) < 0)
		return fail("prqd_dev_add dsa", rc);
	struct guest job = { .world = hv.world, .name = "job" };
	struct prqd_bond *job_bond;
	if ((rc = prqd_bind(dsa_dev, JOB_PASID, guest_fault, &job, &job_bond)) < 0)
		return fail("prqd_bind dsa", rc);
	prqd_sim_note_bind(hv.world, job_bond);

	run_faults(hv.world, iommu, nic, VM_PASID, 40, 0x1000);
	run_faults(hv.world, iommu, dsa, JOB_PASID, 40, 0x2000);

	/* Tear the job's PASID down: the device stops it (a Stop Marker follows its last
	 * requests), the library waits for the marker, drains and unbinds. */
	prqd_sim_dev_stop_pasid(dsa, JOB_PASID, true);
	prqd_sim_note_unbind(hv.world, job_bond);
	uint64_t start = prqd_sim_now(hv.world);
	if ((rc = prqd_unbind(job_bond, PRQD_UNBIND_STOP_MARKER)) < 0)
		return fail("prqd_unbind", rc);
	printf("embed: job's PASID %#x drained and unbound in %.1f us (simulated), %u groups "
	       "answered\n", JOB_PASID, (double)(prqd_sim_now(hv.world) - start) / 1e3,
	       job.groups);

	/* A new user of the same PASID: nothing of the old one may reach it. */
	struct guest next = { .world = hv.world, .name = "next job" };
	if ((rc = prqd_bind(dsa_dev, JOB_PASID, guest_fault, &next, &job_bond)) < 0)
		return fail("prqd_bind again", rc);
	prqd_sim_note_bind(hv.world, job_bond);
	prqd_sim_dev_start_pasid(dsa, JOB_PASID);
	run_faults(hv.world, iommu, dsa, JOB_PASID, 20, 0x3000);
	run_faults(hv.world, iommu, nic, VM_PASID, 20, 0x4000);

	/* Shut down: unbind (draining), remove, close. */
	prqd_sim_note_unbind(hv.world, job_bond);
	prqd_sim_note_unbind(hv.world, bond);
	if ((rc = prqd_unbind(job_bond, 0)) < 0 || (rc = prqd_unbind(bond, 0)) < 0)
		return fail("prqd_unbind at the end", rc);
	struct prqd_stats stats;
	prqd_iommu_stats(iommu, &stats, sizeof(stats));
	if ((rc = prqd_dev_remove(dsa_dev)) < 0 || (rc = prqd_dev_remove(dev)) < 0)
		return fail("prqd_dev_remove", rc);
	if ((rc = prqd_iommu_close(iommu)) < 0)
		return fail("prqd_iommu_close", rc);
	prqd_ctx_unref(ctx);

	prqd_sim_run_for(hv.world, 1000000); /* responses still on the wire arrive */
	unsigned violations = prqd_sim_finish(hv.world);
	char text[256];
	for (unsigned i = 0; prqd_sim_violation_text(hv.world, i, text, sizeof(text)) == 0; i++)
		fprintf(stderr, "embed: violation: %s\n", text);
	prqd_sim_world_free(hv.world);

	printf("embed: vm %u groups, job %u, next job %u; %llu requests read, %llu stop markers; "
	       "%u PASID-entry writes; heap: %zu allocations, %zu bytes left; %u violations\n",
	       vm.groups, job.groups, next.groups, (unsigned long long)stats.requests,
	       (unsigned long long)stats.stop_markers, hv.pasid_entry_writes, hv.heap_allocs,
	       hv.heap_live_bytes, violations);
	return violations == 0 && hv.heap_live_bytes == 0 && vm.groups > 0 && next.groups > 0 ? 0
												 : 1;
}
