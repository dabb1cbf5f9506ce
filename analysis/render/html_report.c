/* SPDX-License-Identifier: MIT */
/*
 * The self-contained HTML report: static tables (summary, findings,
 * histograms) written here, the zoomable timeline drawn by html/report.js
 * (compiled in, see html/embed.cmake) from two inline data blocks:
 *
 *   #gs-meta  JSON: title, extent, threads, findings (times in ns relative
 *             to the trace start), code (stack id -> "function (file:line)").
 *   #gs-bin   base64 of unsigned LEB128 varints (z = zigzag-signed):
 *               per thread, GIL lane then off-CPU lane:
 *                 n, then n x { z(t0 - previous t1), t1 - t0,
 *                               state | detail << 3, aux }
 *                 (aux: HOLD/WAIT spans' stack id, a key of meta.code)
 *                 (the first "previous t1" is 0, the trace start)
 *               marks: n, then n x { z(ts - previous ts), ts2 - ts,
 *                                    row of tid + 1, row of tid2 + 1, kind }
 *               waiters: n, then n x { z(ts - previous ts), value }
 * Varints keep a 10-million-event trace near 5 bytes per span, and decoding
 * them in the page is one pass over typed arrays.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "gil_events.h"
#include "json_writer.h"

extern const char gs_html_report_js[];
extern const char gs_html_report_css[];

struct vbuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static void vb_put(struct vbuf *b, uint64_t v)
{
	if (b->len + 10 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1 << 16;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

static void vb_zz(struct vbuf *b, int64_t v)
{
	vb_put(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void base64(FILE *out, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[4 * 1024 + 4];
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		line[o++] = tab[(v >> 18) & 63];
		line[o++] = tab[(v >> 12) & 63];
		line[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		line[o++] = i + 2 < n ? tab[v & 63] : '=';
		if (o >= sizeof(line) - 4) {
			fwrite(line, 1, o, out);
			o = 0;
		}
	}
	fwrite(line, 1, o, out);
}

/* JSON inside <script>: "</script>" in a thread name must not end it. */
static void script_safe(FILE *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '<')
			fputs("\\u003c", out);
		else
			fputc(p[i], out);
	}
}

static void lane(struct vbuf *b, const struct gs_tl_span *s, size_t n,
		 uint64_t from, uint64_t to)
{
	size_t a = gs_tl_first_span(s, n, from), e = a;
	while (e < n && s[e].t0 < to)
		e++;
	vb_put(b, e - a);
	uint64_t prev = from;
	for (size_t k = a; k < e; k++) {
		uint64_t t0 = s[k].t0 < from ? from : s[k].t0;
		uint64_t t1 = s[k].t1 > to ? to : s[k].t1;
		vb_zz(b, (int64_t)(t0 - prev));
		vb_put(b, t1 - t0);
		vb_put(b, (uint64_t)s[k].state | (uint64_t)s[k].detail << 3);
		vb_put(b, s[k].aux);
		prev = t1;
	}
}

/* The end of the longest prefix of the trace holding at most max spans. */
static uint64_t cut_for(const struct gs_timeline *tl, uint64_t from,
		       uint64_t max)
{
	uint64_t lo = from, hi = tl->t_end;
	while (hi - lo > 1000) {
		uint64_t mid = lo + (hi - lo) / 2, n = 0;
		for (size_t i = 0; i < tl->nthreads; i++) {
			const struct gs_tl_thread *th = &tl->threads[i];
			n += gs_tl_first_span(th->spans, th->nspans, mid) -
			     gs_tl_first_span(th->spans, th->nspans, from);
			n += gs_tl_first_span(th->offcpu, th->noffcpu, mid) -
			     gs_tl_first_span(th->offcpu, th->noffcpu, from);
		}
		if (n <= max)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void dur_cell(FILE *out, uint64_t ns)
{
	char b[32];
	gs_format_duration(b, sizeof(b), (double)ns);
	fprintf(out, "<td>%s</td>", ns ? b : "&ndash;");
}

static void pct_cell(FILE *out, uint64_t part, uint64_t whole)
{
	fprintf(out, "<td>%.1f%%</td>", whole ? 100.0 * part / whole : 0.0);
}

static void summary_table(const struct gs_timeline *tl, FILE *out,
			  const struct gs_tl_stats *st, uint64_t window)
{
	fputs("<h2 id=\"gs-summary\">Per thread</h2>\n"
	      "<table class=\"summary\"><thead><tr><th>thread</th><th>tid</th><th>role</th>"
	      "<th>holds</th><th>hold time</th><th>held</th><th>wait time</th><th>waiting</th>"
	      "<th>wait p50</th><th>wait p99</th><th>wait max</th><th>blocked</th>",
	      out);
	if (tl->has_sched)
		fputs("<th>off CPU</th>", out);
	fputs("<th>handoffs in/out</th><th>failed handoffs</th><th>drop requests</th></tr></thead><tbody>\n",
	      out);
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		const struct gs_tl_stats *s = &st[i];
		fputs("<tr><td>", out);
		gs_export_markup_text(out, th->name, GS_MARKUP_HTML);
		fprintf(out, "</td><td>%u</td><td>%s</td><td>%" PRIu64 "</td>",
			th->tid, gs_role_name(th->role), s->count[GS_TL_HOLD]);
		dur_cell(out, s->total[GS_TL_HOLD]);
		pct_cell(out, s->total[GS_TL_HOLD], window);
		dur_cell(out, s->total[GS_TL_WAIT]);
		pct_cell(out, s->total[GS_TL_WAIT], window);
		dur_cell(out, s->p50_wait);
		dur_cell(out, s->p99_wait);
		dur_cell(out, s->max[GS_TL_WAIT]);
		dur_cell(out, s->total[GS_TL_BLOCKED]);
		if (tl->has_sched)
			dur_cell(out, s->total[GS_TL_OFFCPU]);
		fprintf(out, "<td>%" PRIu64 " / %" PRIu64 "</td><td>%" PRIu64
			     "</td><td>%" PRIu64 "</td></tr>\n",
			s->handoffs_in, s->handoffs_out, s->failed_handoffs,
			s->drop_requests);
	}
	fputs("</tbody></table>\n<p class=\"note\">Percentages are of the window shown "
	      "(the whole trace unless noted above). Wait percentiles are over single waits.</p>\n",
	      out);
}

static void bucket_label(char *b, size_t n, unsigned i)
{
	char lo[24], hi[24];
	gs_format_duration(lo, sizeof(lo), i ? 1000.0 * (1ull << i) : 0);
	gs_format_duration(hi, sizeof(hi), 1000.0 * (2ull << i));
	snprintf(b, n, "%s&ndash;%s", i ? lo : "0", hi);
}

static void histograms(const struct gs_timeline *tl, FILE *out,
		       const struct gs_tl_stats *st)
{
	fputs("<h2 id=\"gs-histograms\">Hold and wait times</h2>\n"
	      "<p class=\"note\">How many holds and waits of each length (power-of-two "
	      "buckets). A convoy shows as waits piling up near the switch interval.</p>\n"
	      "<div class=\"hists\">\n", out);
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_stats *s = &st[i];
		int lo = GS_TL_HIST_BUCKETS, hi = -1;
		uint64_t max = 1;
		for (int b = 0; b < GS_TL_HIST_BUCKETS; b++) {
			if (s->hist_hold[b] || s->hist_wait[b]) {
				lo = b < lo ? b : lo;
				hi = b;
			}
			max = s->hist_hold[b] > max ? s->hist_hold[b] : max;
			max = s->hist_wait[b] > max ? s->hist_wait[b] : max;
		}
		fputs("<div class=\"hist\"><h3>", out);
		gs_export_markup_text(out, tl->threads[i].name, GS_MARKUP_HTML);
		fprintf(out, " <span class=\"note\">tid %u</span></h3>\n", tl->threads[i].tid);
		if (hi < 0) {
			fputs("<p class=\"note\">no holds or waits in this window</p></div>\n", out);
			continue;
		}
		fputs("<div class=\"bars\"><span class=\"head lab\">length</span>"
		      "<span class=\"head\">holds</span><span class=\"head\">waits</span>\n", out);
		for (int b = lo; b <= hi; b++) {
			char lab[64];
			bucket_label(lab, sizeof(lab), (unsigned)b);
			fprintf(out,
				"<span class=\"lab\">%s</span>"
				"<span class=\"b hold\"><span style=\"width:%.1f%%\"></span><em>%" PRIu64 "</em></span>"
				"<span class=\"b wait\"><span style=\"width:%.1f%%\"></span><em>%" PRIu64 "</em></span>\n",
				lab, s->hist_hold[b] ? 100.0 * s->hist_hold[b] / max : 0.0,
				s->hist_hold[b],
				s->hist_wait[b] ? 100.0 * s->hist_wait[b] / max : 0.0,
				s->hist_wait[b]);
		}
		fputs("</div></div>\n", out);
	}
	fputs("</div>\n", out);
}

static void findings_list(const struct gs_timeline *tl, FILE *out, uint64_t from,
			  uint64_t to)
{
	fputs("<h2 id=\"gs-findings\">Findings</h2>\n", out);
	if (!tl->nfindings) {
		fputs("<p class=\"note\">No convoy or priority-inversion episode was found "
		      "in this trace.</p>\n", out);
		return;
	}
	fputs("<ol class=\"findings\">\n", out);
	for (size_t k = 0; k < tl->nfindings; k++) {
		const struct gs_tl_finding *f = &tl->findings[k];
		char at[32], len[32];
		gs_format_duration(at, sizeof(at), (double)(f->t0 - tl->t_start));
		gs_format_duration(len, sizeof(len), (double)(f->t1 - f->t0));
		fprintf(out, "<li><span class=\"tag %s\">%s</span>",
			gs_tl_finding_name(f->kind), gs_tl_finding_name(f->kind));
		gs_export_markup_text(out, f->text, GS_MARKUP_HTML);
		if (f->t1 < from || f->t0 >= to)
			fprintf(out, " <span class=\"note\">at %s, outside the embedded window</span>", at);
		else
			fprintf(out, " &mdash; <a class=\"gs-jump\" href=\"#finding=%zu\" "
				     "data-finding=\"%zu\">at %s, for %s: show</a>",
				k, k, at, len);
		fputs("</li>\n", out);
	}
	fputs("</ol>\n", out);
}

static int meta_json(const struct gs_timeline *tl, const char *title,
		     uint64_t from, uint64_t to, FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -1;
	struct json_writer j;
	json_init(&j, m, 0);
	json_begin_object(&j, NULL);
	json_string(&j, "title", title);
	json_string(&j, "source", tl->source);
	json_string(&j, "policy", tl->policy);
	json_uint(&j, "interval_ns", (uint64_t)tl->interval_us * 1000);
	json_uint(&j, "pid", tl->pid);
	json_uint(&j, "t_start", 0);
	json_uint(&j, "t_end", to - from);
	char origin[32];
	snprintf(origin, sizeof(origin), "%" PRIu64, from);
	json_string(&j, "origin_ns", origin);
	json_bool(&j, "has_sched", tl->has_sched);
	json_begin_array(&j, "threads");
	for (size_t i = 0; i < tl->nthreads; i++) {
		json_begin_object(&j, NULL);
		json_uint(&j, "tid", tl->threads[i].tid);
		json_string(&j, "name", tl->threads[i].name);
		json_string(&j, "role", gs_role_name(tl->threads[i].role));
		json_end(&j);
	}
	json_end(&j);
	/* stack id -> "function (file:line)", for the spans' tooltips */
	json_begin_object(&j, "code");
	for (size_t k = 0; k < tl->nlabels; k++) {
		char id[16];
		snprintf(id, sizeof(id), "%" PRIu32, tl->labels[k].stack);
		json_string(&j, id, tl->labels[k].text);
	}
	json_end(&j);
	json_begin_array(&j, "findings");
	for (size_t k = 0; k < tl->nfindings; k++) {
		const struct gs_tl_finding *f = &tl->findings[k];
		uint64_t a = f->t0 < from ? from : f->t0 > to ? to : f->t0;
		uint64_t b = f->t1 < from ? from : f->t1 > to ? to : f->t1;
		json_begin_object(&j, NULL);
		json_string(&j, "kind", gs_tl_finding_name(f->kind));
		json_uint(&j, "t0", a - from);
		json_uint(&j, "t1", b - from);
		json_uint(&j, "tid", f->tid);
		json_string(&j, "text", f->text);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	if (fclose(m))
		return -1;
	script_safe(out, buf, len);
	free(buf);
	return 0;
}

int gs_render_html(const struct gs_timeline *tl, FILE *out,
		   const struct gs_html_opts *opts)
{
	uint64_t from = opts ? opts->window_from : 0;
	uint64_t to = opts ? opts->window_to : 0;
	if (gs_export_window(tl, &from, &to)) {
		errno = EINVAL;
		return -1;
	}
	uint64_t max = opts && opts->max_spans ? opts->max_spans : 12000000;
	int cut = gs_tl_span_count(tl) > max;
	if (cut) {
		uint64_t c = cut_for(tl, from, max);
		cut = c < to;
		if (cut)
			to = c;
	}
	if (to == from)
		to = from + 1;

	char title[256];
	if (opts && opts->title)
		snprintf(title, sizeof(title), "%s", opts->title);
	else
		snprintf(title, sizeof(title), "GIL timeline: %s",
			 tl->command[0] ? tl->command : tl->source[0] ? tl->source
								       : "trace");

	struct gs_tl_stats *st = calloc(tl->nthreads ? tl->nthreads : 1, sizeof(*st));
	if (!st)
		return -1;
	uint64_t lost = 0;
	for (size_t i = 0; i < tl->nthreads; i++)
		gs_tl_thread_stats(tl, i, from, to, &st[i]);
	for (size_t k = 0; k < tl->nmarks; k++)
		if (tl->marks[k].kind == GS_TL_MARK_LOST)
			lost += tl->marks[k].aux;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"generator\" content=\"gilscope\">\n<title>", out);
	gs_export_markup_text(out, title, GS_MARKUP_HTML);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", gs_html_report_css);
	gs_export_markup_text(out, title, GS_MARKUP_HTML);
	char dur[32];
	gs_format_duration(dur, sizeof(dur), (double)(to - from));
	fprintf(out, "</h1>\n<p class=\"sub\">GIL policy <b>%s</b>",
		tl->policy[0] ? tl->policy : "unknown");
	if (tl->interval_us)
		fprintf(out, ", switch interval %u us", tl->interval_us);
	fprintf(out, " &middot; %zu threads &middot; %s &middot; %zu spans", tl->nthreads,
		dur, gs_tl_span_count(tl));
	if (tl->source[0]) {
		fputs(" &middot; ", out);
		gs_export_markup_text(out, tl->source, GS_MARKUP_HTML);
	}
	fputs("</p>\n", out);
	if (cut)
		fprintf(out, "<p class=\"warn\">This trace has %zu spans; the page embeds "
			     "%s of it (%" PRIu64 " spans at most). Use <code>gilscope report "
			     "--svg OUT.svg --from NS --to NS</code> or <code>gilscope export "
			     "--from/--to</code> for other windows.</p>\n",
			gs_tl_span_count(tl), dur, max);
	if (lost)
		fprintf(out, "<p class=\"warn\">The recorder lost %" PRIu64 " events: black "
			     "ticks mark where; states around them are uncertain.</p>\n", lost);
	if (!tl->has_sched)
		fputs("<p class=\"note\">No scheduler events in this trace: the off-CPU lane "
		      "is not shown (record with scheduler events to see it).</p>\n", out);

	fputs("<h2>Timeline</h2>\n<div class=\"toolbar\">"
	      "<button id=\"gs-zoom-in\" title=\"or +, or the mouse wheel\">zoom in</button>"
	      "<button id=\"gs-zoom-out\" title=\"or -\">zoom out</button>"
	      "<button id=\"gs-reset\" title=\"or 0, or double-click\">whole trace</button>"
	      "<span id=\"gs-status\">loading&hellip;</span></div>\n"
	      "<div id=\"gs-timeline\" class=\"timeline\"><div id=\"gs-rows\"></div>"
	      "<canvas id=\"gs-canvas\" data-rows=\"", out);
	fprintf(out, "%zu\"></canvas><div id=\"gs-tip\"></div></div>\n", tl->nthreads);
	fputs("<div class=\"legend\"><span><i class=\"sw-hold\"></i>holds the GIL</span>"
	      "<span><i class=\"sw-wait\"></i>waits for the GIL</span>"
	      "<span><i class=\"sw-blocked\"></i>blocking call (GIL released)</span>", out);
	if (tl->has_sched)
		fputs("<span><i class=\"sw-offcpu\"></i>off CPU (thin lane)</span>", out);
	fputs("<span>&rarr; handoff</span><span class=\"sw-failed\">&times; failed handoff</span>"
	      "<span><i class=\"sw-drop\"></i>drop request (on the holder's row)</span>"
	      "<span><i class=\"sw-finding\"></i>finding</span></div>\n"
	      "<p class=\"note\">Wheel: zoom at the pointer &middot; drag: pan &middot; "
	      "double-click: whole trace &middot; hover: details. Columns narrower than a "
	      "span mix the states' shares.</p>\n", out);

	findings_list(tl, out, from, to);
	summary_table(tl, out, st, to - from);
	histograms(tl, out, st);
	free(st);
	if (opts && opts->blame_svg) {
		fputs("<h2>Blame</h2>\n<p class=\"note\">Which code made others wait: "
		      "every nanosecond some thread waited for the GIL, charged to the "
		      "Python stack the holder let it go from (N waiters count N times). "
		      "Thread on top, callers above callees; hover a box for its "
		      "function, file, line and time (<code>gilscope report --folded "
		      "blame</code> gives the same as text).</p>\n<div class=\"flame\">", out);
		fputs(opts->blame_svg, out);
		fputs("</div>\n", out);
	}
	if (opts && opts->report_json) {
		fputs("<h2>Report</h2>\n<details><summary>The figures of <code>gilscope "
		      "report --json</code></summary><pre class=\"report\">", out);
		gs_export_markup_text(out, opts->report_json, GS_MARKUP_HTML);
		fputs("</pre></details>\n", out);
	}

	fputs("<script id=\"gs-meta\" type=\"application/json\">", out);
	if (meta_json(tl, title, from, to, out))
		return -1;
	fputs("</script>\n<script id=\"gs-bin\" type=\"application/octet-stream\">", out);
	struct vbuf b = { 0 };
	for (size_t i = 0; i < tl->nthreads; i++) {
		lane(&b, tl->threads[i].spans, tl->threads[i].nspans, from, to);
		lane(&b, tl->threads[i].offcpu, tl->threads[i].noffcpu, from, to);
	}
	size_t m0 = 0, m1;
	while (m0 < tl->nmarks && tl->marks[m0].ts < from)
		m0++;
	for (m1 = m0; m1 < tl->nmarks && tl->marks[m1].ts < to; m1++)
		;
	vb_put(&b, m1 - m0);
	uint64_t prev = from;
	for (size_t k = m0; k < m1; k++) {
		const struct gs_tl_mark *m = &tl->marks[k];
		vb_zz(&b, (int64_t)(m->ts - prev));
		vb_put(&b, (m->ts2 > to ? to : m->ts2) - m->ts);
		vb_put(&b, (uint64_t)(gs_tl_thread_index(tl, m->tid) + 1));
		vb_put(&b, (uint64_t)(gs_tl_thread_index(tl, m->tid2) + 1));
		vb_put(&b, m->kind);
		prev = m->ts;
	}
	size_t w0 = gs_tl_waiters_at(tl, from), w1;
	for (w1 = w0; w1 < tl->nwaiters && tl->waiters[w1].ts < to; w1++)
		;
	vb_put(&b, w1 - w0);
	prev = from;
	for (size_t k = w0; k < w1; k++) {
		uint64_t ts = tl->waiters[k].ts < from ? from : tl->waiters[k].ts;
		vb_zz(&b, (int64_t)(ts - prev));
		vb_put(&b, tl->waiters[k].value);
		prev = ts;
	}
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return -1;
	}
	base64(out, b.p, b.len);
	free(b.p);
	fprintf(out, "</script>\n<script>\n%s</script>\n</body></html>\n", gs_html_report_js);
	if (fflush(out) || ferror(out))
		return -1;
	return 0;
}
