/* SPDX-License-Identifier: MIT */
/*
 * The world: simulated clock, event engine, random numbers, and the containers the models
 * share.
 *
 * Events sit in a binary min-heap keyed by (time, sequence number). The sequence number is
 * the scheduling order, so events at equal times run in the order they were scheduled: the
 * fabric relies on it to keep a path's messages in order, and it makes a run a pure function
 * of the seed and the calls.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backends/sim/sim-internal.h"

/* ---- model memory ----------------------------------------------------------------------- */

static void *libc_alloc(void *user, size_t size)
{
	(void)user;
	return calloc(1, size);
}

static void libc_free(void *user, void *ptr, size_t size)
{
	(void)user;
	(void)size;
	free(ptr);
}

void *sim_mem_alloc(struct sim_world *w, size_t size)
{
	void *p = w->host_alloc(w->host_user, size);
	if (!p) {
		/* The model cannot drop a message or an event and stay faithful to the run it
		 * is simulating; a host out of memory ends the run loudly. */
		fprintf(stderr, "prqdrain sim: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

void sim_mem_free(struct sim_world *w, void *ptr, size_t size)
{
	if (ptr)
		w->host_free(w->host_user, ptr, size);
}

void sim_mem_grow(struct sim_world *w, void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	void *n = sim_mem_alloc(w, ncap * elem);
	if (*arr)
		memcpy(n, *arr, *cap * elem);
	sim_mem_free(w, *arr, *cap * elem);
	*arr = n;
	*cap = ncap;
}

/* ---- hash map ------------------------------------------------------------------------- */

static struct sim_map_entry *map_alloc(struct sim_world *w, size_t cap)
{
	struct sim_map_entry *e = sim_mem_alloc(w, cap * sizeof(*e));
	for (size_t i = 0; i < cap; i++)
		e[i].key = SIM_MAP_EMPTY;
	return e;
}

static void map_resize(struct sim_world *w, struct sim_map *m, size_t ncap)
{
	struct sim_map n = { .slots = map_alloc(w, ncap), .cap = ncap, .count = m->count,
			     .shift = (unsigned)(64 - __builtin_ctzll(ncap)) };
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key == SIM_MAP_EMPTY)
			continue;
		size_t s = sim_map_home(&n, m->slots[i].key);
		while (n.slots[s].key != SIM_MAP_EMPTY)
			s = (s + 1) & (ncap - 1);
		n.slots[s] = m->slots[i];
	}
	sim_map_free(w, m);
	*m = n;
}

uint64_t *sim_map_ref(struct sim_world *w, struct sim_map *m, uint64_t key, bool *added)
{
	/* Keep the load at most 1/2: probes stay short. */
	if ((m->count + 1) * 2 > m->cap)
		map_resize(w, m, m->cap ? m->cap * 2 : 16);
	size_t s = sim_map_home(m, key);
	while (m->slots[s].key != SIM_MAP_EMPTY && m->slots[s].key != key)
		s = (s + 1) & (m->cap - 1);
	*added = m->slots[s].key == SIM_MAP_EMPTY;
	if (*added) {
		m->slots[s].key = key;
		m->count++;
	}
	return &m->slots[s].val;
}

void sim_map_put(struct sim_world *w, struct sim_map *m, uint64_t key, uint64_t val)
{
	bool added;
	*sim_map_ref(w, m, key, &added) = val;
}

bool sim_map_del(struct sim_map *m, uint64_t key)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	size_t s = sim_map_home(m, key);
	while (m->slots[s].key != SIM_MAP_EMPTY && m->slots[s].key != key)
		s = (s + 1) & mask;
	if (m->slots[s].key == SIM_MAP_EMPTY)
		return false;
	/* Backward-shift deletion: pull later members of the probe run into the hole unless
	 * their home slot lies cyclically in (hole, their slot]. */
	size_t hole = s;
	for (size_t j = (hole + 1) & mask; m->slots[j].key != SIM_MAP_EMPTY; j = (j + 1) & mask) {
		size_t home = sim_map_home(m, m->slots[j].key);
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		m->slots[hole] = m->slots[j];
		hole = j;
	}
	m->slots[hole].key = SIM_MAP_EMPTY;
	m->count--;
	return true;
}

void sim_map_free(struct sim_world *w, struct sim_map *m)
{
	sim_mem_free(w, m->slots, m->cap * sizeof(*m->slots));
	memset(m, 0, sizeof(*m));
}

/* ---- FIFO ring ---------------------------------------------------------------------------- */

void sim_ring_init(struct sim_ring *r, size_t item_size)
{
	memset(r, 0, sizeof(*r));
	r->item_size = item_size;
}

void sim_ring_grow(struct sim_world *w, struct sim_ring *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 16;
	unsigned char *n = sim_mem_alloc(w, ncap * r->item_size);
	for (size_t i = 0; i < r->len; i++)
		memcpy(n + i * r->item_size, sim_ring_at(r, i), r->item_size);
	sim_mem_free(w, r->buf, r->cap * r->item_size);
	r->buf = n;
	r->cap = ncap;
	r->head = 0;
}

void sim_ring_clear(struct sim_ring *r)
{
	r->head = 0;
	r->len = 0;
}

void sim_ring_free(struct sim_world *w, struct sim_ring *r)
{
	sim_mem_free(w, r->buf, r->cap * r->item_size);
	sim_ring_init(r, r->item_size);
}

/* ---- random numbers ----------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rand(struct sim_world *w)
{
	/* xoshiro256** (Blackman & Vigna). */
	uint64_t *s = w->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t sim_rand_range(struct sim_world *w, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo + 1;
	if (span == 0) /* [0, UINT64_MAX] */
		return sim_rand(w);
	/* Rejection sampling: no modulo bias, and a pure function of the seed. (Keep this
	 * mapping: scenarios calibrated on a seed depend on the exact stream of draws.) */
	uint64_t limit = UINT64_MAX - UINT64_MAX % span;
	uint64_t r;
	do
		r = sim_rand(w);
	while (r >= limit);
	return lo + r % span;
}

/* ---- events --------------------------------------------------------------------------------- */

/* The order of events as one 128-bit number: comparing it costs no branch, where comparing
 * the time and then the sequence number costs a hard-to-predict one per heap level. */
static unsigned __int128 event_key(const struct sim_event *e)
{
	return (unsigned __int128)e->at << 64 | e->seq;
}

/* Fill hole @i of the heap with @ev, moving earlier parents down. */
static void sift_up(struct sim_event *h, size_t i, const struct sim_event *ev)
{
	unsigned __int128 key = event_key(ev);
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (key >= event_key(&h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = *ev;
}

/* Fill the hole at the root of the @n-event heap @h with @ev (which is not among h[0..n-1]),
 * moving earlier children up until @ev is no later than its children. */
static void sift_down(struct sim_event *h, size_t n, const struct sim_event *ev)
{
	unsigned __int128 key = event_key(ev);
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n)
			c += event_key(&h[c + 1]) < event_key(&h[c]);
		if (key < event_key(&h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = *ev;
}

/* The same for the heap's last event @ev = h[n] taking the root's place, Floyd's bottom-up
 * way: being a leaf it is late, so the hole goes down to a leaf along the earlier child (one
 * comparison per level instead of two) and @ev climbs back up from there, seldom far. */
static void sift_down_leaf(struct sim_event *h, size_t n, const struct sim_event *ev)
{
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c + 1 < n)
			c += event_key(&h[c + 1]) < event_key(&h[c]);
		else if (c >= n)
			break;
		h[i] = h[c];
		i = c;
	}
	sift_up(h, i, ev);
}

/* Remove the root event if it has run (sim_step leaves it in place: see heap_push). */
static void heap_settle(struct sim_world *w)
{
	if (!w->heap_root_ran)
		return;
	w->heap_root_ran = false;
	size_t n = --w->heap_len;
	if (n)
		sift_down_leaf(w->heap, n, &w->heap[n]);
}

static int heap_push(struct sim_world *w, const struct sim_event *ev)
{
	/* Most events schedule another: the first one scheduled while an event runs takes its
	 * place at the root, one sift instead of a removal and an insertion. */
	if (w->heap_root_ran) {
		w->heap_root_ran = false;
		sift_down(w->heap, w->heap_len, ev);
		return 0;
	}
	if (w->heap_len == w->heap_cap) {
		size_t ncap = w->heap_cap ? w->heap_cap * 2 : 64;
		struct sim_event *n = w->host_alloc(w->host_user, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (w->heap)
			memcpy(n, w->heap, w->heap_len * sizeof(*n));
		sim_mem_free(w, w->heap, w->heap_cap * sizeof(*n));
		w->heap = n;
		w->heap_cap = ncap;
	}
	sift_up(w->heap, w->heap_len++, ev);
	return 0;
}

int sim_schedule(struct sim_world *w, uint64_t at, sim_event_fn fn, void *arg, uint64_t arg2)
{
	if (!fn)
		return -EINVAL;
	/* An event in the past runs now: time never goes backwards. */
	struct sim_event ev = { .at = sim_max_u64(at, w->now), .seq = w->event_seq++, .fn = fn,
				.arg = arg, .arg2 = arg2 };
	return heap_push(w, &ev);
}

void sim_schedule_reserved(struct sim_world *w, uint64_t at, uint64_t seq, sim_event_fn fn,
			   void *arg, uint64_t arg2)
{
	struct sim_event ev = { .at = sim_max_u64(at, w->now), .seq = seq, .fn = fn, .arg = arg,
				.arg2 = arg2 };
	if (heap_push(w, &ev) < 0) {
		fprintf(stderr, "prqdrain sim: out of memory scheduling an event\n");
		abort();
	}
}

void sim_schedule_or_die(struct sim_world *w, uint64_t at, sim_event_fn fn, void *arg,
			 uint64_t arg2)
{
	if (sim_schedule(w, at, fn, arg, arg2) < 0) {
		fprintf(stderr, "prqdrain sim: out of memory scheduling an event\n");
		abort();
	}
}

bool sim_next_event_at(struct sim_world *w, uint64_t *at)
{
	heap_settle(w);
	if (!w->heap_len)
		return false;
	*at = w->heap[0].at;
	return true;
}

bool sim_step(struct sim_world *w)
{
	heap_settle(w);
	if (!w->heap_len)
		return false;
	/* The event stays at the root while it runs, marked as run: heap_push reuses its place
	 * for the first event it schedules, heap_settle removes it otherwise. */
	struct sim_event ev = w->heap[0];
	w->heap_root_ran = true;
	if (ev.at > w->now)
		w->now = ev.at;
	ev.fn(w, ev.arg, ev.arg2);
	return true;
}

uint64_t sim_run_until(struct sim_world *w, uint64_t t)
{
	uint64_t ran = 0, at;
	while (sim_next_event_at(w, &at) && at <= t) {
		sim_step(w);
		ran++;
	}
	if (t > w->now)
		w->now = t;
	return ran;
}

uint64_t sim_now(const struct sim_world *w)
{
	return w->now;
}

/* ---- world life ------------------------------------------------------------------------------ */

void sim_config_default(struct sim_config *cfg)
{
	cfg->fabric_lat_min_ns = 200;
	cfg->fabric_lat_max_ns = 2000;
	cfg->resp_lat_ns = 500;
	cfg->relax_step_ns = 1000;
	cfg->pasid_entries = false;
}

int sim_world_new(const struct prqd_platform *host, uint64_t seed, const struct sim_config *cfg,
		  struct sim_world **out)
{
	struct sim_config def;
	if (!cfg) {
		sim_config_default(&def);
		cfg = &def;
	}
	/* relax() must advance time, and the latency range must be a range. */
	if (!out || cfg->relax_step_ns == 0 || cfg->fabric_lat_min_ns > cfg->fabric_lat_max_ns)
		return -EINVAL;

	void *(*halloc)(void *, size_t) = libc_alloc;
	void (*hfree)(void *, void *, size_t) = libc_free;
	void *huser = NULL;
	if (host) {
		if (host->size < offsetof(struct prqd_platform, now_ns) || !host->alloc ||
		    !host->free)
			return -EINVAL;
		halloc = host->alloc;
		hfree = host->free;
		huser = host->user;
	}
	struct sim_world *w = halloc(huser, sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	w->magic = SIM_WORLD_MAGIC;
	w->cfg = *cfg;
	w->host_user = huser;
	w->host_alloc = halloc;
	w->host_free = hfree;
	w->next_tag = 1;

	uint64_t sm = seed;
	for (int i = 0; i < 4; i++)
		w->rng[i] = splitmix64(&sm);

	for (size_t i = 0; sim_iommu_models[i]; i++)
		sim_iommu_models[i]->init(w);
	w->model = &sim_queue_model;
	w->mmio_model = &sim_vtd_model;
	sim_dma_init(&w->dma);
	sim_pool_init(&w->chk.pool, sizeof(struct sim_chk_group));
	sim_platform_setup(w);
	*out = w;
	return 0;
}

void sim_world_free(struct sim_world *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nall; i++)
		sim_dev_release(w->all_devs[i]);
	sim_mem_free(w, w->all_devs, w->all_cap * sizeof(*w->all_devs));
	sim_mem_free(w, w->devs, w->devs_cap * sizeof(*w->devs));
	for (size_t i = 0; sim_iommu_models[i]; i++)
		sim_iommu_models[i]->release(w);
	sim_dma_release(w);
	sim_chk_release(w, &w->chk);
	sim_mem_free(w, w->heap, w->heap_cap * sizeof(*w->heap));
	w->magic = 0;
	void (*hfree)(void *, void *, size_t) = w->host_free;
	hfree(w->host_user, w, sizeof(*w));
}

/* ---- register models' shadow logs ------------------------------------------------------------ */

struct sim_vtd_shadow *sim_shadow_new(struct sim_world *w)
{
	struct sim_vtd_shadow *log = sim_mem_alloc(w, SIM_VTD_SHADOW * sizeof(*log));
	for (size_t i = 0; i < SIM_VTD_SHADOW; i++)
		log[i].seq = UINT64_MAX;
	return log;
}

void sim_shadow_free(struct sim_world *w, struct sim_vtd_shadow *log)
{
	sim_mem_free(w, log, SIM_VTD_SHADOW * sizeof(*log));
}

void sim_shadow_record(struct sim_vtd_shadow *log, uint64_t seq, const struct sim_up_msg *m)
{
	struct sim_vtd_shadow *sh = &log[seq % SIM_VTD_SHADOW];
	sh->seq = seq;
	sh->tag = m->tag;
	sh->issue_ns = m->issue_ns;
}

const struct sim_vtd_shadow *sim_shadow_find(const struct sim_vtd_shadow *log, uint64_t written,
					     uint64_t seq)
{
	if (!log || seq >= written)
		return NULL;
	const struct sim_vtd_shadow *sh = &log[seq % SIM_VTD_SHADOW];
	return sh->seq == seq ? sh : NULL;
}

uint64_t sim_shadow_tag(const struct sim_vtd_shadow *log, uint64_t written, uint64_t backend_tag)
{
	const struct sim_vtd_shadow *sh =
		backend_tag ? sim_shadow_find(log, written, backend_tag - 1) : NULL;
	return sh ? sh->tag : 0;
}

void sim_arrivals_each(const struct sim_ring *arrivals, sim_queued_fn fn, void *arg)
{
	for (size_t i = 0; i < arrivals->len; i++) {
		const struct sim_vtd_arrival *a = sim_ring_at(arrivals, i);
		if (a->m.kind == SIM_UP_PAGE_REQ)
			fn(arg, a->rid, a->m.flags & SIM_RQ_PASID, a->m.pasid, a->m.tag,
			   a->m.issue_ns);
	}
}
