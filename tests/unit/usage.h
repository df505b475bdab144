/*
 * usage.h - the leak oracle in one expression: what a stack holds now
 * (mtcp_stack_usage), e.g. usage(st).tcp_pcbs == 0 after every close.
 */
#ifndef MTCP_TEST_USAGE_H
#define MTCP_TEST_USAGE_H

#include "mtcp.h"

static inline struct mtcp_usage usage(struct stack *st)
{
	struct mtcp_usage u;

	mtcp_stack_usage(st, &u);
	return u;
}

#endif
