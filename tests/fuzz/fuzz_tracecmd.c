/* SPDX-License-Identifier: MIT */
/* libFuzzer target: trace-cmd report text (analysis/sources/source_tracecmd.c + source_text.c).
 * Each input is read twice, strict and with allow_truncated. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gs_fuzz_read_file(gs_source_tracecmd_open, "report.txt", data, size,
			  GS_FUZZ_WHERE_LINE);
	return 0;
}
