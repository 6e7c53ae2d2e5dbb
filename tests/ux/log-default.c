/* SPDX-License-Identifier: MIT */
/*
 * Opens IOMMUs that cannot be opened on the hosted default platform, with no log function
 * installed: tests/ux/log-default.sh checks what reaches stderr with and without
 * PRQDRAIN_LOG. Exits 0 when every call failed the way it must.
 */
#include <stdio.h>

#include "prqdrain.h"

int main(void)
{
	struct prqd_ctx *ctx;
	int rc = prqd_ctx_new(NULL, &ctx);
	if (rc < 0) {
		fprintf(stdout, "prqd_ctx_new: %d\n", rc);
		return 1;
	}
	struct prqd_iommu *iommu = NULL;
	int named = prqd_iommu_open(ctx, "no-such-backend", NULL, &iommu);
	/* No register window and no simulated world: every backend's probe declines. */
	int probed = prqd_iommu_open(ctx, NULL, NULL, &iommu);
	prqd_ctx_unref(ctx);
	printf("named: %d, probed: %d\n", named, probed);
	return named == -PRQD_ENOENT && probed == -PRQD_ENODEV ? 0 : 1;
}
