/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "gil_outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "gilscope_bpf.h"

void gs_gil_outputs_init(struct gs_gil_outputs *o, const char *base,
			 const struct gs_file_header *h,
			 const struct gs_probe_site *sites, size_t nsites,
			 struct gs_demux *d0, struct gs_writer *w0)
{
	memset(o, 0, sizeof(*o));
	o->base = base;
	o->h = *h;
	o->sites = sites;
	o->nsites = nsites;
	o->d[0] = d0;
	o->w[0] = w0;
	snprintf(o->path[0], sizeof(o->path[0]), "%s", base);
	o->n = 1;
}

static struct gs_demux *output(struct gs_gil_outputs *o, unsigned idx)
{
	if (idx >= GS_GIL_OUTPUTS_MAX)
		idx = GS_GIL_OUTPUTS_MAX - 1;
	if (o->d[idx])
		return o->d[idx];
	if (o->failed)
		return o->d[0];
	snprintf(o->path[idx], sizeof(o->path[idx]), "%s.gil%u", o->base, idx);
	int fd = open(o->path[idx], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct gs_writer *w = fd >= 0 ? gs_writer_fdopen(fd, o->path[idx], &o->h) : NULL;
	struct gs_demux *d = w ? calloc(1, sizeof(*d)) : NULL;
	if (!d || gs_demux_init(d, w, o->h.pid)) {
		fprintf(stderr, "gilscope record: %s: %s: GIL %u's events go to %s\n",
			o->path[idx], strerror(errno ? errno : ENOMEM), idx, o->base);
		free(d);
		if (w)
			gs_writer_close(w, 0, GS_END_F_INTERRUPTED, NULL, 0);
		else if (fd >= 0)
			close(fd);
		o->failed = 1;
		return o->d[0];
	}
	if (o->nsites)
		gs_writer_probes(w, o->sites, o->nsites);
	o->d[idx] = d;
	o->w[idx] = w;
	if ((int)idx + 1 > o->n)
		o->n = (int)idx + 1;
	return d;
}

int gs_gil_outputs_sample(void *ctx, void *data, size_t size)
{
	struct gs_gil_outputs *o = ctx;
	const struct gsb_record *r = data;
	if (size < sizeof(*r) || !(r->cpu >> GSB_CPU_GIL_SHIFT))
		return gs_demux_add(o->d[0], data, size);
	unsigned char copy[sizeof(struct gsb_record_named)];
	size_t n = size < sizeof(copy) ? size : sizeof(copy);
	memcpy(copy, data, n);
	struct gsb_record *c = (struct gsb_record *)copy;
	unsigned idx = c->cpu >> GSB_CPU_GIL_SHIFT;
	c->cpu &= GSB_CPU_MASK;
	return gs_demux_add(output(o, idx), copy, n);
}

void gs_gil_outputs_tick(struct gs_gil_outputs *o, uint64_t now_ns, int final)
{
	for (int i = 1; i < o->n; i++) {
		if (!o->d[i])
			continue;
		if (!final)
			gs_demux_scan(o->d[i]);
		gs_demux_flush(o->d[i], final);
		if (!final)
			gs_writer_tick(o->w[i], now_ns);
	}
}

int gs_gil_outputs_close(struct gs_gil_outputs *o, uint64_t end_ns, uint32_t flags,
			 const char *prog)
{
	int bad = 0;
	for (int i = 1; i < o->n; i++) {
		char err[512] = "";
		if (!o->d[i])
			continue;
		uint64_t records = o->d[i]->records, lost = gs_writer_total_lost(o->w[i]);
		uint64_t last = gs_demux_last_ts(o->d[i]);
		uint64_t end = last > end_ns ? last : end_ns;
		if (gs_writer_close(o->w[i], end, flags, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", prog, err);
			bad = 1;
		} else {
			fprintf(stderr, "%s: GIL %d (another interpreter's own GIL): %llu "
					"events written to %s (%llu lost)\n", prog, i,
				(unsigned long long)records, o->path[i],
				(unsigned long long)lost);
		}
		gs_demux_free(o->d[i]);
		free(o->d[i]);
		o->d[i] = NULL;
	}
	return bad;
}
