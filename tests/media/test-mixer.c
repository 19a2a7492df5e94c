/* test-mixer.c - unit tests for media/mixer.c: mix-minus, flags, encode-once */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "media/mixer.h"

#define N 6

/* A sine of hz at amplitude amp, at its tick'th frame of n samples (8 kHz). */
static void sine(int16_t *pcm, unsigned n, double hz, int amp, unsigned tick)
{
	for (unsigned i = 0; i < n; i++)
		pcm[i] = (int16_t)(amp * sin(2 * G_PI * hz * (tick * n + i) / 8000.0));
}

/* A loud tone per leg that makes its talker detector start at once. */
static void tone(int16_t *pcm, unsigned n, unsigned k, int amp, unsigned tick)
{
	sine(pcm, n, 300 + 150 * k, amp, tick);
}

static const int16_t *out_l16(struct ce_mix_leg *leg)
{
	size_t len;
	const uint8_t *p = ce_mix_leg_output(leg, &len);

	g_assert_nonnull(p);
	g_assert_cmpuint(len, ==, leg->room->frame * 2);
	return (const int16_t *)p;
}

struct fixture {
	struct ce_mix_room *room;
	struct ce_mix_out out;
	struct ce_mix_leg legs[N];
	int16_t in[N][CE_MIX_MAX_FRAME];
};

/* Let the talker detectors learn the (silent) floor. */
static void settle(struct fixture *f)
{
	int16_t zero[CE_MIX_MAX_FRAME] = {0};

	for (unsigned t = 0; t < 10; t++) {
		ce_mix_room_begin(f->room, &f->out);
		for (unsigned i = 0; i < N; i++)
			ce_mix_leg_input(&f->legs[i], zero);
		ce_mix_room_mix(f->room);
	}
}

/* A room of N new legs that have heard nothing yet. */
static void open_room(struct fixture *f, unsigned rate, unsigned max_talkers, enum ce_codec codec)
{
	g_assert_cmpint(ce_mix_room_new(&f->room, rate, max_talkers), ==, 0);
	for (int i = 0; i < N; i++) {
		ce_mix_leg_init(&f->legs[i], codec, 0, NULL);
		g_assert_cmpint(ce_mix_leg_attach(f->room, &f->legs[i]), ==, 0);
	}
}

static void setup(struct fixture *f, unsigned rate, unsigned max_talkers, enum ce_codec codec)
{
	open_room(f, rate, max_talkers, codec);
	settle(f);
}

static void teardown(struct fixture *f)
{
	for (int i = 0; i < N; i++)
		ce_mix_leg_detach(&f->legs[i]);
	g_assert_cmpuint(f->room->n_legs, ==, 0);
	ce_mix_room_free(f->room);
}

/* One tick where legs[0..talkers) speak at amp and the rest are silent. */
static void tick(struct fixture *f, unsigned talkers, int amp, unsigned t)
{
	ce_mix_room_begin(f->room, &f->out);
	for (unsigned i = 0; i < N; i++) {
		if (i < talkers)
			tone(f->in[i], f->room->frame, i, amp, t);
		else
			memset(f->in[i], 0, sizeof(f->in[i]));
		ce_mix_leg_input(&f->legs[i], f->in[i]);
	}
	ce_mix_room_mix(f->room);
}

static void check_mix_minus(struct fixture *f)
{
	for (unsigned l = 0; l < N; l++) {
		const int16_t *o = out_l16(&f->legs[l]);

		if (f->legs[l].flags & CE_MIX_DEAF)
			continue;
		for (unsigned i = 0; i < f->room->frame; i++) {
			int32_t want = 0;

			for (unsigned k = 0; k < N; k++)
				if (k != l && f->legs[k].slot >= 0)
					want += f->in[k][i];
			g_assert_cmpint(o[i], ==, ce_mix_sat(want));
		}
	}
}

static void test_mix_minus(void)
{
	struct fixture f;

	setup(&f, 8000, 4, CE_CODEC_L16);
	for (unsigned t = 0; t < 10; t++) {
		tick(&f, 3, 8000, t);
		check_mix_minus(&f);
	}
	g_assert_cmpuint(f.room->n_set, ==, 3);
	for (int i = 0; i < 3; i++)
		g_assert_cmpint(f.legs[i].slot, >=, 0);
	teardown(&f);
}

static void test_mix_minus_16k(void)
{
	struct fixture f;

	setup(&f, 16000, 4, CE_CODEC_L16);
	g_assert_cmpuint(f.room->frame, ==, 320);
	for (unsigned t = 0; t < 5; t++) {
		tick(&f, 2, 8000, t);
		check_mix_minus(&f);
	}
	teardown(&f);
	/* G.711 is 8 kHz: a 16 kHz room takes it, converted (test-wideband) */
	g_assert_cmpint(ce_mix_room_new(&f.room, 16000, 4), ==, 0);
	ce_mix_leg_init(&f.legs[0], CE_CODEC_PCMU, 0, NULL);
	g_assert_cmpint(ce_mix_leg_attach(f.room, &f.legs[0]), ==, 0);
	g_assert_cmpuint(ce_mix_codec_frame(f.room, CE_CODEC_PCMU), ==, 160);
	ce_mix_leg_detach(&f.legs[0]);
	ce_mix_room_free(f.room);
}

/*
 * The frame follows the room's rate, 20 ms of it (rate / 50 samples): at
 * 8000, 16000 and 48000 a talker's whole frame, last sample included, is what the
 * others hear; a rate the mixer cannot run is refused.
 */
static void test_frame_follows_rate(void)
{
	static const unsigned rates[] = {8000, 16000, 48000};
	static const unsigned refused[] = {0, 11025, 32000, 44100, 96000};
	struct ce_mix_room *room = NULL;
	struct fixture f;

	for (unsigned r = 0; r < G_N_ELEMENTS(rates); r++) {
		setup(&f, rates[r], 4, CE_CODEC_L16);
		g_assert_cmpuint(f.room->rate, ==, rates[r]);
		g_assert_cmpuint(f.room->frame, ==, rates[r] / 50);
		for (unsigned t = 0; t < 5; t++)
			tick(&f, 1, 8000, t);
		/* a listener hears exactly the one talker, to its last sample */
		g_assert_cmpmem(out_l16(&f.legs[1]), f.room->frame * 2, f.in[0], f.room->frame * 2);
		g_assert_cmpint(f.in[0][f.room->frame - 1], !=, 0);
		teardown(&f);
	}
	for (unsigned r = 0; r < G_N_ELEMENTS(refused); r++)
		g_assert_cmpint(ce_mix_room_new(&room, refused[r], 4), <, 0);
}

static void test_saturation_symmetric(void)
{
	g_assert_cmpint(ce_mix_sat(-40000), ==, -32767);
	g_assert_cmpint(ce_mix_sat(-32768), ==, -32767);
	g_assert_cmpint(ce_mix_sat(40000), ==, 32767);
	g_assert_cmpint(ce_mix_sat(32767), ==, 32767);
}

/*
 * Five loud talkers (30000 each) would sum far past full scale: the
 * limiter scales the room's tick so that nobody's frame passes
 * CE_MIX_LIMIT, and each is the same scaled mix without its own voice
 * (within the rounding of five scaled inputs).  One source alone, even at
 * full scale, is never scaled; and once the room is quiet again the gain
 * comes back to unity (25 dB a second) and mixes are exact again.
 */
static void test_limiter(void)
{
	struct fixture f;
	int16_t peak = 0;

	setup(&f, 8000, 8, CE_CODEC_L16);
	for (unsigned t = 0; t < 10; t++) {
		tick(&f, 5, 30000, t);
		g_assert_cmpint(f.room->limit_q15, <, CE_MIX_UNITY_Q15);
		for (unsigned l = 0; l < N; l++) {
			const int16_t *o = out_l16(&f.legs[l]);

			for (unsigned i = 0; i < f.room->frame; i++) {
				int32_t want = 0;

				for (unsigned k = 0; k < N; k++)
					if (k != l && f.legs[k].slot >= 0)
						want += f.in[k][i];
				want = (int32_t)(((int64_t)want * f.room->limit_q15) >> 15);
				g_assert_cmpint(abs(o[i] - want), <=, 3);
				g_assert_cmpint(abs(o[i]), <=, CE_MIX_LIMIT);
				peak = (int16_t)MAX(peak, abs(o[i]));
			}
		}
	}
	/* as loud as it may be: within 0.5 dB of the ceiling */
	g_assert_cmpint(peak, >, CE_MIX_LIMIT * 0.94);
	g_assert_cmpuint(f.room->st.limited, ==, 10);
	/* one quiet talker: the gain comes back within a second, then it is exact */
	for (unsigned t = 0; t < 50; t++)
		tick(&f, 1, 8000, t);
	g_assert_cmpint(f.room->limit_q15, ==, CE_MIX_UNITY_Q15);
	tick(&f, 2, 8000, 50);
	check_mix_minus(&f);
	teardown(&f);
	/* one talker at full scale alone: untouched */
	setup(&f, 8000, 8, CE_CODEC_L16);
	for (unsigned t = 0; t < 10; t++) {
		tick(&f, 1, 32767, t);
		check_mix_minus(&f);
	}
	g_assert_cmpuint(f.room->st.limited, ==, 0);
	teardown(&f);
}

static void test_talkers_bounded(void)
{
	struct fixture f;

	setup(&f, 8000, 2, CE_CODEC_L16);
	for (unsigned t = 0; t < 10; t++) {
		tick(&f, N, 3000, t);
		g_assert_cmpuint(f.room->n_set, <=, 2);
		check_mix_minus(&f);
	}
	g_assert_cmpuint(f.room->n_set, ==, 2);
	g_assert_cmpuint(f.room->n_active, ==, N);
	teardown(&f);
}

static void test_flags(void)
{
	struct fixture f;
	const int16_t *o;

	setup(&f, 8000, 4, CE_CODEC_L16);
	ce_mix_leg_set_flags(&f.legs[1], CE_MIX_LISTEN_ONLY);
	ce_mix_leg_set_flags(&f.legs[3], CE_MIX_DEAF);
	for (unsigned t = 0; t < 5; t++)
		tick(&f, 3, 8000, t);
	/* Leg 1 speaks but is listen-only: not a talker, not heard. */
	g_assert_cmpint(f.legs[1].slot, ==, -1);
	g_assert_false(f.legs[1].active);
	check_mix_minus(&f);
	o = out_l16(&f.legs[5]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, ce_mix_sat(f.in[0][i] + f.in[2][i]));
	/* Deaf hears nothing. */
	o = out_l16(&f.legs[3]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, 0);
	/* Muting a talker ends its talk at once and takes it out of the mix. */
	g_assert_cmpint(ce_mix_leg_set_flags(&f.legs[0], CE_MIX_MUTED), ==, CE_TALKER_STOP);
	tick(&f, 3, 8000, 5);
	g_assert_cmpint(f.legs[0].slot, ==, -1);
	o = out_l16(&f.legs[5]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, f.in[2][i]);
	/* The lone talker hears silence, not itself. */
	o = out_l16(&f.legs[2]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, 0);
	g_assert_cmpint(ce_mix_leg_set_flags(&f.legs[0], 0), ==, CE_TALKER_NONE);
	teardown(&f);
}

/* echo=true: the talker hears the full mix, itself included, from the
 * listeners' shared frame; the others keep their mix-minus. */
static void test_echo(void)
{
	struct fixture f;
	const int16_t *o;
	size_t len;

	setup(&f, 8000, 4, CE_CODEC_L16);
	ce_mix_leg_set_flags(&f.legs[0], CE_MIX_ECHO);
	for (unsigned t = 0; t < 5; t++)
		tick(&f, 2, 8000, t);
	g_assert_cmpint(f.legs[0].slot, >=, 0);
	o = out_l16(&f.legs[0]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, ce_mix_sat(f.in[0][i] + f.in[1][i]));
	g_assert_true(ce_mix_leg_output(&f.legs[0], &len) == ce_mix_leg_output(&f.legs[5], &len));
	o = out_l16(&f.legs[1]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, f.in[0][i]);
	/* A lone echo talker hears itself. */
	ce_mix_leg_set_flags(&f.legs[1], CE_MIX_MUTED);
	tick(&f, 2, 8000, 5);
	o = out_l16(&f.legs[0]);
	for (unsigned i = 0; i < f.room->frame; i++)
		g_assert_cmpint(o[i], ==, f.in[0][i]);
	/* Full mix once plus no mix-minus for the echo talker. */
	g_assert_cmpuint(f.room->n_set, ==, 1);
	teardown(&f);
}

/* smart=false: mixed whatever its level, no talker events, not among the
 * speakers, and first to a free seat. */
static void test_dumb(void)
{
	struct fixture f;
	struct ce_mix_leg *who[N];
	unsigned energy[N];
	const int16_t *o;

	setup(&f, 8000, 2, CE_CODEC_L16);
	ce_mix_leg_set_flags(&f.legs[2], CE_MIX_DUMB);
	for (unsigned t = 0; t < 5; t++) {
		ce_mix_room_begin(f.room, &f.out);
		for (unsigned i = 0; i < N; i++) {
			if (i < 2)
				tone(f.in[i], f.room->frame, i, 8000, t);
			else if (i == 2)
				tone(f.in[i], f.room->frame, i, 40, t); /* far under any detector */
			else
				memset(f.in[i], 0, sizeof(f.in[i]));
			if (i == 2)
				g_assert_cmpint(
				        ce_mix_leg_input(&f.legs[i], f.in[i]), ==, CE_TALKER_NONE);
			else
				ce_mix_leg_input(&f.legs[i], f.in[i]);
		}
		ce_mix_room_mix(f.room);
	}
	/* Two seats: the dumb leg holds one, the first loud talker the other. */
	g_assert_cmpint(f.legs[2].slot, >=, 0);
	g_assert_cmpuint(f.room->n_set, ==, 2);
	o = out_l16(&f.legs[5]);
	for (unsigned i = 0; i < f.room->frame; i++) {
		int32_t want = f.in[2][i];

		for (unsigned k = 0; k < 2; k++)
			if (f.legs[k].slot >= 0)
				want += f.in[k][i];
		g_assert_cmpint(o[i], ==, ce_mix_sat(want));
	}
	g_assert_cmpuint(ce_mix_room_speakers(f.room, who, energy, N), ==, 2);
	for (unsigned k = 0; k < 2; k++)
		g_assert_true(who[k] != &f.legs[2]);
	/* Muting it takes it out quietly: no stop for a talk never announced. */
	g_assert_cmpint(
	        ce_mix_leg_set_flags(&f.legs[2], CE_MIX_DUMB | CE_MIX_MUTED), ==, CE_TALKER_NONE);
	g_assert_cmpint(f.legs[2].slot, ==, -1);
	g_assert_false(f.legs[2].active);
	g_assert_false(ce_mix_leg_detach(&f.legs[2]));
	teardown(&f);
}

static void test_encode_once(void)
{
	struct fixture f;
	uint64_t before;
	size_t len;

	setup(&f, 8000, 4, CE_CODEC_PCMU);
	ce_mix_leg_detach(&f.legs[5]);
	ce_mix_leg_init(&f.legs[5], CE_CODEC_PCMA, 0, NULL);
	ce_mix_leg_attach(f.room, &f.legs[5]);
	settle(&f);
	f.room->st.encodes = 0;
	for (unsigned t = 0; t < 5; t++) {
		before = f.room->st.encodes;
		tick(&f, 2, 8000, t);
		/* Two talkers' mix-minus and one shared mix for each of the two
		 * codecs of the listeners... */
		g_assert_cmpuint(f.room->st.encodes - before, ==, 4);
		/* ...and fetching what every leg hears, twice, encodes nothing. */
		before = f.room->st.encodes;
		for (unsigned l = 0; l < N; l++)
			g_assert_nonnull(ce_mix_leg_output(&f.legs[l], &len));
		for (unsigned l = 0; l < N; l++)
			g_assert_nonnull(ce_mix_leg_output(&f.legs[l], &len));
		g_assert_cmpuint(f.room->st.encodes - before, ==, 0);
	}
	g_assert_cmpuint(f.room->st.encodes, ==, 5 * 4);
	/* Silence costs nothing. */
	before = f.room->st.encodes;
	for (unsigned t = 0; t < 40; t++)
		tick(&f, 0, 0, t);
	for (unsigned l = 0; l < N; l++) {
		const uint8_t *p = ce_mix_leg_output(&f.legs[l], &len);

		g_assert_cmpuint(p[0], ==, ce_codec_silence_byte(f.legs[l].codec));
	}
	/* The talks end after their hangover; from then on nothing is encoded. */
	g_assert_cmpuint(f.room->st.encodes - before, <=, 4 * 21);
	before = f.room->st.encodes;
	tick(&f, 0, 0, 40);
	g_assert_cmpuint(f.room->st.encodes - before, ==, 0);
	teardown(&f);
}

static void test_speakers(void)
{
	struct fixture f;
	struct ce_mix_leg *who[3];
	unsigned energy[3], n;

	setup(&f, 8000, 4, CE_CODEC_L16);
	for (unsigned t = 0; t < 20; t++) {
		ce_mix_room_begin(f.room, &f.out);
		for (unsigned i = 0; i < N; i++) {
			tone(f.in[i], 160, i, i < 4 ? 1000 * (int)(i + 1) : 0, t);
			ce_mix_leg_input(&f.legs[i], f.in[i]);
		}
		ce_mix_room_mix(f.room);
	}
	n = ce_mix_room_speakers(f.room, who, energy, 3);
	g_assert_cmpuint(n, ==, 3);
	g_assert_true(who[0] == &f.legs[3]);
	g_assert_true(who[1] == &f.legs[2]);
	g_assert_true(who[2] == &f.legs[1]);
	g_assert_cmpuint(energy[0], >=, energy[1]);
	g_assert_cmpuint(energy[1], >=, energy[2]);
	teardown(&f);
}

/* What each leg sends in a tick of the steady-sound tests: a sine at hz[i]
 * of amplitude amp[i] plus white noise of peak noise[i] (0: none). */
struct sounds {
	double hz[N];
	int amp[N];
	int noise[N];
};

/* One tick of sounds; counts every leg's talk events in talks[]. */
static void play(struct fixture *f, const struct sounds *snd, unsigned t, GRand *r, unsigned *talks)
{
	ce_mix_room_begin(f->room, &f->out);
	for (unsigned i = 0; i < N; i++) {
		sine(f->in[i], f->room->frame, snd->hz[i], snd->amp[i], t);
		for (unsigned k = 0; snd->noise[i] && k < f->room->frame; k++)
			f->in[i][k] = (int16_t)(f->in[i][k] + g_rand_int_range(r, -snd->noise[i],
			                                              snd->noise[i] + 1));
		if (ce_mix_leg_input(&f->legs[i], f->in[i]) != CE_TALKER_NONE)
			talks[i]++;
	}
	ce_mix_room_mix(f->room);
}

/*
 * A steady tone from the call's first frame (a test tone, a dial tone,
 * hold music) never rises over its detector's floor, yet it is clearly
 * audible: every other leg hears it, its own leg does not (mix-minus),
 * and it raises no talk.  Quiet noise is not mixed: -55 dBFS, and comfort
 * noise at -50 dBFS (uniform noise of peak 100 and 183).
 */
static void test_steady_tone(void)
{
	struct sounds snd = {.hz = {440}, .amp = {3277}, .noise = {0, 100, 183}};
	struct ce_mix_leg *who[N];
	unsigned energy[N], talks[N] = {0};
	GRand *r = g_rand_new_with_seed(1);
	struct fixture f;

	open_room(&f, 8000, 4, CE_CODEC_L16);
	for (unsigned t = 0; t < 250; t++) {
		play(&f, &snd, t, r, talks);
		if (t + 1 < CE_MIX_AUDIBLE_ON)
			continue;
		g_assert_cmpint(f.legs[0].slot, >=, 0);
		g_assert_false(f.legs[1].active);
		g_assert_false(f.legs[2].active);
		g_assert_cmpuint(f.room->n_set, ==, 1);
		check_mix_minus(&f);
		g_assert_cmpint(out_l16(&f.legs[1])[80], ==, f.in[0][80]);
	}
	for (unsigned i = 0; i < N; i++)
		g_assert_cmpuint(talks[i], ==, 0);
	g_assert_cmpuint(ce_mix_room_speakers(f.room, who, energy, N), ==, 0);
	/* Muting it takes it out with no talk stop (no talk began); heard
	 * again, it is judged afresh. */
	g_assert_cmpint(ce_mix_leg_set_flags(&f.legs[0], CE_MIX_MUTED), ==, CE_TALKER_NONE);
	g_assert_false(f.legs[0].active);
	play(&f, &snd, 250, r, talks);
	g_assert_cmpint(out_l16(&f.legs[1])[80], ==, 0);
	g_assert_cmpint(ce_mix_leg_set_flags(&f.legs[0], 0), ==, CE_TALKER_NONE);
	for (unsigned t = 0; t < CE_MIX_AUDIBLE_ON; t++) {
		g_assert_false(f.legs[0].active);
		play(&f, &snd, 251 + t, r, talks);
	}
	g_assert_cmpint(f.legs[0].slot, >=, 0);
	check_mix_minus(&f);
	/* When the tone ends, the leg is heard for CE_MIX_QUIET_OFF frames more. */
	snd.amp[0] = 0;
	for (unsigned t = 0; t < CE_MIX_QUIET_OFF; t++) {
		g_assert_true(f.legs[0].active);
		play(&f, &snd, 260 + t, r, talks);
	}
	g_assert_false(f.legs[0].active);
	g_assert_cmpint(f.legs[0].slot, ==, -1);
	g_assert_cmpuint(f.room->n_set, ==, 0);
	for (unsigned i = 0; i < N; i++)
		g_assert_cmpuint(talks[i], ==, 0);
	g_rand_free(r);
	teardown(&f);
}

/* Audible from CE_MIX_AUDIBLE_DB after CE_MIX_AUDIBLE_ON frames; a level
 * between that and CE_MIX_QUIET_DB keeps it so; under that, it ends after
 * CE_MIX_QUIET_OFF frames.  Amplitudes of a 1 kHz tone: 1000 is -29 dB in
 * the voice band, 220 -42.5, 100 -49. */
static void test_audible_hysteresis(void)
{
	struct sounds snd = {.hz = {1000}, .amp = {100}};
	unsigned talks[N] = {0}, t = 0;
	GRand *r = g_rand_new_with_seed(2);
	struct fixture f;

	open_room(&f, 8000, 4, CE_CODEC_L16);
	for (; t < 100; t++) {
		play(&f, &snd, t, r, talks);
		g_assert_false(f.legs[0].audible);
	}
	snd.amp[0] = 1000;
	for (unsigned k = 0; k < CE_MIX_AUDIBLE_ON; k++, t++) {
		g_assert_false(f.legs[0].audible);
		play(&f, &snd, t, r, talks);
	}
	g_assert_true(f.legs[0].audible);
	snd.amp[0] = 220;
	for (unsigned k = 0; k < 100; k++, t++) {
		play(&f, &snd, t, r, talks);
		g_assert_true(f.legs[0].audible);
	}
	snd.amp[0] = 100;
	for (unsigned k = 0; k < CE_MIX_QUIET_OFF; k++, t++) {
		g_assert_true(f.legs[0].audible);
		play(&f, &snd, t, r, talks);
	}
	g_assert_false(f.legs[0].audible);
	/* A level in between does not make it audible again. */
	snd.amp[0] = 220;
	for (unsigned k = 0; k < 100; k++, t++) {
		play(&f, &snd, t, r, talks);
		g_assert_false(f.legs[0].audible);
	}
	g_rand_free(r);
	teardown(&f);
}

/*
 * Seats are bounded (2 here) and two legs play steady tones from the
 * start: a leg that starts talking takes the seat of one of them, and
 * gives it back when its talk and its sound have ended.
 */
static void test_talker_over_steady(void)
{
	struct sounds snd = {.hz = {300, 450, 600}, .amp = {3000, 3000, 0}};
	unsigned talks[N] = {0}, t = 0;
	GRand *r = g_rand_new_with_seed(3);
	struct fixture f;

	open_room(&f, 8000, 2, CE_CODEC_L16);
	for (; t < 100; t++)
		play(&f, &snd, t, r, talks);
	g_assert_cmpint(f.legs[0].slot, >=, 0);
	g_assert_cmpint(f.legs[1].slot, >=, 0);
	snd.amp[2] = 8000;
	for (unsigned k = 0; k < 2; k++, t++)
		play(&f, &snd, t, r, talks);
	g_assert_cmpuint(talks[2], ==, 1);
	for (unsigned k = 0; k < 50; k++, t++) {
		play(&f, &snd, t, r, talks);
		g_assert_cmpint(f.legs[2].slot, >=, 0);
		g_assert_cmpuint(f.room->n_set, ==, 2);
		g_assert_true((f.legs[0].slot >= 0) != (f.legs[1].slot >= 0));
		check_mix_minus(&f);
	}
	/* Its talk ends after the hangover, its sound after CE_MIX_QUIET_OFF. */
	snd.amp[2] = 0;
	for (unsigned k = 0; k < 50; k++, t++)
		play(&f, &snd, t, r, talks);
	g_assert_cmpuint(talks[2], ==, 2);
	g_assert_cmpint(f.legs[2].slot, ==, -1);
	g_assert_cmpint(f.legs[0].slot, >=, 0);
	g_assert_cmpint(f.legs[1].slot, >=, 0);
	check_mix_minus(&f);
	g_assert_cmpuint(talks[0] + talks[1], ==, 0);
	g_rand_free(r);
	teardown(&f);
}

/* Each leg's pointer two legs on (what it fetches) and the room's to its
 * second leg stay right through joins and leaves anywhere in the list. */
static void check_ahead(const struct ce_mix_room *room)
{
	unsigned n = 0;

	g_assert_true(room->legs_ahead == (room->legs ? room->legs->next : NULL));
	for (const struct ce_mix_leg *l = room->legs; l; l = l->next, n++)
		g_assert_true(l->ahead == (l->next ? l->next->next : NULL));
	g_assert_cmpuint(n, ==, room->n_legs);
}

static void test_walk_ahead(void)
{
	struct ce_mix_room *room;
	struct ce_mix_leg legs[12];
	GRand *r = g_rand_new_with_seed(42);

	g_assert_cmpint(ce_mix_room_new(&room, 8000, 4), ==, 0);
	for (unsigned i = 0; i < G_N_ELEMENTS(legs); i++)
		ce_mix_leg_init(&legs[i], CE_CODEC_PCMU, 0, NULL);
	check_ahead(room);
	for (unsigned step = 0; step < 2000; step++) {
		struct ce_mix_leg *l = &legs[g_rand_int_range(r, 0, G_N_ELEMENTS(legs))];

		if (l->room)
			ce_mix_leg_detach(l);
		else
			g_assert_cmpint(ce_mix_leg_attach(room, l), ==, 0);
		check_ahead(room);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(legs); i++) {
		ce_mix_leg_detach(&legs[i]);
		check_ahead(room);
	}
	g_assert_null(room->legs);
	ce_mix_room_free(room);
	g_rand_free(r);
}

/* Nothing to hear: every byte of the frame is the codec's silence. */
static void test_silence(void)
{
	static const enum ce_codec codecs[] = {CE_CODEC_PCMU, CE_CODEC_PCMA, CE_CODEC_L16};

	for (unsigned c = 0; c < G_N_ELEMENTS(codecs); c++) {
		struct fixture f;
		size_t len;
		const uint8_t *p;

		setup(&f, 8000, 4, codecs[c]);
		tick(&f, 0, 0, 0);
		p = ce_mix_leg_output(&f.legs[0], &len);
		g_assert_cmpuint(len, ==, ce_codec_bytes(codecs[c], 160));
		for (size_t i = 0; i < len; i++)
			g_assert_cmpuint(p[i], ==, ce_codec_silence_byte(codecs[c]));
		teardown(&f);
	}
}

/* More talking legs than a tick's out keeps inputs for: the rest keep
 * theirs in their own leg, and every leg still hears exactly the others
 * seated. */
static void test_inputs_overflow(void)
{
	enum { LEGS = CE_MIX_OUT_IN + 6 };
	struct ce_mix_room *room;
	struct ce_mix_out out;
	static struct ce_mix_leg legs[LEGS];
	static int16_t in[LEGS][160];
	unsigned own_seated = 0;

	g_assert_cmpint(ce_mix_room_new(&room, 8000, CE_MIX_MAX_TALKERS), ==, 0);
	for (unsigned i = 0; i < LEGS; i++) {
		ce_mix_leg_init(&legs[i], CE_CODEC_L16, CE_MIX_DUMB, NULL);
		g_assert_cmpint(ce_mix_leg_attach(room, &legs[i]), ==, 0);
	}
	for (unsigned t = 0; t < 3; t++) {
		ce_mix_room_begin(room, &out);
		for (unsigned i = 0; i < LEGS; i++) {
			for (unsigned k = 0; k < 160; k++)
				in[i][k] = (int16_t)((int)(i + 1) * 100 + (int)k + (int)t);
			ce_mix_leg_input(&legs[i], in[i]);
		}
		ce_mix_room_mix(room);
		g_assert_cmpuint(room->n_set, ==, CE_MIX_MAX_TALKERS);
		for (unsigned l = 0; l < LEGS; l++) {
			const int16_t *o = out_l16(&legs[l]);

			for (unsigned k = 0; k < 160; k++) {
				int32_t want = 0;

				for (unsigned j = 0; j < LEGS; j++)
					if (j != l && legs[j].slot >= 0)
						want += in[j][k];
				g_assert_cmpint(o[k], ==, ce_mix_sat(want));
			}
			own_seated += legs[l].slot >= 0 && legs[l].in_at == CE_MIX_OWN_IN;
		}
	}
	/* The case this is about: a seated leg whose input is its own. */
	g_assert_cmpuint(own_seated, >, 0);
	for (unsigned i = 0; i < LEGS; i++)
		ce_mix_leg_detach(&legs[i]);
	ce_mix_room_free(room);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mixer/mix-minus", test_mix_minus);
	g_test_add_func("/mixer/mix-minus-16k", test_mix_minus_16k);
	g_test_add_func("/mixer/frame-follows-rate", test_frame_follows_rate);
	g_test_add_func("/mixer/saturation-symmetric", test_saturation_symmetric);
	g_test_add_func("/mixer/limiter", test_limiter);
	g_test_add_func("/mixer/talkers-bounded", test_talkers_bounded);
	g_test_add_func("/mixer/flags", test_flags);
	g_test_add_func("/mixer/encode-once", test_encode_once);
	g_test_add_func("/mixer/speakers", test_speakers);
	g_test_add_func("/mixer/echo", test_echo);
	g_test_add_func("/mixer/smart-false", test_dumb);
	g_test_add_func("/mixer/steady-tone", test_steady_tone);
	g_test_add_func("/mixer/audible-hysteresis", test_audible_hysteresis);
	g_test_add_func("/mixer/talker-over-steady", test_talker_over_steady);
	g_test_add_func("/mixer/walk-ahead", test_walk_ahead);
	g_test_add_func("/mixer/silence", test_silence);
	g_test_add_func("/mixer/inputs-overflow", test_inputs_overflow);
	return g_test_run();
}
