/* SPDX-License-Identifier: MIT */
/* Options of the host-wide modes (exporter, top -a). */
#ifndef GILSCOPE_BPF_HW_CLI_H
#define GILSCOPE_BPF_HW_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli_parse.h"

struct gs_hw_opts;

/* The options every host-wide mode takes, for its getopt_long table (its
 * short options string names p:d:vh): -p PID[,PID...], --comm NAME,
 * --cgroup PATH, -d SEC, -v; -h is each mode's own usage(). */
enum { GS_HW_O_COMM = 0x100, GS_HW_O_CGROUP, GS_HW_O_FIRST_FREE };
#define GS_HW_LONGOPTS \
	CLI_OPT_PID, \
	{ "comm", required_argument, NULL, GS_HW_O_COMM }, \
	{ "cgroup", required_argument, NULL, GS_HW_O_CGROUP }, \
	CLI_OPT_DURATION, CLI_OPT_VERBOSE, CLI_OPT_HELP

/* getopt_long that takes those options itself, into ho and *duration:
 * returns the mode's next other option, -1 at the end, or GS_HW_BAD after
 * a bad value's message (exit 2). */
#define GS_HW_BAD (-2)
int gs_hw_getopt(int argc, char **argv, const char *shortopts,
		 const struct option *opts, struct gs_hw_opts *ho,
		 double *duration);

/* -p PID[,PID...]: appends to *pids (malloc'd). 0, or -1 with the message
 * printed. */
int gs_hw_parse_pids(const char *prog, const char *arg, pid_t **pids, size_t *n);

/* --convoy-us US: microseconds > 0 into *ns. 0, or -1 with the message. */
int gs_hw_parse_convoy(const char *prog, const char *arg, uint64_t *ns);
/* --comm NAME fits a comm (15 characters); NULL passes. 0, or -1. */
int gs_hw_check_comm(const char *prog, const char *comm);

/* --cgroup PATH: a directory of the cgroup v2 hierarchy, given as a full
 * path under a cgroup2 mount (/sys/fs/cgroup/web.slice, or wherever
 * cgroup2 is mounted on a hybrid host) or relative to its root
 * (/web.slice, as /proc/PID/cgroup shows it). Fills dir (an existing
 * directory: its inode is the cgroup id BPF sees) and rel (the path as in
 * /proc/PID/cgroup). 0, or -1 with the message printed. */
int gs_hw_cgroup_path(const char *prog, const char *arg, char *dir, size_t dirlen,
		      char *rel, size_t rellen);

/* Whether pid is in the cgroup rel (as gs_hw_cgroup_path gives it) or
 * below it. */
int gs_hw_in_cgroup(const char *rel, pid_t pid);

#endif
