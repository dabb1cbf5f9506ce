/* SPDX-License-Identifier: MIT */
/*
 * Code locations a program publishes (libgil's gil_code_location /
 * gil_set_code_location, docs/api.md): an interned table of (function,
 * file, line), append only, and the calling thread's current location.
 *
 * The hot path never touches the table: setting the current location is a
 * thread-local store, and only the out-of-line firing functions of
 * acquire_request and release (probe_fire.c), which run only while a
 * listener is on, read it and emit a `stack` event before their event.
 * The built-in recorder writes a STACK block (kind GS_STACK_CODE_LOCATION,
 * one frame) per interned location, as they appear.
 */
#ifndef GILSCOPE_CODE_LOCATIONS_H
#define GILSCOPE_CODE_LOCATIONS_H

#include <stddef.h>
#include <stdint.h>

#define GS_CODE_LOCATIONS_MAX 4096

/* The id of (function, file, line), interning it on first sight (strings
 * copied, compared by content; at most 255 bytes each kept). Thread safe.
 * 0 when the table is full or out of memory (the location is then not
 * recorded). Ids carry GS_STACK_ID_LOCATION (trace_stacks.h). */
uint32_t gs_code_location_intern(const char *function, const char *file,
				 int line);

/* The calling thread's current location (0: none). */
extern __thread uint32_t gs_code_location_current
	__attribute__((visibility("hidden"), tls_model("initial-exec")));

/* Locations interned so far; the first n are readable with _get. */
uint32_t gs_code_locations_count(void);
/* The location with index i (< count): 0, or -1. */
int gs_code_location_get(uint32_t i, uint32_t *id, const char **function,
			 const char **file, int *line);

#endif
