/* SPDX-License-Identifier: MIT */
/*
 * lspri: list the PCI functions that have PRI, PASID or ATS, decode those capabilities and
 * say whether PRI can be used for a stop/drain cycle.
 *
 * Like lspci, it reads the live system (sysfs; root is needed to see extended configuration
 * space) or, with -F, a dump written by `lspci -xxxx`. Hexadecimal fields are printed the way
 * `lspci -vvv` prints them, with the decoded value after them, so the two can be compared.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prqdrain.h"
#include "prqdrain-pci.h"

struct opts {
	const char *dump;
	const char *slot;
	bool json;
};

static const char *pm(bool b)
{
	return b ? "+" : "-";
}

static const char *tf(bool b)
{
	return b ? "true" : "false";
}

static void slot_name(const struct prqd_pci_caps *c, char *buf, size_t len)
{
	/* As lspci: the domain only when it is not 0. */
	if (c->domain)
		snprintf(buf, len, "%04x:%02x:%02x.%u", (unsigned)c->domain, c->bus, c->dev, c->func);
	else
		snprintf(buf, len, "%02x:%02x.%u", c->bus, c->dev, c->func);
}

/* The verdict: what a driver that wants to stop and drain page requests must know. */
struct verdict {
	bool pri_usable;
	const char *why;          /* why not usable, or a caveat when usable; NULL if none */
	const char *state;        /* enabled / stopped / stopping / absent */
	bool resp_need_pasid;
	char alloc[96];
};

static void judge(const struct prqd_pci_caps *c, struct verdict *v)
{
	const struct prqd_pci_pri *p = &c->pri;

	memset(v, 0, sizeof(*v));
	if (!p->offset) {
		v->state = "absent";
		v->why = "no PRI capability";
		snprintf(v->alloc, sizeof(v->alloc), "none");
		return;
	}
	v->resp_need_pasid = p->prg_resp_pasid_required;
	if (p->enable)
		v->state = "enabled";
	else if (p->stopped)
		v->state = "stopped";
	else
		v->state = "stopping"; /* Enable- Stopped-: requests still outstanding */

	v->pri_usable = true;
	if (p->capacity == 0) {
		v->pri_usable = false;
		v->why = "capacity 0: the function can never issue a page request";
	} else if (!c->ats.offset) {
		v->pri_usable = false;
		v->why = "no ATS capability: page requests serve ATS translations";
	} else if (p->response_failure) {
		v->why = "Response Failure set: PRI is dead until cleared, reset and re-enabled";
	} else if (p->unexpected_prg_index) {
		v->why = "Unexpected PRG Index set: a response named a group not outstanding";
	} else if (p->prg_resp_pasid_required && !(c->pasid.offset && c->pasid.enable)) {
		v->why = "responses need a PASID but PASID is not enabled";
	}

	if (p->capacity == 0)
		snprintf(v->alloc, sizeof(v->alloc), "none (capacity 0)");
	else if (p->allocation == 0)
		snprintf(v->alloc, sizeof(v->alloc),
			 "not programmed: enabling grants min(capacity %u, requested)",
			 (unsigned)p->capacity);
	else if (p->allocation > p->capacity)
		snprintf(v->alloc, sizeof(v->alloc), "%u exceeds capacity %u",
			 (unsigned)p->allocation, (unsigned)p->capacity);
	else
		snprintf(v->alloc, sizeof(v->alloc), "%u of capacity %u", (unsigned)p->allocation,
			 (unsigned)p->capacity);
}

static void print_text(const struct prqd_pci_caps *c)
{
	char slot[32];
	struct verdict v;

	slot_name(c, slot, sizeof(slot));
	printf("%s %04x:%04x\n", slot, c->vendor_id, c->device_id);
	if (c->ats.offset) {
		const struct prqd_pci_ats *a = &c->ats;
		printf("\tATS [%03x v%u]: Enable%s InvQueueDepth: %02x (%u) "
		       "STU: %02x (%lu KiB) PageAligned%s GlobalInvalidate%s\n",
		       a->offset, a->version, pm(a->enable), a->inv_queue_depth_field,
		       a->inv_queue_depth, a->stu, 4ul << a->stu, pm(a->page_aligned),
		       pm(a->global_invalidate));
	}
	if (c->pasid.offset) {
		const struct prqd_pci_pasid *p = &c->pasid;
		printf("\tPASID [%03x v%u]: Exec%s Priv%s MaxWidth: %02x (%u bits) "
		       "Enable%s ExecEnable%s PrivEnable%s\n",
		       p->offset, p->version, pm(p->exec_supported), pm(p->priv_supported),
		       p->max_width, p->max_width, pm(p->enable), pm(p->exec_enable),
		       pm(p->priv_enable));
	}
	if (c->pri.offset) {
		const struct prqd_pci_pri *p = &c->pri;
		printf("\tPRI [%03x v%u]: Enable%s Reset%s RF%s UPRGI%s Stopped%s PASID%s "
		       "Capacity: %08x (%u) Allocation: %08x (%u)\n",
		       p->offset, p->version, pm(p->enable), pm(p->reset), pm(p->response_failure),
		       pm(p->unexpected_prg_index), pm(p->stopped), pm(p->prg_resp_pasid_required),
		       (unsigned)p->capacity, (unsigned)p->capacity, (unsigned)p->allocation,
		       (unsigned)p->allocation);
	}
	judge(c, &v);
	printf("\tVerdict: PRI usable for drain: %s%s; state: %s; responses need PASID: %s; "
	       "allocation: %s\n",
	       v.pri_usable ? (v.why ? "yes, but " : "yes") : "no: ", v.why ? v.why : "", v.state,
	       v.resp_need_pasid ? "yes" : "no", v.alloc);
}

static void print_json(const struct prqd_pci_caps *c, bool first)
{
	char slot[32];
	struct verdict v;

	slot_name(c, slot, sizeof(slot));
	printf("%s\n  {\"slot\": \"%s\", \"domain\": %u, \"bus\": %u, \"device\": %u, "
	       "\"function\": %u, \"vendor_id\": \"%04x\", \"device_id\": \"%04x\",\n",
	       first ? "" : ",", slot, (unsigned)c->domain, c->bus, c->dev, c->func, c->vendor_id,
	       c->device_id);
	if (c->ats.offset) {
		const struct prqd_pci_ats *a = &c->ats;
		printf("   \"ats\": {\"offset\": %u, \"version\": %u, \"enable\": %s, "
		       "\"inv_queue_depth_field\": %u, \"inv_queue_depth\": %u, \"stu\": %u, "
		       "\"page_aligned\": %s, \"global_invalidate\": %s},\n",
		       a->offset, a->version, tf(a->enable), a->inv_queue_depth_field,
		       a->inv_queue_depth, a->stu, tf(a->page_aligned), tf(a->global_invalidate));
	} else {
		printf("   \"ats\": null,\n");
	}
	if (c->pasid.offset) {
		const struct prqd_pci_pasid *p = &c->pasid;
		printf("   \"pasid\": {\"offset\": %u, \"version\": %u, \"exec_supported\": %s, "
		       "\"priv_supported\": %s, \"max_width\": %u, \"enable\": %s, "
		       "\"exec_enable\": %s, \"priv_enable\": %s},\n",
		       p->offset, p->version, tf(p->exec_supported), tf(p->priv_supported),
		       p->max_width, tf(p->enable), tf(p->exec_enable), tf(p->priv_enable));
	} else {
		printf("   \"pasid\": null,\n");
	}
	if (c->pri.offset) {
		const struct prqd_pci_pri *p = &c->pri;
		printf("   \"pri\": {\"offset\": %u, \"version\": %u, \"enable\": %s, \"reset\": %s, "
		       "\"response_failure\": %s, \"unexpected_prg_index\": %s, \"stopped\": %s, "
		       "\"prg_resp_pasid_required\": %s, \"capacity\": %u, \"allocation\": %u},\n",
		       p->offset, p->version, tf(p->enable), tf(p->reset), tf(p->response_failure),
		       tf(p->unexpected_prg_index), tf(p->stopped), tf(p->prg_resp_pasid_required),
		       (unsigned)p->capacity, (unsigned)p->allocation);
	} else {
		printf("   \"pri\": null,\n");
	}
	judge(c, &v);
	/* The reason strings are fixed ASCII text without quotes or backslashes. */
	/* reason: why PRI is unusable, or the caveat when it is usable. */
	printf("   \"verdict\": {\"pri_usable\": %s, \"reason\": ", tf(v.pri_usable));
	if (v.why)
		printf("\"%s\"", v.why);
	else
		printf("null");
	printf(", \"state\": \"%s\", \"responses_need_pasid\": %s, \"allocation\": \"%s\"}}",
	       v.state, tf(v.resp_need_pasid), v.alloc);
}

/* @user counts the lines printed, so a failure the library explained is not told twice. */
static void log_stderr(void *user, int prio, const char *file, int line, const char *fn,
		       const char *msg)
{
	fprintf(stderr, "lspri: %s\n", msg);
	++*(unsigned *)user;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: lspri [-F dump-file] [-s [[domain:]bus:][dev][.func]] [--json]\n"
		   "List PCI functions with PRI, PASID or ATS capabilities and judge PRI.\n"
		   "  -F, --file FILE   read a dump written by `lspci -xxxx` instead of the system\n"
		   "  -s, --slot SLOT   only functions in SLOT (lspci's -s syntax)\n"
		   "  -j, --json        JSON output\n"
		   "  -v, --verbose     also show libpci's warnings\n"
		   "  -h, --help        this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'F' }, { "slot", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },       { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct prqd_ctx_opts copts = { .size = sizeof(copts), .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_pci *pci;
	int c, rc, prio = PRQD_LOG_ERR, status = 0;
	bool first = true;

	/* getopt names the program by argv[0]: the same name as every other message. */
	argv[0] = (char *)"lspri";
	while ((c = getopt_long(argc, argv, "F:s:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F': o.dump = optarg; break;
		case 's': o.slot = optarg; break;
		case 'j': o.json = true; break;
		case 'v': prio = PRQD_LOG_WARNING; break;
		case 'h': usage(stdout); return 0;
		default: fprintf(stderr, "lspri: try `lspri --help'\n"); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lspri: unexpected argument `%s`; try `lspri --help'\n", argv[optind]);
		return 2;
	}

	rc = prqd_ctx_new(&copts, &ctx);
	if (rc) {
		fprintf(stderr, "lspri: %s\n", strerror(-rc));
		return 1;
	}
	unsigned lines_logged = 0;
	prqd_ctx_set_log_fn(ctx, log_stderr, &lines_logged);
	prqd_ctx_set_log_priority(ctx, prio);

	rc = prqd_pci_open(ctx, o.dump, &pci);
	if (rc) {
		if (!lines_logged)
			fprintf(stderr, "lspri: %s: %s\n", o.dump ? o.dump : "PCI devices",
				strerror(-rc));
		prqd_ctx_unref(ctx);
		return 1;
	}
	/* sysfs shows unprivileged readers only the first 64 bytes of configuration space, so
	 * without root every device would look as if it had none of the three capabilities. */
	if (!o.dump && geteuid() != 0)
		fprintf(stderr, "lspri: not root: extended configuration space (ATS, PASID, PRI) is "
				"unreadable, nothing can be listed\n");
	if (o.json)
		printf("[");
	for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d;
	     d = prqd_pci_dev_next(pci, d)) {
		struct prqd_pci_caps caps;

		if (o.slot) {
			rc = prqd_pci_dev_match(d, o.slot);
			if (rc < 0) {
				status = 2;
				break;
			}
			if (rc == 0)
				continue;
		}
		unsigned lines_before = lines_logged;
		rc = prqd_pci_dev_caps(d, &caps, sizeof(caps));
		if (rc) {
			/* Keep listing the others. */
			if (lines_logged == lines_before)
				fprintf(stderr, "lspri: %s\n", strerror(-rc));
			status = 1;
			continue;
		}
		if (!caps.ats.offset && !caps.pasid.offset && !caps.pri.offset)
			continue;
		if (o.json)
			print_json(&caps, first);
		else
			print_text(&caps);
		first = false;
	}
	if (o.json)
		printf("%s]\n", first ? "" : "\n");
	else if (first && status == 0)
		fprintf(stderr, "lspri: no PCI function%s%s has an ATS, PASID or PRI capability\n",
			o.slot ? " in " : "", o.slot ? o.slot : "");
	prqd_pci_close(pci);
	prqd_ctx_unref(ctx);
	if (fflush(stdout) != 0 && status == 0)
		status = 1;
	return status;
}
