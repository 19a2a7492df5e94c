/* vec.h - vector types, AVX2 clones and AVX2 paths shared by the media hot loops */
#ifndef CE_CONF_VEC_H
#define CE_CONF_VEC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef int32_t v8si __attribute__((vector_size(32)));
typedef uint32_t v8su __attribute__((vector_size(32)));
typedef float v8sf __attribute__((vector_size(32)));
typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));
typedef uint8_t v8qu __attribute__((vector_size(8)));
typedef uint8_t v32qu __attribute__((vector_size(32)));
typedef int16_t v8hi __attribute__((vector_size(16)));

/* Where the CPU has AVX2 a loop runs 8 lanes wide in one instruction;
 * elsewhere the same code runs as pairs of 4-lane ops.  Not under ASan or
 * TSan, whose instrumentation does not mix with target_clones' ifuncs (the
 * resolver runs during relocation, before the sanitizer's runtime is up). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) &&                  \
        !defined(__SANITIZE_THREAD__)
#define WIDE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WIDE_CLONES
#endif

/* Macros, not functions: passing 32-byte vectors by value would depend on AVX. */
#define LOAD8(v, p)   memcpy(&(v), (p), sizeof(v))
#define VSEL(m, a, b) (((a) & (m)) | ((b) & ~(m)))

/*
 * A loop whose best form needs instructions the vector extensions do not
 * express (today the G.711 encoder's saturating packs) has an AVX2
 * version written with intrinsics beside its portable one, chosen at run
 * time by ce_vec_avx2().  Unlike the clones, this works under ASan.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define CE_VEC_AVX2 1
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2")))
#endif

bool ce_vec_avx2(void);
void ce_vec_set_avx2(bool on);

#endif
