/* testutil.h - small helpers shared by the C test programs */
#ifndef CE_TESTUTIL_H
#define CE_TESTUTIL_H

void ce_test_rm_tree(const char *dir);

#endif
