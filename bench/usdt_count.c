/* SPDX-License-Identifier: MIT */
/*
 * gs-bench-usdtcount: counts every gil:* USDT hit of one command with the
 * least possible eBPF program (usdt_count.bpf.c), the floor item 3 puts
 * `gilscope record` next to.
 *
 *   gs-bench-usdtcount -l build/runtime/libgil.so -- CMD [ARGS...]
 *
 * CMD is forked, attached to (by PID, so other processes using the same
 * library are not slowed down), then let go; its output passes through, and
 * usdt_hits=N / usdt_probes=N follow when it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gil_events.h"
#include "usdt_count.skel.h"

static const char *const probe_names[] = {
#define GS_X_NAME(id, name, a8, a0, a1, s, from, doc) GS_IF_USDT(from)(#name,)
	GS_EVENT_CATALOG(GS_X_NAME)
#undef GS_X_NAME
};
#define NPROBES (sizeof(probe_names) / sizeof(probe_names[0]))

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gs-bench-usdtcount -l LIBRARY [-P PROVIDER] -- CMD [ARGS...]\n\n"
		"Counts CMD's hits on every PROVIDER:* USDT probe of LIBRARY (the\n"
		"gilscope event catalog; provider default \"gil\") in a per-CPU array,\n"
		"then prints usdt_hits=N and usdt_probes=N. Needs root. Part of\n"
		"gilscope bench (item 3).\n");
}

int main(int argc, char **argv)
{
	const char *lib = NULL, *provider = "gil";
	int c;
	while ((c = getopt(argc, argv, "+l:P:h")) != -1) {
		switch (c) {
		case 'l': lib = optarg; break;
		case 'P': provider = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!lib || optind >= argc) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(quiet_libbpf);
	struct usdt_count_bpf *skel = usdt_count_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "gs-bench-usdtcount: loading the BPF program "
				"failed: %s (root needed)\n", strerror(errno));
		return 1;
	}

	int go[2];
	if (pipe(go) != 0) {
		perror("gs-bench-usdtcount: pipe");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("gs-bench-usdtcount: fork");
		return 1;
	}
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(1); /* the parent failed to attach */
		close(go[0]);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "gs-bench-usdtcount: cannot run %s: %s\n",
			argv[optind], strerror(errno));
		_exit(127);
	}
	close(go[0]);

	int attached = 0;
	struct bpf_link *links[NPROBES] = { 0 };
	for (size_t i = 0; i < NPROBES; i++) {
		links[i] = bpf_program__attach_usdt(skel->progs.count_hit, pid, lib,
						    provider, probe_names[i], NULL);
		if (links[i])
			attached++;
	}
	if (!attached) {
		fprintf(stderr, "gs-bench-usdtcount: no %s:* probe of %s could be "
				"attached\n", provider, lib);
		close(go[1]);
		waitpid(pid, NULL, 0);
		return 1;
	}
	if (write(go[1], "g", 1) != 1) {
		perror("gs-bench-usdtcount: write");
		return 1;
	}
	close(go[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(__u64));
	__u32 key = 0;
	unsigned long long total = 0;
	if (vals && bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &key, vals) == 0)
		for (int i = 0; i < ncpu; i++)
			total += vals[i];
	free(vals);
	for (size_t i = 0; i < NPROBES; i++)
		bpf_link__destroy(links[i]);
	usdt_count_bpf__destroy(skel);
	fflush(stdout);
	printf("usdt_hits=%llu\nusdt_probes=%d\n", total, attached);
	if (!WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}
