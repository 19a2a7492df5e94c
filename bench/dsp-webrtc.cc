/* dsp-webrtc.cc - webrtc-audio-processing (0.3) behind a C interface, for bench-dsp's comparison */
#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include "dsp-webrtc.h"

/* The closest settings to media/dsp.c's: high suppression, digital AGC
 * aiming at the same level (its target is a peak level: -3 dBFS peaks
 * for speech near -20 dBFS), 20 dB of gain at most, the limiter on. */
struct ce_bench_apm {
	webrtc::AudioProcessing *apm;
	webrtc::AudioFrame frame;
	unsigned rate;
};

/** A processor at @rate Hz (8000, 16000, 32000 or 48000); NULL if webrtc refuses. */
struct ce_bench_apm *ce_bench_apm_new(unsigned rate, bool ns, bool agc)
{
	webrtc::Config cfg;
	struct ce_bench_apm *a = new ce_bench_apm;

	/* The "experimental" AGC drives an analog microphone level: none here. */
	cfg.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
	a->apm = webrtc::AudioProcessing::Create(cfg);
	a->rate = rate;
	a->apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
	a->apm->noise_suppression()->Enable(ns);
	a->apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
	a->apm->gain_control()->set_target_level_dbfs(3);
	a->apm->gain_control()->set_compression_gain_db(20);
	a->apm->gain_control()->enable_limiter(true);
	a->apm->gain_control()->Enable(agc);
	return a;
}

/** Processes @n samples of @pcm in place, in webrtc's 10 ms blocks (@n a multiple). */
void ce_bench_apm_process(struct ce_bench_apm *a, int16_t *pcm, unsigned n)
{
	unsigned block = a->rate / 100;

	for (unsigned i = 0; i + block <= n; i += block) {
		a->frame.UpdateFrame(0, 0, pcm + i, block, (int)a->rate,
		        webrtc::AudioFrame::kNormalSpeech, webrtc::AudioFrame::kVadUnknown, 1);
		a->apm->ProcessStream(&a->frame);
		for (unsigned j = 0; j < block; j++)
			pcm[i + j] = a->frame.data_[j];
	}
}

/** Frees @a. */
void ce_bench_apm_free(struct ce_bench_apm *a)
{
	delete a->apm;
	delete a;
}
