/* spool.c - durable on-disk spool of history records while the database is away */
#define G_LOG_DOMAIN "store"

/*
 * The spool is a directory with three files:
 *
 *   spool.lock  held with flock() so that two engines never share a spool
 *   spool.dat   "CESPOOL1", then records: u32 length, u32 CRC-32, payload
 *               (little endian; the payload is a serialized ce_rec)
 *   spool.pos   u64 offset of the first record not yet in the database
 *
 * Appends are written whole and fdatasync()ed before they count.  At open a
 * torn or corrupt tail (a crash in the middle of a write) is cut off with a
 * warning.  When every record has been replayed the data file is truncated
 * back to its header.  A record is consumed only after the database commit
 * that holds it, so a crash replays it again; the uuid makes that harmless.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "store-db.h"

#define SPOOL_MAGIC "CESPOOL1"
#define SPOOL_HDR   8
#define REC_HDR     8
#define REC_MAX     (16u << 20)

struct ce_spool {
	char *dir;
	char *pos_path;
	int fd;
	int lock_fd;
	guint64 pos;
	guint64 end;
	guint64 count;
};

static guint32 crc_table[256];

static gpointer crc_init(gpointer unused)
{
	for (guint32 i = 0; i < 256; i++) {
		guint32 c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	return NULL;
}

static guint32 crc32(const guint8 *p, gsize n)
{
	static GOnce once = G_ONCE_INIT;
	guint32 c = 0xffffffffu;

	g_once(&once, crc_init, NULL);
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static int set_error(GError **err, int code, const char *what, const char *path)
{
	int e = errno ? errno : EIO;

	g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL, "spool %s %s: %s", what, path,
	        g_strerror(e));
	return code ? code : -e;
}

static int write_all(int fd, const guint8 *p, gsize n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (gsize)w;
	}
	return 0;
}

static int read_at(int fd, guint8 *p, gsize n, guint64 off)
{
	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (gsize)r;
		off += (guint64)r;
	}
	return 0;
}

/* Reads the record at @off; returns its payload or NULL when torn/corrupt. */
static GBytes *read_record(const struct ce_spool *sp, guint64 off, guint64 *next)
{
	guint8 hdr[REC_HDR];
	guint32 len, crc;
	guint8 *buf;

	if (off + REC_HDR > sp->end || read_at(sp->fd, hdr, REC_HDR, off) < 0)
		return NULL;
	len = GUINT32_FROM_LE(*(guint32 *)(void *)hdr);
	crc = GUINT32_FROM_LE(*(guint32 *)(void *)(hdr + 4));
	if (len > REC_MAX || off + REC_HDR + len > sp->end)
		return NULL;
	buf = g_malloc(len ? len : 1);
	if (read_at(sp->fd, buf, len, off + REC_HDR) < 0 || crc32(buf, len) != crc) {
		g_free(buf);
		return NULL;
	}
	*next = off + REC_HDR + len;
	return g_bytes_new_take(buf, len);
}

static int save_pos(struct ce_spool *sp, GError **err)
{
	guint64 le = GUINT64_TO_LE(sp->pos);
	GError *e = NULL;

	if (!g_file_set_contents_full(sp->pos_path, (const char *)&le, sizeof(le),
	            G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e)) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL, "spool position: %s",
		        e->message);
		g_error_free(e);
		return -EIO;
	}
	return 0;
}

static void load_pos(struct ce_spool *sp)
{
	char *data = NULL;
	gsize len = 0;
	guint64 le;

	sp->pos = SPOOL_HDR;
	if (!g_file_get_contents(sp->pos_path, &data, &len, NULL))
		return;
	if (len == sizeof(le)) {
		memcpy(&le, data, sizeof(le));
		sp->pos = GUINT64_FROM_LE(le);
	}
	g_free(data);
	/* a crash between truncating the data and saving the position */
	if (sp->pos < SPOOL_HDR || sp->pos > sp->end)
		sp->pos = SPOOL_HDR;
}

/* Counts the pending records and cuts a torn tail off. */
static int scan(struct ce_spool *sp, GError **err)
{
	guint64 off = sp->pos, next = 0;
	GBytes *b;

	sp->count = 0;
	while (off < sp->end && (b = read_record(sp, off, &next)) != NULL) {
		g_bytes_unref(b);
		sp->count++;
		off = next;
	}
	if (off == sp->end)
		return 0;
	g_warning("spool %s: dropping %" G_GUINT64_FORMAT " bytes of a torn or corrupt tail",
	        sp->dir, sp->end - off);
	if (ftruncate(sp->fd, (off_t)off) < 0)
		return set_error(err, 0, "truncate", sp->dir);
	sp->end = off;
	return 0;
}

static int open_data(struct ce_spool *sp, GError **err)
{
	char *path = g_build_filename(sp->dir, "spool.dat", NULL);
	char magic[SPOOL_HDR];
	struct stat stbuf;
	int r = 0;

	sp->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sp->fd < 0 || fstat(sp->fd, &stbuf) < 0) {
		r = set_error(err, 0, "open", path);
		goto out;
	}
	sp->end = (guint64)stbuf.st_size;
	if (sp->end < SPOOL_HDR) {
		if (ftruncate(sp->fd, 0) < 0 ||
		        write_all(sp->fd, (const guint8 *)SPOOL_MAGIC, SPOOL_HDR) < 0 ||
		        fdatasync(sp->fd) < 0) {
			r = set_error(err, 0, "initialise", path);
			goto out;
		}
		sp->end = SPOOL_HDR;
	} else if (read_at(sp->fd, (guint8 *)magic, SPOOL_HDR, 0) < 0 ||
	           memcmp(magic, SPOOL_MAGIC, SPOOL_HDR) != 0) {
		g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL,
		        "%s is not a conf-engine spool file; move it away", path);
		r = -EINVAL;
	}
out:
	g_free(path);
	return r;
}

/**
 * ce_spool_open() - open (creating if needed) the spool in @dir and lock it
 *
 * Returns 0, or a negative errno with @err set (unwritable directory, a spool
 * locked by another process, a file that is not a spool).
 */
int ce_spool_open(struct ce_spool **sp, const char *dir, GError **err)
{
	struct ce_spool *s = g_new0(struct ce_spool, 1);
	char *lock = NULL;
	int r;

	s->fd = s->lock_fd = -1;
	s->dir = g_strdup(dir);
	s->pos_path = g_build_filename(dir, "spool.pos", NULL);
	lock = g_build_filename(dir, "spool.lock", NULL);
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		r = set_error(err, 0, "create directory", dir);
		goto out;
	}
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		r = set_error(err, 0, "open", lock);
		goto out;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = set_error(err, -EBUSY, "lock (is another engine using it?)", lock);
		goto out;
	}
	r = open_data(s, err);
	if (r < 0)
		goto out;
	load_pos(s);
	r = scan(s, err);
out:
	g_free(lock);
	if (r < 0) {
		ce_spool_close(s);
		s = NULL;
	}
	*sp = s;
	return r;
}

/** ce_spool_close() - close the spool and release its lock (NULL is fine) */
void ce_spool_close(struct ce_spool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	g_free(sp->pos_path);
	g_free(sp->dir);
	g_free(sp);
}

/**
 * ce_spool_append() - append @n records durably, in order
 *
 * Either all of them are on disk (fdatasync'ed) when it returns 0, or none
 * count: a failed write is cut off again.
 */
int ce_spool_append(struct ce_spool *sp, GBytes *const *recs, guint n, GError **err)
{
	GByteArray *buf = g_byte_array_new();
	int r = 0;

	for (guint i = 0; i < n; i++) {
		gsize len;
		const guint8 *p = g_bytes_get_data(recs[i], &len);
		guint32 hdr[2] = {GUINT32_TO_LE((guint32)len), GUINT32_TO_LE(crc32(p, len))};

		g_byte_array_append(buf, (const guint8 *)hdr, sizeof(hdr));
		g_byte_array_append(buf, p, (guint)len);
	}
	if (write_all(sp->fd, buf->data, buf->len) < 0 || fdatasync(sp->fd) < 0) {
		r = set_error(err, 0, "write", sp->dir);
		if (ftruncate(sp->fd, (off_t)sp->end) < 0)
			g_warning("spool %s: cannot cut a failed write off", sp->dir);
		goto out;
	}
	sp->end += buf->len;
	sp->count += n;
out:
	g_byte_array_unref(buf);
	return r;
}

/**
 * ce_spool_peek() - read up to @max pending records into @out (GBytes)
 *
 * @next receives the offset after the last record read, for
 * ce_spool_consume().  Returns the number of records read, or -EIO.
 */
int ce_spool_peek(struct ce_spool *sp, guint max, GPtrArray *out, guint64 *next, GError **err)
{
	guint64 off = sp->pos;
	int n = 0;

	while ((guint)n < max && off < sp->end) {
		GBytes *b = read_record(sp, off, &off);
		if (!b) {
			g_set_error(err, CE_STORE_ERROR, CE_STORE_ERROR_SPOOL,
			        "spool %s: unreadable record at offset %" G_GUINT64_FORMAT, sp->dir,
			        off);
			return -EIO;
		}
		g_ptr_array_add(out, b);
		n++;
	}
	*next = off;
	return n;
}

/**
 * ce_spool_consume() - mark the records before @next (@n of them) as stored
 *
 * Call it only after the database has committed them.
 */
int ce_spool_consume(struct ce_spool *sp, guint64 next, guint n, GError **err)
{
	sp->pos = next;
	sp->count = sp->count > n ? sp->count - n : 0;
	if (sp->pos >= sp->end) {
		if (ftruncate(sp->fd, SPOOL_HDR) < 0)
			return set_error(err, 0, "truncate", sp->dir);
		sp->pos = sp->end = SPOOL_HDR;
		sp->count = 0;
	}
	return save_pos(sp, err);
}

/** ce_spool_pending() - number of records waiting for the database */
guint64 ce_spool_pending(const struct ce_spool *sp)
{
	return sp ? sp->count : 0;
}
