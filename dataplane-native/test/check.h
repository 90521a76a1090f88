/* Minimal test harness for the C tests: CHECK records, the summary line is
 * the plain "N passed, N failed" that CI reads. */
#ifndef FERRY_TEST_CHECK_H
#define FERRY_TEST_CHECK_H
#include <stdio.h>

static int checks_passed, checks_failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			checks_passed++;                                   \
		} else {                                                   \
			checks_failed++;                                   \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,      \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

static inline int check_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
	return checks_failed ? 1 : 0;
}
#endif
