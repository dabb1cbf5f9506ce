/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "trace_stacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int gs_stack_encode(uint32_t id, uint8_t kind, uint8_t flags,
		    const struct gs_frame *frames, size_t n,
		    unsigned char **buf, size_t *len)
{
	if (n > UINT16_MAX)
		n = UINT16_MAX;
	size_t total = sizeof(struct gs_stack_entry);
	for (size_t i = 0; i < n; i++) {
		size_t fl = strnlen(frames[i].func ? frames[i].func : "", UINT16_MAX);
		size_t il = strnlen(frames[i].file ? frames[i].file : "", UINT16_MAX);
		total += pad8(sizeof(struct gs_stack_frame) + fl + il);
	}
	unsigned char *p = calloc(1, total);
	if (!p)
		return -ENOMEM;
	struct gs_stack_entry e = { .id = id, .nframes = (uint16_t)n,
				    .kind = kind, .flags = flags };
	memcpy(p, &e, sizeof(e));
	size_t off = sizeof(e);
	for (size_t i = 0; i < n; i++) {
		const char *fn = frames[i].func ? frames[i].func : "";
		const char *fi = frames[i].file ? frames[i].file : "";
		struct gs_stack_frame f = {
			.line = frames[i].line,
			.first_line = frames[i].first_line,
			.func_len = (uint16_t)strnlen(fn, UINT16_MAX),
			.file_len = (uint16_t)strnlen(fi, UINT16_MAX),
			.flags = frames[i].flags,
		};
		memcpy(p + off, &f, sizeof(f));
		memcpy(p + off + sizeof(f), fn, f.func_len);
		memcpy(p + off + sizeof(f) + f.func_len, fi, f.file_len);
		off += pad8(sizeof(f) + f.func_len + f.file_len);
	}
	*buf = p;
	*len = total;
	return 0;
}

int gs_stack_decode(const unsigned char *p, size_t len,
		    struct gs_stack_entry *entry, struct gs_frame_view *frames,
		    size_t max, const char **why)
{
	if (len < sizeof(*entry)) {
		*why = "STACK block shorter than its 8-byte entry";
		return -1;
	}
	memcpy(entry, p, sizeof(*entry));
	if (!entry->id) {
		*why = "STACK block with id 0 (expected ids from 1)";
		return -1;
	}
	size_t off = sizeof(*entry), n = 0;
	for (unsigned i = 0; i < entry->nframes; i++) {
		struct gs_stack_frame f;
		if (len - off < sizeof(f)) {
			*why = "STACK block ends inside a frame header";
			return -1;
		}
		memcpy(&f, p + off, sizeof(f));
		size_t need = sizeof(f) + (size_t)f.func_len + f.file_len;
		if (len - off < need) {
			*why = "STACK block ends inside a frame's strings";
			return -1;
		}
		if (n < max) {
			frames[n].func = (const char *)p + off + sizeof(f);
			frames[n].func_len = f.func_len;
			frames[n].file = frames[n].func + f.func_len;
			frames[n].file_len = f.file_len;
			frames[n].line = f.line;
			frames[n].first_line = f.first_line;
			frames[n].flags = f.flags;
			n++;
		}
		off += pad8(need);
		if (off > len) {
			*why = "STACK block ends inside a frame's padding";
			return -1;
		}
	}
	if (off != len) {
		*why = "STACK block has bytes after its last frame";
		return -1;
	}
	return (int)n;
}
