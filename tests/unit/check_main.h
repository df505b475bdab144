/*
 * check_main.h - the shared main() of every Check suite binary.
 *
 * Each tests/unit/test_<module>.c defines one suite and ends with
 * CHECK_MAIN(<module>_suite). The binary exits non-zero on any failure.
 * CK_FORK is left to Check's default (fork per test) unless the environment
 * says otherwise (CK_FORK=no under a debugger or ASan).
 */
#ifndef MTCP_CHECK_MAIN_H
#define MTCP_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define CHECK_MAIN(suite_fn)                                            \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr = srunner_create(suite_fn());               \
		srunner_run_all(sr, CK_NORMAL);                         \
		int failed = srunner_ntests_failed(sr);                 \
		srunner_free(sr);                                       \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;            \
	}

#endif
