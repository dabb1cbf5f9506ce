/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer: commas, nesting and string escaping are its
 * business, so callers only say what goes where.
 *
 *     struct json_writer j;
 *     json_init(&j, stdout, 1);       // 1 = pretty (indented)
 *     json_begin_object(&j, NULL);
 *     json_uint(&j, "count", 3);
 *     json_begin_array(&j, "items");
 *     json_string(&j, NULL, "a");
 *     json_end(&j);
 *     json_end(&j);                   // final newline written here
 */
#ifndef GILSCOPE_JSON_WRITER_H
#define GILSCOPE_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *out;
	int pretty;
	int depth;
	int count[JSON_MAX_DEPTH]; /* members written at each level */
	char close[JSON_MAX_DEPTH]; /* '}' or ']' for each open level */
};

void json_init(struct json_writer *j, FILE *out, int pretty);
/* key is NULL inside arrays and for the top-level value. */
void json_begin_object(struct json_writer *j, const char *key);
void json_begin_array(struct json_writer *j, const char *key);
void json_end(struct json_writer *j);
void json_string(struct json_writer *j, const char *key, const char *value);
void json_uint(struct json_writer *j, const char *key, uint64_t value);
void json_int(struct json_writer *j, const char *key, int64_t value);
/* Non-finite values are written as null. */
void json_double(struct json_writer *j, const char *key, double value);
/* value / 10^decimals written exactly (no binary rounding): 1234567 with 3
 * decimals is 1234.567. For nanosecond times shown in microseconds. */
void json_fixed(struct json_writer *j, const char *key, int64_t value,
		unsigned decimals);
void json_bool(struct json_writer *j, const char *key, int value);
void json_null(struct json_writer *j, const char *key);

/* Writes s as a JSON string literal (with quotes). */
void json_write_escaped(FILE *out, const char *s);

#endif
