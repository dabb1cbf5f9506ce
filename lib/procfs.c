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

/* /proc/PID/stat's fields from the 3rd (state) on, space-separated, into
 * buf: comm (field 2) may hold spaces and parentheses, so they start after
 * its last ')'. NULL when unreadable. */
static char *stat_after_comm(uint32_t pid, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%u/stat", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	char *s = strrchr(buf, ')');
	return s ? s + 1 : NULL;
}

/* Fields first..first+n-1 (1-based, as proc(5) numbers them) as numbers;
 * 0, or -1 when the file or a field is missing. */
static int stat_fields(uint32_t pid, int first, int n, unsigned long long *v)
{
	char buf[1024];
	char *s = stat_after_comm(pid, buf, sizeof(buf));
	if (!s)
		return -1;
	int field = 2, got = 0;
	char *save = NULL;
	for (char *tok = strtok_r(s, " ", &save); tok && got < n;
	     tok = strtok_r(NULL, " ", &save))
		if (++field >= first)
			v[got++] = strtoull(tok, NULL, 10);
	return got == n ? 0 : -1;
}

int gs_proc_cpu_split_ns(uint32_t pid, uint64_t *user_ns, uint64_t *sys_ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long v[2];
	if (hz <= 0 || stat_fields(pid, 14, 2, v))
		return -1;
	*user_ns = (uint64_t)(v[0] * (1000000000ull / (unsigned long long)hz));
	*sys_ns = (uint64_t)(v[1] * (1000000000ull / (unsigned long long)hz));
	return 0;
}

int gs_proc_last_cpu(uint32_t pid)
{
	unsigned long long cpu;
	return stat_fields(pid, 39, 1, &cpu) ? -1 : (int)cpu;
}
