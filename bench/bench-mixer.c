/* bench-mixer.c - mixer throughput (participants per core) and memory per participant
 *
 * Usage: bench-mixer [--participants=N] [--room=SIZE] [--talkers=T] [--ticks=K] [--pipeline]
 *                    [--rate=16000|48000 [--g722=PCT] [--opus=PCT]] [--silence]
 * Builds N participants in rooms of SIZE legs, T of them talking in each
 * room (amplitude-modulated tones), the rest sending low noise (with
 * --silence: digital silence, G.711's silence byte, as a muted phone); 10% of
 * the legs use A-law, the rest mu-law.  Each 20 ms tick every leg hands in
 * its frame (talker detection runs on all), every room mixes, and every
 * leg's output payload is fetched as the media thread would for sending.
 * With --pipeline each leg also gets a G.711 packet into its jitter buffer
 * and pulls its frame from it (decoding, concealment bookkeeping): all the
 * per-leg media work except the socket calls.  With --rate=16000 the rooms
 * are wideband: the mixer converts the G.711 legs up on the way in (those
 * it mixes) and down on the way out (once per codec), and --g722=PCT of the legs speak G.722
 * instead (decoded by their jitter buffer with --pipeline, encoded by the mixer), and --opus=PCT
 * Opus (at the mixer's settings: 16 kHz, 24 kbit/s, complexity 5; decoded by their own decoder
 * with --pipeline, as the media thread does after its packet buffer).  With --rate=48000 the
 * rooms are fullband: Opus legs run at 48 kHz (the mixer's 32 kbit/s, no conversion), G.722
 * legs are converted 3x and G.711 legs 6x at the edge.  It prints the
 * thread CPU time per tick and the participants one core can carry at 50
 * ticks/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "media/g722.h"
#include "media/jbuf.h"
#include "media/media.h"
#include "media/mixer.h"
#include "media/opus.h"

#define VARIANTS 16

/* The mixer's part of a leg; the jitter buffers live in their own array so
 * that the mixer-only run touches what the mixer touches. */
struct bleg {
	struct ce_mix_leg mix; /* aligned to a cache line, as the media code allocates it */
	uint32_t ts;
	struct ce_jbuf *jb;
	struct ce_opus_dec *dec; /* an Opus leg's */
};

#define BLEG(l) ((struct bleg *)((char *)(l)-offsetof(struct bleg, mix)))

static int16_t talk[VARIANTS][50][160]; /* one second of talk per variant */
static int16_t quiet[VARIANTS][160];
static uint8_t talk_enc[VARIANTS][50][160];
static uint8_t quiet_enc[VARIANTS][160];
/* The same at 16 kHz, and as G.722 (one encoder per variant, frame after frame). */
static int16_t talk16[VARIANTS][50][320];
static int16_t quiet16[VARIANTS][320];
static int16_t talk48[VARIANTS][50][960];
static int16_t quiet48[VARIANTS][960];
static uint8_t talk_g722[VARIANTS][50][160];
static uint8_t quiet_g722[VARIANTS][160];
/* And as Opus packets, with their lengths. */
static uint8_t talk_opus[VARIANTS][50][CE_MIX_MAX_BYTES], quiet_opus[VARIANTS][CE_MIX_MAX_BYTES];
static int talk_opus_len[VARIANTS][50], quiet_opus_len[VARIANTS];
static unsigned room_rate = 8000; /* the rooms' */
/* Where every room's tick is kept: its legs' frames are fetched right after. */
static struct ce_mix_out out;

static void make_signals(bool silence)
{
	GRand *r = g_rand_new_with_seed(7);

	for (int v = 0; v < VARIANTS; v++) {
		double f = 180 + 20 * v;

		for (int k = 0; k < 50; k++) {
			for (int i = 0; i < 160; i++) {
				double t = (k * 160 + i) / 8000.0;
				double env = fabs(sin(2 * G_PI * 2 * t)); /* syllables */

				talk[v][k][i] = (int16_t)(6000 * env * sin(2 * G_PI * f * t) +
				                          g_rand_int_range(r, -40, 41));
			}
			ce_codec_encode(CE_CODEC_PCMU, talk[v][k], talk_enc[v][k], 160);
		}
		for (int i = 0; i < 160; i++)
			quiet[v][i] = silence ? 0 : (int16_t)g_rand_int_range(r, -40, 41);
		ce_codec_encode(CE_CODEC_PCMU, quiet[v], quiet_enc[v], 160);
	}
	for (int v = 0; v < VARIANTS; v++) {
		struct ce_rs2 up;
		struct ce_g722_enc enc;

		ce_rs2_init(&up);
		ce_g722_enc_init(&enc);
		for (int k = 0; k < 50; k++) {
			ce_rs2_up(&up, talk[v][k], 160, talk16[v][k]);
			ce_g722_encode(&enc, talk16[v][k], 320, talk_g722[v][k]);
		}
		ce_rs2_up(&up, quiet[v], 160, quiet16[v]);
		ce_g722_encode(&enc, quiet16[v], 320, quiet_g722[v]);
	}
	for (int v = 0; v < VARIANTS; v++) {
		struct ce_rs up;

		ce_rs_init(&up);
		for (int k = 0; k < 50; k++)
			ce_rs_convert(&up, 16000, 48000, talk16[v][k], 320, talk48[v][k]);
		ce_rs_convert(&up, 16000, 48000, quiet16[v], 320, quiet48[v]);
	}
	for (int v = 0; v < VARIANTS; v++) {
		bool fb = room_rate == 48000;
		const struct ce_opus_enc_conf conf = {.rate = fb ? 48000 : 16000,
		        .bitrate = fb ? CE_MIX_OPUS_BITRATE_FB : CE_MIX_OPUS_BITRATE,
		        .fec = true,
		        .loss_pct = CE_MIX_OPUS_LOSS_PCT,
		        .complexity = CE_MIX_OPUS_COMPLEXITY,
		        .fullband = fb};
		unsigned n = fb ? 960 : 320;
		struct ce_opus_enc *enc;

		if (ce_opus_enc_new(&enc, &conf) < 0)
			abort();
		for (int k = 0; k < 50; k++)
			talk_opus_len[v][k] = ce_opus_encode(enc, fb ? talk48[v][k] : talk16[v][k],
			        n, talk_opus[v][k], CE_MIX_MAX_BYTES);
		quiet_opus_len[v] = ce_opus_encode(
		        enc, fb ? quiet48[v] : quiet16[v], n, quiet_opus[v], CE_MIX_MAX_BYTES);
		ce_opus_enc_free(enc);
	}
	g_rand_free(r);
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static unsigned room_size, room_talkers;

/* Whether leg idx talks (from its index: reading it from the leg would be
 * a cache miss the mixer does not have). */
static bool talks(unsigned idx)
{
	return idx % room_size < room_talkers;
}

static unsigned g722_pct, opus_pct;

static void tick_leg(struct bleg *l, unsigned idx, unsigned k, bool pipeline)
{
	unsigned v = idx % VARIANTS;
	bool talker = talks(idx);
	bool g722 = idx % 100 < g722_pct; /* from the index, as talks() */
	bool opus = !g722 && idx % 100 < g722_pct + opus_pct;
	int16_t pcm[960];

	/* a leg hands in its codec's rate; the mixer converts what it mixes */
	if (!pipeline) {
		if (opus && room_rate == 48000)
			ce_mix_leg_input(&l->mix, talker ? talk48[v][k % 50] : quiet48[v]);
		else if (g722 || opus)
			ce_mix_leg_input(&l->mix, talker ? talk16[v][k % 50] : quiet16[v]);
		else
			ce_mix_leg_input(&l->mix, talker ? talk[v][k % 50] : quiet[v]);
		return;
	}
	if (opus) {
		/* what the media thread does with the packet its buffer hands out */
		const uint8_t *p = talker ? talk_opus[v][k % 50] : quiet_opus[v];
		int len = talker ? talk_opus_len[v][k % 50] : quiet_opus_len[v];

		ce_opus_decode(l->dec, p, (size_t)len, pcm, room_rate == 48000 ? 960 : 320);
		ce_mix_leg_input(&l->mix, pcm);
		return;
	}
	if (g722)
		ce_jbuf_put(
		        l->jb, 1, l->ts, talker ? talk_g722[v][k % 50] : quiet_g722[v], 160, l->ts);
	else
		ce_jbuf_put(
		        l->jb, 1, l->ts, talker ? talk_enc[v][k % 50] : quiet_enc[v], 160, l->ts);
	l->ts += 160;
	if (ce_jbuf_pull(l->jb, pcm, 160) == CE_JBUF_SILENCE)
		ce_mix_leg_input(&l->mix, NULL);
	else
		ce_mix_leg_input(&l->mix, pcm);
}

int main(int argc, char **argv)
{
	gint n = 100000, size = 100, talkers = 3, ticks = 500, rate = 8000, g722 = 0, opus = 0;
	gboolean pipeline = FALSE, silence = FALSE;
	GOptionEntry opts[] = {
	        {"participants", 'n', 0, G_OPTION_ARG_INT, &n, "participants", "N"},
	        {"room", 'r', 0, G_OPTION_ARG_INT, &size, "participants per room", "SIZE"},
	        {"talkers", 't', 0, G_OPTION_ARG_INT, &talkers, "talkers per room", "T"},
	        {"ticks", 'k', 0, G_OPTION_ARG_INT, &ticks, "measured ticks", "K"},
	        {"pipeline", 'p', 0, G_OPTION_ARG_NONE, &pipeline, "add jitter buffer and decoding",
	                NULL},
	        {"rate", 0, 0, G_OPTION_ARG_INT, &rate, "rooms' rate: 8000, 16000 or 48000", "HZ"},
	        {"g722", 0, 0, G_OPTION_ARG_INT, &g722, "percent of G.722 legs (16000 only)",
	                "PCT"},
	        {"opus", 0, 0, G_OPTION_ARG_INT, &opus, "percent of Opus legs (16000, 48000)",
	                "PCT"},
	        {"silence", 0, 0, G_OPTION_ARG_NONE, &silence,
	                "the quiet legs send digital silence, not low noise", NULL},
	        {NULL},
	};
	GOptionContext *ctx = g_option_context_new("- mixer throughput and memory");
	unsigned n_rooms, warm = 150;
	struct ce_mix_room **rooms;
	struct bleg *legs;
	struct ce_jbuf *jbufs;
	long rss0, rss1;
	double t0 = 0, cpu, per_tick, bytes_out = 0;
	uint64_t encodes0 = 0, encodes = 0;

	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, NULL) || n < 1 || size < 1 || ticks < 1 ||
	        (rate != 8000 && rate != 16000 && rate != 48000) || g722 < 0 || opus < 0 ||
	        g722 + opus > 100 || ((g722 || opus) && rate == 8000))
		return 2;
	room_rate = (unsigned)rate;
	g722_pct = (unsigned)g722;
	opus_pct = (unsigned)opus;
	g_option_context_free(ctx);
	make_signals(silence);
	room_size = (unsigned)size;
	room_talkers = (unsigned)talkers;
	n_rooms = (unsigned)((n + size - 1) / size);
	rss0 = rss_kib();
	rooms = g_new0(struct ce_mix_room *, n_rooms);
	legs = g_aligned_alloc0((gsize)n, sizeof(struct bleg), _Alignof(struct bleg));
	jbufs = g_new0(struct ce_jbuf, n);
	for (unsigned r = 0; r < n_rooms; r++)
		ce_mix_room_new(&rooms[r], room_rate, 4);
	for (int i = 0; i < n; i++) {
		struct bleg *l = &legs[i];
		enum ce_codec c = i % 10 == 9 ? CE_CODEC_PCMA : CE_CODEC_PCMU;

		/* spread the G.722 legs evenly: the first g722 of every 100 */
		if (i % 100 < g722)
			c = CE_CODEC_G722;
		else if (i % 100 < g722 + opus)
			c = CE_CODEC_OPUS;
		ce_mix_leg_init(&l->mix, c, 0, NULL);
		if (ce_mix_leg_needs_wide(c, room_rate)) {
			l->mix.wide = ce_mix_wide_new_at(c, room_rate);
			ce_mix_room_want_wide(rooms[i / size]);
		}
		if (c == CE_CODEC_OPUS &&
		        (ce_mix_room_want_opus(rooms[i / size]) < 0 ||
		                ce_opus_dec_new(&l->dec, ce_mix_codec_rate(room_rate, c)) < 0))
			abort();
		l->jb = &jbufs[i];
		ce_jbuf_init(l->jb, c == CE_CODEC_G722 ? c : CE_CODEC_PCMU, 160, 1600);
		ce_mix_leg_attach(rooms[i / size], &l->mix);
	}
	/* Touch everything once so the RSS counts it. */
	for (unsigned k = 0; k < 2; k++)
		for (int i = 0; i < n; i++)
			tick_leg(&legs[i], (unsigned)i, k, true);
	rss1 = rss_kib();
	for (unsigned k = 0; k < warm + (unsigned)ticks; k++) {
		if (k == warm) {
			t0 = cpu_now();
			for (unsigned r = 0; r < n_rooms; r++)
				encodes0 += rooms[r]->st.encodes;
		}
		for (unsigned r = 0; r < n_rooms; r++) {
			struct ce_mix_leg *l;
			size_t len;

			if (r + 2 < n_rooms)
				ce_mix_room_prefetch_state(rooms[r + 2]);
			if (r + 1 < n_rooms)
				ce_mix_room_prefetch(rooms[r + 1]);

			ce_mix_room_begin(rooms[r], &out);
			for (l = rooms[r]->legs; l; l = l->next) {
				unsigned idx = (unsigned)(BLEG(l) - legs);

				tick_leg(BLEG(l), idx, k, pipeline);
			}
			ce_mix_room_mix(rooms[r]);
			for (l = rooms[r]->legs; l; l = l->next)
				if (ce_mix_leg_output(l, &len))
					bytes_out += (double)len;
		}
	}
	cpu = cpu_now() - t0;
	for (unsigned r = 0; r < n_rooms; r++)
		encodes += rooms[r]->st.encodes;
	per_tick = cpu / ticks;
	printf("mode %s: %d participants, rooms of %d at %u Hz (%d%% G.722, %d%% Opus), %d "
	       "talkers each, %u rooms, the others sending %s\n",
	        pipeline ? "pipeline (jitter buffer + decode + mixer)" : "mixer", n, size,
	        room_rate, g722, opus, talkers, n_rooms, silence ? "digital silence" : "low noise");
	printf("active now: %u of %u in room 0 mixed; encodes per room-tick %.2f\n",
	        rooms[0]->n_set, rooms[0]->n_active,
	        (double)(encodes - encodes0) / ticks / n_rooms);
	printf("cpu per 20 ms tick: %.3f ms (%.1f%% of one core); %.0f ns per participant-tick\n",
	        per_tick * 1e3, per_tick / 0.02 * 100, per_tick / n * 1e9);
	printf("participants per core: %.0f\n", n * 0.02 / per_tick);
	printf("memory per participant: %zu B media leg (ce_media_leg_size), %zu B room share; "
	       "RSS %.0f B\n",
	        ce_media_leg_size(), sizeof(struct ce_mix_room) / (size_t)size,
	        (double)(rss1 - rss0) * 1024 / n);
	printf("sizes: ce_mix_leg %zu B, ce_mix_wide %zu B, ce_mix_room %zu B, ce_mix_room_wide "
	       "%zu B, ce_mix_out %zu B (a few per media thread)\n",
	        sizeof(struct ce_mix_leg), sizeof(struct ce_mix_wide), sizeof(struct ce_mix_room),
	        sizeof(struct ce_mix_room_wide), sizeof(struct ce_mix_out));
	for (unsigned r = 0; r < n_rooms; r++) {
		for (struct ce_mix_leg *l = rooms[r]->legs; l; l = rooms[r]->legs) {
			ce_mix_leg_detach(l);
			g_clear_pointer(&l->wide, ce_mix_wide_free);
			ce_opus_dec_free(BLEG(l)->dec);
		}
		ce_mix_room_free(rooms[r]);
	}
	g_free(rooms);
	g_aligned_free(legs);
	g_free(jbufs);
	return bytes_out > 0 ? 0 : 1;
}
