/* SPDX-License-Identifier: MIT */
/* Option values of the eBPF subcommands (record, top, exporter): the PID and
 * time parsers are lib/cli_parse.c's, named for these callers' PROG
 * ("gilscope top"); the probe set is theirs alone. Each returns 0, or -1
 * after the message (exit code 2). */
#ifndef GILSCOPE_BPF_CLI_COMMON_H
#define GILSCOPE_BPF_CLI_COMMON_H

#include <sys/types.h>

int gs_parse_pid(const char *prog, const char *arg, pid_t *pid);
/* A positive time; bare numbers are seconds, units accepted (500ms, 2s). */
int gs_parse_seconds(const char *prog, const char *opt, const char *arg,
		     double *secs);
int gs_parse_probe_set(const char *prog, const char *arg, int *set);

#endif
