/* SPDX-License-Identifier: MIT */
/*
 * Prints where a tracer's probes sit (struct gs_probe_site, the PROBES
 * block): one line per function, probe kind, placement method and object,
 * with its first addresses; an inline copy ("drop_gil@os_stat") is listed
 * under its function with the caller it sits in. Shared by `record -v` and
 * `gilscope report`, so both read the same.
 */
#ifndef GILSCOPE_PROBE_SITES_H
#define GILSCOPE_PROBE_SITES_H

#include <stddef.h>
#include <stdio.h>

#include "trace_format.h"

/* Each line starts with prefix. */
void gs_probe_sites_print(FILE *out, const char *prefix,
			  const struct gs_probe_site *sites, size_t n);

#endif
