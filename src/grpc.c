/*
 * grpc.c -- gRPC's status codes, message framing, grpc-message encoding,
 * grpc-timeout and :path, as bytes and names (grpc.h).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "grpc.h"

static const char *const grpc_names[GRPC_CODE_MAX + 1] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
	"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
};

const char *
grpc_code_name(int code)
{
	if (code < 0 || code > GRPC_CODE_MAX)
		return NULL;
	return grpc_names[code];
}

int
grpc_code_parse(const char *s, size_t len)
{
	const char	*name;
	size_t		 i;
	int		 code, n = 0;

	if (len > 0 && len <= 2 && s[0] >= '0' && s[0] <= '9') {
		for (i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			n = n * 10 + (s[i] - '0');
		}
		return n <= GRPC_CODE_MAX && (len == 1 || s[0] != '0') ? n : -1;
	}
	for (code = 0; code <= GRPC_CODE_MAX; code++) {
		name = grpc_names[code];
		if (strlen(name) != len)
			continue;
		for (i = 0; i < len; i++)
			if (!(s[i] == name[i] ||
			    (s[i] >= 'a' && s[i] <= 'z' && s[i] - 32 == name[i]) ||
			    (s[i] == '-' && name[i] == '_')))
				break;
		if (i == len)
			return code;
	}
	return -1;
}

int
grpc_code_from_http(int status)
{
	switch (status) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return status >= 100 && status < 200 ? GRPC_INTERNAL :
		    GRPC_UNKNOWN;
	}
}

int
grpc_next_msg(const uint8_t *body, size_t len, size_t *off,
    struct grpc_msg *m, const char **why)
{
	const uint8_t	*p;
	size_t		 at = *off, n;

	if (at >= len)
		return 0;
	if (len - at < GRPC_PREFIX_LEN) {
		*why = "message prefix cut short";
		return -1;
	}
	p = body + at;
	if (p[0] > 1) {
		*why = "message flag is neither 0 nor 1";
		return -1;
	}
	n = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 |
	    (size_t)p[4];
	if (n > len - at - GRPC_PREFIX_LEN) {
		*why = "message cut short (its length runs past the body)";
		return -1;
	}
	m->compressed = p[0];
	m->p = p + GRPC_PREFIX_LEN;
	m->len = n;
	m->off = at;
	*off = at + GRPC_PREFIX_LEN + n;
	return 1;
}

void
grpc_put_msg(struct buf *b, int compressed, const void *p, size_t len)
{
	uint8_t	prefix[GRPC_PREFIX_LEN];

	prefix[0] = compressed ? 1 : 0;
	prefix[1] = (uint8_t)(len >> 24);
	prefix[2] = (uint8_t)(len >> 16);
	prefix[3] = (uint8_t)(len >> 8);
	prefix[4] = (uint8_t)len;
	buf_append(b, prefix, sizeof prefix);
	buf_append(b, p, len);
}

void
grpc_message_encode(struct buf *b, const char *s, size_t len)
{
	static const char	hex[] = "0123456789ABCDEF";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (u[i] >= 0x20 && u[i] <= 0x7e && u[i] != '%') {
			buf_append_byte(b, (char)u[i]);
			continue;
		}
		buf_append_byte(b, '%');
		buf_append_byte(b, hex[u[i] >> 4]);
		buf_append_byte(b, hex[u[i] & 15]);
	}
}

void
grpc_message_decode(struct buf *b, const char *s, size_t len)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    (hi = base16_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = base16_value((unsigned char)s[i + 2])) >= 0) {
			buf_append_byte(b, (char)(hi << 4 | lo));
			i += 2;
		} else
			buf_append_byte(b, s[i]);
	}
}

int
grpc_timeout_parse(const char *s, size_t len, uint64_t *ns)
{
	static const struct {
		char		unit;
		uint64_t	ns;
	} units[] = {
		{ 'H', 3600000000000ull }, { 'M', 60000000000ull },
		{ 'S', 1000000000ull }, { 'm', 1000000ull }, { 'u', 1000ull },
		{ 'n', 1ull },
	};
	uint64_t	v = 0;
	size_t		i;

	if (len < 2 || len > 9)
		return -1;
	for (i = 0; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (s[len - 1] == units[i].unit) {
			*ns = v > UINT64_MAX / units[i].ns ? UINT64_MAX :
			    v * units[i].ns;
			return 0;
		}
	return -1;
}

int
grpc_path_split(struct span path, struct span *service, struct span *method)
{
	const char	*slash;

	if (path.len < 4 || path.p[0] != '/')
		return -1;
	slash = memchr(path.p + 1, '/', path.len - 1);
	if (slash == NULL || slash == path.p + 1 ||
	    slash == path.p + path.len - 1 ||
	    memchr(slash + 1, '/', (size_t)(path.p + path.len - slash - 1)) !=
	    NULL || memchr(path.p, '?', path.len) != NULL)
		return -1;
	service->p = path.p + 1;
	service->len = (size_t)(slash - path.p - 1);
	method->p = slash + 1;
	method->len = (size_t)(path.p + path.len - slash - 1);
	return 0;
}

int
grpc_is_content_type(struct span ct)
{
	static const char	base[] = "application/grpc";
	size_t			n = sizeof base - 1;

	if (ct.len < n || strncasecmp(ct.p, base, n) != 0)
		return 0;
	return ct.len == n || ct.p[n] == '+' || ct.p[n] == ';';
}
