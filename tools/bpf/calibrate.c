/* SPDX-License-Identifier: MIT */
/* The per-hit cost of a probe, measured during the recording (calibrate.h). */
#define _GNU_SOURCE
#include "calibrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probecost.skel.h"

/* The calibration site: its first instruction is a push, which the kernel
 * emulates, as at every light-set site (take_gil, drop_gil and
 * PyEval_SaveThread start with push; 2.7's sites are call/jmp). */
void gs_calib_site(void);
void gs_calib_site_ret(void);
void gs_calib_site_bare(void); /* the refill's unprobed twin */
extern const unsigned char gs_calib_code[], gs_calib_code_end[];
#define CODE_STEP 5
__asm__(".text\n"
	".globl gs_calib_site\n.type gs_calib_site,@function\n"
	"gs_calib_site:\n\tpush %rbx\n\tpop %rbx\n\tret\n"
	".size gs_calib_site, .-gs_calib_site\n"
	".globl gs_calib_site_bare\n.type gs_calib_site_bare,@function\n"
	"gs_calib_site_bare:\n\tpush %rbx\n\tpop %rbx\n\tret\n"
	".size gs_calib_site_bare, .-gs_calib_site_bare\n"
	/* the refill's code: 64 KiB of 5-byte instructions, entered
	 * CODE_STEP-aligned as far before the end as the L1 instruction
	 * cache is large */
	".globl gs_calib_code\n.type gs_calib_code,@function\n"
	"gs_calib_code:\n\t.rept 13107\n\taddl $0x12345,%eax\n\t.endr\n"
	".globl gs_calib_code_end\ngs_calib_code_end:\n\tret\n"
	".size gs_calib_code, .-gs_calib_code\n"
	".globl gs_calib_site_ret\n.type gs_calib_site_ret,@function\n"
	"gs_calib_site_ret:\n\tpush %rbx\n\tpop %rbx\n\tret\n"
	".size gs_calib_site_ret, .-gs_calib_site_ret\n");

#define CALLS 200
/* the refill's sample: ROUNDS blocks of BLOCK calls with the work after
 * each, probed and unprobed alternating (which goes first too), so that
 * a change of the CPU's speed within the sample hits both alike; ~3 ms of
 * the recorder's CPU per sample (every 0.5 s): a difference of ~100 ns
 * on calls of ~3 us needs that many */
#define BLOCK 10
#define ROUNDS 50

/* The file offset of our own code at address addr, from /proc/self/maps
 * (the binary may be stripped: no symbol lookup). */
static int self_offset(const void *addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	char line[4608];
	int rc = -1;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, foff;
		char perm[8];
		int pos = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &lo, &hi, perm, &foff,
			   &pos) != 4 || a < lo || a >= hi)
			continue;
		const char *p = line + pos;
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, "\n");
		if (*p != '/' || n >= len)
			break;
		memcpy(path, p, n);
		path[n] = 0;
		*off = a - lo + foff;
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The thread's CPU time per call, not the wall time: the trap and the
 * program run in this thread's context, and on a loaded machine a sample
 * preempted for a few milliseconds would read microseconds per call (at
 * load 7-10, unisolated, wall-clock samples gave 5 us per trap). */
static double time_calls(void (*site)(void))
{
	uint64_t t0 = thread_cpu_ns();
	for (int i = 0; i < CALLS; i++) {
		site();
		__asm__ volatile("" ::: "memory");
	}
	return (double)(thread_cpu_ns() - t0) / CALLS;
}

/* The refill's work: one read per cache line of a buffer the L1 data
 * cache's size, so that the whole cache holds the program's lines, as an
 * interpreter's working set fills it, and every line the trap's path
 * evicts is one the work must fetch again. */
static void walk(const struct gs_calib *c)
{
	unsigned sum = 0;
	for (size_t i = 0; i < c->work_len; i += c->line)
		sum += c->work[i];
	__asm__ volatile("" ::"r"(sum) : "memory");
	c->code();
}

/* The site called DEPTH calls down, as CPython's GIL functions sit below
 * its eval loop (3.11's os.read: _PyEval_EvalFrameDefault,
 * PyObject_Vectorcall, cfunction_vectorcall_FASTCALL, os_read, _Py_read,
 * PyEval_SaveThread, drop_gil): the returns after a trap find the CPU's
 * return predictions filled by the kernel's path. */
#define DEPTH 8
static __attribute__((noinline)) void nested(void (*site)(void), int depth)
{
	if (depth > 0)
		nested(site, depth - 1);
	else
		site();
	__asm__ volatile("" ::: "memory");
}

static uint64_t time_work_block(const struct gs_calib *c, void (*site)(void))
{
	uint64_t t0 = thread_cpu_ns();
	for (int i = 0; i < BLOCK; i++) {
		nested(site, DEPTH);
		walk(c);
	}
	return thread_cpu_ns() - t0;
}

int gs_calib_prog_stats(int fd, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

int gs_calib_start(struct gs_calib *c)
{
	memset(c, 0, sizeof(*c));
	c->stats_fd = -1;
	char path[4096], path_ret[4096];
	uint64_t off, off_ret;
	if (self_offset((const void *)gs_calib_site, path, sizeof(path), &off) ||
	    self_offset((const void *)gs_calib_site_ret, path_ret, sizeof(path_ret),
			&off_ret))
		return -1;
	double bare = 1e30;
	for (int i = 0; i < 5; i++) {
		double t = time_calls(gs_calib_site);
		if (t < bare)
			bare = t;
	}
	c->bare_ns = bare;
	long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
	c->work_len = l1 > 0 ? (size_t)l1 : 32768;
	c->line = line > 0 ? (size_t)line : 64;
	void *work = aligned_alloc(4096, (c->work_len + 4095) / 4096 * 4096);
	if (!work)
		goto fail;
	memset(work, 1, c->work_len);
	c->work = work;
	long l1i = sysconf(_SC_LEVEL1_ICACHE_SIZE);
	size_t code_len = l1i > 0 ? (size_t)l1i : 32768,
	       code_max = (size_t)(gs_calib_code_end - gs_calib_code);
	if (code_len > code_max)
		code_len = code_max;
	c->code = (void (*)(void))(uintptr_t)(gs_calib_code_end -
					       code_len / CODE_STEP * CODE_STEP);
	/* only tried here: samples and windows turn them on when needed */
	if (gs_calib_stats_on(c))
		goto fail;
	gs_calib_stats_off(c);
	c->skel = probecost_bpf__open();
	if (!c->skel)
		goto fail;
	bpf_program__set_autoload(c->skel->progs.count_usdt, false);
	if (probecost_bpf__load(c->skel))
		goto fail;
	/* the second site has an entry and a return probe, as take_gil */
	c->link = bpf_program__attach_uprobe(c->skel->progs.count_uprobe, false,
					     getpid(), path, (size_t)off);
	c->link_ret = bpf_program__attach_uprobe(c->skel->progs.count_uprobe, false,
						 getpid(), path_ret, (size_t)off_ret);
	c->link_ret2 = bpf_program__attach_uprobe(c->skel->progs.count_uretprobe, true,
						  getpid(), path_ret, (size_t)off_ret);
	if (!c->link || !c->link_ret || !c->link_ret2)
		goto fail;
	return 0;
fail:
	gs_calib_end(c);
	return -1;
}

int gs_calib_stats_on(struct gs_calib *c)
{
	if (c->stats_fd < 0)
		c->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return c->stats_fd < 0 ? -1 : 0;
}

void gs_calib_stats_off(struct gs_calib *c)
{
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	c->stats_fd = -1;
}

/* The programs' own time per call comes from the statistics, the calls'
 * time with them off: a hit of the target's probes pays the statistics'
 * two clock reads only inside a window (calibrate.h), so the trap measured
 * with them on would price every hit too high. */
void gs_calib_sample(struct gs_calib *c)
{
	if (!c->link || c->nsamples >= GS_CALIB_MAX_SAMPLES)
		return;
	int was_on = c->stats_fd >= 0;
	if (gs_calib_stats_on(c))
		return;
	int fd = bpf_program__fd(c->skel->progs.count_uprobe);
	int fd_ret = bpf_program__fd(c->skel->progs.count_uretprobe);
	uint64_t ns0, n0, ns1, n1, ns2, n2, rns0, rn0, rns1, rn1;
	int ok = !gs_calib_prog_stats(fd, &ns0, &n0) &&
		 !gs_calib_prog_stats(fd_ret, &rns0, &rn0);
	if (ok) {
		time_calls(gs_calib_site);
		ok = !gs_calib_prog_stats(fd, &ns1, &n1) && n1 - n0 == CALLS;
	}
	if (ok) {
		time_calls(gs_calib_site_ret);
		ok = !gs_calib_prog_stats(fd, &ns2, &n2) &&
		     !gs_calib_prog_stats(fd_ret, &rns1, &rn1) &&
		     n2 - n1 == CALLS && rn1 - rn0 == CALLS;
	}
	gs_calib_stats_off(c);
	double per = time_calls(gs_calib_site);
	double per_ret = time_calls(gs_calib_site_ret);
	/* the refill (calibrate.h), statistics off as for the trap */
	uint64_t probed = 0, unprobed = 0;
	int refill_ok = ok && c->work;
	if (refill_ok) {
		walk(c);
		for (int r = 0; r < ROUNDS; r++) {
			if (r % 2) {
				unprobed += time_work_block(c, gs_calib_site_bare);
				probed += time_work_block(c, gs_calib_site);
			} else {
				probed += time_work_block(c, gs_calib_site);
				unprobed += time_work_block(c, gs_calib_site_bare);
			}
		}
	}
	if (was_on)
		gs_calib_stats_on(c);
	if (!ok)
		return; /* not every call hit: not a sample */
	double trap = per - c->bare_ns - (double)(ns1 - ns0) / CALLS;
	/* entry and return, minus the entry alone, minus the return's
	 * program (the entry's is in both) */
	double ret = per_ret - per - (double)(rns1 - rns0) / CALLS;
	(void)ns2;
	if (trap > 0 && ret > 0) {
		c->samples[c->nsamples] = trap;
		c->ret_samples[c->nsamples++] = ret;
		if (refill_ok)
			/* the probed calls' extra time with the work after
			 * each, less the same calls' extra time without it
			 * (the trap and its program) */
			c->refill_samples[c->nrefill++] =
				((double)probed - (double)unprobed) / (double)(BLOCK * ROUNDS) -
				(per - c->bare_ns);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *s, int n)
{
	if (!n)
		return -1;
	double v[GS_CALIB_MAX_SAMPLES];
	memcpy(v, s, sizeof(double) * (size_t)n);
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double gs_calib_trap_ns(const struct gs_calib *c)
{
	return median(c->samples, c->nsamples);
}

double gs_calib_ret_ns(const struct gs_calib *c)
{
	return median(c->ret_samples, c->nsamples);
}

double gs_calib_refill_ns(const struct gs_calib *c)
{
	if (!c->nrefill)
		return -1;
	double r = median(c->refill_samples, c->nrefill);
	return r > 0 ? r : 0;
}

static void min_max(const double *s, int n, double out[2])
{
	out[0] = out[1] = -1;
	for (int i = 0; i < n; i++) {
		if (!i || s[i] < out[0])
			out[0] = s[i];
		if (!i || s[i] > out[1])
			out[1] = s[i];
	}
}

void gs_calib_spread(const struct gs_calib *c, double trap[2], double refill[2])
{
	min_max(c->samples, c->nsamples, trap);
	min_max(c->refill_samples, c->nrefill, refill);
}

uint64_t gs_calib_prog_ns(const struct gs_calib *c, struct bpf_object *obj)
{
	uint64_t sum = 0;
	struct bpf_program *p;
	(void)c;
	bpf_object__for_each_program(p, obj) {
		enum bpf_prog_type t = bpf_program__type(p);
		uint64_t ns, cnt;
		if (!bpf_program__autoload(p) || t != BPF_PROG_TYPE_KPROBE ||
		    bpf_program__fd(p) < 0 || gs_calib_prog_stats(bpf_program__fd(p), &ns, &cnt))
			continue;
		sum += ns;
	}
	return sum;
}

void gs_calib_end(struct gs_calib *c)
{
	struct bpf_link **links[] = { &c->link, &c->link_ret, &c->link_ret2 };
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (*links[i])
			bpf_link__destroy(*links[i]);
		*links[i] = NULL;
	}
	if (c->skel)
		probecost_bpf__destroy(c->skel);
	c->skel = NULL;
	gs_calib_stats_off(c);
	free((void *)c->work);
	c->work = NULL;
}
