/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "hw_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"

int gs_hw_parse_pids(const char *prog, const char *arg, pid_t **pids, size_t *n)
{
	char *dup = strdup(arg), *save = NULL;
	if (!dup)
		return -1;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		pid_t pid;
		if (gs_parse_pid(prog, tok, &pid)) {
			free(dup);
			return -1;
		}
		pid_t *np = realloc(*pids, (*n + 1) * sizeof(**pids));
		if (!np) {
			free(dup);
			return -1;
		}
		*pids = np;
		(*pids)[(*n)++] = pid;
	}
	free(dup);
	if (!*n) {
		fprintf(stderr, "%s: -p %s: no process id\n", prog, arg);
		return -1;
	}
	return 0;
}
