/* SPDX-License-Identifier: MIT */
#include "cli_common.h"

#include <stdio.h>
#include <string.h>

#include "cli_parse.h"
#include "session.h"

/* "gilscope record" -> "record": lib/cli_parse.c names the command itself. */
static const char *command_of(const char *prog)
{
	return strncmp(prog, "gilscope ", 9) ? prog : prog + 9;
}

int gs_parse_pid(const char *prog, const char *arg, pid_t *pid)
{
	return cli_parse_pid(command_of(prog), "-p", arg, pid);
}

int gs_parse_seconds(const char *prog, const char *opt, const char *arg,
		     double *secs)
{
	return cli_parse_seconds(command_of(prog), opt, arg, 0, 1e15, secs);
}

int gs_parse_probe_set(const char *prog, const char *arg, int *set)
{
	if (!strcmp(arg, "light"))
		*set = GS_PROBES_LIGHT;
	else if (!strcmp(arg, "full"))
		*set = GS_PROBES_FULL;
	else {
		fprintf(stderr, "%s: --probes wants light or full, not '%s'\n",
			prog, arg);
		return -1;
	}
	return 0;
}
