/* SPDX-License-Identifier: MIT */
/* The shared core of the perf-script and trace-cmd readers (source_text.h). */
#define _GNU_SOURCE
#include "source_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "text_escape.h"

int gs_text_error(struct gs_text_source *s, const char *what, const char *line)
{
	/* the line is the input's: shown escaped (no ESC reaches the
	 * terminal), at most ~80 characters of it */
	char shown[400];
	size_t len = strlen(line);
	gs_text_escape_n(line, len > 80 ? 80 : len, shown, sizeof(shown));
	snprintf(s->base.error, sizeof(s->base.error),
		 "%s: line %llu: expected %s: %s, got '%s%s'",
		 s->base.info.path, (unsigned long long)s->lines.lineno,
		 s->layout, what, shown, len > 80 ? "..." : "");
	return -1;
}

/* A line no tracer writes: NUL bytes in it (a file damaged by a crash, or
 * not text), or the last line cut short (no newline: the tracer was killed
 * while writing it). 0 when the line is whole text; else -1 with the error
 * set, or 1 when allow_truncated lets a cut last line end the trace. */
static int damaged_line(struct gs_text_source *s, const char *line)
{
	const struct gs_lines *l = &s->lines;
	if (l->nul_bytes) {
		char shown[200];
		gs_text_escape_n(line, l->length > 40 ? 40 : l->length, shown,
				 sizeof(shown));
		snprintf(s->base.error, sizeof(s->base.error),
			 "%s: line %llu (offset %llu): %zu NUL byte(s) in a line "
			 "of %zu bytes, '%s%s' (expected text: the file is "
			 "damaged, or is not %s output)", s->base.info.path,
			 (unsigned long long)l->lineno,
			 (unsigned long long)l->offset, l->nul_bytes, l->length,
			 shown, l->length > 40 ? "..." : "",
			 s->base.info.format);
		return -1;
	}
	if (l->no_newline && l->length) {
		if (s->base.allow_truncated)
			return 1;
		snprintf(s->base.error, sizeof(s->base.error),
			 "%s: line %llu (offset %llu): the last line is cut "
			 "short: no newline at the end of the file (expected "
			 "every line to end with one; the tracer was killed "
			 "while writing? --allow-truncated reads the lines "
			 "before it)", s->base.info.path,
			 (unsigned long long)l->lineno,
			 (unsigned long long)l->offset);
		return -1;
	}
	return 0;
}

static int is_ours(const struct gs_text_source *s, uint32_t tid)
{
	for (size_t i = 0; i < s->nours; i++)
		if (s->ours[i] == tid)
			return 1;
	return 0;
}

static void add_ours(struct gs_text_source *s, uint32_t tid)
{
	if (is_ours(s, tid))
		return;
	if (s->nours == s->capours) {
		size_t cap = s->capours ? s->capours * 2 : 64;
		uint32_t *v = realloc(s->ours, cap * sizeof(*v));
		if (!v)
			return;
		s->ours = v;
		s->capours = cap;
	}
	s->ours[s->nours++] = tid;
}

/* A catalog event libgil emits as a probe (the scheduler events and lost
 * markers come from elsewhere: "sched_wakeup" is the kernel's tracepoint). */
static int probe_event(int t)
{
	return t > 0 && t != GS_EV_sched_switch_out &&
			       t != GS_EV_sched_switch_in &&
			       t != GS_EV_sched_wakeup && t != GS_EV_lost
		       ? t
		       : -1;
}

/* The catalog event a tracer's event name stands for, or -1. */
static int gil_event_type(const char *ev, size_t len)
{
	char buf[96];
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, ev, len);
	buf[len] = '\0';
	char *name = buf, *sep = strpbrk(buf, ":/");
	if (sep) {
		*sep = '\0';
		name = sep + 1;
		if (strcmp(buf, "sdt_gil") != 0 && strcmp(buf, "gil") != 0 &&
		    strncmp(buf, "gilscope", 8) != 0)
			return -1;
	}
	int t = probe_event(gs_event_lookup(name));
	if (t >= 0)
		return t;
	/* perf probe names a second probe on the same event NAME_1. */
	char *us = strrchr(name, '_');
	if (!us || !us[1])
		return -1;
	for (char *p = us + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	*us = '\0';
	return probe_event(gs_event_lookup(name));
}

static uint64_t arg_or_zero(const char *fields, const char *k1, const char *k2)
{
	uint64_t v = 0;
	if (gs_find_uint_arg(fields, k1, &v) != 0 &&
	    gs_find_uint_arg(fields, k2, &v) != 0)
		v = 0;
	return v;
}

/* name="..." (tracefs string fetch); 0 when absent. */
static int quoted_name(const char *fields, char *out, size_t n)
{
	const char *p = strstr(fields, "name=\"");
	if (!p)
		return 0;
	p += 6;
	const char *q = strchr(p, '"');
	if (!q)
		return 0;
	size_t len = (size_t)(q - p);
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

static int sched_state(const char *st)
{
	/* "R" and "R+" mean still runnable: the thread was preempted. */
	return st[0] == 'R' ? GS_SCHED_PREEMPTED : GS_SCHED_BLOCKED;
}

/* "comm:pid [prio]" from trace-cmd's sched plugin, scanning back from end. */
static int plugin_pid(const char *start, const char *end, uint32_t *pid)
{
	const char *b = end;
	while (b > start && b[-1] != ':')
		b--;
	if (b == start || !isdigit((unsigned char)*b))
		return -1;
	*pid = (uint32_t)strtoul(b, NULL, 10);
	return 0;
}

static int parse_switch(const char *f, uint32_t *prev, uint32_t *next,
			int *state)
{
	uint64_t a, b;
	const char *st = strstr(f, "prev_state=");
	if (gs_find_uint_arg(f, "prev_pid", &a) == 0 &&
	    gs_find_uint_arg(f, "next_pid", &b) == 0 && st) {
		*prev = (uint32_t)a;
		*next = (uint32_t)b;
		*state = sched_state(st + 11);
		return 0;
	}
	/* trace-cmd plugin: "wl:15256 [120] R ==> gilscope:15254 [120]" */
	const char *arrow = strstr(f, " ==> ");
	if (!arrow)
		return -1;
	const char *br = arrow;
	while (br > f && *br != '[')
		br--;
	if (*br != '[' || br == f)
		return -1;
	const char *sp = strstr(br, "] ");
	if (!sp)
		return -1;
	*state = sched_state(sp + 2);
	if (plugin_pid(f, br - 1, prev) != 0)
		return -1;
	const char *n = arrow + 5, *nb = strstr(n, " [");
	if (!nb)
		nb = n + strlen(n);
	return plugin_pid(n, nb, next);
}

static int parse_wakeup(const char *f, uint32_t *pid, uint32_t *cpu)
{
	uint64_t a, c;
	if (gs_find_uint_arg(f, "pid", &a) == 0) {
		*pid = (uint32_t)a;
		*cpu = gs_find_uint_arg(f, "target_cpu", &c) == 0 ? (uint32_t)c
								 : 0;
		return 0;
	}
	/* trace-cmd plugin: "wl:15257 [120] CPU:000" (maybe "success=1") */
	const char *br = strstr(f, " [");
	if (!br || plugin_pid(f, br, pid) != 0)
		return -1;
	const char *c2 = strstr(br, "CPU:");
	*cpu = c2 ? (uint32_t)strtoul(c2 + 4, NULL, 10) : 0;
	return 0;
}

static void push(struct gs_text_source *s, const struct gs_text_line *l,
		 unsigned type, uint32_t tid, unsigned a8, uint32_t a0,
		 uint32_t a1)
{
	struct gs_event *e = &s->pend[s->npend++];
	memset(e, 0, sizeof(*e));
	e->ts_ns = l->ts_ns;
	e->tid = tid;
	e->cpu = l->cpu;
	e->type = (uint8_t)type;
	e->a8 = (uint8_t)a8;
	e->a0 = a0;
	e->a1 = a1;
	e->offset = s->lines.offset;
}

/* Turns one parsed line into 0..2 pending events. */
static int map_line(struct gs_text_source *s, const struct gs_text_line *l,
		    const char *raw)
{
	int type = gil_event_type(l->event, l->event_len);
	if (type >= 0) {
		if (l->pid && s->traced_pid && l->pid != s->traced_pid)
			return 0; /* another libgil process */
		if (l->pid && !s->traced_pid)
			s->traced_pid = l->pid;
		add_ours(s, l->tid);
		push(s, l, (unsigned)type, l->tid,
		     (unsigned)arg_or_zero(l->fields, "a8", "arg1"),
		     (uint32_t)arg_or_zero(l->fields, "a0", "arg2"),
		     (uint32_t)arg_or_zero(l->fields, "a1", "arg3"));
		if (type == GS_EV_thread_start) {
			if (!quoted_name(l->fields, s->name, sizeof(s->name))) {
				size_t n = l->comm_len < sizeof(s->name) - 1
						   ? l->comm_len
						   : sizeof(s->name) - 1;
				memcpy(s->name, l->comm ? l->comm : "", n);
				s->name[n] = '\0';
			}
			s->pend[0].str = s->name;
		}
		return 0;
	}
	if (l->pid && s->traced_pid && l->pid == s->traced_pid)
		add_ours(s, l->tid);
	const char *name = l->event;
	size_t len = l->event_len;
	const char *sep = memchr(name, ':', len);
	if (!sep)
		sep = memchr(name, '/', len);
	if (sep) {
		len -= (size_t)(sep + 1 - name);
		name = sep + 1;
	}
	if (len == 12 && memcmp(name, "sched_switch", 12) == 0) {
		uint32_t prev, next;
		int state;
		if (parse_switch(l->fields, &prev, &next, &state) != 0)
			return gs_text_error(s, "sched_switch fields "
					     "(prev_pid= prev_state= next_pid=)",
					     raw);
		if (is_ours(s, prev))
			push(s, l, GS_EV_sched_switch_out, prev,
			     (unsigned)state, next, 0);
		if (is_ours(s, next))
			push(s, l, GS_EV_sched_switch_in, next, 0, prev, 0);
	} else if (len == 12 && memcmp(name, "sched_wakeup", 12) == 0) {
		uint32_t pid, cpu;
		if (parse_wakeup(l->fields, &pid, &cpu) != 0)
			return gs_text_error(s, "sched_wakeup fields "
					     "(pid= target_cpu=)", raw);
		if (is_ours(s, pid))
			push(s, l, GS_EV_sched_wakeup, pid, 0, l->tid, cpu);
	}
	return 0;
}

static int text_next(struct gs_source *base, struct gs_event *ev)
{
	struct gs_text_source *s = (struct gs_text_source *)base;
	while (s->ipend == s->npend) {
		s->ipend = s->npend = 0;
		if (s->failed)
			return -1;
		if (s->ended)
			return 0;
		char *line = gs_lines_next(&s->lines);
		if (!line) {
			s->ended = 1;
			return 0;
		}
		int damaged = damaged_line(s, line);
		if (damaged) {
			if (damaged > 0) {
				/* the cut last line is skipped: partial */
				s->ended = 1;
				s->truncated = 1;
				return 0;
			}
			s->failed = 1;
			return -1;
		}
		struct gs_text_line l;
		memset(&l, 0, sizeof(l));
		/* The parser may cut the line up; keep the text for errors. */
		char raw[128];
		snprintf(raw, sizeof(raw), "%s", line);
		int rc = s->parse(s, line, &l);
		if (rc == 0)
			continue;
		if (rc > 0 && l.lost_only) {
			s->lost += l.lost;
			/* A tracer's per-CPU buffer overflowed: whose events
			 * went is unknown, so the marker names no thread
			 * (tid 0) and the state machine forgets every
			 * thread's state there (gilstate.c). Before the first
			 * event there is nothing to forget. */
			if (s->base.info.end_ns) {
				push(s, &l, GS_EV_lost, 0, 0,
				     l.lost > UINT32_MAX ? UINT32_MAX
							 : (uint32_t)l.lost,
				     0);
				if (l.ts_ns < s->base.info.end_ns)
					s->pend[s->npend - 1].ts_ns =
						s->base.info.end_ns;
			}
			continue;
		}
		if (rc < 0 || map_line(s, &l, raw) < 0) {
			if (s->base.allow_truncated && s->lines.lineno > 1 &&
			    feof(s->lines.f)) {
				/* A last line cut short by a killed tracer. */
				s->ended = 1;
				s->truncated = 1;
				return 0;
			}
			s->failed = 1;
			return -1;
		}
	}
	*ev = s->pend[s->ipend++];
	if (ev->type == GS_EV_lost)
		return 1; /* a marker: no thread, not an event of the trace */
	if (!s->base.info.start_ns)
		s->base.info.start_ns = ev->ts_ns;
	s->base.info.end_ns = ev->ts_ns;
	s->base.info.pid = s->traced_pid;
	gs_threads_note(&s->threads, ev);
	s->events++;
	return 1;
}

static const struct gs_thread_info *text_thread(struct gs_source *base,
						uint32_t tid)
{
	return gs_threads_find(&((struct gs_text_source *)base)->threads, tid);
}

static void text_totals(struct gs_source *base, struct gs_source_totals *out)
{
	struct gs_text_source *s = (struct gs_text_source *)base;
	memset(out, 0, sizeof(*out));
	out->events = s->events;
	out->lost = s->lost;
	/* Text has no end marker: complete unless a line was unreadable or
	 * the last one was cut (allow_truncated). */
	out->complete = !s->failed && !s->truncated;
}

static void text_close(struct gs_source *base)
{
	struct gs_text_source *s = (struct gs_text_source *)base;
	gs_lines_close(&s->lines);
	gs_threads_free(&s->threads);
	free(s->ours);
	free(s);
}

static const struct gs_source_ops text_ops = {
	.next = text_next,
	.thread = text_thread,
	.totals = text_totals,
	.close = text_close,
};

struct gs_source *gs_text_source_open(const char *path, int allow_truncated,
				      const char *format, const char *layout,
				      gs_text_parse_fn parse, char *err,
				      size_t errlen)
{
	struct gs_text_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->base.ops = &text_ops;
	s->base.allow_truncated = allow_truncated;
	s->base.info.path = path;
	s->base.info.source = GS_SOURCE_CONVERTED;
	s->base.info.runtime = GS_RUNTIME_LIBGIL;
	snprintf(s->base.info.format, sizeof(s->base.info.format), "%s",
		 format);
	s->parse = parse;
	s->layout = layout;
	if (gs_lines_open(&s->lines, path, err, errlen) != 0) {
		free(s);
		return NULL;
	}
	/* Is this our format? The first line that says anything decides. */
	char *line;
	int rc = 0;
	while (rc == 0 && s->lines.lineno < 64 &&
	       (line = gs_lines_next(&s->lines)) != NULL) {
		struct gs_text_line l;
		memset(&l, 0, sizeof(l));
		rc = parse(s, line, &l);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: not %s output (%s)", path, format,
			 s->base.error);
		text_close(&s->base);
		return NULL;
	}
	s->base.error[0] = '\0';
	gs_lines_close(&s->lines);
	if (gs_lines_open(&s->lines, path, err, errlen) != 0) {
		text_close(&s->base);
		return NULL;
	}
	return &s->base;
}

/* The next " [CPU] " field of line after f->bracket (NULL: from the
 * start), with the word before it: 1, or 0 when there is none. */
struct cpu_field {
	char *bracket;
	char *word, *word_end;
	unsigned long cpu;
	char *after;
};

static int next_cpu_field(char *line, struct cpu_field *f)
{
	char *br = strchr(f->bracket ? f->bracket + 1 : line, '[');
	for (; br; br = strchr(br + 1, '[')) {
		if (br == line || br[-1] != ' ')
			continue;
		char *e;
		unsigned long cpu = strtoul(br + 1, &e, 10);
		if (e == br + 1 || *e != ']' || e[1] != ' ')
			continue;
		char *w_end = br;
		while (w_end > line && w_end[-1] == ' ')
			w_end--;
		char *w = w_end;
		while (w > line && w[-1] != ' ')
			w--;
		f->bracket = br;
		f->word = w;
		f->word_end = w_end;
		f->cpu = cpu;
		f->after = e + 2;
		return 1;
	}
	f->bracket = NULL;
	return 0;
}

int gs_text_head(struct gs_text_source *s, char *line, gs_text_word_fn word,
		 const char *word_layout, struct gs_text_line *out,
		 const char **event)
{
	struct cpu_field f = { 0 };
	while (next_cpu_field(line, &f) && word(line, f.word, f.word_end, out))
		;
	if (!f.bracket) {
		char what[64];
		snprintf(what, sizeof(what), "no '%s [CPU]'", word_layout);
		return gs_text_error(s, what, line);
	}
	out->cpu = (uint16_t)f.cpu;
	const char *t = f.after + strspn(f.after, " ");
	t = gs_parse_timestamp(t, &out->ts_ns);
	if (!t || t[0] != ':' || (t[1] != ' ' && t[1] != '\0'))
		return gs_text_error(s, "no 'SECONDS:' after the CPU", line);
	*event = t + 1 + strspn(t + 1, " ");
	return 0;
}

int gs_text_event_and_fields(struct gs_text_source *s, const char *t,
			     const char *line, struct gs_text_line *out)
{
	const char *ee = strstr(t, ": ");
	size_t len = ee ? (size_t)(ee - t) : strlen(t);
	if (len && t[len - 1] == ':')
		len--;
	if (len == 0)
		return gs_text_error(s, "no event name after the time", line);
	out->event = t;
	out->event_len = len;
	out->fields = ee ? ee + 2 : t + len;
	return 1;
}
