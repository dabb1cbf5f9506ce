/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "ctf_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "text_escape.h"

static void cannot(const char *what, const char *p, int e, char *err, size_t errlen)
{
	char shown[1024];
	gs_text_escape(p, shown, sizeof(shown));
	snprintf(err, errlen, "%s: cannot %s: %s%s", shown, what, strerror(e),
		 e == EACCES || e == EPERM
			 ? " (part of the CTF trace may be in it: run as a user "
			   "who may read it, or fix its permissions)"
			 : "");
}

/* Adds the sizes of the regular files in dir (one level). */
static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	uint64_t n = 0;
	struct dirent *de;
	char p[4096];
	struct stat st;
	while ((de = readdir(d)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			n += (uint64_t)st.st_size;
	}
	closedir(d);
	return n;
}

int gs_ctf_find_traces(const char *path, int depth, struct gs_ctf_dirs *w,
		       char *err, size_t errlen)
{
	char sub[4096];
	struct stat st;
	snprintf(sub, sizeof(sub), "%s/metadata", path);
	if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
		if (!w->first_metadata[0])
			snprintf(w->first_metadata, sizeof(w->first_metadata), "%s",
				 sub);
		w->bytes += dir_bytes(path);
		if (w->on_trace && w->on_trace(w->ctx, path))
			return -1;
		return 1;
	}
	if (errno == EACCES || errno == EPERM) {
		cannot("look for its `metadata` file", path, errno, err, errlen);
		return -1;
	}
	if (depth == 0)
		return 0;
	DIR *d = opendir(path);
	if (!d) {
		cannot("open directory", path, errno, err, errlen);
		return -1;
	}
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) != 0) {
			if (errno == ENOENT)
				continue; /* removed while we looked */
			cannot("stat", sub, errno, err, errlen);
			found = -1;
			break;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		int n = gs_ctf_find_traces(sub, depth - 1, w, err, errlen);
		if (n < 0) {
			found = -1;
			break;
		}
		found += n;
	}
	closedir(d);
	return found;
}
