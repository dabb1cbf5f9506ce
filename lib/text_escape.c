/* SPDX-License-Identifier: MIT */
#include "text_escape.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (2-4), or 0; C1 controls
 * (U+0080..U+009F) count as invalid: terminals may act on them. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min;
	unsigned c = p[0];
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0xa0; /* U+00A0: past C1 */
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

const char *gs_text_escape_n(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	if (!outlen)
		return out;
	for (size_t i = 0; i < n;) {
		char piece[8];
		size_t plen, adv = 1;
		if (p[i] == '\\') {
			memcpy(piece, "\\\\", 2);
			plen = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			piece[0] = (char)p[i];
			plen = 1;
		} else if (p[i] >= 0x80 && (adv = utf8_len(p + i, n - i)) != 0) {
			memcpy(piece, p + i, adv);
			plen = adv;
		} else {
			adv = 1;
			piece[0] = '\\';
			piece[1] = 'x';
			piece[2] = hex[p[i] >> 4];
			piece[3] = hex[p[i] & 15];
			plen = 4;
		}
		if (o + plen + 1 > outlen) {
			/* cut: leave room for "..." */
			while (o > 0 && o + 4 > outlen)
				o--;
			while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
				o--; /* not inside a UTF-8 sequence */
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += adv;
	}
	out[o] = 0;
	return out;
}

const char *gs_text_escape(const char *s, char *out, size_t outlen)
{
	return gs_text_escape_n(s, strlen(s), out, outlen);
}
