/* SPDX-License-Identifier: MIT */
#include "cli_parse.h"

#include <stdio.h>
#include <stdlib.h>

static int refuse(const char *cmd, const char *opt, const char *arg,
		  const char *what)
{
	fprintf(stderr, "gilscope %s: --%s wants %s, not '%s'\n", cmd, opt, what,
		arg);
	return -1;
}

int cli_parse_long(const char *cmd, const char *opt, const char *arg, long lo,
		   long hi, const char *what, long *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || v < lo || v > hi)
		return refuse(cmd, opt, arg, what);
	*out = v;
	return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *arg,
		     double lo, double hi, const char *what, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || !(v > lo && v < hi))
		return refuse(cmd, opt, arg, what);
	*out = v;
	return 0;
}
