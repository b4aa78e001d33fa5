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

/* 1 + the value of an alphabet character, 0 for anything else. */
static const unsigned char base64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
	['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
	['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
	['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64,
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
	unsigned char		 x[4];
	char			*o;
	size_t			 i, j, pad = 0, n;

	if (len % 4 != 0) {
		/* Point at the first bad character if there is one. */
		for (j = 0; j < len; j++) {
			if (base64_value[u[j]] == 0 && u[j] != '=')
				return base64_fail(erroff, j);
		}
		return base64_fail(erroff, len);
	}
	if (len > 0 && u[len - 1] == '=')
		pad = u[len - 2] == '=' ? 2 : 1;
	buf_reserve(out, len / 4 * 3);
	o = out->data + out->len;
	for (i = 0; i < len; i += 4) {
		/* The padding of the last group counts as zero bits. */
		n = i + 4 == len ? 4 - pad : 4;
		for (j = 0; j < 4; j++) {
			if (j >= n)
				x[j] = 0;
			else if ((x[j] = base64_value[u[i + j]]) == 0)
				return base64_fail(erroff, i + j);
			else
				x[j]--;
		}
		*o++ = (char)(x[0] << 2 | x[1] >> 4);
		if (n == 2) {
			if (x[1] & 0x0f)
				return base64_fail(erroff, i + 1);
			break;
		}
		*o++ = (char)(x[1] << 4 | x[2] >> 2);
		if (n == 3) {
			if (x[2] & 0x03)
				return base64_fail(erroff, i + 2);
			break;
		}
		*o++ = (char)(x[2] << 6 | x[3]);
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}
