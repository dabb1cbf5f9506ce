/* SPDX-License-Identifier: MIT */
/* See pbenc.h. */
#include "pbenc.h"

#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

static int reserve(struct gs_pb *pb, size_t n)
{
	if (pb->oom)
		return -1;
	if (pb->len + n <= pb->cap)
		return 0;
	size_t cap = pb->cap ? pb->cap : 256;
	while (cap < pb->len + n)
		cap *= 2;
	uint8_t *p = realloc(pb->buf, cap);
	if (!p) {
		pb->oom = 1;
		return -1;
	}
	pb->buf = p;
	pb->cap = cap;
	return 0;
}

static void raw_varint(struct gs_pb *pb, uint64_t v)
{
	if (reserve(pb, 10))
		return;
	while (v >= 0x80) {
		pb->buf[pb->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	pb->buf[pb->len++] = (uint8_t)v;
}

static void key(struct gs_pb *pb, uint32_t field, unsigned wt)
{
	raw_varint(pb, ((uint64_t)field << 3) | wt);
}

void gs_pb_reset(struct gs_pb *pb)
{
	pb->len = 0;
	pb->oom = 0;
}

void gs_pb_free(struct gs_pb *pb)
{
	free(pb->buf);
	memset(pb, 0, sizeof(*pb));
}

void gs_pb_varint(struct gs_pb *pb, uint32_t field, uint64_t v)
{
	key(pb, field, WT_VARINT);
	raw_varint(pb, v);
}

void gs_pb_sint(struct gs_pb *pb, uint32_t field, int64_t v)
{
	/* int64 fields carry negatives as 10-byte two's complement varints. */
	gs_pb_varint(pb, field, (uint64_t)v);
}

void gs_pb_fixed64(struct gs_pb *pb, uint32_t field, uint64_t v)
{
	key(pb, field, WT_I64);
	if (reserve(pb, 8))
		return;
	for (int i = 0; i < 8; i++)
		pb->buf[pb->len++] = (uint8_t)(v >> (8 * i));
}

void gs_pb_double(struct gs_pb *pb, uint32_t field, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	gs_pb_fixed64(pb, field, bits);
}

void gs_pb_bytes(struct gs_pb *pb, uint32_t field, const void *p, size_t n)
{
	key(pb, field, WT_LEN);
	raw_varint(pb, n);
	if (!n || reserve(pb, n))
		return;
	memcpy(pb->buf + pb->len, p, n);
	pb->len += n;
}

void gs_pb_string(struct gs_pb *pb, uint32_t field, const char *s)
{
	gs_pb_bytes(pb, field, s, strlen(s));
}

void gs_pb_message(struct gs_pb *pb, uint32_t field, const struct gs_pb *sub)
{
	if (sub->oom)
		pb->oom = 1;
	gs_pb_bytes(pb, field, sub->buf, sub->len);
}
