/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the CTF mapping layer (analysis/sources/source_ctf.c),
 * i.e. what gilscope does with the messages libbabeltrace2 makes of an
 * LTTng-UST trace: event classes to catalog events, payload fields, the
 * vtid/vpid and cpu_id contexts, clock snapshots, thread names.
 *
 * An input is the event records of one packet.  The target wraps them in
 * the packet header and context of a real gilscope-lttng trace
 * (ctf/packet-head, with content and packet sizes fitted to the input) and
 * puts that trace's metadata (ctf/metadata) next to it.  Mutations thus
 * reach event decoding and our mapping; the packet framing and the TSDL
 * parser are babeltrace2's, and mutating them only finds babeltrace2's own
 * assertions (docs/reliability.md lists the ones seen).
 */
#define _GNU_SOURCE
#include <babeltrace2/babeltrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#ifndef GS_FUZZ_CTF_DIR
#error "GS_FUZZ_CTF_DIR: path of tests/fuzz/ctf"
#endif

/* LTTng-UST 64-bit packet: header (magic, uuid, stream_id,
 * stream_instance_id) then context (timestamp_begin, timestamp_end,
 * content_size, packet_size, packet_seq_num, events_discarded, cpu_id). */
#define HEAD_LEN 84
#define CONTENT_SIZE_OFF 48 /* bits, u64 LE */
#define PACKET_SIZE_OFF 56
#define MAX_EVENTS (60 * 1024)

static uint8_t metadata[1 << 16], head[HEAD_LEN];
static size_t metadata_len;
static uint8_t packet[HEAD_LEN + MAX_EVENTS + 4096];

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", GS_FUZZ_CTF_DIR, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		abort();
	}
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!metadata_len) {
		/* Keep the plugins loaded for the whole run: the reader loads
		 * them at every open, and unloading them between inputs would
		 * leave leak reports without symbols. */
		static const bt_plugin *keep[2];
		bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE,
			       BT_FALSE, &keep[0]);
		bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE,
			       BT_FALSE, &keep[1]);
		metadata_len = load("metadata", metadata, sizeof(metadata));
		if (load("packet-head", head, sizeof(head)) != HEAD_LEN)
			abort();
	}
	if (size > MAX_EVENTS)
		size = MAX_EVENTS;
	size_t content = HEAD_LEN + size;
	size_t total = (content + 4095) / 4096 * 4096;
	memcpy(packet, head, HEAD_LEN);
	memcpy(packet + HEAD_LEN, data, size);
	memset(packet + content, 0, total - content);
	put_u64(packet + CONTENT_SIZE_OFF, (uint64_t)content * 8);
	put_u64(packet + PACKET_SIZE_OFF, (uint64_t)total * 8);

	gs_fuzz_write("ctf/metadata", metadata, metadata_len);
	gs_fuzz_write("ctf/ch_0", packet, total);
	char path[160];
	snprintf(path, sizeof(path), "%s/ctf", gs_fuzz_dir());
	gs_fuzz_read(gs_source_ctf_open, path, 0, 0);
	return 0;
}
