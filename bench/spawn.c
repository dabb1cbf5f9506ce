/* SPDX-License-Identifier: MIT */
/* Running the helper programs some items measure (bench binaries, tracers,
 * CPython), and finding them. */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

int bench_run(char *const argv[], char *const env[], char *out, size_t outlen,
	      int flags, unsigned timeout_s)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Own process group, so a timeout kills helpers it started. */
		setpgid(0, 0);
		dup2(pfd[1], 1);
		if (flags & BENCH_RUN_STDERR)
			dup2(pfd[1], 2);
		else if (!(flags & BENCH_RUN_VERBOSE)) {
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0)
				dup2(null, 2);
		}
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		fprintf(stderr, "bench: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	size_t used = 0;
	uint64_t deadline = timeout_s ? gs_now_ns() + timeout_s * 1000000000ull : 0;
	int timed_out = 0;
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = gs_now_ns();
			if (now >= deadline) {
				timed_out = 1;
				break;
			}
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		}
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int rc = poll(&p, 1, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (flags & BENCH_RUN_VERBOSE)
			fwrite(buf, 1, (size_t)n, stderr);
		if (out && used + 1 < outlen) {
			size_t take = (size_t)n;
			if (take > outlen - 1 - used)
				take = outlen - 1 - used;
			memcpy(out + used, buf, take);
			used += take;
		}
	}
	if (out && outlen)
		out[used] = 0;
	close(pfd[0]);
	if (timed_out) {
		fprintf(stderr, "bench: %s took longer than %u s: killed\n",
			argv[0], timeout_s);
		kill(-pid, SIGTERM);
		sleep(1);
		kill(-pid, SIGKILL);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

const char *bench_find(const struct bench_opts *o, const char *rel, char *buf,
		       size_t len)
{
	const char *bases[] = { o->build_dir, o->source_dir };
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i])
			continue;
		snprintf(buf, len, "%s/%s", bases[i], rel);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

static int version_newer(const char *a, const char *b)
{
	return strverscmp(a, b) > 0;
}

const char *bench_find_python(const char *want, char *buf, size_t len)
{
	char root[512] = "";
	const char *env = getenv("PYENV_ROOT");
	if (env && *env)
		snprintf(root, sizeof(root), "%s", env);
	else {
		FILE *p = popen("pyenv root 2>/dev/null", "r");
		if (p) {
			if (fgets(root, sizeof(root), p))
				root[strcspn(root, "\n")] = 0;
			pclose(p);
		}
		if (!root[0] && getenv("HOME"))
			snprintf(root, sizeof(root), "%s/.pyenv", getenv("HOME"));
	}
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/versions", root);
	char best[128] = "";
	size_t wl = strlen(want);
	FILE *ls = NULL;
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "ls -1 '%s' 2>/dev/null", dir);
	ls = popen(cmd, "r");
	if (!ls)
		return NULL;
	char line[128];
	while (fgets(line, sizeof(line), ls)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, want, wl) != 0 ||
		    (line[wl] != 0 && line[wl] != '.'))
			continue;
		char exe[800];
		snprintf(exe, sizeof(exe), "%s/%s/bin/python", dir, line);
		if (access(exe, X_OK) != 0)
			continue;
		if (!best[0] || version_newer(line, best))
			snprintf(best, sizeof(best), "%s", line);
	}
	pclose(ls);
	if (!best[0])
		return NULL;
	snprintf(buf, len, "%s/%s/bin/python", dir, best);
	return buf;
}

double bench_kv(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		if (!strncmp(p, key, kl) && p[kl] == '=')
			return strtod(p + kl + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NAN;
}

int bench_have_cmd(const char *name)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	int found = 0;
	if (!copy)
		return 0;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

double bench_json_num(const char *text, const char *key)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = text ? strstr(text, pat) : NULL;
	if (!p)
		return NAN;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (!strncmp(p, "null", 4))
		return NAN;
	char *end;
	double v = strtod(p, &end);
	return end == p ? NAN : v;
}

const char *bench_gilscope(const struct bench_opts *o)
{
	const char *env = getenv("GILSCOPE_BENCH_GILSCOPE");
	return env && *env ? env : o->self_exe;
}

int bench_have_subcommand(const struct bench_opts *o, const char *sub)
{
	char *argv[] = { (char *)bench_gilscope(o), (char *)sub, "--help", NULL };
	return bench_run(argv, NULL, NULL, 0, 0, 30) == 0;
}
