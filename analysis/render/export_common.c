/* SPDX-License-Identifier: MIT */
/* Helpers every exporter shares: windows, names, nesting of off-CPU spans. */
#include "export.h"

#include <stdio.h>
#include <string.h>

#include "gil_events.h"

int gs_export_window(const struct gs_timeline *tl, uint64_t *from, uint64_t *to)
{
	if (*to == 0 || *to > tl->t_end)
		*to = tl->t_end;
	if (*from < tl->t_start)
		*from = tl->t_start;
	/* An empty trace still gets a (blank) picture. */
	if (tl->t_end == tl->t_start && *from == *to)
		return 0;
	return *from < *to ? 0 : -1;
}

const char *gs_export_span_name(const struct gs_timeline *tl,
				const struct gs_tl_span *s)
{
	static char buf[GS_BLOCK_MAX][40];
	static char hold[160];
	const char *label;
	switch (s->state) {
	case GS_TL_HOLD:
		/* record --stacks: the code that let it go */
		label = s->aux && tl ? gs_tl_stack_label(tl, s->aux) : NULL;
		if (!label)
			return "hold GIL";
		snprintf(hold, sizeof(hold), "hold GIL: %s", label);
		return hold;
	case GS_TL_WAIT:
		return "wait GIL";
	case GS_TL_BLOCKED:
		if (s->detail < GS_BLOCK_MAX) {
			if (!buf[s->detail][0])
				snprintf(buf[s->detail], sizeof(buf[0]),
					 "blocked: %s",
					 gs_blocking_kind_name(s->detail));
			return buf[s->detail];
		}
		return "blocked";
	case GS_TL_OFFCPU:
		return s->detail == GS_SCHED_PREEMPTED ? "off CPU (preempted)"
						       : "off CPU (sleeping)";
	default:
		return "?";
	}
}

size_t gs_export_offcpu_pieces(const struct gs_tl_thread *th, uint64_t from,
			       uint64_t to,
			       void (*fn)(void *ctx, const struct gs_tl_span *piece,
					  int nested),
			       void *ctx)
{
	size_t pieces = 0;
	size_t g = gs_tl_first_span(th->spans, th->nspans, from);
	for (size_t k = gs_tl_first_span(th->offcpu, th->noffcpu, from);
	     k < th->noffcpu && th->offcpu[k].t0 < to; k++) {
		struct gs_tl_span cur = gs_tl_clip(th->offcpu[k], from, to);
		while (cur.t0 < cur.t1) {
			while (g < th->nspans && th->spans[g].t1 <= cur.t0)
				g++;
			struct gs_tl_span piece = cur;
			int nested = 0;
			if (g < th->nspans && th->spans[g].t0 <= cur.t0) {
				/* Inside GIL span g: cut at its end. */
				nested = 1;
				if (piece.t1 > th->spans[g].t1)
					piece.t1 = th->spans[g].t1;
			} else if (g < th->nspans && th->spans[g].t0 < cur.t1) {
				/* In a gap: cut where the next GIL span starts. */
				piece.t1 = th->spans[g].t0;
			}
			fn(ctx, &piece, nested);
			pieces++;
			cur.t0 = piece.t1;
		}
	}
	return pieces;
}

void gs_export_markup_text(FILE *out, const char *p, enum gs_markup lang)
{
	for (; *p; p++) {
		switch (*p) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if (lang != GS_MARKUP_SVG || (unsigned char)*p >= 0x20)
				fputc(*p, out);
		}
	}
}

const char *gs_export_finding_name(const struct gs_tl_finding *f, char *buf,
				   size_t n)
{
	const char *kind = gs_tl_finding_name(f->kind);
	if (!f->text[0])
		return kind;
	if (f->kind == GS_TL_FIND_OTHER ||
	    !strncmp(f->text, kind, strlen(kind)) ||
	    (f->kind == GS_TL_FIND_INVERSION && strstr(f->text, "inversion")))
		return f->text;
	snprintf(buf, n, "%s: %s", kind, f->text);
	return buf;
}
