/* SPDX-License-Identifier: MIT */
#include "json_writer.h"

#include <inttypes.h>
#include <math.h>

void json_init(struct json_writer *j, FILE *out, int pretty)
{
	j->out = out;
	j->pretty = pretty;
	j->depth = 0;
	j->count[0] = 0;
}

void json_write_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void indent(struct json_writer *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Comma, newline, indentation and "key": before a value. */
static void member(struct json_writer *j, const char *key)
{
	if (j->depth > 0) {
		if (j->count[j->depth]++)
			fputc(',', j->out);
		indent(j);
	}
	if (key) {
		json_write_escaped(j->out, key);
		fputs(j->pretty ? ": " : ":", j->out);
	}
}

static void begin(struct json_writer *j, const char *key, char open)
{
	member(j, key);
	fputc(open, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
	j->close[j->depth] = open == '{' ? '}' : ']';
}

void json_begin_object(struct json_writer *j, const char *key) { begin(j, key, '{'); }
void json_begin_array(struct json_writer *j, const char *key) { begin(j, key, '['); }

void json_end(struct json_writer *j)
{
	int had = j->count[j->depth];
	char close = j->close[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (had)
		indent(j);
	fputc(close, j->out);
	if (j->depth == 0)
		fputc('\n', j->out);
}

void json_string(struct json_writer *j, const char *key, const char *value)
{
	member(j, key);
	json_write_escaped(j->out, value);
}

void json_uint(struct json_writer *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

void json_int(struct json_writer *j, const char *key, int64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRId64, value);
}

void json_double(struct json_writer *j, const char *key, double value)
{
	member(j, key);
	if (isfinite(value))
		fprintf(j->out, "%.10g", value);
	else
		fputs("null", j->out);
}

void json_fixed(struct json_writer *j, const char *key, int64_t value,
		unsigned decimals)
{
	uint64_t scale = 1;
	for (unsigned i = 0; i < decimals && i < 18; i++)
		scale *= 10;
	member(j, key);
	uint64_t mag = value < 0 ? -(uint64_t)value : (uint64_t)value;
	fprintf(j->out, "%s%" PRIu64, value < 0 ? "-" : "", mag / scale);
	if (scale > 1 && mag % scale)
		fprintf(j->out, ".%0*" PRIu64, (int)decimals, mag % scale);
}

void json_bool(struct json_writer *j, const char *key, int value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

void json_null(struct json_writer *j, const char *key)
{
	member(j, key);
	fputs("null", j->out);
}
