/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "procfs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gs_proc_comm(uint32_t pid, uint32_t tid, char *out, size_t len)
{
	char p[64];
	if (tid)
		snprintf(p, sizeof(p), "/proc/%u/task/%u/comm", pid, tid);
	else
		snprintf(p, sizeof(p), "/proc/%u/comm", pid);
	FILE *f = fopen(p, "re");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
	return out[0] ? 0 : -1;
}

void gs_proc_thread_name(uint32_t pid, uint32_t tid, char *out, size_t len)
{
	if (gs_proc_comm(pid, tid, out, len))
		snprintf(out, len, "tid-%u", tid);
}

int gs_proc_each_task(uint32_t pid, void (*fn)(uint32_t tid, void *arg),
		      void *arg)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%u/task", pid);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		unsigned long tid = strtoul(e->d_name, &end, 10);
		if (!*end && tid)
			fn((uint32_t)tid, arg);
	}
	closedir(d);
	return 0;
}
