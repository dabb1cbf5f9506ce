/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "code_report.h"

#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#define NO_FRAME "[no Python frame]"

/* Folded lines split frames on ';' and the value on the last space. */
static void put_frame(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (*s == '\n' ? ' ' : *s), out);
}

static const char *thread_name(const struct gs_analysis *a, uint32_t th,
			       char *buf, size_t len)
{
	const struct gs_thread_state *t = gs_state_thread(a->state, th);
	if (t && t->name[0])
		return t->name;
	snprintf(buf, len, "tid-%u", t ? t->tid : 0);
	return buf;
}

/* The interpreter's eval loop: where py-spy swaps native frames for the
 * Python frames they run (LTO clones carry a suffix). */
static int is_eval_frame(const char *func)
{
	static const char *const names[] = { "_PyEval_EvalFrameDefault",
					     "PyEval_EvalFrameEx" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (!strncmp(func, names[i], n) && (!func[n] || func[n] == '.'))
			return 1;
	}
	return 0;
}

/* The frames of a row, outermost first, as labels (caller frees each and
 * the array): its Python (or published) stack, then its native stack
 * below it -- py-spy --native's order. Native frames outside the
 * innermost eval loop belong to Python frames already shown and are left
 * out; without an eval frame in the native stack (a C thread, libgil, a
 * stack cut where frame pointers end) all of it shows. */
static size_t row_labels(const struct gs_analysis *a, const struct gs_code_row *r,
			 char ***out)
{
	const struct gs_stack *s = gs_stacktab_get(a->stacks, r->stack);
	const struct gs_stack *nat = r->native ? gs_stacktab_get(a->stacks, r->native) : NULL;
	size_t np = s ? s->nframes : 0, nn = nat ? nat->nframes : 0, k = 0;
	char label[512];
	if (np && nn)
		for (size_t i = 0; i < nn; i++)
			if (nat->frames[i].func && is_eval_frame(nat->frames[i].func)) {
				nn = i;
				break;
			}
	char **v = calloc(np + nn + 1, sizeof(*v));
	if (!v) {
		*out = NULL;
		return 0;
	}
	for (size_t f = np; f > 0; f--) {
		gs_frame_label(&s->frames[f - 1], label, sizeof(label));
		v[k++] = strdup(label);
	}
	for (size_t f = nn; f > 0; f--) {
		gs_frame_label(&nat->frames[f - 1], label, sizeof(label));
		v[k++] = strdup(label);
	}
	if (!k)
		v[k++] = strdup(NO_FRAME);
	for (size_t i = 0; i < k; i++)
		if (!v[i]) /* out of memory: keep the outer frames */
			k = i;
	*out = v;
	return k;
}

static void free_labels(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

long gs_folded_write(FILE *out, const struct gs_analysis *a, unsigned kind)
{
	if (!a->code || kind >= GS_CODE_KINDS)
		return -1;
	const struct gs_code_row *rows;
	size_t n = gs_codeattr_rows(a->code, &rows);
	long lines = 0;
	char tb[32];
	for (size_t i = 0; i < n; i++) {
		const struct gs_code_row *r = &rows[i];
		if (!r->ns[kind])
			continue;
		put_frame(out, thread_name(a, r->thread, tb, sizeof(tb)));
		char **v;
		size_t nf = row_labels(a, r, &v);
		for (size_t f = 0; f < nf; f++) {
			fputc(';', out);
			put_frame(out, v[f]);
		}
		free_labels(v, nf);
		fprintf(out, " %llu\n", (unsigned long long)r->ns[kind]);
		lines++;
	}
	return lines;
}

void gs_code_innermost(const struct gs_analysis *a, uint32_t stack, char *out,
		       size_t len)
{
	const struct gs_stack *s = a->stacks ? gs_stacktab_get(a->stacks, stack) : NULL;
	if (!s || !s->nframes)
		snprintf(out, len, NO_FRAME);
	else
		gs_frame_label(&s->frames[0], out, len);
}

static const struct gs_code_row *sort_rows;

static int by_blame(const void *x, const void *y)
{
	const struct gs_code_row *a = &sort_rows[*(const uint32_t *)x];
	const struct gs_code_row *b = &sort_rows[*(const uint32_t *)y];
	static const unsigned order[] = { GS_CODE_BLAME, GS_CODE_HOLD, GS_CODE_WAIT };
	for (size_t k = 0; k < 3; k++)
		if (a->ns[order[k]] != b->ns[order[k]])
			return a->ns[order[k]] > b->ns[order[k]] ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* Row indices, most blame first; caller frees. */
static uint32_t *ranked(const struct gs_analysis *a, size_t *n)
{
	const struct gs_code_row *rows;
	*n = a->code ? gs_codeattr_rows(a->code, &rows) : 0;
	uint32_t *ord = malloc((*n ? *n : 1) * sizeof(*ord));
	if (!ord) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		ord[i] = (uint32_t)i;
	sort_rows = rows;
	qsort(ord, *n, sizeof(*ord), by_blame);
	return ord;
}

void gs_code_top_text(FILE *out, const struct gs_analysis *a, size_t n)
{
	if (!a->code) {
		fprintf(out, "\nCode: the trace has no stacks (record with --stacks)\n");
		return;
	}
	size_t nr;
	uint32_t *ord = ranked(a, &nr);
	const struct gs_code_row *rows;
	gs_codeattr_rows(a->code, &rows);
	uint64_t tot[GS_CODE_KINDS];
	gs_codeattr_totals(a->code, tot);
	fprintf(out, "\nCode (top %zu stacks by blame: others' GIL wait while this "
		"code held it)\n", n < nr ? n : nr);
	fprintf(out, "%10s %6s %10s %10s  %-16s %s\n", "blame_ms", "share",
		"hold_ms", "wait_ms", "thread", "innermost frame (at release; "
		"at request for wait)");
	char label[512], tb[32];
	for (size_t k = 0; k < nr && k < n; k++) {
		const struct gs_code_row *r = &rows[ord[k]];
		gs_code_innermost(a, r->stack, label, sizeof(label));
		fprintf(out, "%10.3f %5.1f%% %10.3f %10.3f  %-16s %s\n",
			(double)r->ns[GS_CODE_BLAME] / 1e6,
			tot[GS_CODE_BLAME] ? 100.0 * (double)r->ns[GS_CODE_BLAME] /
						     (double)tot[GS_CODE_BLAME]
					   : 0.0,
			(double)r->ns[GS_CODE_HOLD] / 1e6,
			(double)r->ns[GS_CODE_WAIT] / 1e6,
			thread_name(a, r->thread, tb, sizeof(tb)), label);
	}
	free(ord);
}

void gs_code_top_json(struct json_writer *j, const struct gs_analysis *a,
		      size_t n)
{
	size_t nr;
	uint32_t *ord = a->code ? ranked(a, &nr) : NULL;
	const struct gs_code_row *rows = NULL;
	if (a->code)
		gs_codeattr_rows(a->code, &rows);
	else
		nr = 0;
	json_begin_array(j, "top_code");
	for (size_t k = 0; k < nr && k < n; k++) {
		const struct gs_code_row *r = &rows[ord[k]];
		const struct gs_thread_state *t = gs_state_thread(a->state, r->thread);
		json_begin_object(j, NULL);
		json_uint(j, "tid", t ? t->tid : 0);
		json_string(j, "thread", t ? t->name : "");
		json_uint(j, "stack_id", r->stack);
		for (int kind = 0; kind < GS_CODE_KINDS; kind++) {
			char key[32];
			snprintf(key, sizeof(key), "%s_ns", gs_code_kind_name((unsigned)kind));
			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = '_';
			json_uint(j, key, r->ns[kind]);
		}
		json_uint(j, "holds", r->count[GS_CODE_HOLD]);
		json_uint(j, "waits", r->count[GS_CODE_WAIT]);
		json_begin_array(j, "frames");
		const struct gs_stack *s = gs_stacktab_get(a->stacks, r->stack);
		for (unsigned f = 0; s && f < s->nframes; f++) {
			const struct gs_frame *fr = &s->frames[f];
			json_begin_object(j, NULL);
			json_string(j, "function", fr->func);
			json_string(j, "file", fr->file);
			if (fr->flags & GS_FRAME_F_LINE)
				json_uint(j, "line", fr->line);
			else
				json_null(j, "line");
			json_uint(j, "first_line", fr->first_line);
			json_end(j);
		}
		json_end(j);
		json_end(j);
	}
	json_end(j);
	free(ord);
}

/* The row of thread th (GS_NO_THREAD: any) with the most ns of kind. */
static const struct gs_code_row *top_row(const struct gs_analysis *a,
					 uint32_t th, unsigned kind)
{
	const struct gs_code_row *rows, *best = NULL;
	size_t n = gs_codeattr_rows(a->code, &rows);
	for (size_t i = 0; i < n; i++)
		if ((th == GS_NO_THREAD || rows[i].thread == th) && rows[i].ns[kind] &&
		    (!best || rows[i].ns[kind] > best->ns[kind]))
			best = &rows[i];
	return best;
}

int gs_code_finding(const struct gs_analysis *a, const struct gs_finding *f,
		    char *holder, size_t hlen, char *victim, size_t vlen)
{
	if (!a->code || f->thread == GS_NO_THREAD)
		return 0;
	const struct gs_code_row *h = top_row(a, f->other, GS_CODE_BLAME);
	const struct gs_code_row *v = top_row(a, f->thread, GS_CODE_WAIT);
	if (!h || !v)
		return 0;
	char tb[32];
	char label[480];
	gs_code_innermost(a, h->stack, label, sizeof(label));
	snprintf(holder, hlen, "%s in %s", thread_name(a, h->thread, tb, sizeof(tb)),
		 label);
	gs_code_innermost(a, v->stack, label, sizeof(label));
	snprintf(victim, vlen, "%s", label);
	return 1;
}

/* ---- the blame flame graph (an SVG icicle, self-contained) ------------ */

struct flame_path {
	uint64_t ns;
	size_t n;             /* labels: thread, outermost ... innermost */
	char **label;
};

static int path_cmp(const void *x, const void *y)
{
	const struct flame_path *a = x, *b = y;
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		int c = strcmp(a->label[i], b->label[i]);
		if (c)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

#define FLAME_W 1200.0
#define FLAME_ROW 17

static void svg_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, out);
		}
	}
}

/* Paths [lo, hi) share their first depth labels; draws one box per run of
 * equal labels at depth, then its children. */
static void flame_level(FILE *out, const struct flame_path *p, size_t lo,
			size_t hi, size_t depth, double x, double scale,
			uint64_t total)
{
	size_t i = lo;
	while (i < hi) {
		if (p[i].n <= depth) {
			x += (double)p[i].ns * scale;
			i++;
			continue;
		}
		size_t j = i;
		uint64_t ns = 0;
		while (j < hi && p[j].n > depth &&
		       !strcmp(p[j].label[depth], p[i].label[depth]))
			ns += p[j++].ns;
		double w = (double)ns * scale;
		if (w >= 0.5) {
			double y = (double)depth * FLAME_ROW;
			unsigned hue = 0;
			for (const char *c = p[i].label[depth]; *c; c++)
				hue = hue * 31 + (unsigned char)*c;
			fprintf(out, "<g><title>");
			svg_text(out, p[i].label[depth]);
			fprintf(out, " \xe2\x80\x94 %.3f ms of blame (%.1f%%)</title>"
				"<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" "
				"fill=\"hsl(%u,70%%,%d%%)\" stroke=\"#fff\"/>",
				(double)ns / 1e6, total ? 100.0 * (double)ns / (double)total : 0,
				x, y, w, FLAME_ROW - 1, depth ? 10 + hue % 40 : 210,
				depth ? 60 + (int)(hue % 15) : 75);
			if (w > 60) {
				size_t fit = (size_t)(w / 6.5);
				char buf[256];
				snprintf(buf, sizeof(buf), "%.*s", (int)(fit < 255 ? fit : 255),
					 p[i].label[depth]);
				fprintf(out, "<text x=\"%.1f\" y=\"%.0f\">", x + 3,
					y + FLAME_ROW - 5);
				svg_text(out, buf);
				fputs("</text>", out);
			}
			fputs("</g>\n", out);
			flame_level(out, p, i, j, depth + 1, x, scale, total);
		}
		x += w;
		i = j;
	}
}

int gs_code_flame_svg(FILE *out, const struct gs_analysis *a, unsigned kind)
{
	if (!a->code || kind >= GS_CODE_KINDS)
		return -1;
	const struct gs_code_row *rows;
	size_t n = gs_codeattr_rows(a->code, &rows), np = 0, maxd = 1;
	struct flame_path *p = calloc(n ? n : 1, sizeof(*p));
	uint64_t total = 0;
	char tb[32];
	if (!p)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].ns[kind])
			continue;
		char **v;
		size_t nf = row_labels(a, &rows[i], &v);
		struct flame_path *q = &p[np++];
		q->ns = rows[i].ns[kind];
		q->label = calloc(nf + 1, sizeof(char *));
		if (!q->label) {
			free_labels(v, nf);
			continue;
		}
		q->label[q->n++] = strdup(thread_name(a, rows[i].thread, tb, sizeof(tb)));
		for (size_t f = 0; f < nf; f++)
			q->label[q->n++] = v[f];
		free(v);
		for (size_t k = 0; k < q->n; k++)
			if (!q->label[k])
				q->n = k;
		total += q->ns;
	}
	/* as deep as the boxes drawn (half a pixel wide at least) */
	for (size_t i = 0; i < np; i++)
		if (p[i].n > maxd && (double)p[i].ns * FLAME_W / (double)total >= 0.5)
			maxd = p[i].n;
	qsort(p, np, sizeof(*p), path_cmp);
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gs-flame\" "
		"width=\"%.0f\" height=\"%zu\" font-family=\"monospace\" "
		"font-size=\"11\">\n", FLAME_W, maxd * FLAME_ROW);
	if (total)
		flame_level(out, p, 0, np, 0, 0, FLAME_W / (double)total, total);
	fputs("</svg>\n", out);
	for (size_t i = 0; i < np; i++) {
		for (size_t k = 0; k < p[i].n; k++)
			free(p[i].label[k]);
		free(p[i].label);
	}
	free(p);
	return 0;
}
