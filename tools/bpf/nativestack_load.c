/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "nativestack_load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gilscope_bpf.h"
#include "gilscope.skel.h"
#include "nativestack.h"
#include "nativesym.h"
#include "trace_stacks.h"
#include "trace_writer.h"

_Static_assert(GSB_NATIVE_ID_BIT == GS_STACK_ID_NATIVE, "native id range");

struct mapping {
	uint64_t start, end, off;
	int module;               /* index in modules[] */
};

struct module {
	char *path;               /* as the process names it */
	struct gs_nativesym *sym; /* NULL: unreadable */
};

struct nframe {
	char *func;
	int module;               /* -1: in no mapping */
	uint64_t vaddr;
};

struct nstack {
	uint32_t id;
	uint8_t flags;
	uint16_t n;
	struct nframe *f;
};

struct gs_native {
	pid_t pid;
	struct mapping *maps;
	size_t nmaps;
	struct module *mods;
	size_t nmods;
	struct nstack *stacks;    /* converted, in id order of arrival */
	size_t nstacks, cap;
	uint32_t *seen;           /* open addressing set of converted ids */
	size_t seencap;
	uint64_t cut;
};

struct gs_native *gs_native_new(pid_t pid)
{
	struct gs_native *n = calloc(1, sizeof(*n));
	if (n)
		n->pid = pid;
	return n;
}

static int module_index(struct gs_native *n, const char *path)
{
	for (size_t i = 0; i < n->nmods; i++)
		if (!strcmp(n->mods[i].path, path))
			return (int)i;
	void *p = realloc(n->mods, (n->nmods + 1) * sizeof(*n->mods));
	if (!p)
		return -1;
	n->mods = p;
	struct module *m = &n->mods[n->nmods];
	m->path = strdup(path);
	char where[4352], msg[256];
	/* the process's own view of the file (another mount namespace) */
	snprintf(where, sizeof(where), "/proc/%d/root%s", (int)n->pid, path);
	m->sym = gs_nativesym_open(where, msg, sizeof(msg));
	if (!m->path)
		return -1;
	return (int)n->nmods++;
}

/* Re-reads the executable file mappings (all are kept: a library
 * unloaded later still names the stacks seen before). */
static void read_maps(struct gs_native *n)
{
	char path[64], line[4608];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)n->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t a, b, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n",
			   &a, &b, perms, &off, &pos) < 4 || perms[2] != 'x' || !pos)
			continue;
		char *file = line + pos;
		file[strcspn(file, "\n")] = 0;
		if (file[0] != '/')
			continue; /* [vdso], anonymous (JIT) code */
		int dup = 0;
		for (size_t i = 0; i < n->nmaps && !dup; i++)
			dup = n->maps[i].start == a && n->maps[i].end == b &&
			      n->maps[i].off == off &&
			      !strcmp(n->mods[n->maps[i].module].path, file);
		if (dup)
			continue;
		int mod = module_index(n, file);
		void *p = mod < 0 ? NULL
				  : realloc(n->maps, (n->nmaps + 1) * sizeof(*n->maps));
		if (!p)
			continue;
		n->maps = p;
		n->maps[n->nmaps++] = (struct mapping){ a, b, off, mod };
	}
	fclose(f);
}

static const struct mapping *find_map(const struct gs_native *n, uint64_t ip)
{
	/* newest first: an address range reused by a later mapping */
	for (size_t i = n->nmaps; i > 0; i--)
		if (ip >= n->maps[i - 1].start && ip < n->maps[i - 1].end)
			return &n->maps[i - 1];
	return NULL;
}

static int seen_add(struct gs_native *n, uint32_t id)
{
	if ((n->nstacks + 1) * 2 > n->seencap) {
		size_t cap = n->seencap ? n->seencap * 2 : 1024;
		uint32_t *s = calloc(cap, sizeof(*s));
		if (!s)
			return -1;
		for (size_t i = 0; i < n->seencap; i++)
			if (n->seen[i]) {
				size_t k = (n->seen[i] * 2654435761u) & (cap - 1);
				while (s[k])
					k = (k + 1) & (cap - 1);
				s[k] = n->seen[i];
			}
		free(n->seen);
		n->seen = s;
		n->seencap = cap;
	}
	size_t k = (id * 2654435761u) & (n->seencap - 1);
	while (n->seen[k] && n->seen[k] != id)
		k = (k + 1) & (n->seencap - 1);
	if (n->seen[k])
		return 0;
	n->seen[k] = id;
	return 1;
}

/* Frames of one stored stack: innermost first, cut at the first return
 * address that follows no call instruction (the frame-pointer chain went
 * through code that does not keep one) or lies in no file mapping. */
static void convert(struct gs_native *n, uint32_t id,
		    const struct gsb_native_stack *st, int *reread)
{
	struct nstack s = { .id = id };
	uint32_t depth = st->depth < GSB_NATIVE_MAX_DEPTH ? st->depth
							 : GSB_NATIVE_MAX_DEPTH;
	s.f = calloc(depth ? depth : 1, sizeof(*s.f));
	if (!s.f)
		return;
	if (st->truncated)
		s.flags |= GS_STACK_F_TRUNCATED;
	for (uint32_t i = 0; i < depth; i++) {
		uint64_t ip = st->ip[i];
		const struct mapping *m = find_map(n, ip);
		if (!m && *reread) {
			read_maps(n);
			*reread = 0;
			m = find_map(n, ip);
		}
		if (!m) {
			if (i)
				n->cut++;
			break;
		}
		uint64_t off = ip - m->start + m->off;
		const struct gs_nativesym *sym = n->mods[m->module].sym;
		if (i && (!sym || !gs_nativesym_after_call(sym, off))) {
			n->cut++;
			break;
		}
		struct nframe *f = &s.f[s.n++];
		f->module = m->module;
		/* a return address names the call before it: look up one
		 * byte back (a call that ends its function) */
		f->vaddr = sym ? gs_nativesym_vaddr(sym, off) : off;
		const char *name = sym && f->vaddr
					   ? gs_nativesym_name(sym, f->vaddr - (i ? 1 : 0))
					   : NULL;
		char hex[32];
		snprintf(hex, sizeof(hex), "0x%" PRIx64, f->vaddr ? f->vaddr : off);
		f->func = strdup(name ? name : hex);
	}
	if (n->nstacks == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 256;
		void *p = realloc(n->stacks, cap * sizeof(*n->stacks));
		if (!p) {
			for (uint16_t i = 0; i < s.n; i++)
				free(s.f[i].func);
			free(s.f);
			return;
		}
		n->stacks = p;
		n->cap = cap;
	}
	n->stacks[n->nstacks++] = s;
}

void gs_native_poll(struct gs_native *n, struct gilscope_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.nstacks);
	uint32_t key, next, *prev = NULL;
	struct gsb_native_stack st;
	int reread = 1; /* at most one /proc/PID/maps read per poll */
	if (!n || fd < 0)
		return;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		int fresh = seen_add(n, key);
		if (fresh <= 0 || bpf_map_lookup_elem(fd, &key, &st))
			continue;
		convert(n, key, &st, &reread);
	}
}

int gs_native_write(struct gs_native *n, struct gilscope_bpf *skel,
		    struct gs_writer *w, struct gs_native_totals *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return 0;
	gs_native_poll(n, skel);
	struct gs_frame fr[GSB_NATIVE_MAX_DEPTH];
	for (size_t i = 0; i < n->nstacks; i++) {
		const struct nstack *s = &n->stacks[i];
		for (uint16_t k = 0; k < s->n; k++) {
			fr[k] = (struct gs_frame){
				.func = s->f[k].func,
				.file = s->f[k].module >= 0 ? n->mods[s->f[k].module].path : "",
				.first_line = s->f[k].vaddr > UINT32_MAX ? 0
									 : (uint32_t)s->f[k].vaddr,
				.flags = GS_FRAME_F_NATIVE,
			};
			out->named += s->f[k].func && s->f[k].func[0] != '0';
		}
		unsigned char *buf;
		size_t len;
		int rc = gs_stack_encode(s->id, GS_STACK_NATIVE, s->flags, fr, s->n,
					 &buf, &len);
		if (rc)
			return rc;
		rc = gs_writer_block(w, GS_BLOCK_STACK, buf, len);
		free(buf);
		if (rc)
			return rc;
		out->stacks++;
		out->frames += s->n;
	}
	out->cut = n->cut;
	return 0;
}

void gs_native_describe(const struct gs_native *n, uint32_t id, char *out,
			size_t len)
{
	snprintf(out, len, "-");
	for (size_t i = 0; n && id && i < n->nstacks; i++) {
		const struct nstack *s = &n->stacks[i];
		if (s->id != id || !s->n)
			continue;
		size_t o = 0;
		for (int k = s->n < 3 ? s->n - 1 : 2; k >= 0 && o < len; k--)
			o += (size_t)snprintf(out + o, len - o, "%s%s", s->f[k].func,
					      k ? ";" : "");
		return;
	}
}

void gs_native_free(struct gs_native *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nstacks; i++) {
		for (uint16_t k = 0; k < n->stacks[i].n; k++)
			free(n->stacks[i].f[k].func);
		free(n->stacks[i].f);
	}
	for (size_t i = 0; i < n->nmods; i++) {
		free(n->mods[i].path);
		gs_nativesym_close(n->mods[i].sym);
	}
	free(n->stacks);
	free(n->mods);
	free(n->maps);
	free(n->seen);
	free(n);
}
