/* SPDX-License-Identifier: MIT */
/*
 * A minimal protocol-buffers encoder, enough for Perfetto traces: varint,
 * fixed64, double and length-delimited fields (strings and nested messages).
 * Wire format (protobuf.dev/programming-guides/encoding): every field is a
 * varint key (field_number << 3 | wire_type) then the value; wire types used
 * here are 0 (varint), 1 (64-bit), 2 (length-delimited).
 *
 * Nested messages are built in their own gs_pb and appended with
 * gs_pb_message(), which writes the length prefix; messages here are small
 * (one TracePacket), so the copy costs nothing that matters. Why not
 * protobuf-c: it needs generated code from Perfetto's .proto files (Apache-2
 * sources we would vendor) for four message types and a dozen fields.
 */
#ifndef GILSCOPE_PBENC_H
#define GILSCOPE_PBENC_H

#include <stddef.h>
#include <stdint.h>

struct gs_pb {
	uint8_t *buf;
	size_t len, cap;
	int oom;         /* an append failed; the buffer is incomplete */
};

void gs_pb_reset(struct gs_pb *pb);  /* len = 0, keeps the memory */
void gs_pb_free(struct gs_pb *pb);

void gs_pb_varint(struct gs_pb *pb, uint32_t field, uint64_t v);
void gs_pb_sint(struct gs_pb *pb, uint32_t field, int64_t v); /* int64, not zigzag */
void gs_pb_fixed64(struct gs_pb *pb, uint32_t field, uint64_t v);
void gs_pb_double(struct gs_pb *pb, uint32_t field, double v);
void gs_pb_bytes(struct gs_pb *pb, uint32_t field, const void *p, size_t n);
void gs_pb_string(struct gs_pb *pb, uint32_t field, const char *s);
void gs_pb_message(struct gs_pb *pb, uint32_t field, const struct gs_pb *sub);

#endif
