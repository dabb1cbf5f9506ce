/* SPDX-License-Identifier: MIT */
#include "stacktab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gs_stacktab {
	struct gs_stack *v;       /* open addressing on id; id 0 = empty */
	size_t cap, n;
};

struct gs_stacktab *gs_stacktab_new(void)
{
	return calloc(1, sizeof(struct gs_stacktab));
}

static void free_stack(struct gs_stack *s)
{
	for (unsigned i = 0; i < s->nframes; i++) {
		free((char *)s->frames[i].func);
		free((char *)s->frames[i].file);
	}
	free(s->frames);
	memset(s, 0, sizeof(*s));
}

void gs_stacktab_free(struct gs_stacktab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].id)
			free_stack(&t->v[i]);
	free(t->v);
	free(t);
}

static struct gs_stack *slot(const struct gs_stacktab *t, uint32_t id)
{
	size_t i = (id * 2654435761u) & (t->cap - 1);
	while (t->v[i].id && t->v[i].id != id)
		i = (i + 1) & (t->cap - 1);
	return &t->v[i];
}

static int grow(struct gs_stacktab *t)
{
	struct gs_stacktab nt = { .cap = t->cap ? t->cap * 2 : 256 };
	nt.v = calloc(nt.cap, sizeof(*nt.v));
	if (!nt.v)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].id)
			*slot(&nt, t->v[i].id) = t->v[i];
	free(t->v);
	t->v = nt.v;
	t->cap = nt.cap;
	return 0;
}

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

int gs_stacktab_add(struct gs_stacktab *t, const void *payload, size_t len,
		    const char **why)
{
	struct gs_stack_entry e;
	struct gs_frame_view *fv = NULL;
	int n = gs_stack_decode(payload, len, &e, NULL, 0, why);
	if (n < 0)
		return -1;
	if (e.nframes) {
		fv = calloc(e.nframes, sizeof(*fv));
		if (!fv) {
			*why = "out of memory";
			return -1;
		}
	}
	n = gs_stack_decode(payload, len, &e, fv, e.nframes, why);
	if (n < 0 || ((t->n + 1) * 2 > t->cap && grow(t))) {
		free(fv);
		if (n >= 0)
			*why = "out of memory";
		return -1;
	}
	struct gs_stack s = { .id = e.id, .kind = e.kind, .flags = e.flags,
			      .nframes = (uint16_t)n };
	s.frames = calloc(n ? (size_t)n : 1, sizeof(*s.frames));
	for (int i = 0; s.frames && i < n; i++) {
		s.frames[i].func = dupn(fv[i].func, fv[i].func_len);
		s.frames[i].file = dupn(fv[i].file, fv[i].file_len);
		s.frames[i].line = fv[i].line;
		s.frames[i].first_line = fv[i].first_line;
		s.frames[i].flags = fv[i].flags;
	}
	free(fv);
	if (!s.frames) {
		*why = "out of memory";
		return -1;
	}
	struct gs_stack *d = slot(t, e.id);
	if (d->id)
		free_stack(d);
	else
		t->n++;
	*d = s;
	return 0;
}

const struct gs_stack *gs_stacktab_get(const struct gs_stacktab *t, uint32_t id)
{
	if (!t || !t->cap || !id)
		return NULL;
	const struct gs_stack *s = slot(t, id);
	return s->id ? s : NULL;
}

size_t gs_stacktab_count(const struct gs_stacktab *t)
{
	return t ? t->n : 0;
}

void gs_frame_label(const struct gs_frame *f, char *out, size_t len)
{
	const char *file = f->file && f->file[0] ? f->file : "?";
	if (f->flags & GS_FRAME_F_NATIVE) {
		/* py-spy's native frames: the function and the object */
		const char *base = strrchr(file, '/');
		snprintf(out, len, "%s (%s)", f->func && f->func[0] ? f->func : "?",
			 base ? base + 1 : file);
		return;
	}
	uint32_t line = (f->flags & GS_FRAME_F_LINE) ? f->line : f->first_line;
	snprintf(out, len, "%s (%s:%u)", f->func && f->func[0] ? f->func : "?",
		 file, line);
}
