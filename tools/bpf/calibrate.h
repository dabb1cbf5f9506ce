/* SPDX-License-Identifier: MIT */
/*
 * What a probe hit costs on this machine now, measured while a recording
 * runs instead of taken from constants measured once at another load
 * (docs/observer-effect.md, "The cost"):
 *  - the trap: a uprobe (first instruction emulated, as at every light-set
 *    site) on a function of the recorder's own, with the cheapest BPF
 *    program (probes/bpf/probecost.bpf.c's counter), called a few hundred
 *    times per sample; the call's time with the probe, minus without,
 *    minus the counter program's own run time, is the kernel's round trip;
 *    a second such function with an entry and a return probe (as take_gil
 *    has) gives what the return adds;
 *  - the refill: what the traced program itself loses after each trap.
 *    The trap's kernel path (entry, uprobe lookup, the BPF program, the
 *    return) evicts lines of the CPU's L1 caches, and a program whose
 *    working set fills them, as an interpreter's does, must fetch those
 *    lines again: user time the trap round trip above does not hold
 *    (its loop has a working set of a few bytes). Measured with work of
 *    exactly that kind between calls: a walk over a buffer of the L1
 *    data cache's size, one read per cache line, and a run through as
 *    much straight code as the L1 instruction cache holds, after each
 *    call of the probed site (called 8 calls deep, as CPython's GIL
 *    functions are) and, interleaved, of an unprobed twin; the probed
 *    blocks' extra time, less their programs' run time, less the trap
 *    alone from the same sample, is the refill;
 *  - the BPF programs' own run time at the target's sites, from the
 *    kernel's statistics (BPF_ENABLE_STATS) in windows: held for the whole
 *    recording they cost every hit of every program two more clock reads,
 *    ~45 ns on this VM (docs/performance.md, item 3), so the cost meter
 *    (cost_meter.h) turns them on only for short stretches and prices the
 *    rest of the hits at the per-hit run time measured in them.
 * Needs CAP_SYS_ADMIN for the statistics; without them or the probe the
 * estimate keeps the constants (session.h GS_COST_*).
 */
#ifndef GILSCOPE_CALIBRATE_H
#define GILSCOPE_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

struct bpf_object;
struct probecost_bpf;
struct bpf_link;

#define GS_CALIB_MAX_SAMPLES 256

struct gs_calib {
	struct probecost_bpf *skel;
	struct bpf_link *link, *link_ret, *link_ret2;
	int stats_fd;           /* BPF_ENABLE_STATS while on, -1: off */
	double bare_ns;         /* one call of the site, unprobed */
	double samples[GS_CALIB_MAX_SAMPLES]; /* trap round trips, ns */
	double ret_samples[GS_CALIB_MAX_SAMPLES]; /* a return probe's extra */
	int nsamples;
	/* the refill's work: a buffer of the L1 data cache's size, read
	 * once per line of line bytes after every call */
	volatile unsigned char *work;
	size_t work_len, line;
	void (*code)(void);     /* ... then run as much code as the L1
				 * instruction cache holds */
	double refill_samples[GS_CALIB_MAX_SAMPLES]; /* per trap, ns; may be < 0 */
	int nrefill;
};

/* Checks that the statistics can be enabled (they stay off), attaches the
 * calibration probe. 0, or -1 when either is impossible (nothing then stays
 * attached). */
int gs_calib_start(struct gs_calib *c);
/* The kernel's BPF run-time statistics on (0, or -1: refused) or off. */
int gs_calib_stats_on(struct gs_calib *c);
void gs_calib_stats_off(struct gs_calib *c);
/* One sample of the trap's round trip (a few hundred calls). */
void gs_calib_sample(struct gs_calib *c);
/* The median sample in ns, or -1 without any: an entry probe's trap; what
 * a return probe on the same function adds. */
double gs_calib_trap_ns(const struct gs_calib *c);
double gs_calib_ret_ns(const struct gs_calib *c);
/* The median refill per trap in ns (0 when the median is below 0), or -1
 * without any sample. */
double gs_calib_refill_ns(const struct gs_calib *c);
/* The smallest and largest trap and refill samples (ns; -1 without any):
 * how far one recording's medians may be off. */
void gs_calib_spread(const struct gs_calib *c, double trap[2], double refill[2]);
/* One program's run time (ns) and runs while the statistics were on
 * (bpf_prog_info); 0, or -1 when unreadable. */
int gs_calib_prog_stats(int fd, uint64_t *ns, uint64_t *cnt);
/* Run time (ns) of obj's programs that probe the target (uprobes, USDT,
 * uretprobes; not the scheduler's) while the statistics were on. */
uint64_t gs_calib_prog_ns(const struct gs_calib *c, struct bpf_object *obj);
/* Detaches the probe, disables the statistics. */
void gs_calib_end(struct gs_calib *c);

#endif
