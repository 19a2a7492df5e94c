/* fuzz-sdp.c - libFuzzer target: any bytes as a phone's raw SDP offer (ysipchan's sdp_raw) */
/*
 * With forward_sdp=yes in ysipchan.conf, the phone's SDP reaches the
 * engine as it is (modules/conference/sdp.h).  The input, cut at its first
 * NUL as a message parameter would be, is read as an offer; one that reads
 * must hold only what the parser promises (payload types 0..127, names and
 * fmtp terminated within their arrays, at most CE_SDP_MAX_FMTS), and our
 * answer to its first payload type and telephone-event must read back
 * with the same payload types, port and address.
 */
#define G_LOG_DOMAIN "fuzz-sdp"

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "modules/conference/sdp.h"
#include "tests/fuzz/fuzz.h"

static void check_fmt(const struct ce_sdp_fmt *f)
{
	CHECK(f->pt >= 0 && f->pt <= 127);
	CHECK(memchr(f->name, 0, sizeof(f->name)));
	CHECK(memchr(f->fmtp, 0, sizeof(f->fmtp)));
	CHECK(f->channels >= 1 && f->channels <= 8);
}

/* Our answer to @o reads back as what it says. */
static void check_answer(const struct ce_sdp_offer *o)
{
	const struct ce_sdp_fmt *te = ce_sdp_find(o, "telephone-event", 0);
	const struct ce_sdp_fmt *fmt = &o->fmts[0];
	struct ce_sdp_offer a;
	const char *why;
	char *ans;

	if (!*fmt->name || strpbrk(fmt->name, "/ \t") || (te && te == fmt))
		return; /* a name we would never answer with */
	ans = ce_sdp_answer("192.0.2.1", 40000, fmt, te, "useinbandfec=1", o->dir, 1, 1);
	CHECK(ce_sdp_parse(ans, &a, &why) == 0);
	CHECK(!strcmp(a.addr, "192.0.2.1") && a.port == 40000);
	CHECK(a.n_fmts == (te ? 2u : 1u) && a.fmts[0].pt == fmt->pt);
	CHECK(!te || a.fmts[1].pt == te->pt);
	g_free(ans);
}

/** libFuzzer entry point; also called by test-fuzz-sdp on the corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sdp = g_strndup((const char *)data, size);
	struct ce_sdp_offer o;
	const char *why = NULL;

	if (ce_sdp_parse(sdp, &o, &why)) {
		CHECK(why && *why);
	} else {
		CHECK(!why);
		CHECK(o.n_fmts >= 1 && o.n_fmts <= CE_SDP_MAX_FMTS);
		CHECK(memchr(o.addr, 0, sizeof(o.addr)) && memchr(o.proto, 0, sizeof(o.proto)));
		for (unsigned i = 0; i < o.n_fmts; i++)
			check_fmt(&o.fmts[i]);
		check_answer(&o);
	}
	g_free(sdp);
	return 0;
}
