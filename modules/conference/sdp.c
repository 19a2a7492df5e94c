/* sdp.c - the phone's SDP as ysipchan forwards it raw (sdp_raw), and our answer to it (sdp.h)
 *
 * Only what a bypassed audio leg needs of RFC 4566 / 3264: the first audio
 * stream's address, port, transport, payload types with their rtpmap and
 * fmtp, ptime and direction.  Everything else is skipped.  Input is the
 * phone's, so nothing in it is trusted: lines and values are bounded,
 * numbers are checked, and a bad offer is refused with a reason.
 */
#define G_LOG_DOMAIN "conference"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "sdp.h"

#define MAX_SDP 65536

/* Names of the static payload types an offer may use without an rtpmap (RFC 3551). */
static const struct {
	int pt;
	const char *name;
} statics[] = {
        {0, "PCMU"},
        {3, "GSM"},
        {8, "PCMA"},
        {9, "G722"},
        {18, "G729"},
};

/* An unsigned decimal of @s up to its end or a space into *@v (at most @max); false if none. */
static bool number(const char **s, unsigned max, unsigned *v)
{
	const char *p = *s;
	unsigned long n = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (unsigned long)(*p++ - '0');
		if (n > max)
			return false;
	}
	*s = p;
	*v = (unsigned)n;
	return true;
}

static struct ce_sdp_fmt *fmt_of(struct ce_sdp_offer *o, unsigned pt)
{
	for (unsigned i = 0; i < o->n_fmts; i++)
		if (o->fmts[i].pt == (int)pt)
			return &o->fmts[i];
	return NULL;
}

/* c=IN IP4 ADDR (or IP6): the address, "" for a hold's 0.0.0.0 or ::; false if malformed. */
static bool conn(const char *v, char *addr, size_t size)
{
	const char *a;

	if (strncmp(v, "IN IP4 ", 7) && strncmp(v, "IN IP6 ", 7))
		return false;
	a = v + 7;
	if (!*a || strlen(a) >= size || strpbrk(a, " \t"))
		return false;
	if (!strcmp(a, "0.0.0.0") || !strcmp(a, "::"))
		a = "";
	g_strlcpy(addr, a, size);
	return true;
}

/* m=audio PORT[/N] PROTO FMT...: into @o; false if malformed. */
static bool media(const char *v, struct ce_sdp_offer *o)
{
	const char *p = v + 6; /* after "audio " */
	const char *sp;
	unsigned n;

	if (!number(&p, 65535, &o->port))
		return false;
	if (*p == '/' && (p++, !number(&p, 65535, &n)))
		return false;
	if (*p++ != ' ' || !(sp = strchr(p, ' ')) || (size_t)(sp - p) >= sizeof(o->proto))
		return false;
	memcpy(o->proto, p, (size_t)(sp - p));
	o->proto[sp - p] = 0;
	p = sp;
	while (*p == ' ') {
		unsigned pt;

		p++;
		if (!number(&p, 127, &pt) || (*p && *p != ' '))
			return false;
		if (o->n_fmts < CE_SDP_MAX_FMTS && !fmt_of(o, pt)) {
			struct ce_sdp_fmt *f = &o->fmts[o->n_fmts++];

			memset(f, 0, sizeof(*f));
			f->pt = (int)pt;
			f->channels = 1;
			for (unsigned i = 0; i < G_N_ELEMENTS(statics); i++) {
				if (statics[i].pt == (int)pt) {
					g_strlcpy(f->name, statics[i].name, sizeof(f->name));
					f->rate = 8000;
				}
			}
		}
	}
	return o->n_fmts > 0;
}

/* a=rtpmap:PT NAME/RATE[/CH] of the stream's payload types. */
static void rtpmap(const char *v, struct ce_sdp_offer *o)
{
	unsigned pt, rate, ch = 1;
	const char *p = v, *slash;
	struct ce_sdp_fmt *f;

	if (!number(&p, 127, &pt) || *p++ != ' ' || !(f = fmt_of(o, pt)))
		return;
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= sizeof(f->name))
		return;
	v = slash + 1;
	if (!number(&v, 1000000, &rate) || (*v == '/' && (v++, !number(&v, 8, &ch))) || *v)
		return;
	memcpy(f->name, p, (size_t)(slash - p));
	f->name[slash - p] = 0;
	f->rate = rate;
	f->channels = ch ? ch : 1;
}

/* a=fmtp:PT PARAMS of the stream's payload types. */
static void fmtp(const char *v, struct ce_sdp_offer *o)
{
	unsigned pt;
	const char *p = v;
	struct ce_sdp_fmt *f;

	if (!number(&p, 127, &pt) || *p++ != ' ' || !(f = fmt_of(o, pt)))
		return;
	g_strlcpy(f->fmtp, p, sizeof(f->fmtp));
}

static bool direction(const char *v, enum ce_sdp_dir *dir)
{
	static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		if (!strcmp(v, names[i])) {
			*dir = (enum ce_sdp_dir)i;
			return true;
		}
	}
	return false;
}

/**
 * Read the first audio stream of @sdp into @o.  Returns 0, or -EINVAL with
 * *@why set (a static string) when there is none or the offer is malformed:
 * too long, a line without its '=', no v=0, a bad c= or m= line.
 */
int ce_sdp_parse(const char *sdp, struct ce_sdp_offer *o, const char **why)
{
	char sess_addr[64] = "", media_addr[64] = "";
	enum ce_sdp_dir sess_dir = CE_SDP_SENDRECV, media_dir = CE_SDP_SENDRECV;
	bool in_audio = false, done = false, media_dir_set = false, has_media_addr = false;
	bool in_session = true; /* before the first m= line of any kind */
	gchar **lines;
	int err = 0;

	memset(o, 0, sizeof(*o));
	*why = NULL;
	if (!sdp || strnlen(sdp, MAX_SDP + 1) > MAX_SDP) {
		*why = sdp ? "longer than 64 KB" : "none";
		return -EINVAL;
	}
	lines = g_strsplit_set(sdp, "\r\n", -1);
	for (gchar **l = lines; *l && !err && !done; l++) {
		const char *v;

		if (!**l)
			continue;
		if ((*l)[1] != '=') {
			*why = "a line without its '='";
			err = -EINVAL;
			break;
		}
		v = *l + 2;
		if (l == lines && strcmp(*l, "v=0")) {
			*why = "not SDP (no v=0 first)";
			err = -EINVAL;
			break;
		}
		switch ((*l)[0]) {
		case 'm':
			in_session = false;
			if (in_audio) {
				done = true; /* the next stream: ours is complete */
			} else if (g_str_has_prefix(v, "audio ")) {
				in_audio = true;
				if (!media(v, o)) {
					*why = "a malformed m=audio line";
					err = -EINVAL;
				}
			}
			break;
		case 'c':
			if (!in_audio && !in_session)
				break; /* another stream's */
			if (!conn(v, in_audio ? media_addr : sess_addr, sizeof(media_addr))) {
				*why = "a malformed c= line";
				err = -EINVAL;
			}
			has_media_addr |= in_audio;
			break;
		case 'a':
			if (in_session) {
				direction(v, &sess_dir);
			} else if (in_audio) {
				if (g_str_has_prefix(v, "rtpmap:"))
					rtpmap(v + 7, o);
				else if (g_str_has_prefix(v, "fmtp:"))
					fmtp(v + 5, o);
				else if (g_str_has_prefix(v, "ptime:"))
					(void)number(&(const char *){v + 6}, 1000, &o->ptime);
				else if (direction(v, &media_dir))
					media_dir_set = true;
			}
			break;
		default:
			break;
		}
	}
	g_strfreev(lines);
	if (!err && !in_audio) {
		*why = "no audio stream";
		err = -EINVAL;
	}
	if (err) {
		memset(o, 0, sizeof(*o));
		return err;
	}
	g_strlcpy(o->addr, has_media_addr ? media_addr : sess_addr, sizeof(o->addr));
	o->dir = media_dir_set ? media_dir : sess_dir;
	return 0;
}

/** The offer's payload type named @name (any case) at RTP clock @rate (0: any), or NULL. */
const struct ce_sdp_fmt *ce_sdp_find(const struct ce_sdp_offer *o, const char *name, unsigned rate)
{
	for (unsigned i = 0; i < o->n_fmts; i++)
		if (!g_ascii_strcasecmp(o->fmts[i].name, name) &&
		        (!rate || o->fmts[i].rate == rate))
			return &o->fmts[i];
	return NULL;
}

/**
 * Our answer to an offer (RFC 3264): @fmt (the offer's payload type we
 * take, with our @fmtp for it, or NULL for none) and @dtmf (its
 * telephone-event, or NULL), at @addr:@port, in direction @dir (the
 * offer's own turned round: sendonly answers recvonly), session id @sess
 * and version @ver (one more for each new answer in a call, RFC 3264 8).
 * Free with g_free().
 */
char *ce_sdp_answer(const char *addr, unsigned port, const struct ce_sdp_fmt *fmt,
        const struct ce_sdp_fmt *dtmf, const char *fmtp, enum ce_sdp_dir dir, unsigned long sess,
        unsigned ver)
{
	static const char *const turned[] = {"sendrecv", "recvonly", "sendonly", "inactive"};
	const char *ip = strchr(addr, ':') ? "IP6" : "IP4";
	GString *s = g_string_new(NULL);

	g_string_append_printf(s,
	        "v=0\r\no=conf-engine %lu %u IN %s %s\r\ns=conf-engine\r\nc=IN %s %s\r\nt=0 0\r\n"
	        "m=audio %u RTP/AVP %d",
	        sess, ver, ip, addr, ip, addr, port, fmt->pt);
	if (dtmf)
		g_string_append_printf(s, " %d", dtmf->pt);
	g_string_append_printf(s, "\r\na=rtpmap:%d %s/%u", fmt->pt, fmt->name, fmt->rate);
	if (fmt->channels > 1)
		g_string_append_printf(s, "/%u", fmt->channels);
	g_string_append(s, "\r\n");
	if (fmtp && *fmtp)
		g_string_append_printf(s, "a=fmtp:%d %s\r\n", fmt->pt, fmtp);
	if (dtmf)
		g_string_append_printf(s, "a=rtpmap:%d telephone-event/%u\r\na=fmtp:%d 0-15\r\n",
		        dtmf->pt, dtmf->rate, dtmf->pt);
	g_string_append_printf(s, "a=ptime:20\r\na=%s\r\n", turned[dir]);
	return g_string_free(s, FALSE);
}
