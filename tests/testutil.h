/* testutil.h - small helpers shared by the C test programs */
#ifndef CE_TESTUTIL_H
#define CE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

void ce_test_rm_tree(const char *dir);
int ce_test_udp_loopback(struct sockaddr_in *a);
double ce_test_cpu_now(void);
void ce_test_sort_doubles(double *v, size_t n);
double ce_test_sine_fit(const int16_t *x, size_t n, double f, unsigned rate, double *amp);

#endif
