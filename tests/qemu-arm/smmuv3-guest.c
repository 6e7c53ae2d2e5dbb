/* SPDX-License-Identifier: MIT */
/*
 * The SMMUv3 QEMU oracle guest: a bare-metal aarch64 image that drives the command queue
 * engine (backends/smmuv3/smmuv3-cmdq.c) against QEMU's SMMUv3 model (-machine
 * virt,iommu=smmuv3) and prints one TAP line per check on the PL011 UART ("ok N - what" /
 * "not ok N - what # detail"), then the plan "1..N", then leaves through semihosting
 * SYS_EXIT with status 0 when every check passed, 1 otherwise.
 * tests/qemu-arm/qemu-smmuv3.sh boots it and reads the lines.
 *
 * What it relies on (facts: ../shared/reference/peers.md §2, QEMU 7.2 as in Debian 12): the
 * SMMU's registers at 0x09050000 (the virt machine's device tree says smmuv3@9050000), the
 * PL011 at 0x09000000, the command queue processed at the CMDQ_PROD write and again at the
 * GERRORN write, CONS moved past a command once it is done, an illegal opcode stopping the
 * queue with CMDQ_CONS.ERR = CERROR_ILL and GERROR.CMDQ_ERR toggled, PRI_RESP, RESUME,
 * STALL_TERM and ATC_INV accepted without being checked (so their encodings are not judged
 * here: tests/check-smmuv3-cmd does that), IDR0.MSI = 0 (syncs complete by CONS only).
 *
 * The whole freestanding library (the core and the smmuv3 backend, no simulator) is linked
 * in too: it must build for aarch64 as an embedder would, and the backend must read QEMU's
 * ID registers right (7.2 has neither PRI nor stalls: the backend declines the unit).
 *
 * The MMU is off, so a DMA address is the pointer's value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "backends/smmuv3/smmuv3-cmdq.h"
#include "backends/smmuv3/smmuv3-regs.h"

#define VIRT_SMMU_BASE 0x09050000ul
#define VIRT_UART_BASE 0x09000000ul
#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1u << 5)
#define WAIT_NS 200000000ull /* 200 ms: QEMU completes a command at the PROD write */
#define SMALL_LOG2 3u        /* an 8-command queue: wraps after a few batches */

void guest_main(void);
void *memset(void *s, int c, size_t n); /* smmuv3-rt.c */

/* ---- output -------------------------------------------------------------------------------- */

static void uart_putc(char c)
{
	volatile uint32_t *uart = (volatile uint32_t *)VIRT_UART_BASE;

	if (c == '\n')
		uart_putc('\r');
	while (uart[UART_FR / 4] & UART_FR_TXFF)
		;
	uart[UART_DR / 4] = (uint32_t)(unsigned char)c;
}

static void out_str(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

static void out_num(uint64_t v, unsigned base)
{
	char digits[24];
	int n = 0;

	if (base == 16)
		out_str("0x");
	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		uart_putc(digits[--n]);
}

static void out_int(int v)
{
	if (v < 0) {
		uart_putc('-');
		out_num((uint64_t)0 - (uint64_t)(int64_t)v, 10);
	} else {
		out_num((uint64_t)v, 10);
	}
}

static unsigned checks, failures;

/* Start one TAP line; the caller adds detail with note_*() when it failed, then ends it. */
static bool check_begin(bool ok, const char *what)
{
	checks++;
	if (!ok) {
		failures++;
		out_str("not ");
	}
	out_str("ok ");
	out_num(checks, 10);
	out_str(" - ");
	out_str(what);
	if (!ok)
		out_str(" #");
	return ok;
}

static void note_hex(const char *name, uint64_t v)
{
	out_str(" ");
	out_str(name);
	out_str("=");
	out_num(v, 16);
}

static void note_int(const char *name, int v)
{
	out_str(" ");
	out_str(name);
	out_str("=");
	out_int(v);
}

/* A check whose detail is one number: what was got against what was wanted. */
static bool check_eq(const char *what, uint64_t got, uint64_t want)
{
	bool ok = check_begin(got == want, what);

	if (!ok) {
		note_hex("got", got);
		note_hex("want", want);
	}
	uart_putc('\n');
	return ok;
}

static bool check_rc(const char *what, int rc, int want)
{
	bool ok = check_begin(rc == want, what);

	if (!ok) {
		note_int("rc", rc);
		note_int("want", want);
	}
	uart_putc('\n');
	return ok;
}

/* Semihosting call @op with parameter block @arg (AArch64: HLT #0xF000). */
static void semihost(uint64_t op, const volatile void *arg)
{
	register uint64_t x0 __asm__("x0") = op;
	register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)arg;

	__asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
}

static void __attribute__((noreturn)) leave(void)
{
	/* SYS_EXIT: ADP_Stopped_ApplicationExit with the status as subcode. */
	static volatile uint64_t block[2];

	out_str("1..");
	out_num(checks, 10);
	out_str("\n# ");
	out_num(failures, 10);
	out_str(" of ");
	out_num(checks, 10);
	out_str(" checks failed\n");
	block[0] = 0x20026;
	block[1] = failures ? 1 : 0;
	semihost(0x18, block);
	/* Without semihosting: PSCI SYSTEM_OFF (the script then misses the status and fails). */
	register uint64_t fn __asm__("x0") = 0x84000008;
	__asm__ volatile("hvc #0" : "+r"(fn) : : "memory");
	for (;;)
		__asm__ volatile("wfi");
}

/* ---- the platform ---------------------------------------------------------------------------- */

static volatile unsigned char *const smmu = (volatile unsigned char *)VIRT_SMMU_BASE;

static uint32_t g_read32(void *user, uint64_t off)
{
	return *(volatile uint32_t *)(smmu + off);
}

static uint64_t g_read64(void *user, uint64_t off)
{
	return *(volatile uint64_t *)(smmu + off);
}

static void g_write32(void *user, uint64_t off, uint32_t v)
{
	*(volatile uint32_t *)(smmu + off) = v;
}

static void g_write64(void *user, uint64_t off, uint64_t v)
{
	*(volatile uint64_t *)(smmu + off) = v;
}

static uint64_t g_now_ns(void *user)
{
	uint64_t cnt, freq;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(cnt));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	if (!freq)
		freq = 62500000; /* QEMU's generic timer */
	return cnt / freq * 1000000000ull + cnt % freq * 1000000000ull / freq;
}

static void g_relax(void *user)
{
	__asm__ volatile("yield");
}

/* DMA memory: a bump allocator over a static pool. */
static unsigned char pool[1u << 20] __attribute__((aligned(4096)));
static size_t pool_used;
static unsigned dma_frees;

static int g_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	size_t at = (pool_used + align - 1) & ~(align - 1);

	if (at + size > sizeof(pool))
		return -PRQD_ENOMEM;
	memset(pool + at, 0, size);
	pool_used = at + size;
	*va = pool + at;
	*bus = (uint64_t)(uintptr_t)(pool + at);
	return 0;
}

static void g_dma_free(void *user, void *va, size_t size)
{
	dma_frees++;
}

static void *g_alloc(void *user, size_t size)
{
	void *va;
	uint64_t bus;

	return g_dma_alloc(user, size, 16, &va, &bus) ? NULL : va;
}

static void g_free(void *user, void *ptr, size_t size)
{
}

static const struct prqd_platform plat = {
	.size = sizeof(struct prqd_platform),
	.alloc = g_alloc,
	.free = g_free,
	.now_ns = g_now_ns,
	.relax = g_relax,
	.mmio_read32 = g_read32,
	.mmio_read64 = g_read64,
	.mmio_write32 = g_write32,
	.mmio_write64 = g_write64,
	.dma_alloc = g_dma_alloc,
	.dma_free = g_dma_free,
};

/* ---- helpers for the checks ------------------------------------------------------------------ */

static struct smmuv3_cmdq q;

static uint32_t reg(uint32_t off)
{
	return g_read32(NULL, off);
}

/* Is a command error active (GERROR.CMDQ_ERR differs from GERRORN's)? */
static bool cmdq_error_active(void)
{
	return ((reg(SMMUV3_REG_GERROR) ^ reg(SMMUV3_REG_GERRORN)) & SMMUV3_GERROR_CMDQ_ERR) != 0;
}

/* CMDQ_CONS / CMDQ_PROD without the error field: index and wrap bit. */
static uint32_t hw_cons(void)
{
	return reg(SMMUV3_REG_CMDQ_CONS) & ((2u << q.log2size) - 1);
}

static uint32_t hw_prod(void)
{
	return reg(SMMUV3_REG_CMDQ_PROD) & ((2u << q.log2size) - 1);
}

/* An opcode no SMMUv3 command has. */
static void cmd_illegal(struct smmuv3_cmd *c, unsigned opcode)
{
	c->dw[0] = opcode;
	c->dw[1] = 0;
}

/* One of each command QEMU accepts, @n of them in turn. */
static void fill_valid(struct smmuv3_cmd *cmds, unsigned n, unsigned salt)
{
	for (unsigned i = 0; i < n; i++) {
		switch ((i + salt) % 8) {
		case 0: smmuv3_cmd_tlbi_nh_all(&cmds[i], 0); break;
		case 1: smmuv3_cmd_tlbi_nh_asid(&cmds[i], (uint16_t)(i + 1), 0); break;
		case 2: smmuv3_cmd_cfgi_cd(&cmds[i], 8, i, true); break;
		case 3: smmuv3_cmd_atc_inv_all(&cmds[i], 8, true, 5); break;
		case 4: smmuv3_cmd_pri_resp(&cmds[i], 8, true, 5, (uint16_t)i, SMMUV3_PRI_RESP_SUCCESS); break;
		case 5: smmuv3_cmd_resume(&cmds[i], 9, (uint16_t)i, SMMUV3_RESUME_RETRY); break;
		case 6: smmuv3_cmd_stall_term(&cmds[i], 9); break;
		default: smmuv3_cmd_atc_inv_all(&cmds[i], 8, false, 0); break;
		}
	}
}

/* ---- the checks ------------------------------------------------------------------------------ */

static void check_identification(void)
{
	uint32_t idr0 = reg(SMMUV3_REG_IDR0), idr1 = reg(SMMUV3_REG_IDR1);
	unsigned cmdqs = (idr1 >> SMMUV3_IDR1_CMDQS_SHIFT) & SMMUV3_IDR1_QS_MASK;

	out_str("# IDR0 ");
	out_num(idr0, 16);
	out_str(" IDR1 ");
	out_num(idr1, 16);
	out_str(" IDR3 ");
	out_num(reg(SMMUV3_REG_IDR3), 16);
	out_str("\n");
	check_eq("an SMMUv3 answers at 0x09050000 (IDR0.TTF set)",
		 (idr0 >> SMMUV3_IDR0_TTF_SHIFT) & SMMUV3_IDR0_TTF_MASK ? 1 : 0, 1);
	check_eq("IDR1.CMDQS allows an 8-command queue", cmdqs >= SMALL_LOG2, 1);
}

static void check_init(void)
{
	uint32_t ack;

	check_rc("init with a 0-entry queue refused", smmuv3_cmdq_init(&q, &plat, 0, false, WAIT_NS),
		 -PRQD_EINVAL);
	check_rc("init of an 8-command queue", smmuv3_cmdq_init(&q, &plat, SMALL_LOG2, true, WAIT_NS), 0);
	ack = reg(SMMUV3_REG_CR0ACK);
	check_eq("CR0ACK.CMDQEN set", ack & SMMUV3_CR0_CMDQEN, SMMUV3_CR0_CMDQEN);
	check_eq("CMDQ_BASE holds the ring, RA and LOG2SIZE", g_read64(NULL, SMMUV3_REG_CMDQ_BASE),
		 (q.ring_bus & SMMUV3_Q_BASE_ADDR_MASK) | SMMUV3_Q_BASE_RWA | SMALL_LOG2);
	check_eq("PROD and CONS start at 0", hw_prod() | hw_cons(), 0);
	check_eq("completion by MSI only where IDR0.MSI", q.msi ? 1 : 0,
		 reg(SMMUV3_REG_IDR0) & SMMUV3_IDR0_MSI ? 1 : 0);
}

static void check_sync(void)
{
	struct smmuv3_sync t;
	uint64_t bells = q.doorbells;

	check_rc("a lone CMD_SYNC is queued", smmuv3_cmdq_submit(&q, NULL, 0, &t), 0);
	check_rc("the CMD_SYNC completes", smmuv3_cmdq_wait(&q, &t, WAIT_NS), 0);
	check_eq("CONS moved past it", hw_cons(), 1);
	check_eq("one PROD write", q.doorbells - bells, 1);
	check_rc("polling it again still says complete", smmuv3_cmdq_poll(&q, &t), 0);

	struct smmuv3_sync never = { .start = q.prod + 3, .pos = q.prod + 3 };
	check_rc("a sync never queued is refused", smmuv3_cmdq_poll(&q, &never), -PRQD_EINVAL);
}

static void check_batch(void)
{
	struct smmuv3_cmd cmds[7];
	struct smmuv3_sync t;
	uint64_t bells = q.doorbells, before = q.prod;

	fill_valid(cmds, 7, 0);
	check_rc("seven commands and a sync fill the queue in one batch",
		 smmuv3_cmdq_submit(&q, cmds, 7, &t), 0);
	check_eq("... with one PROD write", q.doorbells - bells, 1);
	check_eq("PROD names the end of the batch", hw_prod(), (uint32_t)(before + 8) & 15);
	check_rc("... and its sync completes", smmuv3_cmdq_wait(&q, &t, WAIT_NS), 0);
	check_eq("CONS caught up with PROD", hw_cons(), hw_prod());

	struct smmuv3_cmd nine[9];
	fill_valid(nine, 9, 1);
	check_rc("a batch larger than the queue is refused", smmuv3_cmdq_submit(&q, nine, 8, &t),
		 -PRQD_EINVAL);
	check_eq("... and nothing was queued", q.prod, before + 8);
}

/* More than the queue holds, in several batches: PROD and CONS wrap, the wrap bit flips. */
static void check_wrap(void)
{
	struct smmuv3_cmd cmds[6];
	struct smmuv3_sync t;
	bool all_done = true, saw_wrap_set = false, saw_wrap_clear = false;
	uint64_t first = q.prod;
	int rc = 0;

	for (unsigned round = 0; round < 12; round++) {
		unsigned n = 1 + round % 6; /* batches of 2..7 commands: every index alignment */

		fill_valid(cmds, n, round);
		rc = smmuv3_cmdq_submit(&q, cmds, n, &t);
		if (rc == 0)
			rc = smmuv3_cmdq_wait(&q, &t, WAIT_NS);
		if (rc != 0) {
			all_done = false;
			break;
		}
		if (hw_cons() & (1u << SMALL_LOG2))
			saw_wrap_set = true;
		else
			saw_wrap_clear = true;
	}
	if (check_begin(all_done, "twelve batches through an 8-command queue all complete"))
		uart_putc('\n');
	else {
		note_int("rc", rc);
		uart_putc('\n');
	}
	check_eq("more than four queue lengths went through", q.prod - first > 4u * 8u, 1);
	check_eq("CONS was seen with its wrap bit set and clear", saw_wrap_set && saw_wrap_clear, 1);
	check_eq("CONS equals PROD with the wrap bit", hw_cons(), (uint32_t)q.prod & 15);
}

/* An illegal opcode stops the queue; the engine replaces it and the queue goes on. */
static void check_illegal(unsigned opcode, const char *what_stops)
{
	struct smmuv3_cmd cmds[3];
	struct smmuv3_sync t, after;
	struct smmuv3_cmdq_error err;
	uint64_t bad_pos = q.prod + 1;

	smmuv3_cmd_tlbi_nh_all(&cmds[0], 0);
	cmd_illegal(&cmds[1], opcode);
	smmuv3_cmd_tlbi_nh_all(&cmds[2], 0);
	check_rc(what_stops, smmuv3_cmdq_submit(&q, cmds, 3, &t), 0);
	/* Look before the engine does. */
	uint32_t cons = reg(SMMUV3_REG_CMDQ_CONS);
	check_eq("... CONS stops on the illegal command", cons & ((2u << q.log2size) - 1),
		 (uint32_t)bad_pos & 15);
	check_eq("... CMDQ_CONS.ERR is CERROR_ILL",
		 (cons >> SMMUV3_CMDQ_CONS_ERR_SHIFT) & SMMUV3_CMDQ_CONS_ERR_MASK, SMMUV3_CERROR_ILL);
	check_eq("... GERROR.CMDQ_ERR is active", cmdq_error_active(), 1);
	check_rc("... the batch's sync completes with an error", smmuv3_cmdq_wait(&q, &t, WAIT_NS),
		 -PRQD_EIO);
	check_eq("... GERRORN acknowledged it", cmdq_error_active(), 0);
	check_eq("... the engine reports one illegal command",
		 smmuv3_cmdq_errors(&q, &err) == 1 && err.ill == 1, 1);
	check_eq("... at its position", err.ill_pos, bad_pos);
	check_eq("... with its opcode", err.ill_opcode, opcode);
	check_eq("... and CONS went on to PROD", hw_cons(), (uint32_t)q.prod & 15);
	check_rc("the next batch completes cleanly", smmuv3_cmdq_submit(&q, cmds, 1, &after), 0);
	check_rc("... its sync reports no error", smmuv3_cmdq_wait(&q, &after, WAIT_NS), 0);
}

/* Two batches queued behind an illegal command: only the one that held it fails; a batch
 * that does not fit while the queue is stopped is refused with -EAGAIN. */
static void check_error_with_backlog(void)
{
	struct smmuv3_cmd cmds[4];
	struct smmuv3_sync first, second, third;
	struct smmuv3_cmdq_error err;

	/* Put the illegal command on the last index, so the replacement is made across the
	 * wrap. */
	while (((q.prod + 1) & 7) != 7) {
		struct smmuv3_sync pad;

		smmuv3_cmdq_submit(&q, NULL, 0, &pad);
		smmuv3_cmdq_wait(&q, &pad, WAIT_NS);
	}
	smmuv3_cmd_tlbi_nh_all(&cmds[0], 0);
	cmd_illegal(&cmds[1], 0x7F);
	check_rc("an illegal command on the queue's last index", smmuv3_cmdq_submit(&q, cmds, 2, &first), 0);
	fill_valid(cmds, 4, 3);
	check_rc("a second batch queued behind the stopped queue", smmuv3_cmdq_submit(&q, cmds, 3, &second),
		 0);
	check_rc("a batch that does not fit is refused for now", smmuv3_cmdq_submit(&q, cmds, 4, &third),
		 -PRQD_EAGAIN);
	check_eq("the queue is held by the error", cmdq_error_active(), 1);
	smmuv3_cmdq_errors(&q, &err);
	check_eq("the engine replaced the command at the wrap", err.ill == 1 && (err.ill_pos & 7) == 7, 1);
	check_rc("the first batch's sync says -EIO", smmuv3_cmdq_wait(&q, &first, WAIT_NS), -PRQD_EIO);
	check_rc("the second batch's sync completes cleanly", smmuv3_cmdq_wait(&q, &second, WAIT_NS), 0);
	check_rc("now the larger batch fits", smmuv3_cmdq_submit(&q, cmds, 4, &third), 0);
	check_rc("... and completes", smmuv3_cmdq_wait(&q, &third, WAIT_NS), 0);
}

/* A sync that signals (CS=IRQ) completes like any other; where IDR0.MSI=0 no word is written. */
static void check_sync_irq(void)
{
	struct smmuv3_cmd sync;
	struct smmuv3_sync t;

	smmuv3_cmd_sync(&sync, SMMUV3_SYNC_CS_IRQ, 0, 0);
	check_rc("a CMD_SYNC with CS=IRQ is consumed", smmuv3_cmdq_submit(&q, &sync, 1, &t), 0);
	check_rc("... and the batch completes", smmuv3_cmdq_wait(&q, &t, WAIT_NS), 0);
}

/* The queue left stopped on an error by an "earlier owner": a new init acknowledges it. */
static void check_reinit(void)
{
	struct smmuv3_cmd bad;
	struct smmuv3_sync t;

	cmd_illegal(&bad, 0);
	smmuv3_cmdq_submit(&q, &bad, 1, NULL);
	check_eq("an all-zero command stops the queue too", cmdq_error_active(), 1);
	smmuv3_cmdq_fini(&q);
	check_eq("fini turns CMDQEN off", reg(SMMUV3_REG_CR0ACK) & SMMUV3_CR0_CMDQEN, 0);
	check_rc("init again over the stopped queue", smmuv3_cmdq_init(&q, &plat, 4, false, WAIT_NS), 0);
	check_eq("... acknowledged the old error", cmdq_error_active(), 0);
	check_rc("... and a sync completes", smmuv3_cmdq_submit(&q, NULL, 0, &t), 0);
	check_rc("... in time", smmuv3_cmdq_wait(&q, &t, WAIT_NS), 0);
	smmuv3_cmdq_fini(&q);
	check_rc("after fini submissions fail", smmuv3_cmdq_submit(&q, NULL, 0, &t), -PRQD_EIO);
}

/* The library on QEMU's SMMU: what the backend makes of the ID registers. */
static void check_backend(void)
{
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &plat,
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io = NULL;
	uint32_t idr0 = reg(SMMUV3_REG_IDR0), ack = reg(SMMUV3_REG_CR0ACK);
	bool stalls = ((idr0 >> SMMUV3_IDR0_STALL_SHIFT) & SMMUV3_IDR0_STALL_MASK) !=
		      SMMUV3_STALL_MODEL_TERMINATE;

	if (!check_rc("a library context on the guest's platform", prqd_ctx_new(&co, &ctx), 0))
		return;
	if ((idr0 & SMMUV3_IDR0_PRI) || stalls) {
		/* A QEMU that models PRI or stalls: the backend brings the queues up. */
		check_rc("the smmuv3 backend opens the unit", prqd_iommu_open(ctx, "smmuv3", NULL, &io), 0);
		check_eq("... with its queues on", reg(SMMUV3_REG_CR0ACK) & SMMUV3_CR0_CMDQEN,
			 SMMUV3_CR0_CMDQEN);
		check_rc("... and closes it", io ? prqd_iommu_close(io) : -1, 0);
	} else {
		check_rc("the smmuv3 backend declines a unit without PRI or stalls",
			 prqd_iommu_open(ctx, "smmuv3", NULL, &io), -PRQD_EOPNOTSUPP);
		check_rc("... and probing finds no backend for it", prqd_iommu_open(ctx, NULL, NULL, &io),
			 -PRQD_ENODEV);
		check_eq("... and CR0 was left alone", reg(SMMUV3_REG_CR0ACK), ack);
	}
	prqd_ctx_unref(ctx);
}

void guest_main(void)
{
	out_str("# smmuv3 command queue engine against QEMU's SMMUv3\n");
	check_identification();
	check_init();
	check_sync();
	check_batch();
	check_wrap();
	check_illegal(0x7F, "an unknown opcode (0x7f) in a batch is queued");
	check_illegal(0x00, "opcode 0 in a batch is queued");
	check_error_with_backlog();
	check_sync_irq();
	check_reinit();
	check_backend();
	leave();
}
