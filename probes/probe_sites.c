/* SPDX-License-Identifier: MIT */
#include "probe_sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* An LTO build has dozens of inline sites per function: the first few say
 * enough on one line. */
#define SHOWN 6

void gs_probe_sites_print(FILE *out, const char *prefix,
			  const struct gs_probe_site *sites, size_t n)
{
	char *done = calloc(n ? n : 1, 1);
	if (!done)
		return;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		const struct gs_probe_site *p = &sites[i];
		int blen = (int)strcspn(p->what, "@");
		size_t count = 0;
		fprintf(out, "%s%.*s %s, %s, in %s:", prefix, blen, p->what,
			gs_probe_kind_name(p->kind), gs_placement_name(p->method),
			p->object);
		for (size_t k = i; k < n; k++) {
			const struct gs_probe_site *q = &sites[k];
			if (done[k] || q->method != p->method || q->kind != p->kind ||
			    strncmp(q->what, p->what, (size_t)blen) ||
			    (q->what[blen] && q->what[blen] != '@') ||
			    strcmp(q->object, p->object))
				continue;
			done[k] = 1;
			if (count++ < SHOWN)
				fprintf(out, " 0x%" PRIx64 "%s%s", q->vaddr,
					q->what[blen] ? " in " : "",
					q->what[blen] ? q->what + blen + 1 : "");
		}
		if (count > SHOWN)
			fprintf(out, " ... (%zu sites)", count);
		fputc('\n', out);
	}
	free(done);
}
