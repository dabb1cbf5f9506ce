/* SPDX-License-Identifier: MIT */
/* Options of the host-wide modes (exporter, top -a). */
#ifndef GILSCOPE_BPF_HW_CLI_H
#define GILSCOPE_BPF_HW_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
