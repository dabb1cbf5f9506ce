/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the native trace format (analysis/sources/source_native.c).
 * Each input is read twice, strict and with allow_truncated. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gs_fuzz_read_file(gs_source_native_open, "trace.gst", data, size,
			  GS_FUZZ_ORDERED | GS_FUZZ_WHERE_OFFSET);
	return 0;
}
