/* SPDX-License-Identifier: MIT */
/* Sums of per-thread GIL counters (hostwide.h): what the exposition and
 * top -a add up; no BPF here, so unit tests compile it in. */
#include "hostwide.h"

void gs_hw_add(struct gsa_thread *a, const struct gsa_thread *b)
{
	a->hold_ns += b->hold_ns;
	for (int i = 0; i < GSA_WHY_MAX; i++) {
		a->wait_ns[i] += b->wait_ns[i];
		a->waits[i] += b->waits[i];
	}
	a->acquisitions += b->acquisitions;
	a->contended += b->contended;
	for (int i = 0; i < GSA_REASON_MAX; i++)
		a->releases[i] += b->releases[i];
	a->handoffs += b->handoffs;
	a->handoffs_failed += b->handoffs_failed;
	a->drop_requests += b->drop_requests;
	a->convoy_loss_ns += b->convoy_loss_ns;
	a->convoy_losses += b->convoy_losses;
	a->inversion_ns += b->inversion_ns;
	for (int i = 0; i < GSA_BUCKETS; i++) {
		a->hold_hist[i] += b->hold_hist[i];
		a->wait_hist[i] += b->wait_hist[i];
	}
}

void gs_hw_add_thread(struct gsa_thread *a, const struct gs_hw_thread *t)
{
	gs_hw_add(a, &t->v);
	a->hold_ns += t->open_hold_ns;
	a->wait_ns[t->open_why & (GSA_WHY_MAX - 1)] += t->open_wait_ns;
}
