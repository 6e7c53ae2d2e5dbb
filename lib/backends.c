/* SPDX-License-Identifier: MIT */
/* The backends compiled in, in probing order. */
#include "lib/private.h"

#if defined(PRQD_HAVE_BACKEND_SIM) && PRQD_HAVE_BACKEND_SIM
extern const struct prqd_backend prqd_backend_sim;
#endif
#if defined(PRQD_HAVE_BACKEND_VTD) && PRQD_HAVE_BACKEND_VTD
extern const struct prqd_backend prqd_backend_vtd;
#endif
#if defined(PRQD_HAVE_BACKEND_SMMUV3) && PRQD_HAVE_BACKEND_SMMUV3
extern const struct prqd_backend prqd_backend_smmuv3;
#endif

const struct prqd_backend *const prqd_backends[] = {
#if defined(PRQD_HAVE_BACKEND_SIM) && PRQD_HAVE_BACKEND_SIM
	&prqd_backend_sim,
#endif
#if defined(PRQD_HAVE_BACKEND_VTD) && PRQD_HAVE_BACKEND_VTD
	&prqd_backend_vtd,
#endif
#if defined(PRQD_HAVE_BACKEND_SMMUV3) && PRQD_HAVE_BACKEND_SMMUV3
	&prqd_backend_smmuv3,
#endif
	NULL,
};
