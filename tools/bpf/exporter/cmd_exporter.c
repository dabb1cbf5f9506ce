/* SPDX-License-Identifier: MIT */
/*
 * gilscope exporter: a daemon serving the GIL metrics of every libgil and
 * CPython process on the host at /metrics, for Prometheus (text format
 * 0.0.4, or OpenMetrics 1.0 when the scraper asks for it). The counters are
 * kept in the kernel (gilagg.bpf.c); a scrape reads the maps and writes the
 * page, nothing else runs per GIL event.
 *
 * Only BPF links are used (no tracefs, no pinned objects): the kernel
 * removes every probe when the exporter's file descriptors close, on
 * SIGTERM/SIGINT as on a crash or kill -9, so a new instance never finds
 * a stale probe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cli_common.h"
#include "exposition.h"
#include "hostwide.h"
#include "http.h"
#include "hw_cli.h"
#include "session.h"

int cmd_exporter(int argc, char **argv);

static const char *const prog = "gilscope exporter";
static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope exporter [--listen ADDR:PORT] [FILTERS] [OPTIONS]\n"
"\n"
"Serves the GIL metrics of every libgil program and every CPython (2.7,\n"
"3.x: the builds `gilscope record` handles) on this host at /metrics, for\n"
"Prometheus: time holding and waiting for the GIL (by why), acquisitions,\n"
"handoffs, failed handoffs, drop requests, convoy losses, hold and wait\n"
"histograms, per process and thread name. Processes started later are\n"
"found at their exec; exited ones disappear after the grace period.\n"
"Counting happens in the kernel; a scrape only reads the counters.\n"
"docs/exporter.md: every metric, the cardinality rules, scrape config.\n"
"\n"
"  -l, --listen ADDR:PORT  where to serve (default 127.0.0.1:9799;\n"
"                          :PORT for every address)\n"
"  -p, --pid PID[,PID...]  only these processes\n"
"      --comm NAME         only processes whose name (comm) is NAME\n"
"      --cgroup PATH       only processes in this cgroup v2 (a container:\n"
"                          /sys/fs/cgroup/... or the path below it)\n"
"      --per-tid           series per thread (default: per thread name)\n"
"      --max-series N      hard cap on thread-group series (default 20000);\n"
"                          groups over it are folded into thread=\"_folded\"\n"
"      --grace SEC         exited processes' series stay SEC (default 60)\n"
"      --rescan SEC        full /proc scan interval (default 5; new\n"
"                          processes are also seen at their exec)\n"
"      --convoy-us US      convoy threshold (default 2500: half of 5 ms)\n"
"      --python FILE       probe this Python (a program on PATH, its path, or\n"
"                          its libpython) now, not when it first runs: its\n"
"                          first process is counted from its first GIL\n"
"                          event (repeatable; docs/exporter.md)\n"
"  -d, --duration SEC      stop after SEC seconds (tests)\n"
"  -v, --verbose           probe placement, processes found, libbpf output\n"
"  -h, --help              this help\n"
"\n"
"Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"SIGTERM/SIGINT detach every probe and exit 0.\n"
"Exit: 0 ok, 1 error, 2 usage.\n");
}

static const char index_page[] =
	"<html><head><title>gilscope exporter</title></head><body>"
	"<h1>gilscope exporter</h1><p><a href=\"/metrics\">/metrics</a></p>"
	"</body></html>\n";

int cmd_exporter(int argc, char **argv)
{
	const char *listen_spec = "127.0.0.1:9799";
	struct gs_hw_opts ho = { .prog = prog, .convoy_ns = 2500000, .grace_s = 60,
				 .rescan_s = 5 };
	struct gs_expo_opts eo = { .per_tid = 0, .max_series = 20000 };
	double duration = 0;
	const char **pythons = NULL;
	enum { O_PER_TID = GS_HW_O_FIRST_FREE, O_MAX_SERIES, O_GRACE, O_RESCAN,
	       O_PYTHON, O_CONVOY };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		GS_HW_LONGOPTS,
		{ "per-tid", no_argument, NULL, O_PER_TID },
		{ "max-series", required_argument, NULL, O_MAX_SERIES },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "rescan", required_argument, NULL, O_RESCAN },
		{ "python", required_argument, NULL, O_PYTHON },
		{ "convoy-us", required_argument, NULL, O_CONVOY },
		{ 0 },
	};
	int c;
	optind = 1;
	while ((c = gs_hw_getopt(argc, argv, "l:p:d:vh", opts, &ho, &duration)) != -1) {
		switch (c) {
		case GS_HW_BAD: return 2;
		case 'l': listen_spec = optarg; break;
		case O_PYTHON: {
			const char **n = realloc(pythons, (ho.n_pythons + 1) * sizeof(*n));
			if (!n) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return 1;
			}
			pythons = n;
			pythons[ho.n_pythons++] = optarg;
			ho.pythons = pythons;
			break;
		}
		case O_PER_TID: eo.per_tid = 1; break;
		case O_MAX_SERIES: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || v < 2 * GS_EXPO_SERIES_PER_GROUP) {
				fprintf(stderr, "%s: --max-series %s: want a number >= %d "
					"(the series of one thread group and of the folded "
					"set)\n", prog, optarg, 2 * GS_EXPO_SERIES_PER_GROUP);
				return 2;
			}
			eo.max_series = (size_t)v;
			break;
		}
		case O_GRACE:
			if (gs_parse_seconds(prog, "--grace", optarg, &ho.grace_s))
				return 2;
			break;
		case O_RESCAN:
			if (gs_parse_seconds(prog, "--rescan", optarg, &ho.rescan_s))
				return 2;
			break;
		case O_CONVOY:
			if (gs_hw_parse_convoy(prog, optarg, &ho.convoy_ns))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (the exporter traces the "
				"whole host; -p limits it)\n", prog, argv[optind]);
		return 2;
	}
	if (gs_hw_check_comm(prog, ho.comm))
		return 2;

	char msg[512];
	int lfd = gs_http_listen(listen_spec, msg, sizeof(msg));
	if (lfd < 0) {
		fprintf(stderr, "%s: --listen %s\n", prog, msg);
		free(ho.pids);
		free(pythons);
		return 1;
	}

	gs_session_signals(); /* SIGINT/SIGTERM/SIGHUP stop; SIGPIPE ignored */

	struct gs_hw hw;
	if (gs_hw_start(&hw, &ho)) {
		close(lfd);
		free(ho.pids);
		free(pythons);
		return 1;
	}
	struct gs_expo ex;
	gs_expo_init(&ex, &eo);
	fprintf(stderr, "%s: serving http://%s/metrics (%zu processes, %zu probed files)\n",
		prog, listen_spec, hw.nprocs, hw.nbins);

	uint64_t t0 = gs_now_ns(), last_refresh = t0;
	while (!gs_session_stop) {
		struct pollfd pf[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = gs_hw_notice_fd(&hw), .events = POLLIN },
		};
		int r = poll(pf, 2, 100);
		if (r < 0 && errno != EINTR)
			break;
		gs_hw_poll(&hw);
		uint64_t now = gs_now_ns();
		if (duration > 0 && now - t0 >= (uint64_t)(duration * 1e9))
			break;
		if (r > 0 && (pf[0].revents & POLLIN)) {
			struct gs_http_request req;
			int fd = gs_http_accept(lfd, &req);
			if (fd < 0)
				continue;
			int head = !strcmp(req.method, "HEAD");
			if (strcmp(req.method, "GET") && !head) {
				gs_http_respond(fd, 405, "text/plain", "GET or HEAD\n", 12, 0);
			} else if (!strcmp(req.path, "/metrics")) {
				struct gs_buf b = { 0 };
				gs_hw_refresh(&hw);
				last_refresh = now;
				gs_expo_write(&ex, &hw, req.wants_openmetrics, &b);
				if (b.oom)
					gs_http_respond(fd, 500, "text/plain", "out of memory\n", 14, 0);
				else
					gs_http_respond(fd, 200, req.wants_openmetrics
						? "application/openmetrics-text; version=1.0.0; charset=utf-8"
						: "text/plain; version=0.0.4; charset=utf-8",
						b.p, b.len, head);
				gs_buf_free(&b);
			} else if (!strcmp(req.path, "/")) {
				gs_http_respond(fd, 200, "text/html", index_page,
						sizeof(index_page) - 1, head);
			} else {
				gs_http_respond(fd, 404, "text/plain", "try /metrics\n", 13, head);
			}
		}
		/* without scrapes, exited processes and dead threads still go */
		if (now - last_refresh >= 10000000000ull) {
			gs_hw_refresh(&hw);
			last_refresh = now;
		}
	}
	gs_hw_stop(&hw);
	gs_expo_free(&ex);
	close(lfd);
	free(ho.pids);
	free(pythons);
	if (ho.verbose)
		fprintf(stderr, "%s: probes detached\n", prog);
	return 0;
}
