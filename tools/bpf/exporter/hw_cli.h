/* SPDX-License-Identifier: MIT */
/* Options of the host-wide modes (exporter, top -a). */
#ifndef GILSCOPE_BPF_HW_CLI_H
#define GILSCOPE_BPF_HW_CLI_H

#include <stddef.h>
#include <sys/types.h>

/* -p PID[,PID...]: appends to *pids (malloc'd). 0, or -1 with the message
 * printed. */
int gs_hw_parse_pids(const char *prog, const char *arg, pid_t **pids, size_t *n);

#endif
