/* test-prompt.c - prompts and recordings: mixer sources, file decoding and resampling, who hears a
 * prompt over real RTP, recording the mix to WAV and FLAC, bad files and paths
 *
 * Over 700 lines: each case drives the media threads on real sockets and
 * real files through one fixture; they read best side by side.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sndfile.h>

#include "media/media.h"
#include "media/mediafile.h"
#include "media/mixer.h"
#include "media/rtp.h"
#include "media/tone.h"
#include "tests/testutil.h"

/* Goertzel power of f in n samples at rate. */
static double power(const int16_t *x, unsigned n, double f, unsigned rate)
{
	double c = 2 * cos(2 * G_PI * f / rate), s1 = 0, s2 = 0;

	for (unsigned i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return n ? (s1 * s1 + s2 * s2 - c * s1 * s2) / n / n : 0;
}

static char *s_dir;

/* A file of @secs seconds of a tone at @f Hz (amplitude 0.5), in @format at @rate. */
static char *tone_file(const char *name, int format, unsigned rate, double f, double secs)
{
	char *path = g_build_filename(s_dir, name, NULL);
	SF_INFO info = {.samplerate = (int)rate, .channels = 1, .format = format};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	unsigned n = (unsigned)(rate * secs);
	float *x = g_new(float, n);

	g_assert_nonnull(sf);
	for (unsigned i = 0; i < n; i++)
		x[i] = (float)(0.5 * sin(2 * G_PI * f * i / rate));
	g_assert_cmpint(sf_write_float(sf, x, n), ==, n);
	sf_close(sf);
	g_free(x);
	return path;
}

/* ---- the mixer: sources for the room, one leg, all but one ---- */

static void test_mixer_sources(void)
{
	struct ce_mix_room *room;
	struct ce_mix_leg legs[3];
	struct ce_mix_src src;
	struct ce_mix_out mixed;
	int16_t out[160];
	size_t len;
	uint64_t enc;

	g_assert_cmpint(ce_mix_room_new(&room, 8000, 4), ==, 0);
	for (unsigned i = 0; i < 3; i++) {
		ce_mix_leg_init(&legs[i], CE_CODEC_PCMU, 0, NULL);
		g_assert_cmpint(ce_mix_leg_attach(room, &legs[i]), ==, 0);
	}
	for (unsigned i = 0; i < 160; i++)
		src.pcm[i] = (int16_t)(8000 * sin(2 * G_PI * 1000 * i / 8000));
	/* the whole room: one shared encoding, everyone hears it */
	ce_mix_src_attach(room, &src, CE_MIX_SRC_ROOM, NULL);
	src.active = true;
	enc = room->st.encodes;
	ce_mix_room_begin(room, &mixed);
	ce_mix_room_mix(room);
	g_assert_cmpuint(room->st.encodes - enc, ==, 1);
	for (unsigned i = 0; i < 3; i++) {
		ce_codec_decode(CE_CODEC_PCMU, ce_mix_leg_output(&legs[i], &len), out, 160);
		g_assert_cmpfloat(power(out, 160, 1000, 8000), >, 1e6);
	}
	ce_mix_src_detach(&src);
	/* one leg: only it gets a private frame, nothing shared is encoded */
	ce_mix_src_attach(room, &src, CE_MIX_SRC_LEG, &legs[1]);
	src.active = true;
	enc = room->st.encodes;
	ce_mix_room_begin(room, &mixed);
	ce_mix_room_mix(room);
	g_assert_cmpuint(room->st.encodes - enc, ==, 1);
	for (unsigned i = 0; i < 3; i++) {
		ce_codec_decode(CE_CODEC_PCMU, ce_mix_leg_output(&legs[i], &len), out, 160);
		if (i == 1)
			g_assert_cmpfloat(power(out, 160, 1000, 8000), >, 1e6);
		else
			g_assert_cmpfloat(power(out, 160, 1000, 8000), <, 1);
	}
	ce_mix_src_detach(&src);
	/* all but one: shared encoding plus one private (silent) frame */
	ce_mix_src_attach(room, &src, CE_MIX_SRC_EXCEPT, &legs[2]);
	src.active = true;
	enc = room->st.encodes;
	ce_mix_room_begin(room, &mixed);
	ce_mix_room_mix(room);
	g_assert_cmpuint(room->st.encodes - enc, ==, 2);
	for (unsigned i = 0; i < 3; i++) {
		ce_codec_decode(CE_CODEC_PCMU, ce_mix_leg_output(&legs[i], &len), out, 160);
		if (i != 2)
			g_assert_cmpfloat(power(out, 160, 1000, 8000), >, 1e6);
		else
			g_assert_cmpfloat(power(out, 160, 1000, 8000), <, 1);
	}
	/* its leg leaves: the source now reaches everyone left */
	ce_mix_leg_detach(&legs[2]);
	g_assert_null(src.leg);
	ce_mix_src_detach(&src);
	ce_mix_leg_detach(&legs[0]);
	ce_mix_leg_detach(&legs[1]);
	ce_mix_room_free(room);
}

/* ---- files: formats and rates, decoded and resampled off the media thread ---- */

/* Read a player to its end (bounded): the frames in *np. */
static int16_t *play_all(struct ce_mfile *f, unsigned frame, unsigned *np)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(int16_t));
	int16_t pcm[960]; /* 20 ms at 48 kHz */

	for (unsigned waited = 0; !ce_mfile_ended(f) && waited < 10000;) {
		if (ce_mfile_read(f, pcm))
			g_array_append_vals(a, pcm, frame);
		else
			g_usleep(1000), waited++;
	}
	g_assert_true(ce_mfile_ended(f));
	*np = a->len;
	return (int16_t *)g_array_free(a, FALSE);
}

static void check_tone_file(
        struct ce_mfile_io *io, const char *name, int format, unsigned frate, unsigned rate)
{
	char *path = tone_file(name, format, frate, 1000, 1.0);
	struct ce_mfile *f;
	unsigned n;
	int16_t *x;
	double p1k, p2k;

	g_assert_cmpint(ce_mfile_player_new(&f, io, path, rate, false), ==, 0);
	x = play_all(f, rate / 50, &n);
	g_assert_false(ce_mfile_failed(f));
	/* one second, give or take the resampler's edges and the last padded frame */
	g_assert_cmpuint(n, >=, rate * 96 / 100);
	g_assert_cmpuint(n, <=, rate * 104 / 100);
	p1k = power(x + n / 4, n / 2, 1000, rate);
	p2k = power(x + n / 4, n / 2, 1500, rate);
	g_test_message("%s %u -> %u Hz: %u samples, 1 kHz %.0f, 1.5 kHz %.0f", name, frate, rate, n,
	        p1k, p2k);
	g_assert_cmpfloat(p1k, >, 1e6);
	g_assert_cmpfloat(p1k, >, 1000 * p2k);
	ce_mfile_close(f);
	g_free(x);
	g_free(path);
}

static void test_formats(void)
{
	static const struct {
		const char *ext;
		int format;
	} fmts[] = {
	        {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
	        {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
	        {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
	        {"au", SF_FORMAT_AU | SF_FORMAT_ULAW},
	};
	static const unsigned rates[] = {8000, 16000, 44100, 48000};
	struct ce_mfile_io *io;

	g_assert_cmpint(ce_mfile_io_new(&io), ==, 0);
	for (unsigned i = 0; i < G_N_ELEMENTS(fmts); i++) {
		for (unsigned j = 0; j < G_N_ELEMENTS(rates); j++) {
			char *name = g_strdup_printf("tone-%u.%s", rates[j], fmts[i].ext);

			check_tone_file(io, name, fmts[i].format, rates[j], 8000);
			g_free(name);
		}
	}
	check_tone_file(io, "tone-44k-to-16k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 16000);
	/* prompts recorded at 8 and 16 kHz, played in a 48 kHz room */
	check_tone_file(io, "tone-8k-to-48k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 48000);
	check_tone_file(io, "tone-16k-to-48k.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 16000, 48000);
	ce_mfile_io_free(io);
}

static void test_bad_files(void)
{
	struct ce_mfile_io *io;
	struct ce_mfile *f;
	char *corrupt = g_build_filename(s_dir, "corrupt.wav", NULL);
	unsigned n;
	int16_t *x;

	g_assert_true(g_file_set_contents(corrupt, "RIFF\x10\0\0\0WAVEjunkjunkjunk", 24, NULL));
	g_assert_cmpint(ce_mfile_io_new(&io), ==, 0);
	g_assert_cmpint(ce_mfile_player_new(&f, io, "/nonexistent/prompt.wav", 8000, false), ==, 0);
	x = play_all(f, 160, &n);
	g_assert_cmpuint(n, ==, 0);
	g_assert_true(ce_mfile_failed(f));
	g_assert_nonnull(strstr(ce_mfile_error(f), "/nonexistent/prompt.wav"));
	ce_mfile_close(f);
	g_free(x);
	g_assert_cmpint(ce_mfile_player_new(&f, io, corrupt, 8000, false), ==, 0);
	x = play_all(f, 160, &n);
	g_assert_cmpuint(n, ==, 0);
	g_assert_true(ce_mfile_failed(f));
	ce_mfile_close(f);
	g_free(x);
	g_assert_cmpint(ce_mfile_player_new(&f, io, "", 8000, false), ==, -EINVAL);
	g_assert_cmpint(ce_mfile_player_new(&f, io, corrupt, 11025, false), ==, -EINVAL);
	ce_mfile_io_free(io);
	g_free(corrupt);
}

/* Play @path on @io to its end: whether it failed, and then whether the error names @why. */
static bool play_fails(struct ce_mfile_io *io, const char *path, const char *why)
{
	struct ce_mfile *f;
	unsigned n;
	int16_t *x;
	bool failed;

	g_assert_cmpint(ce_mfile_player_new(&f, io, path, 8000, false), ==, 0);
	x = play_all(f, 160, &n);
	failed = ce_mfile_failed(f);
	if (failed) {
		g_test_message("%s: %s", path, ce_mfile_error(f));
		g_assert_cmpuint(n, ==, 0);
		g_assert_nonnull(strstr(ce_mfile_error(f), why));
	} else {
		g_assert_cmpuint(n, >, 0);
	}
	ce_mfile_close(f);
	g_free(x);
	return failed;
}

/*
 * A confined I/O thread plays only regular files whose real path lies
 * under a root: a link below a root may lead to another root, not out; a
 * FIFO fails at once instead of blocking the thread.
 */
static void test_confined(void)
{
	char *root = g_build_filename(s_dir, "root", NULL);
	char *other = g_build_filename(s_dir, "other", NULL);
	char *out = g_build_filename(s_dir, "out", NULL);
	const char *const roots[] = {root, other, NULL};
	const int wav = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	char *in, *there, *secret;
	char *to_out = g_build_filename(root, "to-out.wav", NULL);
	char *to_other = g_build_filename(root, "to-other.wav", NULL);
	char *dir_out = g_build_filename(root, "d", NULL);
	char *via_dir = g_build_filename(root, "d", "secret.wav", NULL);
	char *fifo = g_build_filename(root, "fifo.wav", NULL);
	struct ce_mfile_io *io;

	g_assert_cmpint(g_mkdir_with_parents(root, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(other, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(out, 0700), ==, 0);
	in = tone_file("root/in.wav", wav, 8000, 1000, 0.2);
	there = tone_file("other/there.wav", wav, 8000, 1000, 0.2);
	secret = tone_file("out/secret.wav", wav, 8000, 1000, 0.2);
	g_assert_cmpint(symlink(secret, to_out), ==, 0);
	g_assert_cmpint(symlink(there, to_other), ==, 0);
	g_assert_cmpint(symlink(out, dir_out), ==, 0);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_cmpint(ce_mfile_io_new(&io), ==, 0);
	/* unconfined, as the tests above: anything readable plays */
	g_assert_false(play_fails(io, secret, ""));
	ce_mfile_io_confine(io, roots);
	g_assert_false(play_fails(io, in, ""));
	g_assert_false(play_fails(io, there, ""));
	g_assert_false(play_fails(io, to_other, ""));
	g_assert_true(play_fails(io, secret, "outside"));
	g_assert_true(play_fails(io, to_out, "outside"));
	g_assert_true(play_fails(io, via_dir, "outside"));
	g_assert_true(play_fails(io, fifo, "not a regular file"));
	g_assert_true(play_fails(io, root, "not a regular file"));
	ce_mfile_io_free(io);
	g_free(root);
	g_free(other);
	g_free(out);
	g_free(in);
	g_free(there);
	g_free(secret);
	g_free(to_out);
	g_free(to_other);
	g_free(dir_out);
	g_free(via_dir);
	g_free(fifo);
}

/* ---- tones: Yate's names synthesised on the I/O thread ---- */

/* A span of a tone: from..to ms holds f1 (and f2), or silence (f1 0: all samples 0). */
struct span {
	unsigned from, to;
	double f1, f2;
};

/* Play tone/@name for @ms (0: natural length) at @rate and check its spans and length. */
static void check_tone(const char *name, unsigned rate, unsigned ms, unsigned expect_ms,
        const struct span *spans, unsigned n_spans)
{
	struct ce_mfile_io *io;
	struct ce_mfile *f;
	struct ce_tone t;
	unsigned n;
	int16_t *x;

	g_assert_cmpint(ce_tone_parse(&t, name), ==, 0);
	g_assert_cmpint(ce_mfile_io_new(&io), ==, 0);
	g_assert_cmpint(ce_mfile_tone_new(&f, io, &t, rate, ms), ==, 0);
	g_assert_true(g_str_has_prefix(ce_mfile_path(f), "tone/"));
	x = play_all(f, rate / 50, &n);
	g_assert_false(ce_mfile_failed(f));
	/* the last frame is padded to 20 ms */
	g_assert_cmpuint(
	        n, ==, (expect_ms * rate / 1000 + rate / 50 - 1) / (rate / 50) * (rate / 50));
	for (unsigned i = 0; i < n_spans; i++) {
		/* judge the middle of each span: 5 ms off each edge */
		unsigned a = (spans[i].from + 5) * rate / 1000, b = (spans[i].to - 5) * rate / 1000;
		double p1, p2, other;

		g_assert_cmpuint(b, <=, n);
		if (!spans[i].f1) {
			for (unsigned k = a; k < b; k++)
				g_assert_cmpint(x[k], ==, 0);
			continue;
		}
		p1 = power(x + a, b - a, spans[i].f1, rate);
		p2 = spans[i].f2 ? power(x + a, b - a, spans[i].f2, rate) : p1;
		other = power(x + a, b - a, spans[i].f1 * (spans[i].f2 ? 0.5 : 1.37), rate);
		g_test_message("%s %u-%u ms: %.0f Hz %.0f, %.0f Hz %.0f, off %.0f", name,
		        spans[i].from, spans[i].to, spans[i].f1, p1, spans[i].f2, p2, other);
		g_assert_cmpfloat(p1, >, 1e6);
		g_assert_cmpfloat(p2, >, 1e6);
		g_assert_cmpfloat(p1, >, 1000 * other);
	}
	ce_mfile_close(f);
	ce_mfile_io_free(io);
	g_free(x);
}

static void test_tones(void)
{
	/* busy: 500 on, 500 off, repeated for the duration */
	check_tone("busy", 8000, 2000, 2000,
	        (const struct span[]){{0, 500, 425, 0}, {500, 1000, 0, 0}, {1000, 1500, 425, 0},
	                {1500, 2000, 0, 0}},
	        4);
	check_tone("bs", 16000, 1000, 1000,
	        (const struct span[]){{0, 500, 425, 0}, {500, 1000, 0, 0}}, 2);
	check_tone("bs", 48000, 1000, 1000,
	        (const struct span[]){{0, 500, 425, 0}, {500, 1000, 0, 0}}, 2);
	check_tone("dial", 8000, 700, 700, (const struct span[]){{0, 700, 425, 0}}, 1);
	check_tone("ring", 8000, 6000, 6000,
	        (const struct span[]){{0, 1000, 425, 0}, {1000, 5000, 0, 0}, {5000, 6000, 425, 0}},
	        3);
	check_tone("specdial", 8000, 1000, 1000,
	        (const struct span[]){{0, 950, 425, 0}, {950, 1000, 0, 0}}, 2);
	check_tone("congestion", 8000, 1000, 1000,
	        (const struct span[]){
	                {0, 250, 425, 0}, {250, 500, 0, 0}, {500, 750, 425, 0}, {750, 1000, 0, 0}},
	        4);
	check_tone("outoforder", 8000, 800, 800,
	        (const struct span[]){
	                {0, 100, 425, 0}, {100, 200, 0, 0}, {400, 500, 425, 0}, {600, 800, 425, 0}},
	        4);
	check_tone("info", 8000, 2050, 2050,
	        (const struct span[]){{0, 330, 950, 0}, {330, 360, 0, 0}, {360, 690, 1400, 0},
	                {720, 1050, 1800, 0}, {1050, 2050, 0, 0}},
	        5);
	check_tone("milliwatt", 8000, 500, 500, (const struct span[]){{0, 500, 1000, 0}}, 1);
	check_tone("silence", 8000, 300, 300, (const struct span[]){{0, 300, 0, 0}}, 1);
	/* DTMF: 40 ms gap, 120 ms of the pair, 40 ms gap; once by default */
	check_tone("dtmf/5", 8000, 0, 200,
	        (const struct span[]){{0, 40, 0, 0}, {40, 160, 770, 1336}, {160, 200, 0, 0}}, 3);
	check_tone("#", 8000, 0, 200, (const struct span[]){{40, 160, 941, 1477}}, 1);
	check_tone("dtmfstr/1d", 8000, 0, 400,
	        (const struct span[]){
	                {40, 160, 697, 1209}, {160, 240, 0, 0}, {240, 360, 941, 1633}},
	        3);
	/* a duration repeats the digit's cadence */
	check_tone("dtmf/0", 8000, 400, 400,
	        (const struct span[]){{40, 160, 941, 1336}, {240, 360, 941, 1336}}, 2);
}

static void test_bad_tones(void)
{
	static const char *const bad[] = {"", "nosuch", "dtmf/", "dtmf/x", "dtmf/12", "dtmfstr/",
	        "dtmfstr/12x", "e", "Busy ", "tone/busy"};
	struct ce_mfile_io *io;
	struct ce_mfile *f = NULL;
	struct ce_tone t;

	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(ce_tone_parse(&t, bad[i]), ==, -EINVAL);
	g_assert_cmpint(ce_tone_parse(&t, NULL), ==, -EINVAL);
	g_assert_cmpint(ce_tone_parse(&t, "dtmfstr/12345678901234567890123456789012"), ==, 0);
	g_assert_cmpint(ce_tone_parse(&t, "dtmfstr/123456789012345678901234567890123"), ==, -E2BIG);
	g_assert_cmpint(
	        ce_tone_parse(&t, "dtmfstr/1234567890123456789012345678901234567890"), ==, -E2BIG);
	g_assert_cmpint(ce_mfile_io_new(&io), ==, 0);
	memset(&t, 0, sizeof(t));
	g_assert_cmpint(ce_mfile_tone_new(&f, io, &t, 8000, 100), ==, -EINVAL);
	g_assert_cmpint(ce_mfile_tone_new(&f, io, NULL, 8000, 100), ==, -EINVAL);
	g_assert_cmpint(ce_tone_parse(&t, "busy"), ==, 0);
	g_assert_cmpint(ce_mfile_tone_new(&f, io, &t, 11025, 100), ==, -EINVAL);
	g_assert_null(f);
	ce_mfile_io_free(io);
}

/* ---- the media engine over loopback RTP ---- */

#define PEERS 3
#define MAXS  (8000 * 30)

struct peer {
	int fd;
	struct sockaddr_in addr;
	struct ce_media_leg *leg;
	int16_t *heard;
	gint n; /* samples heard, written by the far-end thread */
};

struct rig {
	struct ce_media *m;
	struct ce_media_room *room;
	struct sockaddr_in media;
	struct peer peer[PEERS];
	double talk[PEERS]; /* tone each far end sends, 0 none */
	GThread *thread;
	gint quit;
	GMainLoop *loop;
	unsigned done, failed, rec_failed;
	int rec_errno;
	char *error;
	bool stop_in_done;  /* on a PLAY_DONE, stop peer 0's queue (what the lobby does) */
	unsigned done_leg0; /* PLAY_DONEs that named peer 0's leg */
};

static void on_event(const struct ce_media_event *ev, void *arg)
{
	struct rig *r = arg;

	if (ev->type == CE_MEDIA_EV_PLAY_DONE) {
		r->done++;
		r->failed += ev->error != NULL;
		r->done_leg0 += ev->leg && ev->leg == r->peer[0].leg;
		if (r->stop_in_done && ev->leg && ev->leg == r->peer[0].leg)
			ce_media_play_stop(r->room, CE_MEDIA_PLAY_LEG, r->peer[0].leg);
		g_main_loop_quit(r->loop);
	} else if (ev->type == CE_MEDIA_EV_REC_FAILED) {
		r->rec_failed++;
		r->rec_errno = ev->err;
		g_free(r->error);
		r->error = g_strdup(ev->error);
		g_main_loop_quit(r->loop);
	}
}

/* The far ends: send their tone (if any) every 20 ms and keep what they hear. */
static gpointer far_ends(gpointer data)
{
	struct rig *r = data;

	for (uint32_t tick = 0; !g_atomic_int_get(&r->quit); tick++) {
		for (unsigned i = 0; i < PEERS; i++) {
			struct peer *p = &r->peer[i];
			uint8_t buf[2000];
			struct ce_rtp_pkt pkt;
			ssize_t len;
			int16_t pcm[160];

			while ((len = recv(p->fd, buf, sizeof(buf), 0)) > 0) {
				gint n = g_atomic_int_get(&p->n);

				if (ce_rtp_parse(&pkt, buf, (size_t)len) || pkt.len != 160 ||
				        n + 160 > MAXS)
					continue;
				ce_codec_decode(CE_CODEC_PCMU, pkt.payload, p->heard + n, 160);
				g_atomic_int_set(&p->n, n + 160);
			}
			if (!r->talk[i])
				continue;
			/* quiet first, as a call starts, then bursts like speech: the
			 * talker detector takes a steady tone for noise after a while */
			for (unsigned k = 0; k < 160; k++)
				pcm[k] = tick < 8 || tick % 40 >= 30
				                 ? 0
				                 : (int16_t)(6000 *
				                             sin(2 * G_PI * r->talk[i] *
				                                     (tick * 160 + k) / 8000));
			ce_rtp_build_hdr(buf, 0, false, (uint16_t)tick, tick * 160, 0x100 + i);
			ce_codec_encode(CE_CODEC_PCMU, pcm, buf + 12, 160);
			sendto(p->fd, buf, 172, 0, (struct sockaddr *)&r->media, sizeof(r->media));
		}
		g_usleep(20000);
	}
	return NULL;
}

static void rig_start(struct rig *r, const double *talk)
{
	struct ce_media_conf conf;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	GError *error = NULL;

	memset(r, 0, sizeof(*r));
	ce_media_conf_default(&conf);
	conf.bind_ip = "127.0.0.1";
	conf.rtp_timeout_ms = 0;
	r->loop = g_main_loop_new(NULL, FALSE);
	g_assert_cmpint(ce_media_new(&r->m, &conf, on_event, r, &error), ==, 0);
	g_assert_cmpint(ce_media_room_new(&r->room, r->m, 8000, 4, 0, 1000), ==, 0);
	ce_media_room_local(r->room, &ss, &len);
	memcpy(&r->media, &ss, sizeof(r->media));
	for (unsigned i = 0; i < PEERS; i++) {
		struct peer *p = &r->peer[i];

		r->talk[i] = talk ? talk[i] : 0;
		p->fd = ce_test_udp_loopback(&p->addr);
		p->heard = g_new0(int16_t, MAXS);
		g_assert_cmpint(ce_media_leg_new(&p->leg, r->room, (struct sockaddr *)&p->addr,
		                        sizeof(p->addr), CE_CODEC_PCMU, 0, NULL, NULL),
		        ==, 0);
	}
	r->thread = g_thread_new("far-ends", far_ends, r);
}

static void rig_stop(struct rig *r)
{
	g_atomic_int_set(&r->quit, 1);
	g_thread_join(r->thread);
	ce_media_free(r->m);
	for (unsigned i = 0; i < PEERS; i++) {
		close(r->peer[i].fd);
		g_free(r->peer[i].heard);
	}
	g_main_loop_unref(r->loop);
	g_free(r->error);
}

static gboolean timeout_quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

/* Run the main loop until an event quits it (bounded at 15 s). */
static void run(struct rig *r)
{
	guint id = g_timeout_add(15000, timeout_quit, r->loop);

	g_main_loop_run(r->loop);
	g_source_remove(id);
}

/* Let @ticks 20 ms frames reach peer 0 (bounded). */
static void wait_frames(struct rig *r, unsigned ticks)
{
	gint until = g_atomic_int_get(&r->peer[0].n) + (gint)ticks * 160;

	for (unsigned i = 0; i < 10000 && g_atomic_int_get(&r->peer[0].n) < until; i++)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
}

static void play_and_check(struct rig *r, const char *path, enum ce_media_play_mode mode,
        unsigned leg, const bool *hears)
{
	gint from[PEERS], to[PEERS];

	for (unsigned i = 0; i < PEERS; i++)
		from[i] = g_atomic_int_get(&r->peer[i].n);
	g_assert_cmpint(ce_media_play_new(NULL, r->room, path, mode,
	                        mode == CE_MEDIA_PLAY_ROOM ? NULL : r->peer[leg].leg, NULL, NULL),
	        ==, 0);
	run(r);
	g_assert_cmpuint(r->done, >=, 1);
	wait_frames(r, 5); /* what was sent before the end arrived */
	for (unsigned i = 0; i < PEERS; i++) {
		double p;

		to[i] = g_atomic_int_get(&r->peer[i].n);
		p = power(r->peer[i].heard + from[i], (unsigned)(to[i] - from[i]), 1000, 8000);
		g_test_message("mode %d leg %u: peer %u 1 kHz power %.0f", mode, leg, i, p);
		if (hears[i])
			g_assert_cmpfloat(p, >, 1e5);
		else
			g_assert_cmpfloat(p, <, 10);
	}
	r->done = 0;
}

static void test_rtp_prompts(void)
{
	struct rig r;
	char *tone =
	        tone_file("prompt-1k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 1000, 0.6);

	rig_start(&r, NULL);
	wait_frames(&r, 3);
	play_and_check(&r, tone, CE_MEDIA_PLAY_ROOM, 0, (const bool[]){true, true, true});
	play_and_check(&r, tone, CE_MEDIA_PLAY_LEG, 1, (const bool[]){false, true, false});
	play_and_check(&r, tone, CE_MEDIA_PLAY_EXCEPT, 1, (const bool[]){true, false, true});
	/* a missing file: an error at its end, and the room carries on */
	g_assert_cmpint(ce_media_play_new(NULL, r.room, "/nonexistent.wav", CE_MEDIA_PLAY_ROOM,
	                        NULL, NULL, NULL),
	        ==, 0);
	run(&r);
	g_assert_cmpuint(r.failed, ==, 1);
	r.done = 0;
	play_and_check(&r, tone, CE_MEDIA_PLAY_ROOM, 0, (const bool[]){true, true, true});
	rig_stop(&r);
	g_free(tone);
}

/* Queue a tone to the rig's room (@mode, peer @leg); returns the error. */
static int rig_tone(
        struct rig *r, const char *name, unsigned ms, enum ce_media_play_mode mode, unsigned leg)
{
	struct ce_tone t;

	g_assert_cmpint(ce_tone_parse(&t, name), ==, 0);
	return ce_media_play_tone(NULL, r->room, &t, ms, mode,
	        mode == CE_MEDIA_PLAY_ROOM ? NULL : r->peer[leg].leg, NULL, NULL);
}

/* Run until @n players ended (bounded), then let their last frames arrive. */
static void run_until_done(struct rig *r, unsigned n);

/*
 * A PLAY_DONE names the leg a prompt to one leg played to, and its handler
 * may stop that leg's queue (the lobby does, moving its caller on): the
 * prompt that ended is not stopped again, the one waiting is stopped and
 * never reports; nothing is handed back twice (ASan).
 */
static void test_rtp_stop_in_done(void)
{
	struct rig r = {0};

	rig_start(&r, NULL);
	wait_frames(&r, 3);
	r.stop_in_done = true;
	g_assert_cmpint(rig_tone(&r, "milliwatt", 100, CE_MEDIA_PLAY_LEG, 0), ==, 0);
	g_assert_cmpint(rig_tone(&r, "milliwatt", 60000, CE_MEDIA_PLAY_LEG, 0), ==, 0);
	g_assert_cmpint(rig_tone(&r, "milliwatt", 100, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	run_until_done(&r, 2);
	g_assert_cmpuint(r.done_leg0, ==, 1);
	wait_frames(&r, 20);
	g_assert_cmpuint(r.done, ==, 2); /* the waiting one was stopped: no report */
	rig_stop(&r);
}

/* Run until @n players ended (bounded), then let their last frames arrive. */
static void run_until_done(struct rig *r, unsigned n)
{
	for (unsigned i = 0; i < 20 && r->done < n; i++)
		run(r);
	g_assert_cmpuint(r->done, ==, n);
	wait_frames(r, 5);
}

/*
 * Frame by frame (20 ms), what peer @i heard from sample @from: for each
 * frame whether @fa and @fb are in it.  Checks that they never sound
 * together, that every @fa frame comes before every @fb frame, and
 * returns the counts of each and the gap between the last @fa and the
 * first @fb frame.
 */
static void check_order(struct rig *r, unsigned i, gint from, double fa, double fb, unsigned *na,
        unsigned *nb, unsigned *gap)
{
	const int16_t *x = r->peer[i].heard;
	gint to = g_atomic_int_get(&r->peer[i].n);
	int last_a = -1, first_b = -1;

	*na = *nb = 0;
	for (int k = 0; from + (k + 1) * 160 <= to; k++) {
		double pa = power(x + from + k * 160, 160, fa, 8000);
		double pb = power(x + from + k * 160, 160, fb, 8000);
		/* a 20 ms window leaks a little of one tone into the other's bin */
		bool a = pa > 1e5 && pa > 100 * pb, b = pb > 1e5 && pb > 100 * pa;

		if (pa > 1e6 && pb > 1e6)
			g_error("frame %d: %.0f Hz (%.0f) and %.0f Hz (%.0f) together", k, fa, pa,
			        fb, pb);
		if (a) {
			g_assert_cmpint(first_b, <, 0);
			last_a = k;
			(*na)++;
		}
		if (b) {
			if (first_b < 0)
				first_b = k;
			(*nb)++;
		}
	}
	*gap = last_a >= 0 && first_b >= 0 ? (unsigned)(first_b - last_a) : 0;
	g_test_message("peer %u: %u frames of %.0f Hz, then %u of %.0f Hz, gap %u", i, *na, fa, *nb,
	        fb, *gap);
}

static void test_rtp_queue(void)
{
	struct rig r;
	char *file = tone_file("queue-1k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1000, 0.4);
	gint from[PEERS];
	unsigned na, nb, gap;

	rig_start(&r, NULL);
	wait_frames(&r, 3);
	/* the room: a file, then a tone queued behind it, heard one after the other */
	for (unsigned i = 0; i < PEERS; i++)
		from[i] = g_atomic_int_get(&r.peer[i].n);
	g_assert_cmpint(
	        ce_media_play_new(NULL, r.room, file, CE_MEDIA_PLAY_ROOM, NULL, NULL, NULL), ==, 0);
	g_assert_cmpint(rig_tone(&r, "dial", 400, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	run_until_done(&r, 2);
	for (unsigned i = 0; i < PEERS; i++) {
		check_order(&r, i, from[i], 1000, 425, &na, &nb, &gap);
		g_assert_cmpuint(na, >=, 19);
		g_assert_cmpuint(na, <=, 21);
		g_assert_cmpuint(nb, >=, 19);
		g_assert_cmpuint(nb, <=, 21);
		g_assert_cmpuint(gap, ==, 1); /* the next tick: no gap, no overlap */
	}
	r.done = 0;
	/* all but one queues with the room: peer 2 hears only the room's tone */
	for (unsigned i = 0; i < PEERS; i++)
		from[i] = g_atomic_int_get(&r.peer[i].n);
	g_assert_cmpint(rig_tone(&r, "dial", 300, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	g_assert_cmpint(rig_tone(&r, "milliwatt", 300, CE_MEDIA_PLAY_EXCEPT, 2), ==, 0);
	run_until_done(&r, 2);
	check_order(&r, 0, from[0], 425, 1000, &na, &nb, &gap);
	g_assert_cmpuint(na, >=, 14);
	g_assert_cmpuint(nb, >=, 14);
	g_assert_cmpuint(gap, ==, 1);
	check_order(&r, 2, from[2], 425, 1000, &na, &nb, &gap);
	g_assert_cmpuint(na, >=, 14);
	g_assert_cmpuint(nb, ==, 0);
	r.done = 0;
	/* one leg: its own queue; the others hear nothing of it */
	for (unsigned i = 0; i < PEERS; i++)
		from[i] = g_atomic_int_get(&r.peer[i].n);
	g_assert_cmpint(rig_tone(&r, "milliwatt", 300, CE_MEDIA_PLAY_LEG, 1), ==, 0);
	g_assert_cmpint(rig_tone(&r, "dial", 300, CE_MEDIA_PLAY_LEG, 1), ==, 0);
	run_until_done(&r, 2);
	check_order(&r, 1, from[1], 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na, >=, 14);
	g_assert_cmpuint(nb, >=, 14);
	g_assert_cmpuint(gap, ==, 1);
	check_order(&r, 0, from[0], 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na + nb, ==, 0);
	r.done = 0;
	rig_stop(&r);
	g_free(file);
}

static void count_destroy(gpointer data)
{
	(*(unsigned *)data)++;
}

static void test_rtp_queue_full(void)
{
	struct ce_tone t;
	struct rig r;
	unsigned destroyed = 0, na, nb, gap;
	gint from;

	g_assert_cmpint(ce_tone_parse(&t, "milliwatt"), ==, 0);
	rig_start(&r, NULL);
	wait_frames(&r, 3);
	/* a full queue: the oldest are kept, the next is refused */
	for (unsigned i = 0; i < CE_MEDIA_PLAY_QUEUE; i++)
		g_assert_cmpint(ce_media_play_tone(NULL, r.room, &t, 60000, CE_MEDIA_PLAY_ROOM,
		                        NULL, &destroyed, count_destroy),
		        ==, 0);
	g_assert_cmpint(ce_media_play_tone(NULL, r.room, &t, 60000, CE_MEDIA_PLAY_ROOM, NULL,
	                        &destroyed, count_destroy),
	        ==, -ENOBUFS);
	g_assert_cmpint(ce_media_play_new(NULL, r.room, "/x.wav", CE_MEDIA_PLAY_EXCEPT,
	                        r.peer[0].leg, NULL, NULL),
	        ==, -ENOBUFS);
	/* other queues are not affected */
	g_assert_cmpint(rig_tone(&r, "silence", 60000, CE_MEDIA_PLAY_LEG, 1), ==, 0);
	wait_frames(&r, 10);
	g_assert_cmpfloat(
	        power(r.peer[0].heard + g_atomic_int_get(&r.peer[0].n) - 800, 800, 1000, 8000), >,
	        1e5);
	/* stop: the playing one and the waiting ones go, without PLAY_DONE */
	g_assert_cmpint(
	        ce_media_play_stop(r.room, CE_MEDIA_PLAY_ROOM, NULL), ==, CE_MEDIA_PLAY_QUEUE);
	g_assert_cmpint(ce_media_play_stop(r.room, CE_MEDIA_PLAY_ROOM, NULL), ==, 0);
	g_assert_cmpint(ce_media_play_stop(r.room, CE_MEDIA_PLAY_LEG, r.peer[1].leg), ==, 1);
	wait_frames(&r, 5);
	from = g_atomic_int_get(&r.peer[0].n);
	g_assert_cmpint(rig_tone(&r, "dial", 300, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	run_until_done(&r, 1);
	g_assert_cmpuint(destroyed, ==, CE_MEDIA_PLAY_QUEUE);
	check_order(&r, 0, from, 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na, ==, 0);
	g_assert_cmpuint(nb, >=, 14);
	r.done = 0;
	/* a leg that leaves ends its waiting prompts; all but it reaches everyone */
	g_assert_cmpint(rig_tone(&r, "silence", 60000, CE_MEDIA_PLAY_LEG, 2), ==, 0);
	g_assert_cmpint(rig_tone(&r, "silence", 60000, CE_MEDIA_PLAY_LEG, 2), ==, 0);
	g_assert_cmpint(rig_tone(&r, "silence", 60000, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	g_assert_cmpint(rig_tone(&r, "dial", 200, CE_MEDIA_PLAY_EXCEPT, 2), ==, 0);
	ce_media_leg_free(r.peer[2].leg);
	r.peer[2].leg = NULL;
	run_until_done(&r, 2);
	g_assert_cmpint(rig_tone(&r, "dial", 200, CE_MEDIA_PLAY_ROOM, 0), ==, 0);
	g_assert_cmpint(ce_media_play_stop(r.room, CE_MEDIA_PLAY_ROOM, NULL), ==, 3);
	rig_stop(&r);
}

/*
 * Music on hold: a short file looped to one leg plays on with no gap for
 * many times its length, reaches no one else, holds its queue, and ends
 * only when stopped (no PLAY_DONE).
 */
static void test_rtp_loop(void)
{
	struct rig r;
	/* 100 ms: five frames, so 40 frames are eight rounds of the file */
	char *file = tone_file("moh-1k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1000, 0.1);
	unsigned na, nb, gap;
	gint from[PEERS];

	rig_start(&r, NULL);
	wait_frames(&r, 3);
	for (unsigned i = 0; i < PEERS; i++)
		from[i] = g_atomic_int_get(&r.peer[i].n);
	g_assert_cmpint(ce_media_play_loop(
	                        NULL, r.room, file, CE_MEDIA_PLAY_LEG, r.peer[1].leg, NULL, NULL),
	        ==, 0);
	/* queued behind the loop: never heard while it plays */
	g_assert_cmpint(rig_tone(&r, "dial", 200, CE_MEDIA_PLAY_LEG, 1), ==, 0);
	wait_frames(&r, 60);
	check_order(&r, 1, from[1], 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na, >=, 40);
	g_assert_cmpuint(nb, ==, 0);
	g_assert_cmpuint(r.done, ==, 0);
	check_order(&r, 0, from[0], 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na + nb, ==, 0);
	/* stopped: the loop and what waits behind it go */
	g_assert_cmpint(ce_media_play_stop(r.room, CE_MEDIA_PLAY_LEG, r.peer[1].leg), ==, 2);
	wait_frames(&r, 5);
	from[1] = g_atomic_int_get(&r.peer[1].n);
	wait_frames(&r, 20);
	check_order(&r, 1, from[1], 1000, 425, &na, &nb, &gap);
	g_assert_cmpuint(na + nb, ==, 0);
	/* a file that cannot be played ends the loop at once, with an error */
	g_assert_cmpint(ce_media_play_loop(NULL, r.room, "/nonexistent.wav", CE_MEDIA_PLAY_LEG,
	                        r.peer[1].leg, NULL, NULL),
	        ==, 0);
	run(&r);
	g_assert_cmpuint(r.failed, ==, 1);
	rig_stop(&r);
	g_free(file);
}

/* A recording: its length in samples, and the powers of the two talkers' tones. */
static unsigned check_recording(const char *path, int major, double *p1, double *p2)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	int16_t *x;
	unsigned n;

	g_assert_nonnull(sf);
	g_assert_cmpint(info.format & SF_FORMAT_TYPEMASK, ==, major);
	g_assert_cmpint(info.channels, ==, 1);
	g_assert_cmpint(info.samplerate, ==, 8000);
	n = (unsigned)info.frames;
	x = g_new0(int16_t, n + 1);
	g_assert_cmpint(sf_read_short(sf, x, n), ==, n);
	sf_close(sf);
	/* skip the first half second: talker detection takes a moment */
	*p1 = n > 8000 ? power(x + 4000, n - 4000, 500, 8000) : 0;
	*p2 = n > 8000 ? power(x + 4000, n - 4000, 1100, 8000) : 0;
	g_free(x);
	return n;
}

static void test_record(void)
{
	struct rig r;
	char *wav = g_build_filename(s_dir, "rec.wav", NULL);
	char *flac = g_build_filename(s_dir, "rec.flac", NULL);
	double p1, p2, p3;
	unsigned n;

	rig_start(&r, (const double[]){500, 1100, 0});
	wait_frames(&r, 10);
	g_assert_cmpint(ce_media_room_record(r.room, wav, -1), ==, 0);
	wait_frames(&r, 100);                                           /* 2 s to WAV */
	g_assert_cmpint(ce_media_room_record(r.room, flac, -1), ==, 0); /* replaces it */
	wait_frames(&r, 75);                                            /* 1.5 s to FLAC */
	g_assert_cmpint(ce_media_room_record(r.room, NULL, -1), ==, 0);
	wait_frames(&r, 25); /* and nothing more */
	rig_stop(&r);        /* the I/O thread has closed both files */
	g_assert_cmpuint(r.rec_failed, ==, 0);
	n = check_recording(wav, SF_FORMAT_WAV, &p1, &p2);
	g_test_message("wav: %u samples, 500 Hz %.0f, 1100 Hz %.0f", n, p1, p2);
	/* the length follows the media clock: roughly what the peer heard meanwhile */
	g_assert_cmpuint(n, >=, 8000 * 3 / 2);
	g_assert_cmpuint(n, <=, 8000 * 3);
	g_assert_cmpfloat(p1, >, 1e5);
	g_assert_cmpfloat(p2, >, 1e5);
	n = check_recording(flac, SF_FORMAT_FLAC, &p1, &p3);
	g_test_message("flac: %u samples, 500 Hz %.0f, 1100 Hz %.0f", n, p1, p3);
	g_assert_cmpuint(n, >=, 8000);
	g_assert_cmpuint(n, <=, 8000 * 5 / 2);
	g_assert_cmpfloat(p1, >, 1e5);
	g_assert_cmpfloat(p3, >, 1e5);
	g_free(wav);
	g_free(flac);
}

/* The audio a WAV's header announces, in samples (16-bit mono), as Python's wave reads it. */
static unsigned wav_header_samples(const char *path)
{
	gchar *data = NULL;
	gsize len = 0, at = 12, riff;
	unsigned n = 0;
	bool found = false;

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_assert_cmpuint(len, >=, 44);
	g_assert_cmpmem(data, 4, "RIFF", 4);
	g_assert_cmpmem(data + 8, 4, "WAVE", 4);
	riff = GUINT32_FROM_LE(*(guint32 *)(data + 4));
	while (at + 8 <= len) {
		guint32 size = GUINT32_FROM_LE(*(guint32 *)(data + at + 4));

		if (!memcmp(data + at, "data", 4)) {
			n = size / 2;
			found = true;
			g_assert_cmpuint(at + 8 + size, <=, len); /* all of it is there */
			/* a reader stops where the RIFF size says: it must cover the data */
			g_assert_cmpuint(riff + 8, >=, at + 8 + size);
			break;
		}
		at += 8 + size + (size & 1);
	}
	g_assert_true(found);
	g_free(data);
	return n;
}

/* Record the room to @wav and kill -9 the process @frames media frames later. */
static void kill_while_recording(const char *wav, unsigned frames)
{
	struct rig r;
	pid_t pid;
	int status = 0;

	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		alarm(60); /* never outlive the test */
		rig_start(&r, (const double[]){500, 1100, 0});
		wait_frames(&r, 10);
		if (ce_media_room_record(r.room, wav, -1))
			_exit(1);
		wait_frames(&r, frames);
		raise(SIGKILL);
		_exit(1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

/*
 * kill -9 while recording: the WAV is readable and holds all but about
 * the last second (its header is kept current as it grows), and a second
 * recording to the same path fails rather than truncating the first.
 */
static void test_record_crash(void)
{
	char *wav = g_build_filename(s_dir, "crash.wav", NULL);
	struct rig r;
	unsigned n;
	gchar *before = NULL, *after = NULL;
	gsize blen = 0, alen = 0;

	kill_while_recording(wav, 150); /* 3 s of the media clock */
	n = wav_header_samples(wav);
	g_test_message("after kill -9: %u samples in the header", n);
	g_assert_cmpuint(n, >=, 8000 * 3 / 2);
	/* the same path again: refused, the first recording untouched */
	g_assert_true(g_file_get_contents(wav, &before, &blen, NULL));
	rig_start(&r, (const double[]){500, 0, 0});
	wait_frames(&r, 5);
	g_assert_cmpint(ce_media_room_record(r.room, wav, -1), ==, 0);
	run(&r);
	g_assert_cmpuint(r.rec_failed, ==, 1);
	g_test_message("%s", r.error);
	rig_stop(&r);
	g_assert_true(g_file_get_contents(wav, &after, &alen, NULL));
	g_assert_cmpmem(before, blen, after, alen);
	g_free(before);
	g_free(after);
	g_free(wav);
}

/*
 * kill -9 before the first second of a recording, before the header was
 * rewritten: the file is still a WAV that readers open (Python's wave
 * stops where the RIFF size says), announcing what it holds or nothing.
 */
static void test_record_crash_early(void)
{
	char *wav = g_build_filename(s_dir, "crash-early.wav", NULL);

	kill_while_recording(wav, 20); /* 0.4 s */
	g_test_message("killed at 0.4 s: %u samples in the header", wav_header_samples(wav));
	g_free(wav);
}

static void test_record_unwritable(void)
{
	static const char *const paths[] = {"/nonexistent/dir/rec.wav", "/dev/full"};

	for (unsigned i = 0; i < G_N_ELEMENTS(paths); i++) {
		struct rig r;
		gint before;

		rig_start(&r, (const double[]){500, 0, 0});
		wait_frames(&r, 5);
		g_assert_cmpint(ce_media_room_record(r.room, paths[i], -1), ==, 0);
		run(&r);
		g_assert_cmpuint(r.rec_failed, ==, 1);
		g_assert_nonnull(strstr(r.error, paths[i]));
		g_test_message("%s", r.error);
		/* the room carries on: peer 1 still hears peer 0 */
		before = g_atomic_int_get(&r.peer[1].n);
		wait_frames(&r, 25);
		g_assert_cmpfloat(
		        power(r.peer[1].heard + before,
		                (unsigned)(g_atomic_int_get(&r.peer[1].n) - before), 500, 8000),
		        >, 1e5);
		rig_stop(&r);
	}
}

/* A WAV's chunks agree with its length (Python's wave rules): @data_at, samples of audio. */
static unsigned wav_consistent(const char *path, gsize *data_at)
{
	gchar *data = NULL;
	gsize len = 0, at = 12;
	unsigned n = 0;

	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_assert_cmpuint(len, >=, 44);
	g_assert_cmpmem(data, 4, "RIFF", 4);
	g_assert_cmpuint(GUINT32_FROM_LE(*(guint32 *)(data + 4)), ==, len - 8);
	while (at + 8 <= len) {
		guint32 size = GUINT32_FROM_LE(*(guint32 *)(data + at + 4));

		if (!memcmp(data + at, "data", 4)) {
			g_assert_cmpuint(size % 2, ==, 0); /* whole samples */
			g_assert_cmpuint(at + 8 + size, ==, len);
			n = size / 2;
			*data_at = at + 8;
			break;
		}
		at += 8 + size + (size & 1);
	}
	g_assert_cmpuint(at + 8, <=, len);
	g_free(data);
	return n;
}

/*
 * A disk that fills up (here a file size limit: a write past it fails
 * with EFBIG, half a sample fits) stops the recording with the reason;
 * the WAV keeps every whole sample written, its header saying so.
 */
static void test_record_full(void)
{
	const rlim_t limit = 44 + 2 * 12000 + 1; /* 1.5 s, and one byte of the next sample */
	char *wav = g_build_filename(s_dir, "full.wav", NULL);
	struct rlimit old, lim;
	struct rig r;
	gsize at = 0;
	double p1, p2;
	unsigned n;

	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < limit) {
		g_test_skip("the file size limit is too low");
		g_free(wav);
		return;
	}
	signal(SIGXFSZ, SIG_IGN);
	rig_start(&r, (const double[]){500, 0, 0});
	wait_frames(&r, 5);
	lim = old;
	lim.rlim_cur = limit;
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	g_assert_cmpint(ce_media_room_record(r.room, wav, -1), ==, 0);
	run(&r);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	g_assert_cmpuint(r.rec_failed, ==, 1);
	g_test_message("%s", r.error);
	g_assert_nonnull(strstr(r.error, g_strerror(EFBIG)));
	g_assert_cmpint(r.rec_errno, ==, EFBIG);
	rig_stop(&r);
	n = wav_consistent(wav, &at);
	g_assert_cmpuint(at, ==, 44);
	g_assert_cmpuint(n, ==, 12000);
	g_assert_cmpuint(check_recording(wav, SF_FORMAT_WAV, &p1, &p2), ==, n);
	g_test_message("%u samples, 500 Hz %.0f", n, p1);
	g_assert_cmpfloat(p1, >, 1e5);
	g_free(wav);
}

int main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	s_dir = g_dir_make_tmp("ce-prompt-XXXXXX", NULL);
	g_test_add_func("/prompt/mixer-sources", test_mixer_sources);
	g_test_add_func("/prompt/formats", test_formats);
	g_test_add_func("/prompt/bad-files", test_bad_files);
	g_test_add_func("/prompt/confined", test_confined);
	g_test_add_func("/prompt/tones", test_tones);
	g_test_add_func("/prompt/bad-tones", test_bad_tones);
	g_test_add_func("/prompt/rtp", test_rtp_prompts);
	g_test_add_func("/prompt/rtp-queue", test_rtp_queue);
	g_test_add_func("/prompt/rtp-queue-full", test_rtp_queue_full);
	g_test_add_func("/prompt/rtp-loop", test_rtp_loop);
	g_test_add_func("/prompt/rtp-stop-in-done", test_rtp_stop_in_done);
	g_test_add_func("/prompt/record", test_record);
	g_test_add_func("/prompt/record-unwritable", test_record_unwritable);
	g_test_add_func("/prompt/record-crash", test_record_crash);
	g_test_add_func("/prompt/record-crash-early", test_record_crash_early);
	g_test_add_func("/prompt/record-full", test_record_full);
	ret = g_test_run();
	if (s_dir) {
		GDir *d = g_dir_open(s_dir, 0, NULL);
		const char *name;

		while (d && (name = g_dir_read_name(d))) {
			char *p = g_build_filename(s_dir, name, NULL);

			g_unlink(p);
			g_free(p);
		}
		if (d)
			g_dir_close(d);
		g_rmdir(s_dir);
		g_free(s_dir);
	}
	return ret;
}
