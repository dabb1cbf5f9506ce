/* SPDX-License-Identifier: MIT */
/* Name tables generated from the catalog (gil_events.h). */
#include <stddef.h>
#include <string.h>

#include "gil_events.h"

struct event_desc {
	const char *name;
	const char *args[3];
	const char *doc;
};

static const struct event_desc events[GS_EV_MAX] = {
#define GS_X_DESC(id, name, a8, a0, a1, s, from, doc)                             \
	[id] = { #name, { #a8, #a0, #a1 }, doc },
	GS_EVENT_CATALOG(GS_X_DESC)
#undef GS_X_DESC
};

const char *gs_event_name(unsigned type)
{
	if (type < GS_EV_MAX && events[type].name)
		return events[type].name;
	return NULL;
}

const char *gs_event_arg_name(unsigned type, unsigned which)
{
	if (type >= GS_EV_MAX || !events[type].name || which > 2)
		return NULL;
	const char *n = events[type].args[which];
	return strncmp(n, "unused", 6) == 0 ? NULL : n;
}

const char *gs_event_description(unsigned type)
{
	return type < GS_EV_MAX ? events[type].doc : NULL;
}

int gs_event_lookup(const char *name)
{
	for (unsigned i = 1; i < GS_EV_MAX; i++)
		if (events[i].name && strcmp(events[i].name, name) == 0)
			return (int)i;
	return -1;
}

#define TABLE_LOOKUP(table, i)                                              \
	((i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] : "?")

static const char *const why_names[] = { "first", "after_blocking",
					 "after_forced", "after_interval" };
static const char *const release_names[] = { "blocking", "interval", "forced",
					     "exit", "unknown" };
static const char *const kind_names[] = { "other", "read", "write", "recv",
					  "send", "sleep", "fsync", "accept" };
static const char *const role_names[] = { "other", "main", "cpu", "io",
					  "server", "client", "high_prio" };
static const char *const sched_names[] = { "preempted", "blocked" };

const char *gs_why_name(unsigned why) { return TABLE_LOOKUP(why_names, why); }
const char *gs_release_reason_name(unsigned r) { return TABLE_LOOKUP(release_names, r); }
const char *gs_blocking_kind_name(unsigned k) { return TABLE_LOOKUP(kind_names, k); }
const char *gs_role_name(unsigned r) { return TABLE_LOOKUP(role_names, r); }
const char *gs_sched_state_name(unsigned s) { return TABLE_LOOKUP(sched_names, s); }

int gs_role_lookup(const char *name)
{
	for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(role_names[i], name) == 0)
			return (int)i;
	return -1;
}
