/* SPDX-License-Identifier: MIT */
/* Helpers shared by the adapter readers: see source_common.h. */
#define _GNU_SOURCE
#include "source_common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct gs_thread_info *threads_get(struct gs_thread_table *t,
					  uint32_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].tid == tid)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct gs_thread_info *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct gs_thread_info *ti = &t->v[t->n++];
	memset(ti, 0, sizeof(*ti));
	ti->tid = tid;
	return ti;
}

void gs_threads_note(struct gs_thread_table *t, const struct gs_event *ev)
{
	struct gs_thread_info *ti = threads_get(t, ev->tid);
	if (!ti || ev->type != GS_EV_thread_start)
		return;
	ti->role = ev->a8;
	ti->os_prio = (int32_t)ev->a0;
	ti->gil_prio = (int32_t)ev->a1;
	if (ev->str)
		snprintf(ti->name, sizeof(ti->name), "%s", ev->str);
}

const struct gs_thread_info *gs_threads_find(const struct gs_thread_table *t,
					     uint32_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].tid == tid)
			return &t->v[i];
	return NULL;
}

void gs_threads_free(struct gs_thread_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int gs_lines_open(struct gs_lines *l, const char *path, char *err,
		  size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->f = fopen(path, "r");
	if (!l->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

char *gs_lines_next(struct gs_lines *l)
{
	ssize_t n = getline(&l->buf, &l->cap, l->f);
	if (n < 0)
		return NULL;
	l->offset = l->next_offset;
	l->next_offset += (uint64_t)n;
	l->lineno++;
	l->no_newline = l->buf[n - 1] != '\n';
	while (n > 0 && (l->buf[n - 1] == '\n' || l->buf[n - 1] == '\r'))
		l->buf[--n] = '\0';
	l->length = (size_t)n;
	l->nul_bytes = 0;
	for (ssize_t i = 0; i < n; i++)
		l->nul_bytes += l->buf[i] == '\0';
	return l->buf;
}

void gs_lines_close(struct gs_lines *l)
{
	if (l->f)
		fclose(l->f);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

const char *gs_parse_timestamp(const char *s, uint64_t *ns)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	uint64_t sec = 0, frac = 0;
	int digits = 0;
	while (isdigit((unsigned char)*s))
		sec = sec * 10 + (uint64_t)(*s++ - '0');
	if (*s != '.')
		return NULL;
	s++;
	while (isdigit((unsigned char)*s)) {
		if (digits == 9)
			return NULL;
		frac = frac * 10 + (uint64_t)(*s++ - '0');
		digits++;
	}
	if (digits == 0)
		return NULL;
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = sec * 1000000000ull + frac;
	return s;
}

int gs_find_uint_arg(const char *s, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	for (const char *p = s; (p = strstr(p, key)) != NULL; p++) {
		if ((p != s && p[-1] != ' ' && p[-1] != '\t') || p[kl] != '=')
			continue;
		const char *v = p + kl + 1;
		if (!isdigit((unsigned char)*v))
			return -1;
		char *end;
		errno = 0;
		int hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
		unsigned long long x = strtoull(v, &end, hex ? 16 : 10);
		if (errno || (*end && *end != ' ' && *end != '\t' &&
			      *end != ')'))
			return -1;
		*out = x;
		return 0;
	}
	return -1;
}
