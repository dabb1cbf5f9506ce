/* SPDX-License-Identifier: MIT */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

int gs_parse_pid(const char *prog, const char *arg, pid_t *pid)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "%s: -p %s: not a process id\n", prog, arg);
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}

int gs_parse_seconds(const char *prog, const char *opt, const char *arg,
		     double *secs)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || *end || !isfinite(v) || v <= 0) {
		fprintf(stderr, "%s: %s %s: want a positive number of seconds\n",
			prog, opt, arg);
		return -1;
	}
	*secs = v;
	return 0;
}

int gs_parse_probe_set(const char *prog, const char *arg, int *set)
{
	if (!strcmp(arg, "light"))
		*set = GS_PROBES_LIGHT;
	else if (!strcmp(arg, "full"))
		*set = GS_PROBES_FULL;
	else {
		fprintf(stderr, "%s: --probes %s: want light or full\n", prog, arg);
		return -1;
	}
	return 0;
}
