/* vec.c - whether the media hot loops take their AVX2 paths on this CPU */
#include "vec.h"

/* -1: not asked yet; the first call asks the CPU. */
static int use_avx2 = -1;

/** Whether the AVX2 paths run: the CPU has AVX2, unless ce_vec_set_avx2 said no. */
bool ce_vec_avx2(void)
{
#ifdef CE_VEC_AVX2
	int v = __atomic_load_n(&use_avx2, __ATOMIC_RELAXED);

	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("avx2") ? 1 : 0;
		__atomic_store_n(&use_avx2, v, __ATOMIC_RELAXED);
	}
	return v > 0;
#else
	return false;
#endif
}

/**
 * Turn the AVX2 paths off (on: back on where the CPU has them), so that
 * tests can compare them with the portable ones.  Not for the media
 * threads' run time: call it before any media work.
 */
void ce_vec_set_avx2(bool on)
{
	__atomic_store_n(&use_avx2, -1, __ATOMIC_RELAXED);
	if (!on || !ce_vec_avx2())
		__atomic_store_n(&use_avx2, 0, __ATOMIC_RELAXED);
}
