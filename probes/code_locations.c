/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "code_locations.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "trace_stacks.h"

__thread uint32_t gs_code_location_current
	__attribute__((tls_model("initial-exec")));

struct location {
	char *function, *file;
	int line;
};

/* A fixed array: readers (the recorder's collector) index it without the
 * lock up to the published count, so it never moves. */
static struct location table[GS_CODE_LOCATIONS_MAX];
static _Atomic uint32_t published;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static char *copy(const char *s)
{
	return strndup(s ? s : "", 255);
}

static int same(const struct location *l, const char *function,
		const char *file, int line)
{
	return l->line == line && !strncmp(l->function, function ? function : "", 255) &&
	       !strncmp(l->file, file ? file : "", 255);
}

uint32_t gs_code_location_intern(const char *function, const char *file,
				 int line)
{
	uint32_t id = 0;
	pthread_mutex_lock(&lock);
	uint32_t n = atomic_load_explicit(&published, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		if (same(&table[i], function, file, line)) {
			id = GS_STACK_ID_LOCATION | (i + 1);
			break;
		}
	if (!id && n < GS_CODE_LOCATIONS_MAX) {
		struct location l = { copy(function), copy(file), line };
		if (l.function && l.file) {
			table[n] = l;
			atomic_store_explicit(&published, n + 1, memory_order_release);
			id = GS_STACK_ID_LOCATION | (n + 1);
		} else {
			free(l.function);
			free(l.file);
		}
	}
	pthread_mutex_unlock(&lock);
	return id;
}

uint32_t gs_code_locations_count(void)
{
	return atomic_load_explicit(&published, memory_order_acquire);
}

int gs_code_location_get(uint32_t i, uint32_t *id, const char **function,
			 const char **file, int *line)
{
	if (i >= gs_code_locations_count())
		return -1;
	*id = GS_STACK_ID_LOCATION | (i + 1);
	*function = table[i].function;
	*file = table[i].file;
	*line = table[i].line;
	return 0;
}
