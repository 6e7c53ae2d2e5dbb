/* SPDX-License-Identifier: MIT */
/*
 * The core's side of the backend contract: the public contract (include/prqdrain-backend.h:
 * the operations, the types exchanged with the core, the services the core offers), which is
 * all any backend includes, compiled in or not, plus the core's private bits below. A backend
 * compiled into the library exports exactly one `const struct prqd_backend
 * prqd_backend_<name>` and is listed in lib/backends.c; a backend outside the library is
 * added to a context with prqd_ctx_add_backend(). A backend never includes lib/ headers and
 * never looks inside struct prqd_iommu.
 */
#ifndef PRQD_BACKEND_H
#define PRQD_BACKEND_H

#include "prqdrain-backend.h"

/* The ops table every backend's missing operations are filled from. */
extern const struct prqd_backend_ops prqd_backend_stub_ops;

/* Backends compiled in, in probing order; NULL-terminated. */
extern const struct prqd_backend *const prqd_backends[];

#endif /* PRQD_BACKEND_H */
