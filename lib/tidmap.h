/* SPDX-License-Identifier: MIT */
/*
 * Thread id -> dense index (the position of the thread in the caller's own
 * array). Open addressing with linear probing, at most half full; a zeroed
 * struct is an empty map. Used wherever a stream of events names threads by
 * tid and the per-thread data lives in an array.
 */
#ifndef GILSCOPE_TIDMAP_H
#define GILSCOPE_TIDMAP_H

#include <stddef.h>
#include <stdint.h>

#define GS_TIDMAP_NONE UINT32_MAX

struct gs_tidmap_slot {
	uint32_t tid;
	uint32_t idx1;          /* index + 1; 0 = empty slot */
};

struct gs_tidmap {
	struct gs_tidmap_slot *slot;
	size_t mask;            /* slots - 1 (a power of two) */
	size_t count;
};

static inline size_t gs_tidmap_hash(uint32_t tid)
{
	return (size_t)(tid * 2654435761u); /* Knuth's multiplicative hash */
}

/* The index stored for tid, or GS_TIDMAP_NONE. */
static inline uint32_t gs_tidmap_get(const struct gs_tidmap *m, uint32_t tid)
{
	if (!m->slot)
		return GS_TIDMAP_NONE;
	for (size_t i = gs_tidmap_hash(tid) & m->mask;; i = (i + 1) & m->mask) {
		const struct gs_tidmap_slot *s = &m->slot[i];
		if (!s->idx1)
			return GS_TIDMAP_NONE;
		if (s->tid == tid)
			return s->idx1 - 1;
	}
}

/* Maps tid to idx (< GS_TIDMAP_NONE). A tid already in the map keeps its
 * first index. Returns 0, or -1 when memory runs out (map unchanged). */
int gs_tidmap_put(struct gs_tidmap *m, uint32_t tid, uint32_t idx);

void gs_tidmap_free(struct gs_tidmap *m);

#endif
