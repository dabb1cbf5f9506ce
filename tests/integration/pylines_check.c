/* SPDX-License-Identifier: MIT */
/*
 * Feeds line tables to gs_py_addr2line() (tools/bpf/pylines.c) for
 * pylines_tables.sh. stdin, one code object per line:
 *   KIND FIRSTLINENO TABLE_HEX OFFSET:LINE OFFSET:LINE ...
 * (LINE -1: CPython has no line there). Prints one line per mismatch and
 * "N checked, M mismatches" at the end; exit 1 on a mismatch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pylines.h"

int main(void)
{
	static char buf[1 << 20];
	static uint8_t table[1 << 18];
	unsigned long checked = 0, bad = 0, unknown = 0;
	while (fgets(buf, sizeof(buf), stdin)) {
		int kind;
		unsigned first;
		char *p = buf, *end;
		kind = (int)strtol(p, &end, 10);
		p = end;
		first = (unsigned)strtoul(p, &end, 10);
		p = end + 1;
		size_t n = 0;
		while (*p && *p != ' ' && *p != '\n' && n < sizeof(table)) {
			unsigned v;
			if (sscanf(p, "%2x", &v) != 1)
				break;
			table[n++] = (uint8_t)v;
			p += 2;
		}
		if (*p == '-')
			p++;
		for (char *tok = strtok(p, " \n"); tok; tok = strtok(NULL, " \n")) {
			int off, want;
			if (sscanf(tok, "%d:%d", &off, &want) != 2)
				continue;
			uint32_t line = 0;
			int known = gs_py_addr2line(kind, table, n, 0, first, off, &line);
			checked++;
			if (want < 0) {
				if (known) {
					printf("kind %d first %u offset %d: got line %u, CPython has none\n",
					       kind, first, off, line);
					bad++;
				}
			} else if (!known) {
				unknown++;
				printf("kind %d first %u offset %d: no line, CPython says %d\n",
				       kind, first, off, want);
				bad++;
			} else if ((int)line != want) {
				printf("kind %d first %u offset %d: line %u, CPython says %d\n",
				       kind, first, off, line, want);
				bad++;
			}
		}
	}
	printf("%lu checked, %lu mismatches\n", checked, bad);
	return bad ? 1 : 0;
}
