/* vec.h - GCC vector types and the AVX2 function clones the media hot loops share */
#ifndef CE_CONF_VEC_H
#define CE_CONF_VEC_H

#include <stdint.h>
#include <string.h>

typedef int32_t v8si __attribute__((vector_size(32)));
typedef uint32_t v8su __attribute__((vector_size(32)));
typedef float v8sf __attribute__((vector_size(32)));
typedef float v4sf __attribute__((vector_size(16)));
typedef uint8_t v8qu __attribute__((vector_size(8)));
typedef uint8_t v32qu __attribute__((vector_size(32)));
typedef int16_t v8hi __attribute__((vector_size(16)));

/* Where the CPU has AVX2 a loop runs 8 lanes wide in one instruction;
 * elsewhere the same code runs as pairs of 4-lane ops.  Not under ASan,
 * whose instrumentation does not mix with target_clones' ifuncs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define WIDE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WIDE_CLONES
#endif

/* Macros, not functions: passing 32-byte vectors by value would depend on AVX. */
#define LOAD8(v, p)   memcpy(&(v), (p), sizeof(v))
#define VSEL(m, a, b) (((a) & (m)) | ((b) & ~(m)))

#endif
