/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "procfs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int gs_proc_cpu_ns(uint32_t pid, uint64_t *ns)
{
	uint64_t user, sys;
	if (gs_proc_cpu_split_ns(pid, &user, &sys))
		return -1;
	*ns = user + sys;
	return 0;
}

int gs_proc_cpu_split_ns(uint32_t pid, uint64_t *user_ns, uint64_t *sys_ns)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%u/stat", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	long hz = sysconf(_SC_CLK_TCK);
	/* fields 14 and 15; comm (field 2) may hold spaces: start after ')' */
	char *s = strrchr(buf, ')');
	if (!s || hz <= 0)
		return -1;
	unsigned long long v[2] = { 0, 0 };
	int field = 2, got = 0;
	char *save = NULL;
	for (char *tok = strtok_r(s + 1, " ", &save); tok && got < 2;
	     tok = strtok_r(NULL, " ", &save))
		if (++field == 14 || field == 15)
			v[got++] = strtoull(tok, NULL, 10);
	if (got < 2)
		return -1;
	*user_ns = (uint64_t)(v[0] * (1000000000ull / (unsigned long long)hz));
	*sys_ns = (uint64_t)(v[1] * (1000000000ull / (unsigned long long)hz));
	return 0;
}
