/* SPDX-License-Identifier: MIT */
#include "tidmap.h"

#include <stdlib.h>

static void place(struct gs_tidmap_slot *slot, size_t mask, uint32_t tid,
		  uint32_t idx1)
{
	size_t i = gs_tidmap_hash(tid) & mask;
	while (slot[i].idx1)
		i = (i + 1) & mask;
	slot[i].tid = tid;
	slot[i].idx1 = idx1;
}

int gs_tidmap_put(struct gs_tidmap *m, uint32_t tid, uint32_t idx)
{
	if (gs_tidmap_get(m, tid) != GS_TIDMAP_NONE)
		return 0;
	size_t slots = m->slot ? m->mask + 1 : 0;
	if ((m->count + 1) * 2 > slots) {
		size_t grown = slots ? slots * 2 : 64;
		struct gs_tidmap_slot *s = calloc(grown, sizeof(*s));
		if (!s)
			return -1;
		for (size_t i = 0; i < slots; i++)
			if (m->slot[i].idx1)
				place(s, grown - 1, m->slot[i].tid, m->slot[i].idx1);
		free(m->slot);
		m->slot = s;
		m->mask = grown - 1;
	}
	place(m->slot, m->mask, tid, idx + 1);
	m->count++;
	return 0;
}

void gs_tidmap_free(struct gs_tidmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
	m->count = 0;
}
