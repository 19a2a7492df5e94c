/* testutil.h - small helpers shared by the C test programs */
#ifndef CE_TESTUTIL_H
#define CE_TESTUTIL_H

#include <netinet/in.h>

void ce_test_rm_tree(const char *dir);
int ce_test_udp_loopback(struct sockaddr_in *a);

#endif
