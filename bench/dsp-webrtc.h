/* dsp-webrtc.h - webrtc-audio-processing (0.3) behind a C interface, for bench-dsp's comparison */
#ifndef CE_BENCH_DSP_WEBRTC_H
#define CE_BENCH_DSP_WEBRTC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ce_bench_apm;

struct ce_bench_apm *ce_bench_apm_new(unsigned rate, bool ns, bool agc);
void ce_bench_apm_process(struct ce_bench_apm *a, int16_t *pcm, unsigned n);
void ce_bench_apm_free(struct ce_bench_apm *a);

#ifdef __cplusplus
}
#endif

#endif
