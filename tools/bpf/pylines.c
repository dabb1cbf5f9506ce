/* SPDX-License-Identifier: MIT */
#include "pylines.h"

#include <linux/types.h>

#include "pystack.h"

/* 3.6-3.9: (address increment, signed line increment) byte pairs; 2.7:
 * the same with unsigned line increments. */
static int lnotab(const uint8_t *p, size_t len, int truncated, int32_t line,
		  int32_t target, int is_signed, uint32_t *out)
{
	int32_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += p[i];
		if (addr > target) {
			*out = (uint32_t)line;
			return 1;
		}
		line += is_signed ? (int8_t)p[i + 1] : p[i + 1];
	}
	if (truncated)
		return 0; /* the rest of the table might move the line */
	*out = (uint32_t)line;
	return 1;
}

/* 3.10: (start delta, signed line delta) pairs; -128 = no line. */
static int linetable310(const uint8_t *p, size_t len, int32_t line,
			int32_t target, uint32_t *out)
{
	int32_t start = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int32_t end = start + p[i];
		int8_t ld = (int8_t)p[i + 1];
		int has_line = ld != -128;
		if (has_line)
			line += ld;
		if (target >= start && target < end) {
			if (!has_line)
				return 0;
			*out = (uint32_t)line;
			return 1;
		}
		start = end;
	}
	return 0;
}

static int varint(const uint8_t *p, size_t len, size_t *i, uint32_t *v)
{
	uint32_t r = 0;
	int shift = 0;
	while (*i < len) {
		uint8_t b = p[(*i)++];
		r |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64)) {
			*v = r;
			return 0;
		}
		if (shift > 30)
			return -1;
	}
	return -1;
}

static int svarint(const uint8_t *p, size_t len, size_t *i, int32_t *v)
{
	uint32_t u;
	if (varint(p, len, i, &u))
		return -1;
	*v = (u & 1) ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return 0;
}

/* 3.11+: entries of a header byte 1cccclll (code c, length l+1 code
 * units) and a code-specific tail. */
static int locations(const uint8_t *p, size_t len, int32_t line, int32_t target,
		     uint32_t *out)
{
	size_t i = 0;
	int32_t addr = 0;
	while (i < len) {
		uint8_t h = p[i++];
		if (!(h & 0x80))
			return 0; /* lost sync: not a table we understand */
		int code = (h >> 3) & 15;
		int32_t end = addr + ((h & 7) + 1) * 2;
		int has_line = 1;
		uint32_t skip;
		int32_t d;
		if (code == 15) {
			has_line = 0;
		} else if (code == 14) {
			if (svarint(p, len, &i, &d) || varint(p, len, &i, &skip) ||
			    varint(p, len, &i, &skip) || varint(p, len, &i, &skip))
				return 0;
			line += d;
		} else if (code == 13) {
			if (svarint(p, len, &i, &d))
				return 0;
			line += d;
		} else if (code >= 10) {
			line += code - 10;
			i += 2;
		} else {
			i += 1;
		}
		if (i > len)
			return 0;
		if (target >= addr && target < end) {
			if (!has_line)
				return 0;
			*out = (uint32_t)line;
			return 1;
		}
		addr = end;
	}
	return 0;
}

int gs_py_addr2line(int kind, const uint8_t *table, size_t len, int truncated,
		    uint32_t firstlineno, int32_t offset, uint32_t *line)
{
	if (offset < 0 || !table)
		return 0;
	switch (kind) {
	case GSB_LASTI_BYTES:
		return lnotab(table, len, truncated, (int32_t)firstlineno, offset, 1, line);
	case GSB_LASTI_BYTES27:
		return lnotab(table, len, truncated, (int32_t)firstlineno, offset, 0, line);
	case GSB_LASTI_UNITS:
		return linetable310(table, len, (int32_t)firstlineno, offset, line);
	case GSB_LASTI_POINTER:
		return locations(table, len, (int32_t)firstlineno, offset, line);
	}
	return 0;
}
