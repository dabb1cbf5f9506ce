/* SPDX-License-Identifier: MIT */
#include "output_check.h"

#include <errno.h>
#include <string.h>

/* The stream whose failure was already reported: a later check of it
 * (a command's own, then main's at exit) fails silently. */
static FILE *reported;

static int report(FILE *f, const char *prog, const char *what, int err)
{
	if (f == reported)
		return -1;
	reported = f;
	/* stderr may be the failing stream too; nothing more to do then.
	 * err is 0 when the write failed earlier: stdio keeps only the
	 * error flag, not its errno. */
	if (err)
		fprintf(stderr, "%s: writing %s: %s\n", prog, what, strerror(err));
	else
		fprintf(stderr, "%s: writing %s failed (output lost: disk full "
			"or device error)\n", prog, what);
	return -1;
}

int gs_output_flush(FILE *f, const char *prog, const char *what)
{
	errno = 0;
	if (fflush(f) != 0 || ferror(f))
		return report(f, prog, what, errno);
	return 0;
}

int gs_output_close(FILE *f, const char *prog, const char *what)
{
	errno = 0;
	int bad = fflush(f) != 0 || ferror(f);
	int err = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		err = errno;
	}
	return bad ? report(f, prog, what, err) : 0;
}
