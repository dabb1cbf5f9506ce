/* SPDX-License-Identifier: MIT */
/*
 * The exporter's page without BPF (tools/bpf/exporter/exposition.c on a
 * hand-made snapshot) and its HTTP side on a real loopback socket: text and
 * OpenMetrics syntax, cumulative buckets, the series cap and the folded
 * set (sticky admission, counters that never go down when a folded process
 * goes), label escaping, Accept negotiation.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "exposition.h"
#include "hostwide.h"
#include "http.h"

/* hostwide.c's kernel readers, not linked here */
void gs_hw_hits(struct gs_hw *hw, uint64_t out[GSA_HIT_MAX])
{
	(void)hw;
	memset(out, 0, sizeof(uint64_t) * GSA_HIT_MAX);
	out[GSA_HIT_TAKE_ENTRY] = 42;
}

double gs_hw_cost_ns(struct gs_hw *hw, const uint64_t hits[GSA_HIT_MAX])
{
	(void)hw;
	return 1000.0 * (double)hits[GSA_HIT_TAKE_ENTRY];
}

static struct gs_hw_proc *add_proc(struct gs_hw *hw, pid_t pid, const char *comm)
{
	hw->procs = realloc(hw->procs, (hw->nprocs + 1) * sizeof(*hw->procs));
	struct gs_hw_proc *p = &hw->procs[hw->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->start_time = 1000 + (unsigned long long)pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->runtime, sizeof(p->runtime), "cpython");
	snprintf(p->python, sizeof(p->python), "3.11");
	snprintf(p->cgroup, sizeof(p->cgroup), "/system.slice/web.service");
	return p;
}

static struct gs_hw_thread *add_thread(struct gs_hw_proc *p, uint32_t tid,
				       const char *name, uint64_t acq)
{
	p->th = realloc(p->th, (p->nth + 1) * sizeof(*p->th));
	struct gs_hw_thread *t = &p->th[p->nth++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->live = 1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->v.acquisitions = acq;
	t->v.hold_ns = acq * 1000;
	t->v.wait_ns[1] = acq * 500;
	t->v.hold_hist[0] = acq / 2;   /* <= 1 us */
	t->v.hold_hist[11] = acq - acq / 2; /* <= 5 ms */
	t->v.wait_hist[19] = acq;      /* +Inf */
	return t;
}

static void free_hw(struct gs_hw *hw)
{
	for (size_t i = 0; i < hw->nprocs; i++)
		free(hw->procs[i].th);
	free(hw->procs);
	memset(hw, 0, sizeof(*hw));
}

static char *page(struct gs_expo *e, struct gs_hw *hw, int om)
{
	struct gs_buf b = { 0 };
	gs_expo_write(e, hw, om, &b);
	assert_false(b.oom);
	gs_buf_printf(&b, "%s", ""); /* NUL-terminated even when empty */
	return b.p;
}

/* The value of the first sample line that starts with prefix. */
static double sample(const char *text, const char *prefix)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, prefix, strlen(prefix))) {
			const char *sp = strchr(l, '\n');
			const char *v = l;
			for (const char *c = l; c < (sp ? sp : l + strlen(l)); c++)
				if (*c == ' ')
					v = c + 1;
			return strtod(v, NULL);
		}
	}
	fail_msg("no sample %s", prefix);
	return -1;
}

static void test_text_format(void **state)
{
	(void)state;
	struct gs_hw hw = { 0 };
	struct gs_hw_proc *p = add_proc(&hw, 100, "web");
	add_thread(p, 100, "web", 10);
	add_thread(p, 101, "worker", 6);
	add_thread(p, 102, "worker", 4); /* same name: one series set */
	struct gs_expo e;
	struct gs_expo_opts o = { .max_series = 20000 };
	gs_expo_init(&e, &o);
	char *t = page(&e, &hw, 0);

	assert_non_null(strstr(t, "# TYPE gilscope_gil_hold_seconds_total counter\n"));
	assert_non_null(strstr(t, "# TYPE gilscope_gil_hold_seconds histogram\n"));
	assert_null(strstr(t, "# EOF"));
	assert_null(strstr(t, "# UNIT"));
	const char *lab = "pid=\"100\",comm=\"web\",python=\"3.11\",runtime=\"cpython\","
			  "cgroup=\"/system.slice/web.service\",container=\"\",thread=\"worker\"";
	char key[512];
	snprintf(key, sizeof(key), "gilscope_gil_acquisitions_total{%s}", lab);
	assert_true(sample(t, key) == 10);
	snprintf(key, sizeof(key), "gilscope_gil_threads{%s}", lab);
	assert_true(sample(t, key) == 2);
	snprintf(key, sizeof(key), "gilscope_gil_wait_seconds_total{%s,why=\"after_blocking\"}", lab);
	assert_true(sample(t, key) == 10 * 500 / 1e9);
	/* buckets are cumulative; +Inf equals _count */
	snprintf(key, sizeof(key), "gilscope_gil_hold_seconds_bucket{%s,le=\"1e-06\"}", lab);
	assert_true(sample(t, key) == 5);
	snprintf(key, sizeof(key), "gilscope_gil_hold_seconds_bucket{%s,le=\"0.0025\"}", lab);
	assert_true(sample(t, key) == 5);
	snprintf(key, sizeof(key), "gilscope_gil_hold_seconds_bucket{%s,le=\"0.005\"}", lab);
	assert_true(sample(t, key) == 10);
	snprintf(key, sizeof(key), "gilscope_gil_hold_seconds_bucket{%s,le=\"+Inf\"}", lab);
	assert_true(sample(t, key) == 10);
	snprintf(key, sizeof(key), "gilscope_gil_hold_seconds_count{%s}", lab);
	assert_true(sample(t, key) == 10);
	snprintf(key, sizeof(key), "gilscope_gil_wait_seconds_bucket{%s,le=\"1.0\"}", lab);
	assert_true(sample(t, key) == 0);
	assert_true(sample(t, "gilscope_traced_processes ") == 1);
	assert_true(sample(t, "gilscope_traced_threads ") == 3);
	assert_true(sample(t, "gilscope_exporter_series ") == 2 * GS_EXPO_SERIES_PER_GROUP);
	assert_true(sample(t, "gilscope_exporter_probe_cost_seconds_total ") == 42e-6);
	free(t);
	gs_expo_free(&e);
	free_hw(&hw);
}

static void test_openmetrics(void **state)
{
	(void)state;
	struct gs_hw hw = { 0 };
	add_thread(add_proc(&hw, 7, "svc"), 7, "svc", 3);
	struct gs_expo e;
	struct gs_expo_opts o = { .max_series = 20000 };
	gs_expo_init(&e, &o);
	char *t = page(&e, &hw, 1);
	/* counter families without _total, samples with it; units */
	assert_non_null(strstr(t, "# TYPE gilscope_gil_handoffs counter\n"));
	assert_non_null(strstr(t, "\ngilscope_gil_handoffs_total{"));
	assert_non_null(strstr(t, "# TYPE gilscope_gil_convoy_loss_seconds counter\n"
				  "# UNIT gilscope_gil_convoy_loss_seconds seconds\n"));
	assert_non_null(strstr(t, "# TYPE gilscope_gil_hold_seconds histogram\n"
				  "# UNIT gilscope_gil_hold_seconds seconds\n"));
	/* the two counters named like the histograms' families */
	assert_non_null(strstr(t, "# TYPE gilscope_gil_hold_seconds_total unknown\n"));
	assert_null(strstr(t, "# UNIT gilscope_gil_hold_seconds_total"));
	size_t n = strlen(t);
	assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
	assert_true(sample(t, "gilscope_exporter_scrapes_total{format=\"openmetrics\"} ") == 1);
	free(t);
	gs_expo_free(&e);
	free_hw(&hw);
}

static void test_cap_and_folding(void **state)
{
	(void)state;
	struct gs_hw hw = { 0 };
	for (int i = 0; i < 4; i++)
		add_thread(add_proc(&hw, 10 + i, "p"), 10 + (uint32_t)i, "p", 100);
	struct gs_expo e;
	/* room for two sets and the folded one */
	struct gs_expo_opts o = { .max_series = 3 * GS_EXPO_SERIES_PER_GROUP };
	gs_expo_init(&e, &o);
	char *t = page(&e, &hw, 0);
	const char *folded = "gilscope_gil_acquisitions_total{pid=\"\",comm=\"\",python=\"\","
			     "thread=\"_folded\"}";
	assert_true(sample(t, folded) == 200);
	assert_true(sample(t, "gilscope_exporter_folded_groups ") == 2);
	assert_true(sample(t, "gilscope_exporter_folded_groups_total ") == 2);
	assert_true(sample(t, "gilscope_exporter_series ") <= o.max_series);
	assert_non_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"10\""));
	assert_non_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"11\""));
	assert_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"12\""));
	free(t);

	/* a folded process goes: the folded counter keeps its part; an
	 * admitted one goes: its slot frees, but admitted sets stay (pid 11) */
	free(hw.procs[2].th);
	free(hw.procs[0].th);
	hw.procs[0] = hw.procs[3];
	hw.procs[2] = hw.procs[1];
	hw.procs[1] = hw.procs[2];
	hw.nprocs = 2; /* pids 13 (folded) and 11 (admitted) */
	hw.procs[1].pid = 11;
	hw.procs[0].th[0].v.acquisitions = 150;
	t = page(&e, &hw, 0);
	assert_true(sample(t, folded) == 250); /* 100 (pid 12, gone) + 150 */
	assert_true(sample(t, "gilscope_exporter_folded_groups ") == 1);
	assert_non_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"11\""));
	assert_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"13\""));
	free(t);

	/* a new process takes the freed slot */
	add_thread(add_proc(&hw, 20, "new"), 20, "new", 1);
	t = page(&e, &hw, 0);
	assert_non_null(strstr(t, "gilscope_gil_acquisitions_total{pid=\"20\""));
	assert_true(sample(t, "gilscope_exporter_folded_groups_total ") == 2);
	free(t);
	gs_expo_free(&e);
	free_hw(&hw);
}

static void test_per_tid_and_escaping(void **state)
{
	(void)state;
	struct gs_hw hw = { 0 };
	struct gs_hw_proc *p = add_proc(&hw, 5, "a\"b\\c");
	add_thread(p, 6, "x\ny", 1);
	add_thread(p, 7, "x\ny", 2);
	struct gs_expo e;
	struct gs_expo_opts o = { .max_series = 20000, .per_tid = 1 };
	gs_expo_init(&e, &o);
	char *t = page(&e, &hw, 0);
	assert_non_null(strstr(t, "comm=\"a\\\"b\\\\c\""));
	assert_non_null(strstr(t, "thread=\"x\\ny\",tid=\"6\""));
	assert_non_null(strstr(t, "thread=\"x\\ny\",tid=\"7\""));
	assert_true(sample(t, "gilscope_exporter_series ") == 2 * GS_EXPO_SERIES_PER_GROUP);
	free(t);
	gs_expo_free(&e);
	free_hw(&hw);
}

/* One request on a real loopback connection; returns wants_openmetrics. */
static int negotiate(int lfd, const char *accept)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[512];
	int n = snprintf(req, sizeof(req), "GET /metrics?x=1 HTTP/1.1\r\nHost: t\r\n%s%s%s\r\n",
			 accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
	assert_int_equal(send(c, req, (size_t)n, 0), n);
	struct gs_http_request r;
	int fd = gs_http_accept(lfd, &r);
	assert_true(fd >= 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/metrics");
	gs_http_respond(fd, 200, "text/plain", "ok\n", 3, 0);
	char resp[512] = "";
	size_t got = 0;
	ssize_t k;
	while ((k = recv(c, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
		got += (size_t)k;
	resp[got] = 0;
	assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(resp, "Content-Length: 3\r\n"));
	assert_true(got >= 3 && !strcmp(resp + got - 3, "ok\n"));
	close(c);
	return r.wants_openmetrics;
}

static void test_http_accept(void **state)
{
	(void)state;
	char msg[256];
	int lfd = gs_http_listen("127.0.0.1:0", msg, sizeof(msg));
	assert_true(lfd >= 0);
	/* what Prometheus 2.42 sends */
	assert_true(negotiate(lfd, "application/openmetrics-text;version=1.0.0,"
				   "application/openmetrics-text;version=0.0.1;q=0.75,"
				   "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_false(negotiate(lfd, "text/plain;version=0.0.4"));
	assert_false(negotiate(lfd, NULL));
	assert_false(negotiate(lfd, "application/openmetrics-text;q=0,text/plain"));
	assert_true(negotiate(lfd, "text/plain;q=0.5, application/openmetrics-text; q=0.9"));
	close(lfd);
	assert_true(gs_http_listen("127.0.0.1", msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "ADDRESS:PORT"));
	assert_true(gs_http_listen("127.0.0.1:99999", msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "bad port"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_format),
		cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_cap_and_folding),
		cmocka_unit_test(test_per_tid_and_escaping),
		cmocka_unit_test(test_http_accept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
