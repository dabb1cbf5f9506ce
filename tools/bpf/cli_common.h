/* SPDX-License-Identifier: MIT */
/* Option parsing shared by gilscope record and gilscope top. Each returns 0,
 * or prints "PROG: what is wrong with ARG" and returns -1 (exit code 2). */
#ifndef GILSCOPE_BPF_CLI_COMMON_H
#define GILSCOPE_BPF_CLI_COMMON_H

#include <sys/types.h>

int gs_parse_pid(const char *prog, const char *arg, pid_t *pid);
int gs_parse_seconds(const char *prog, const char *opt, const char *arg,
		     double *secs);
int gs_parse_probe_set(const char *prog, const char *arg, int *set);

#endif
