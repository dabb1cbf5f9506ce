/* SPDX-License-Identifier: MIT */
#include "cli_suggest.h"

#include <string.h>

#define MAXLEN 64

unsigned cli_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la >= MAXLEN || lb >= MAXLEN)
		return 255;
	/* Three rows suffice for the swap of neighbours. */
	unsigned rows[3][MAXLEN + 1];
	unsigned *pp = rows[0], *p = rows[1], *c = rows[2];
	for (size_t j = 0; j <= lb; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned d = p[j] + 1;
			if (c[j - 1] + 1 < d)
				d = c[j - 1] + 1;
			if (p[j - 1] + cost < d)
				d = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			c[j] = d;
		}
		unsigned *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb] > 255 ? 255 : p[lb];
}

const char *cli_suggest(const char *word, const char *const *choices, size_t n)
{
	size_t len = strlen(word);
	if (!len)
		return NULL;
	const char *best = NULL, *prefix = NULL;
	unsigned best_d = len <= 4 ? 2 : 3;
	size_t nprefix = 0;
	for (size_t i = 0; i < n; i++) {
		if (!choices[i])
			continue;
		if (!strncmp(choices[i], word, len)) {
			prefix = choices[i];
			nprefix++;
		}
		unsigned d = cli_edit_distance(word, choices[i]);
		if (d < best_d) {
			best_d = d;
			best = choices[i];
		}
	}
	if (best)
		return best;
	return nprefix == 1 ? prefix : NULL;
}
