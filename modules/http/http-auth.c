/* http-auth.c - the HTTP API's bearer tokens: parsing, constant-time checks, failure rate limit */
#define G_LOG_DOMAIN "http"

#include <errno.h>
#include <string.h>

#include "conf-engine/config.h"
#include "engine.h"
#include "http.h"

/*
 * [http] token.NAME = ROLE:HASH, ROLE read or admin, HASH the SHA-256 of
 * the secret in 64 hex digits (docs/http.md):
 *
 *   token.grafana = read:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *
 * A client presents the secret itself ("Authorization: Bearer test"); its
 * hash is compared with every token's, each comparison in constant time,
 * so that neither the secret nor which token matched shows in the timing.
 * An address that fails fail_limit times within fail_window gets 429 until
 * the window that began with its first failure ends.
 */

/* Failed authentications of one client address. */
struct ce_http_failures {
	gint64 since; /* monotonic us of the window's first failure */
	unsigned n;
};

/* Addresses tracked at most; past that, expired ones are dropped and the rest share one. */
#define MAX_TRACKED 4096
#define SHARED_KEY  "*"

static int hex_digit(char c)
{
	return g_ascii_xdigit_value(c);
}

/* ROLE:HASH into @admin and @hash; NULL, or what is wrong with it. */
static const char *parse_token(const char *value, bool *admin, guint8 hash[32])
{
	const char *colon = strchr(value, ':');
	size_t role_len = colon ? (size_t)(colon - value) : 0;

	if (!colon)
		return "expects ROLE:SHA256 (role read or admin, then the secret's SHA-256 in hex)";
	if (role_len == 4 && !strncmp(value, "read", 4))
		*admin = false;
	else if (role_len == 5 && !strncmp(value, "admin", 5))
		*admin = true;
	else
		return "unknown role (read or admin)";
	if (strlen(colon + 1) != 64)
		return "the hash is not 64 hex digits (the secret's SHA-256)";
	for (unsigned i = 0; i < 32; i++) {
		int hi = hex_digit(colon[1 + 2 * i]), lo = hex_digit(colon[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return "the hash is not 64 hex digits (the secret's SHA-256)";
		hash[i] = (guint8)(hi << 4 | lo);
	}
	return NULL;
}

/** The [http] token.NAME check of the key table: NULL when @value is a token, else why not. */
const char *ce_http_token_check(const char *value)
{
	guint8 hash[32];
	bool admin;

	return parse_token(value, &admin, hash);
}

static void token_free(gpointer p)
{
	struct ce_http_token *t = p;

	g_free(t->name);
	g_free(t);
}

/** Read the token.NAME keys of [http] into @h->tokens; -EINVAL with @err naming a bad one. */
int ce_http_tokens_load(struct ce_http *h, GError **err)
{
	const struct ce_config *cfg = ce_engine_config(h->ce);
	unsigned i, n = ce_config_n_entries(cfg, CE_HTTP_SECTION);

	h->tokens = g_ptr_array_new_with_free_func(token_free);
	for (i = 0; i < n; i++) {
		const struct ce_config_entry *e = ce_config_entry(cfg, CE_HTTP_SECTION, i);
		struct ce_http_token *t;
		const char *why;

		if (!g_str_has_prefix(e->key, "token.") || !e->key[6] || !*e->value)
			continue;
		t = g_new0(struct ce_http_token, 1);
		why = parse_token(e->value, &t->admin, t->hash);
		if (why) {
			g_set_error(err, CE_CONFIG_ERROR, CE_CONFIG_ERROR_VALUE,
			        "%s:%u: [http] %s: %s", e->file ? e->file : "", e->line, e->key,
			        why);
			g_free(t);
			return -EINVAL;
		}
		t->name = g_strdup(e->key + 6);
		g_ptr_array_add(h->tokens, t);
	}
	return 0;
}

/* The token whose hash is @hash, looking at every one whatever matched. */
static const struct ce_http_token *match(const struct ce_http *h, const guint8 hash[32])
{
	const struct ce_http_token *found = NULL;

	for (guint i = 0; i < h->tokens->len; i++) {
		const struct ce_http_token *t = g_ptr_array_index(h->tokens, i);
		guint8 diff = 0;

		for (unsigned j = 0; j < 32; j++)
			diff |= t->hash[j] ^ hash[j];
		if (!diff && !found)
			found = t;
	}
	return found;
}

static void sha256(const char *s, guint8 out[32])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = 32;

	g_checksum_update(c, (const guchar *)s, (gssize)strlen(s));
	g_checksum_get_digest(c, out, &len);
	g_checksum_free(c);
}

/* The failures of @addr, NULL when it has none in the current window. */
static struct ce_http_failures *failures_of(struct ce_http *h, const char *addr, gint64 now)
{
	struct ce_http_failures *f = g_hash_table_lookup(h->failures, addr);

	if (f && now - f->since >= h->fail_window) {
		g_hash_table_remove(h->failures, addr);
		f = NULL;
	}
	return f;
}

static gboolean expired(gpointer key, gpointer value, gpointer data)
{
	const struct ce_http_failures *f = value;
	const struct ce_http *h = data;

	return g_get_monotonic_time() - f->since >= h->fail_window;
}

static void count_failure(struct ce_http *h, const char *addr, gint64 now)
{
	struct ce_http_failures *f = failures_of(h, addr, now);

	if (!f && g_hash_table_size(h->failures) >= MAX_TRACKED)
		g_hash_table_foreach_remove(h->failures, expired, h);
	if (!f && g_hash_table_size(h->failures) >= MAX_TRACKED)
		f = failures_of(h, addr = SHARED_KEY, now);
	if (!f) {
		f = g_new0(struct ce_http_failures, 1);
		f->since = now;
		g_hash_table_insert(h->failures, g_strdup(addr), f);
	}
	f->n++;
	if (f->n == h->fail_limit)
		g_message("HTTP client %s: %u failed authentications, refused for %" G_GINT64_FORMAT
		          " s",
		        addr, f->n, (f->since + h->fail_window - now) / G_USEC_PER_SEC);
}

/* The secret of "Authorization: Bearer SECRET", or NULL. */
static const char *bearer(SoupServerMessage *msg)
{
	const char *v = soup_message_headers_get_one(
	        soup_server_message_get_request_headers(msg), "Authorization");

	if (!v || g_ascii_strncasecmp(v, "Bearer ", 7))
		return NULL;
	v += 7;
	while (*v == ' ')
		v++;
	return *v ? v : NULL;
}

static void refuse(SoupServerMessage *msg, bool presented)
{
	soup_message_headers_replace(soup_server_message_get_response_headers(msg),
	        "WWW-Authenticate",
	        presented ? "Bearer realm=\"conf-engine\", error=\"invalid_token\""
	                  : "Bearer realm=\"conf-engine\"");
	ce_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
	        presented ? "the bearer token is not valid" : "a bearer token is required");
}

/**
 * The token @msg presents, or NULL when it has answered @msg itself: 429
 * (too many failures from its address), 401 (no token, or a wrong one).
 */
const struct ce_http_token *ce_http_authenticate(struct ce_http *h, SoupServerMessage *msg)
{
	const char *addr = soup_server_message_get_remote_host(msg);
	gint64 now = g_get_monotonic_time();
	struct ce_http_failures *f;
	const struct ce_http_token *t = NULL;
	const char *secret = bearer(msg);
	guint8 hash[32];
	char *retry;

	addr = addr ? addr : "unknown";
	f = failures_of(h, addr, now);
	if (f && f->n >= h->fail_limit) {
		retry = g_strdup_printf("%" G_GINT64_FORMAT,
		        (f->since + h->fail_window - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
		soup_message_headers_replace(
		        soup_server_message_get_response_headers(msg), "Retry-After", retry);
		ce_http_reply_error(msg,
		        429 /* Too Many Requests: libsoup 3.2 has no name for it */,
		        "too_many_failures",
		        "too many failed authentications from %s; retry after %s s", addr, retry);
		g_free(retry);
		return NULL;
	}
	if (secret) {
		sha256(secret, hash);
		t = match(h, hash);
	}
	if (!t) {
		count_failure(h, addr, now);
		refuse(msg, secret != NULL);
	}
	return t;
}
