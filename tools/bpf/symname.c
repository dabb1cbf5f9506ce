/* SPDX-License-Identifier: MIT */
#include "symname.h"

#include <string.h>

/* Suffix components that name a piece of a function, not a copy of it. */
static int is_fragment(const char *comp, size_t len)
{
	return (len == 4 && !strncmp(comp, "cold", 4)) ||
	       (len == 4 && !strncmp(comp, "part", 4));
}

int gs_symname_is_entry(const char *sym, const char *want)
{
	size_t n = strlen(want);
	if (strncmp(sym, want, n))
		return 0;
	const char *p = sym + n;
	if (!*p)
		return 1;
	if (*p != '.')
		return 0;               /* take_gil_foo is another function */
	/* Every component is checked: LTO appends its own (.lto_priv.0)
	 * before GCC's split marks (.cold), so `.cold` need not come first. */
	while (*p == '.') {
		const char *comp = p + 1;
		size_t len = strcspn(comp, ".");
		if (!len || is_fragment(comp, len))
			return 0;
		p = comp + len;
	}
	return 1;
}
