/* SPDX-License-Identifier: MIT */
/*
 * gilscope-probecost: what one probe hit costs on this machine, by kind.
 *
 * Calls a probe site N times untraced and then with a BPF program attached
 * to it, and reports the difference per call (the minimum over several
 * repetitions, which a busy machine inflates least):
 *
 *   usdt-nop5     USDT on the 5-byte nop libgil uses (gil_probes.h)
 *   usdt-nop1     USDT on sys/sdt.h's standard 1-byte nop
 *   uprobe-push   uprobe on a function starting with push (emulated)
 *   uprobe-sub    uprobe on a function starting with sub (single-stepped)
 *   uretprobe-*   return probes on the same two functions
 *
 * each with the bare libbpf counter (probecost.bpf.c), and gilscope's own
 * programs (gilscope.bpf.c) recording into the ring buffer: usdt_acquired on
 * the nop5 site and py3_take_gil (+ its return probe) on the push function.
 * The numbers feed session.h's GS_COST_* and docs/observer-effect.md.
 *
 * Usage: gilscope-probecost [-n CALLS] [-r REPS] [-p PAIRS] [--json]   (root)
 * PAIRS: interleaved (bare counter, gilscope) runs on the USDT site whose
 * median ratio is the figure for the 1.6x goal (default 5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli_parse.h"
#include "clock.h"
#include "elfsym.h"
#include "gilscope_bpf.h" /* before the skeleton: its rodata types */
#include "gilscope.skel.h"
#include "probecost.skel.h"

/* Probe sites with a known first instruction. */
void gs_fn_push(void);
void gs_fn_sub(void);
__asm__(".text\n"
	".globl gs_fn_push\n.type gs_fn_push,@function\n"
	"gs_fn_push:\n\tpush %rbx\n\tpop %rbx\n\tret\n"
	".size gs_fn_push, .-gs_fn_push\n"
	".globl gs_fn_sub\n.type gs_fn_sub,@function\n"
	"gs_fn_sub:\n\tsub $8, %rsp\n\tadd $8, %rsp\n\tret\n"
	".size gs_fn_sub, .-gs_fn_sub\n");

#include <sys/sdt.h>

__attribute__((noinline)) void gs_site_usdt1(unsigned a)
{
	STAP_PROBE4(probecost, nop1, (unsigned char)a, a, a, 0);
	__asm__ volatile("" ::: "memory");
}

#undef _SDT_NOP
#define _SDT_NOP .byte 0x0f; .byte 0x1f; .byte 0x44; .byte 0x00; .byte 0x00
/* named gil:acquired so gilscope's usdt_acquired program attaches as is */
__attribute__((noinline)) void gs_site_usdt5(unsigned a)
{
	STAP_PROBE4(gil, acquired, (unsigned char)a, a, a, 0);
	__asm__ volatile("" ::: "memory");
}

enum site { S_USDT5, S_USDT1, S_PUSH, S_SUB };

static double loop_ns(enum site s, long n, int reps)
{
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = gs_now_ns();
		for (long i = 0; i < n; i++) {
			switch (s) {
			case S_USDT5: gs_site_usdt5((unsigned)i); break;
			case S_USDT1: gs_site_usdt1((unsigned)i); break;
			case S_PUSH: gs_fn_push(); break;
			case S_SUB: gs_fn_sub(); break;
			}
		}
		double per = (double)(gs_now_ns() - t0) / (double)n;
		if (per < best)
			best = per;
	}
	return best;
}

static char self[4096];
static uint64_t off_push, off_sub;

static int find_offsets(void)
{
	const char *names[] = { "gs_fn_push", "gs_fn_sub" };
	struct gs_elf_sym sym[2];
	struct gs_elf_info info;
	char msg[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = 0;
	if (gs_elf_lookup(self, names, 2, sym, &info, msg, sizeof(msg)) ||
	    !sym[0].found || !sym[1].found) {
		fprintf(stderr, "probecost: %s: own symbols not found\n", self);
		return -1;
	}
	off_push = sym[0].offset[0];
	off_sub = sym[1].offset[0];
	if (sym[0].single_step[0] || !sym[1].single_step[0])
		fprintf(stderr, "probecost: warning: first-instruction classes "
				"not as expected\n");
	return 0;
}

struct result {
	const char *name;
	double ns;     /* per call, over the untraced loop */
	double base;
};

static struct result results[32];
static int nresults;

static void add(const char *name, double traced, double base)
{
	results[nresults++] = (struct result){ name, traced - base, base };
}

/* The bare counter on one site. */
static int bare(const char *name, enum site s, int kind, long n, int reps,
		double base)
{
	struct probecost_bpf *k = probecost_bpf__open_and_load();
	if (!k) {
		fprintf(stderr, "probecost: loading probecost.bpf.o: %s\n", strerror(errno));
		return -1;
	}
	struct bpf_link *l = NULL;
	if (kind == 0)
		l = bpf_program__attach_usdt(k->progs.count_usdt, getpid(), self,
					     s == S_USDT5 ? "gil" : "probecost",
					     s == S_USDT5 ? "acquired" : "nop1", NULL);
	else
		l = bpf_program__attach_uprobe(kind == 2 ? k->progs.count_uretprobe
							  : k->progs.count_uprobe,
					       kind == 2, getpid(), self,
					       s == S_PUSH ? off_push : off_sub);
	if (!l) {
		fprintf(stderr, "probecost: attaching %s: %s\n", name, strerror(errno));
		probecost_bpf__destroy(k);
		return -1;
	}
	add(name, loop_ns(s, n, reps), base);
	bpf_link__destroy(l);
	probecost_bpf__destroy(k);
	return 0;
}

static atomic_int draining;
static atomic_ulong received;

static int on_sample(void *ctx, void *data, size_t size)
{
	(void)ctx; (void)data; (void)size;
	atomic_fetch_add_explicit(&received, 1, memory_order_relaxed);
	return 0;
}

static void *drain(void *arg)
{
	struct ring_buffer *rb = arg;
	while (atomic_load(&draining)) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		ring_buffer__consume(rb);
	}
	ring_buffer__consume(rb);
	return NULL;
}

/* gilscope's recording programs, ring buffer drained on a timer as in
 * gilscope record. */
static int gilscope_cost(const char *name, int uprobe, long n, int reps,
			 double base, unsigned long *events, unsigned long *drops)
{
	struct gilscope_bpf *k = gilscope_bpf__open();
	if (!k)
		return -1;
	k->rodata->targ_tgid = (__u32)getpid();
	k->rodata->emit_events = 1;
	struct bpf_program *p;
	bpf_object__for_each_program(p, k->obj) {
		const char *pn = bpf_program__name(p);
		bpf_program__set_autoload(p, uprobe ? !strncmp(pn, "py3_take_gil", 12)
						    : !strcmp(pn, "usdt_acquired"));
	}
	if (gilscope_bpf__load(k)) {
		fprintf(stderr, "probecost: loading gilscope.bpf.o failed\n");
		gilscope_bpf__destroy(k);
		return -1;
	}
	struct bpf_link *l1 = NULL, *l2 = NULL;
	if (uprobe) {
		l1 = bpf_program__attach_uprobe(k->progs.py3_take_gil, 0, getpid(), self, off_push);
		l2 = bpf_program__attach_uprobe(k->progs.py3_take_gil_ret, 1, getpid(), self, off_push);
	} else {
		l1 = bpf_program__attach_usdt(k->progs.usdt_acquired, getpid(), self,
					      "gil", "acquired", NULL);
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(k->maps.rb), on_sample, NULL, NULL);
	if (!l1 || (uprobe && !l2) || !rb) {
		fprintf(stderr, "probecost: attaching %s failed\n", name);
		bpf_link__destroy(l1);
		bpf_link__destroy(l2);
		ring_buffer__free(rb);
		gilscope_bpf__destroy(k);
		return -1;
	}
	pthread_t th;
	atomic_store(&received, 0);
	atomic_store(&draining, 1);
	pthread_create(&th, NULL, drain, rb);
	add(name, loop_ns(uprobe ? S_PUSH : S_USDT5, n, reps), base);
	atomic_store(&draining, 0);
	pthread_join(th, NULL);
	*events = atomic_load(&received);
	__u32 key = 1; /* GSB_CNT_DROPS */
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long *v = calloc((size_t)ncpu, sizeof(*v));
	*drops = 0;
	if (v && !bpf_map_lookup_elem(bpf_map__fd(k->maps.counters), &key, v))
		for (int c = 0; c < ncpu; c++)
			*drops += v[c];
	free(v);
	bpf_link__destroy(l1);
	bpf_link__destroy(l2);
	ring_buffer__free(rb);
	gilscope_bpf__destroy(k);
	return 0;
}

static int silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l; (void)f; (void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	long n = 200000;
	int reps = 5, json = 0, pairs = 5, c;
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		CLI_OPT_JSON,
		{ "pairs", required_argument, NULL, 'p' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "n:r:p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = atol(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'j': json = 1; break;
		case 'p': pairs = atoi(optarg); break;
		case 'h':
			printf("Usage: gilscope-probecost [-n CALLS] [-r REPS] [-p PAIRS] [--json]\n"
			       "Cost of one probe hit by kind (root; see docs/observer-effect.md).\n");
			return 0;
		default: return 2;
		}
	}
	if (n <= 0 || reps <= 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "gilscope-probecost: needs root (uprobes, BPF)\n");
		return 1;
	}
	libbpf_set_print(silent);
	if (find_offsets())
		return 1;

	double b5 = loop_ns(S_USDT5, n, reps), b1 = loop_ns(S_USDT1, n, reps);
	double bp = loop_ns(S_PUSH, n, reps), bs = loop_ns(S_SUB, n, reps);
	unsigned long ev_u = 0, dr_u = 0, ev_p = 0, dr_p = 0;
	if (bare("usdt-nop5 counter", S_USDT5, 0, n, reps, b5) ||
	    bare("usdt-nop1 counter", S_USDT1, 0, n, reps, b1) ||
	    bare("uprobe-push counter", S_PUSH, 1, n, reps, bp) ||
	    bare("uprobe-sub counter", S_SUB, 1, n, reps, bs) ||
	    bare("uretprobe-push counter", S_PUSH, 2, n, reps, bp) ||
	    bare("uretprobe-sub counter", S_SUB, 2, n, reps, bs) ||
	    gilscope_cost("usdt-nop5 gilscope record", 0, n, reps, b5, &ev_u, &dr_u) ||
	    gilscope_cost("uprobe+uretprobe-push gilscope record", 1, n, reps, bp,
			  &ev_p, &dr_p))
		return 1;

	/* The ratio the goal is about, from interleaved pairs (bare, then
	 * gilscope) so that a load change between the two counts less. */
	double ratios[15];
	int npairs = pairs < 15 ? pairs : 15;
	for (int i = 0; i < npairs; i++) {
		int mark = nresults;
		unsigned long ev, dr;
		if (bare("pair bare", S_USDT5, 0, n, reps, b5) ||
		    gilscope_cost("pair gilscope", 0, n, reps, b5, &ev, &dr))
			return 1;
		ratios[i] = results[mark + 1].ns / results[mark].ns;
		nresults = mark;
	}
	for (int i = 1; i < npairs; i++)
		for (int j = i; j > 0 && ratios[j] < ratios[j - 1]; j--) {
			double x = ratios[j];
			ratios[j] = ratios[j - 1];
			ratios[j - 1] = x;
		}
	double ratio_med = npairs ? ratios[npairs / 2] : 0;
	double bare_usdt = results[0].ns, rec_usdt = results[6].ns;
	if (json) {
		printf("{\"calls\":%ld,\"reps\":%d,\"ns_per_hit\":{", n, reps);
		for (int i = 0; i < nresults; i++)
			printf("%s\"%s\":%.1f", i ? "," : "", results[i].name, results[i].ns);
		printf("},\"record_vs_bare_usdt\":%.2f,\"record_vs_bare_usdt_pairs\":{"
		       "\"n\":%d,\"median\":%.2f,\"min\":%.2f,\"max\":%.2f},"
		       "\"events_usdt\":%lu,\"drops_usdt\":%lu,"
		       "\"events_uprobe\":%lu,\"drops_uprobe\":%lu}\n",
		       bare_usdt > 0 ? rec_usdt / bare_usdt : 0.0, npairs, ratio_med,
		       npairs ? ratios[0] : 0, npairs ? ratios[npairs - 1] : 0,
		       ev_u, dr_u, ev_p, dr_p);
		return 0;
	}
	printf("probe cost per hit (min of %d x %ld calls, over the untraced call)\n",
	       reps, n);
	for (int i = 0; i < nresults; i++)
		printf("  %-40s %8.1f ns   (untraced call %.1f ns)\n", results[i].name,
		       results[i].ns, results[i].base);
	printf("gilscope record on the USDT site: %.2fx the bare counter "
	       "(%lu events received, %lu dropped in the last repetition)\n",
	       bare_usdt > 0 ? rec_usdt / bare_usdt : 0.0, ev_u, dr_u);
	if (npairs)
		printf("  over %d interleaved pairs: median %.2fx (min %.2fx, max %.2fx)\n",
		       npairs, ratio_med, ratios[0], ratios[npairs - 1]);
	return 0;
}
