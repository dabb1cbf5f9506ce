/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void cleanup(void)
{
	char cmd[128];
	if (!dir[0])
		return;
	/* Only what gs_fuzz_write made: one directory level of files. */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

static _Noreturn void broken(const char *path, const char *rule,
			     const char *detail)
{
	fprintf(stderr, "fuzz: reader contract broken on %s: %s%s%s\n", path,
		rule, detail ? ": " : "", detail ? detail : "");
	abort();
}

const char *gs_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
	static char path[160];
	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/gsfuzz-%d", base, (int)getpid());
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			perror(dir);
			abort();
		}
		atexit(cleanup);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	if (slash > path + strlen(dir)) { /* name has a directory part */
		*slash = 0;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			perror(path);
			abort();
		}
		*slash = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			perror(path);
			abort();
		}
		off += (size_t)n;
	}
	close(fd);
	return path;
}

const char *gs_fuzz_dir(void)
{
	return dir;
}

void gs_fuzz_read(gs_open_fn open_fn, const char *path, int allow_truncated,
		  unsigned flags)
{
	char err[512] = "";
	struct gs_source *s = open_fn(path, allow_truncated, err, sizeof(err));
	if (!s) {
		if (!err[0])
			broken(path, "open failed without a message", NULL);
		if (!strstr(err, path))
			broken(path, "open error does not name the file", err);
		return;
	}
	struct gs_event ev;
	uint64_t last_ts = 0;
	int rc;
	while ((rc = gs_source_next(s, &ev)) == 1) {
		if (ev.type == GS_EV_NONE || ev.type >= GS_EV_MAX)
			broken(path, "event type outside the catalog", NULL);
		if (ev.str && strlen(ev.str) > 4096)
			broken(path, "implausible string", NULL);
		if ((flags & GS_FUZZ_ORDERED) && ev.ts_ns < last_ts)
			broken(path, "events out of time order", NULL);
		last_ts = ev.ts_ns;
		const struct gs_thread_info *ti = s->ops->thread(s, ev.tid);
		if (ti && strnlen(ti->name, sizeof(ti->name)) == sizeof(ti->name))
			broken(path, "thread name not terminated", NULL);
	}
	if (rc < 0) {
		const char *e = gs_source_error(s);
		if (!e[0])
			broken(path, "read error without a message", NULL);
		if (!strstr(e, path))
			broken(path, "read error does not name the file", e);
		if ((flags & GS_FUZZ_WHERE_OFFSET) && !strstr(e, "offset "))
			broken(path, "read error does not give the offset", e);
		if ((flags & GS_FUZZ_WHERE_LINE) && !strstr(e, "line "))
			broken(path, "read error does not give the line", e);
	}
	struct gs_source_totals tot;
	s->ops->totals(s, &tot);
	gs_source_close(s);
}

void gs_fuzz_read_file(gs_open_fn open_fn, const char *name,
		       const uint8_t *data, size_t size, unsigned flags)
{
	const char *path = gs_fuzz_write(name, data, size);
	gs_fuzz_read(open_fn, path, 0, flags);
	gs_fuzz_read(open_fn, path, 1, flags);
}
