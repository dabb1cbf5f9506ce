/* SPDX-License-Identifier: MIT */
/*
 * gs_scenario_run(): picks the scenario and runs it. Apart from common.c so
 * the helpers every scenario uses sit below the scenarios, and the one
 * function that knows them all sits above them (no file calls back into a
 * file that calls it).
 */
#include <errno.h>
#include <string.h>

#include "scenario_internal.h"

int gs_scenario_run(enum gs_scenario_kind kind,
		    const struct gs_scenario_opts *o,
		    struct gs_scenario_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->params = o->params;
	if (!r->params.interval_us)
		r->params.interval_us = GIL_DEFAULT_INTERVAL_US;
	if (!r->params.check_ticks)
		r->params.check_ticks = GIL_DEFAULT_CHECK_TICKS;
	r->work_unit_ns = gs_work_unit_ns();
	if (gs_validate_common(o, err, errlen))
		return -1;
	int rc;
	switch (kind) {
	case GS_SCN_COUNTDOWN: rc = gs_countdown_run(o, r, err, errlen); break;
	case GS_SCN_CONVOY: rc = gs_convoy_run(o, r, err, errlen); break;
	case GS_SCN_PRIORITY: rc = gs_priority_run(o, r, err, errlen); break;
	case GS_SCN_IO: rc = gs_io_run(o, r, err, errlen); break;
	default:
		gs_errf(err, errlen, "unknown scenario %d", (int)kind);
		errno = EINVAL;
		return -1;
	}
	r->interrupted = gs_scenario_stop_requested();
	if (rc) {
		int e = errno;
		gs_scenario_result_free(r);
		errno = e;
	}
	return rc;
}
