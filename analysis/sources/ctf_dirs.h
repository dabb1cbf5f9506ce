/* SPDX-License-Identifier: MIT */
/*
 * Where the CTF traces of a directory are: every directory under it (itself
 * included, down to a depth) holding a regular file named `metadata` is one
 * trace (LTTng nests them: ust/uid/0/64-bit/). Shared by the format sniffer
 * (source_any.c) and the CTF reader (source_ctf.c). No libbabeltrace2 here.
 */
#ifndef GILSCOPE_CTF_DIRS_H
#define GILSCOPE_CTF_DIRS_H

#include <stddef.h>
#include <stdint.h>

struct gs_ctf_dirs {
	/* called for each trace directory found; non-zero stops the walk */
	int (*on_trace)(void *ctx, const char *dir);
	void *ctx;
	uint64_t bytes;          /* sizes of the files in the trace directories */
	char first_metadata[4096]; /* path of the first metadata file found */
};

/* Number of traces found (0: none), or -1 with err filled when a directory
 * below path could not be looked into ("DIR/sub: cannot open directory:
 * Permission denied ..."), since a trace may hide there. */
int gs_ctf_find_traces(const char *path, int depth, struct gs_ctf_dirs *w,
		       char *err, size_t errlen);

#endif
