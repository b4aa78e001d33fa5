/*
 * base64.c -- strict base64 encoding and decoding (see base64.h).
 *
 * Written by hand rather than with EVP_DecodeBlock(), which accepts
 * whitespace, counts padding as data and cannot say where the input went
 * wrong.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet characters, 64 for anything else. */
static const unsigned char base64_value[256] = {
	[0 ... 255] = 64,
	['A'] = 0, ['B'] = 1, ['C'] = 2, ['D'] = 3, ['E'] = 4, ['F'] = 5,
	['G'] = 6, ['H'] = 7, ['I'] = 8, ['J'] = 9, ['K'] = 10, ['L'] = 11,
	['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15, ['Q'] = 16,
	['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21,
	['W'] = 22, ['X'] = 23, ['Y'] = 24, ['Z'] = 25,
	['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30,
	['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35,
	['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40,
	['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45,
	['u'] = 46, ['v'] = 47, ['w'] = 48, ['x'] = 49, ['y'] = 50,
	['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
	['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60,
	['9'] = 61, ['+'] = 62, ['/'] = 63,
};

size_t
base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
base64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char	*s = p;
	char			*o;
	uint32_t		 v;
	size_t			 i;

	buf_reserve(out, base64_encoded_len(n));
	o = out->data + out->len;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[(v >> 12) & 0x3f];
		*o++ = base64_alphabet[(v >> 6) & 0x3f];
		*o++ = base64_alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[(v >> 12) & 0x3f];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[(v >> 12) & 0x3f];
		*o++ = base64_alphabet[(v >> 6) & 0x3f];
		*o++ = '=';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

static int
base64_fail(size_t *erroff, size_t off)
{
	if (erroff != NULL)
		*erroff = off;
	return -1;
}

int
base64_decode(struct buf *out, const char *s, size_t len, size_t *erroff)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned char		 a, b, c, d;
	char			*o;
	size_t			 i, j, pad = 0;

	if (len % 4 != 0) {
		/* Point at the first bad character if there is one. */
		for (j = 0; j < len; j++) {
			if (base64_value[u[j]] == 64 && u[j] != '=')
				return base64_fail(erroff, j);
		}
		return base64_fail(erroff, len);
	}
	if (len > 0 && u[len - 1] == '=')
		pad = u[len - 2] == '=' ? 2 : 1;
	buf_reserve(out, len / 4 * 3);
	o = out->data + out->len;
	for (i = 0; i < len; i += 4) {
		a = base64_value[u[i]];
		b = base64_value[u[i + 1]];
		if (i + 4 == len && pad > 0) {
			c = pad == 2 ? 0 : base64_value[u[i + 2]];
			d = 0;
		} else {
			c = base64_value[u[i + 2]];
			d = base64_value[u[i + 3]];
		}
		if ((a | b | c | d) & 64) {
			for (j = i; j < i + 4; j++) {
				if (base64_value[u[j]] == 64)
					break;
			}
			out->len = (size_t)(o - out->data);
			out->data[out->len] = '\0';
			return base64_fail(erroff, j);
		}
		*o++ = (char)(a << 2 | b >> 4);
		if (i + 4 == len && pad == 2) {
			if (b & 0x0f)
				return base64_fail(erroff, i + 1);
			break;
		}
		*o++ = (char)(b << 4 | c >> 2);
		if (i + 4 == len && pad == 1) {
			if (c & 0x03)
				return base64_fail(erroff, i + 2);
			break;
		}
		*o++ = (char)(c << 6 | d);
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}
