/* SPDX-License-Identifier: MIT */
/*
 * The gilscope native trace file, version 2 (specified in docs/trace-format.md;
 * readers also read version 1, which had no checksums).
 *
 *   file   := header block*            (blocks end with exactly one END block)
 *   block  := gs_block_header payload  (payload is 8-byte aligned, size % 8 == 0)
 *
 * Little-endian, fixed-width fields only. Every block carries a CRC32C of
 * itself (header included) and its sequence number, so a flipped byte, a
 * lost or a repeated block is found, not read as data. Records are grouped
 * in CHUNK blocks; every chunk belongs to one thread and is sorted by time,
 * so a reader merges the per-thread streams by timestamp. A THREAD block
 * always precedes the first chunk of its thread. Writers stream: blocks
 * reach the file as they complete (at least once a second), so a file cut
 * anywhere is readable up to its last whole block. The END block carries
 * per-thread lost counts; a file without it was cut short.
 */
#ifndef GILSCOPE_TRACE_FORMAT_H
#define GILSCOPE_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define GS_TRACE_MAGIC "GILSCOPE"   /* 8 bytes, no terminator in the file */
#define GS_TRACE_VERSION_MAJOR 2    /* readers refuse majors they do not know */
#define GS_TRACE_VERSION_MINOR 3    /* readers accept newer minors;
					1: PROBES blocks; 2: STACK blocks, `stack` events;
					3: native stacks (native_stack_id, STACK kind 2,
					frame flag NATIVE), code locations (kind 3) */
#define GS_TRACE_VERSION_MAJOR_OLDEST 1 /* still read: no checksums, 8-byte
					   block headers, 144-byte header */

/* The clock every timestamp is taken on (ns). */
enum gs_trace_clock {
	GS_CLOCK_MONOTONIC = 1, /* CLOCK_MONOTONIC == bpf_ktime_get_ns() */
};

/* Who wrote the trace. */
enum gs_trace_source {
	GS_SOURCE_LIBGIL = 1,  /* built-in recorder inside a libgil process */
	GS_SOURCE_EBPF = 2,    /* gilscope record (USDT or CPython uprobes) */
	GS_SOURCE_REPLAY = 3,  /* gilscope replay */
	GS_SOURCE_CONVERTED = 4,
};

/* Runtime flavour the trace describes (what the GIL implementation was). */
enum gs_trace_runtime {
	GS_RUNTIME_LIBGIL = 1,
	GS_RUNTIME_CPYTHON2 = 2,
	GS_RUNTIME_CPYTHON3 = 3,
};

struct gs_file_header {
	char magic[8];            /* GS_TRACE_MAGIC */
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_size;     /* sizeof(struct gs_file_header) as written */
	uint32_t clock;           /* enum gs_trace_clock */
	uint32_t source;          /* enum gs_trace_source */
	uint32_t runtime;         /* enum gs_trace_runtime */
	uint32_t pid;             /* traced process */
	uint64_t start_ns;        /* trace clock at start */
	uint64_t start_realtime_ns; /* CLOCK_REALTIME at start, for humans */
	uint32_t policy;          /* enum gil_policy for libgil, else 0 */
	uint32_t interval_us;     /* switch interval (cpython, fifo, prio) */
	uint32_t check_ticks;     /* legacy check interval */
	uint32_t flags;           /* GS_HDR_F_* */
	char policy_name[16];     /* "cpython", "legacy", "cpython-3.11", ... */
	char command[64];         /* scenario or command line, NUL padded */
	/* version 2 on (version 1 ends here, at 144 bytes) */
	uint32_t header_crc32c;   /* CRC32C of the header_size bytes with
				     this field taken as 0 */
	uint32_t reserved;        /* 0 */
};
#define GS_FILE_HEADER_V1_SIZE 144u

/* Fills the header's command: a command line longer than the field keeps
 * its start and ends in "...", so a reader never takes a cut value
 * ("--units 1500" for "--units 150000000") for the real one. */
static inline void gs_header_set_command(struct gs_file_header *h,
					 const char *cmd)
{
	size_t n = 0, cap = sizeof(h->command);
	while (cmd && cmd[n] && n < cap)
		n++;
	for (size_t i = 0; i < cap; i++)
		h->command[i] = i < n ? cmd[i] : 0;
	if (n == cap) {
		h->command[cap - 4] = h->command[cap - 3] = h->command[cap - 2] = '.';
		h->command[cap - 1] = 0;
	}
}

#define GS_HDR_F_SCHED_EVENTS 0x1u /* scheduler events were recorded */
#define GS_HDR_F_SEM_LOCK 0x2u     /* legacy policy on a sem_t */
/* Some events were inferred, not observed (gilscope record's light probes:
 * CPython 2.7's releases, 3.x's blocking_end), so their order against other
 * threads' events is approximate: readers treat a sequence that cannot
 * happen as a gap in that thread, not as a corrupt trace. */
#define GS_HDR_F_INFERRED 0x4u

/* Block types carry a 'GS' tag in the high half so a reader that lands on
 * garbage knows at once it is not looking at a block. A type with
 * GS_BLOCK_F_OPTIONAL may be skipped by a reader that does not know it (its
 * checksum is still verified); any other unknown type is an error. Adding a
 * block type: docs/trace-format.md, "Adding a block type". */
#define GS_BLOCK_TAG 0x47530000u
#define GS_BLOCK_TAG_MASK 0xffff0000u
#define GS_BLOCK_F_OPTIONAL 0x00008000u
enum gs_block_type {
	GS_BLOCK_THREAD = GS_BLOCK_TAG | 1,
	GS_BLOCK_CHUNK = GS_BLOCK_TAG | 2,
	GS_BLOCK_END = GS_BLOCK_TAG | 3,
	/* 2.1: where the tracer's probes sat (struct gs_probes_block) */
	GS_BLOCK_PROBES = GS_BLOCK_TAG | GS_BLOCK_F_OPTIONAL | 4,
	/* 2.2: code locations `stack` events name (trace_stacks.h) */
	GS_BLOCK_STACK = GS_BLOCK_TAG | GS_BLOCK_F_OPTIONAL | 5,
	/* next free: GS_BLOCK_TAG | 6 (required) or
	 * GS_BLOCK_TAG | GS_BLOCK_F_OPTIONAL | 6 (skippable) */
};

struct gs_block_header {
	uint32_t type;            /* enum gs_block_type */
	uint32_t size;            /* payload bytes after this header */
	uint32_t crc32c;          /* CRC32C of this header (with crc32c = 0)
				     followed by the payload */
	uint32_t seq;             /* 0 for the first block, +1 for each next */
};

/* Version 1's block header: no checksum, no sequence number. */
struct gs_block_header_v1 {
	uint32_t type;
	uint32_t size;
};

struct gs_thread_block {
	uint32_t tid;
	uint32_t role;            /* enum gs_thread_role */
	int32_t os_prio;          /* see docs/events.md: higher = more important */
	int32_t gil_prio;         /* priority given at attach */
	uint64_t start_ns;
	char name[32];            /* NUL padded */
};

/* One event, as stored. 24 bytes; the catalog fixes what a8/a0/a1 mean. */
struct gs_record {
	uint64_t ts_ns;
	uint32_t tid;
	uint16_t cpu;
	uint8_t type;             /* enum gs_event_type */
	uint8_t a8;
	uint32_t a0;
	uint32_t a1;
};

struct gs_chunk_block {
	uint32_t tid;             /* every record in the chunk has this tid */
	uint32_t nrecords;
	uint64_t first_ns;        /* == records[0].ts_ns */
	uint64_t last_ns;         /* == records[nrecords-1].ts_ns */
	/* struct gs_record records[nrecords]; sorted by ts_ns */
};

struct gs_end_thread {
	uint32_t tid;
	uint32_t reserved;
	uint64_t records;         /* records of this thread in the file */
	uint64_t lost;            /* events dropped (buffer full / ring overrun) */
};

struct gs_end_block {
	uint64_t end_ns;
	uint64_t total_records;
	uint64_t total_lost;
	uint32_t nthreads;
	uint32_t flags;           /* GS_END_F_* */
	/* struct gs_end_thread threads[nthreads]; */
};

#define GS_END_F_INTERRUPTED 0x1u /* stopped by a signal, not by the program */

_Static_assert(sizeof(struct gs_file_header) == 152, "header layout");
_Static_assert(sizeof(struct gs_record) == 24, "record layout");
_Static_assert(sizeof(struct gs_block_header) == 16, "block header layout");
_Static_assert(sizeof(struct gs_block_header_v1) == 8, "v1 block header layout");
_Static_assert(sizeof(struct gs_thread_block) == 56, "thread block layout");
_Static_assert(sizeof(struct gs_chunk_block) == 24, "chunk block layout");
_Static_assert(sizeof(struct gs_end_block) == 32, "end block layout");
_Static_assert(sizeof(struct gs_end_thread) == 24, "end thread layout");

/* How a tracer found the address it probes (PROBES block, `record -v`). */
enum gs_placement {
	GS_PLACE_SYMTAB = 1,       /* the object's own .symtab */
	GS_PLACE_DYNSYM = 2,       /* exported symbol (.dynsym) */
	GS_PLACE_DEBUG_FILE = 3,   /* .symtab of a detached debug file found by
				      build id or .gnu_debuglink */
	GS_PLACE_DEBUGINFOD = 4,   /* debug file fetched through debuginfod */
	GS_PLACE_DWARF_INLINE = 5, /* entry of a DW_TAG_inlined_subroutine */
	GS_PLACE_SYMBOL_FREE = 6,  /* found without symbols (docs/symbol-free.md) */
	GS_PLACE_USDT = 7,         /* a USDT note (.note.stapsdt) */
	GS_PLACE_MAX
};

enum gs_probe_kind {
	GS_PROBE_ENTRY = 1,        /* uprobe at the address */
	GS_PROBE_RETURN = 2,       /* uretprobe on the function at the address */
	GS_PROBE_USDT_SITE = 3,
	GS_PROBE_CALL = 4,         /* uprobe on a call (or tail jmp) of `what`'s
				      function, before it runs */
	GS_PROBE_AFTER_CALL = 5,   /* uprobe on the first instruction the kernel
				      emulates after such a call returned */
	GS_PROBE_KIND_MAX = GS_PROBE_AFTER_CALL,
};

/* One probed address. A PROBES block holds a u32 count, a u32 reserved (0)
 * and that many sites; at most one PROBES block, before the first CHUNK. */
struct gs_probe_site {
	uint64_t vaddr;           /* address in the object (ELF st_value) */
	uint64_t file_offset;     /* what the uprobe was given */
	uint32_t method;          /* enum gs_placement */
	uint32_t kind;            /* enum gs_probe_kind */
	char what[40];            /* "drop_gil", "drop_gil@PyEval_SaveThread" */
	char object[64];          /* file the address is in (its last 63 bytes) */
};

static inline const char *gs_placement_name(uint32_t method)
{
	static const char *const names[GS_PLACE_MAX] = {
		[GS_PLACE_SYMTAB] = "symbol table",
		[GS_PLACE_DYNSYM] = "dynamic symbol",
		[GS_PLACE_DEBUG_FILE] = "debug file",
		[GS_PLACE_DEBUGINFOD] = "debuginfod",
		[GS_PLACE_DWARF_INLINE] = "DWARF inline site",
		[GS_PLACE_SYMBOL_FREE] = "symbol-free",
		[GS_PLACE_USDT] = "USDT note",
	};
	return method < GS_PLACE_MAX && names[method] ? names[method] : "unknown";
}

static inline const char *gs_probe_kind_name(uint32_t kind)
{
	return kind == GS_PROBE_ENTRY ? "entry" : kind == GS_PROBE_RETURN ? "return"
	     : kind == GS_PROBE_USDT_SITE ? "usdt" : kind == GS_PROBE_CALL ? "call"
	     : kind == GS_PROBE_AFTER_CALL ? "after call" : "unknown";
}

struct gs_probes_block {
	uint32_t nsites;
	uint32_t reserved;
	/* struct gs_probe_site sites[nsites]; */
};

_Static_assert(sizeof(struct gs_probe_site) == 128, "probe site layout");
_Static_assert(sizeof(struct gs_probes_block) == 8, "probes block layout");

#endif
