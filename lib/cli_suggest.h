/* SPDX-License-Identifier: MIT */
/*
 * "Did you mean": the known word nearest to a mistyped one, for commands,
 * scenarios, policies, formats and long options. Nearest is the optimal
 * string alignment distance (insert, delete, substitute, swap two
 * neighbours), accepted when it is at most 1 for words up to 4 characters
 * and 2 above; a word that is the start of exactly one choice also matches.
 */
#ifndef GILSCOPE_CLI_SUGGEST_H
#define GILSCOPE_CLI_SUGGEST_H

#include <stddef.h>

/* The choice to suggest for WORD, or NULL when none is near enough. CHOICES
 * holds N words; a NULL entry is skipped. */
const char *cli_suggest(const char *word, const char *const *choices, size_t n);

/* Distance between A and B as defined above (capped at 255). */
unsigned cli_edit_distance(const char *a, const char *b);

#endif
