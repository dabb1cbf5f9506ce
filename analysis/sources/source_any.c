/* SPDX-License-Identifier: MIT */
/*
 * gs_source_open_any(): picks the reader from what the path holds, so every
 * command takes a native trace, an LTTng/CTF directory, `perf script` text or
 * `trace-cmd report` text alike.
 *
 * The adapters live in analysis/sources/ and may be configured out (CTF needs
 * libbabeltrace2). analysis/CMakeLists.txt defines GS_HAVE_<READER> for each
 * one that is built; the others are weak references, so a build without a
 * reader says so instead of failing to link.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "ctf_dirs.h"

#ifndef GS_HAVE_SOURCE_CTF
extern __typeof__(gs_source_ctf_open) gs_source_ctf_open __attribute__((weak));
#endif
#ifndef GS_HAVE_SOURCE_PERF
extern __typeof__(gs_source_perf_script_open) gs_source_perf_script_open
	__attribute__((weak));
#endif
#ifndef GS_HAVE_SOURCE_TRACECMD
extern __typeof__(gs_source_tracecmd_open) gs_source_tracecmd_open
	__attribute__((weak));
#endif

typedef struct gs_source *(*open_fn)(const char *, int, char *, size_t);

static struct gs_source *open_with(open_fn fn, const char *format,
				   const char *hint, const char *path,
				   int allow_truncated, char *err, size_t errlen)
{
	if (!fn) {
		snprintf(err, errlen, "%s: reading %s is not supported in this "
			 "build (%s)", path, format, hint);
		return NULL;
	}
	return fn(path, allow_truncated, err, errlen);
}

enum text_kind { TEXT_UNKNOWN, TEXT_PERF, TEXT_TRACECMD };

/*
 * perf script:       "  gilscope  1234/1240 [001] 123.456789: gil:acquired: ..."
 *                    "  gilscope  1240 [001] 123.456789: sdt_gil:acquired: ..."
 * trace-cmd report:  "  gilscope-1240  [001]  123.456789: gil_acquired: ..."
 * trace-cmd also prints "cpus=N" / "version = N" before the events.
 */
static enum text_kind classify_line(const char *line)
{
	if (!strncmp(line, "cpus=", 5) || !strncmp(line, "version =", 9))
		return TEXT_TRACECMD;
	const char *b = strstr(line, " [");
	if (!b)
		return TEXT_UNKNOWN;
	const char *q = b + 2;
	if (!isdigit((unsigned char)*q))
		return TEXT_UNKNOWN;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q != ']')
		return TEXT_UNKNOWN;
	/* the token before " [" */
	const char *end = b;
	while (end > line && end[-1] == ' ')
		end--;
	const char *start = end;
	while (start > line && start[-1] != ' ')
		start--;
	if (start == end)
		return TEXT_UNKNOWN;
	int digits_or_slash = 1;
	for (const char *c = start; c < end; c++)
		if (!isdigit((unsigned char)*c) && *c != '/')
			digits_or_slash = 0;
	if (digits_or_slash)
		return TEXT_PERF;
	const char *dash = end;
	while (dash > start && isdigit((unsigned char)dash[-1]))
		dash--;
	if (dash > start && dash < end && dash[-1] == '-')
		return TEXT_TRACECMD;
	return TEXT_UNKNOWN;
}

static enum text_kind classify_text(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] == 0)
			return TEXT_UNKNOWN; /* binary */
	char line[1024];
	size_t i = 0;
	while (i < n) {
		size_t k = 0;
		while (i < n && buf[i] != '\n') {
			if (k < sizeof(line) - 1)
				line[k++] = buf[i];
			i++;
		}
		if (i == n && n == 65536)
			break; /* partial last line of the sample */
		i++;
		line[k] = 0;
		enum text_kind t = classify_line(line);
		if (t != TEXT_UNKNOWN)
			return t;
	}
	return TEXT_UNKNOWN;
}

struct gs_source *gs_source_open_any(const char *path, int allow_truncated,
				     char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		/* an LTTng session directory nests the CTF trace a few levels
		 * down (ust/uid/0/64-bit/metadata) */
		struct gs_ctf_dirs walk = { 0 };
		int found = gs_ctf_find_traces(path, 6, &walk, err, errlen);
		if (found < 0)
			return NULL;
		if (found > 0)
			return open_with(gs_source_ctf_open, "CTF (LTTng)",
					 "install libbabeltrace2-dev with "
					 "scripts/install-deps.sh and rebuild",
					 path, allow_truncated, err, errlen);
		snprintf(err, errlen, "%s: a directory without a CTF `metadata` "
			 "file (expected a gilscope trace file, an LTTng/CTF trace "
			 "directory, or perf script / trace-cmd report text)", path);
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (n >= 8 && memcmp(buf, GS_TRACE_MAGIC, 8) == 0)
		return gs_source_native_open(path, allow_truncated, err, errlen);
	switch (classify_text(buf, (size_t)n)) {
	case TEXT_PERF:
		return open_with(gs_source_perf_script_open, "perf script text",
				 "analysis/sources/source_perf.c was not built",
				 path, allow_truncated, err, errlen);
	case TEXT_TRACECMD:
		return open_with(gs_source_tracecmd_open, "trace-cmd report text",
				 "analysis/sources/source_tracecmd.c was not built",
				 path, allow_truncated, err, errlen);
	case TEXT_UNKNOWN:
		break;
	}
	/* Not recognised: the native reader's message (bad magic at offset 0,
	 * empty file) is the most useful one. */
	return gs_source_native_open(path, allow_truncated, err, errlen);
}
