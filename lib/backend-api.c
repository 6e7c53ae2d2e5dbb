/* SPDX-License-Identifier: MIT */
/* The services the core offers backends (lib/backend.h): thin, so a backend needs nothing of
 * the core's private structures. */
#include "lib/private.h"

const struct prqd_platform *prqd_iommu_platform(const struct prqd_iommu *iommu)
{
	return &iommu->plat.p;
}

bool prqd_iommu_can_gate_pasid(const struct prqd_iommu *iommu)
{
	return iommu->plat.has_pasid_entry;
}

uint64_t prqd_iommu_param(const struct prqd_iommu *iommu, const char *name)
{
	int idx = prqd__param_find(name);
	return idx < 0 ? 0 : iommu->params[idx];
}

void *prqd_be_alloc(const struct prqd_iommu *iommu, size_t size)
{
	return prqd__plat_alloc(&iommu->plat, size);
}

void prqd_be_free(const struct prqd_iommu *iommu, void *ptr, size_t size)
{
	prqd__plat_free(&iommu->plat, ptr, size);
}

int prqd_be_dma_alloc(const struct prqd_iommu *iommu, size_t size, size_t align, void **va,
		      uint64_t *bus)
{
	const struct prqd_platform *p = &iommu->plat.p;
	*va = NULL;
	int rc = p->dma_alloc(p->user, size, align, va, bus);
	if (rc < 0)
		return rc;
	return rc == 0 && *va ? 0 : -PRQD_ENOMEM;
}

void prqd_be_dma_free(const struct prqd_iommu *iommu, void *va, size_t size)
{
	if (va)
		iommu->plat.p.dma_free(iommu->plat.p.user, va, size);
}

int prqd_be_lock_new(const struct prqd_iommu *iommu, void **lock)
{
	return prqd__lock_new(&iommu->plat, lock);
}

void prqd_be_lock_free(const struct prqd_iommu *iommu, void *lock)
{
	prqd__lock_free(&iommu->plat, lock);
}

void prqd_be_lock(const struct prqd_iommu *iommu, void *lock)
{
	prqd__lock(&iommu->plat, lock);
}

void prqd_be_unlock(const struct prqd_iommu *iommu, void *lock)
{
	prqd__unlock(&iommu->plat, lock);
}

uint64_t prqd_be_now_ns(const struct prqd_iommu *iommu)
{
	return prqd__now(&iommu->plat);
}

void prqd_be_relax(const struct prqd_iommu *iommu)
{
	iommu->plat.p.relax(iommu->plat.p.user);
}

void prqd_be_log(const struct prqd_iommu *iommu, int prio, const char *file, int line,
		 const char *fn, const char *fmt, ...)
{
	if (iommu->ctx->log_prio < prio)
		return;
	va_list ap;
	va_start(ap, fmt);
	prqd__vlog(iommu->ctx, prio, file, line, fn, fmt, ap);
	va_end(ap);
}
