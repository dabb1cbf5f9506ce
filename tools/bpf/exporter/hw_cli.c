/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "hw_cli.h"

#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "gilagg.h"
#include "hostwide.h"

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

int gs_hw_getopt(int argc, char **argv, const char *shortopts,
		 const struct option *opts, struct gs_hw_opts *ho,
		 double *duration)
{
	int c;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'p':
			bad = gs_hw_parse_pids(ho->prog, optarg, &ho->pids, &ho->n_pids);
			break;
		case GS_HW_O_COMM: ho->comm = optarg; break;
		case GS_HW_O_CGROUP: ho->cgroup = optarg; break;
		case 'd':
			bad = gs_parse_seconds(ho->prog, "-d", optarg, duration);
			break;
		case 'v': ho->verbose++; break;
		default: return c;
		}
		if (bad)
			return GS_HW_BAD;
	}
	return -1;
}

#define CGROUP2_MAGIC 0x63677270

static int is_cgroup2_dir(const char *path)
{
	struct statfs sf;
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode) && !statfs(path, &sf) &&
	       (unsigned long)sf.f_type == CGROUP2_MAGIC;
}

/* The first cgroup2 mount point (/sys/fs/cgroup on a unified host). */
static int cgroup2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char mnt[4096], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

int gs_hw_cgroup_path(const char *prog, const char *arg, char *dir, size_t dirlen,
		      char *rel, size_t rellen)
{
	char mnt[4096];
	if (cgroup2_mount(mnt, sizeof(mnt))) {
		fprintf(stderr, "%s: --cgroup %s: no cgroup v2 hierarchy is mounted "
				"(mount -t cgroup2 none /sys/fs/cgroup/unified)\n", prog, arg);
		return -1;
	}
	size_t m = strlen(mnt);
	if (!strncmp(arg, mnt, m) && (arg[m] == '/' || !arg[m]) && is_cgroup2_dir(arg)) {
		snprintf(dir, dirlen, "%s", arg);
		snprintf(rel, rellen, "%s", arg[m] ? arg + m : "/");
	} else {
		const char *r = arg;
		if (!strncmp(r, "/sys/fs/cgroup/", 15) && strcmp(mnt, "/sys/fs/cgroup"))
			r += 14; /* a unified-host path on a hybrid host */
		snprintf(dir, dirlen, "%s%s%s", mnt, *r == '/' ? "" : "/", r);
		snprintf(rel, rellen, "%s%s", *r == '/' ? "" : "/", r);
		if (!is_cgroup2_dir(dir)) {
			fprintf(stderr, "%s: --cgroup %s: %s is not a cgroup v2 directory\n",
				prog, arg, dir);
			return -1;
		}
	}
	size_t n = strlen(rel);
	while (n > 1 && rel[n - 1] == '/')
		rel[--n] = 0;
	return 0;
}

int gs_hw_in_cgroup(const char *want, pid_t pid)
{
	char p[64], line[1024];
	size_t n = strlen(want);
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	int in = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			const char *path = line + 3;
			in = !strcmp(want, "/") ||
			     (!strncmp(path, want, n) && (path[n] == 0 || path[n] == '/'));
		}
	fclose(f);
	return in;
}


int gs_hw_parse_convoy(const char *prog, const char *arg, uint64_t *ns)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "%s: --convoy-us %s: want microseconds > 0\n", prog, arg);
		return -1;
	}
	*ns = (uint64_t)v * 1000;
	return 0;
}

int gs_hw_check_comm(const char *prog, const char *comm)
{
	if (comm && strlen(comm) >= GSA_COMM_LEN) {
		fprintf(stderr, "%s: --comm %s: a process name has at most %d characters\n",
			prog, comm, GSA_COMM_LEN - 1);
		return -1;
	}
	return 0;
}
