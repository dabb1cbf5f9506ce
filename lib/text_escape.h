/* SPDX-License-Identifier: MIT */
/*
 * Text taken from an input file (a trace line, a path, a thread name) is
 * escaped before it reaches a terminal in a message: a control byte (ESC
 * starts the sequences that move the cursor, recolour or retitle a
 * terminal), a C1 control or a byte that is not UTF-8 is shown as \xNN, a
 * backslash as \\. Printable ASCII and valid UTF-8 pass unchanged.
 */
#ifndef GILSCOPE_TEXT_ESCAPE_H
#define GILSCOPE_TEXT_ESCAPE_H

#include <stddef.h>

/* Escapes the NUL-terminated s into out (always terminated; cut with "..."
 * when out is too small). Returns out. */
const char *gs_text_escape(const char *s, char *out, size_t outlen);
/* The same for n bytes that may contain NULs. */
const char *gs_text_escape_n(const char *s, size_t n, char *out, size_t outlen);

#endif
