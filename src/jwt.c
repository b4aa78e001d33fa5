/*
 * jwt.c -- JWS compact tokens: parse, re-sign with moved times and
 * overridden claims, verify (see jwt.h).
 *
 * The payload is edited as text with json.h's cursor: every member is
 * skipped to learn its raw value's offsets, and only the values that
 * change are replaced, so member order, whitespace, escapes and numbers
 * that cJSON would print differently all keep their bytes.  The header's
 * base64url segment is copied verbatim.
 *
 * Keys are read-only once loaded; every signing or verification makes
 * its own OpenSSL contexts, so one key serves several threads at once.
 * A secret is held in memory that is cleansed before it is freed and it
 * never reaches a message: causes name the path and the reason only.
 *
 * NumericDates that are not integers: a plain fraction (1733000000.5)
 * moves by its integer part and keeps its digits; a value written with
 * an exponent (1.7e9) is rewritten as a plain decimal of the moved value
 * (1700003600).  A negative non-integer, or one too large for int64, is
 * an error when it would have to move.  jwt_parse() reports the integer
 * part of such values, and JWT_NO_TIME for a claim that is not a number.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base64.h"
#include "buf.h"
#include "json.h"
#include "jwt.h"
#include "xmalloc.h"

/* A secret or key file larger than this is refused unread. */
#define JWT_FILE_MAX	(1024 * 1024)

/* Longest fraction kept when a time written with an exponent is moved. */
#define JWT_FRAC_MAX	64

enum jwt_kind {
	JWT_KIND_NONE,
	JWT_KIND_HMAC,
	JWT_KIND_RSA,		/* RSASSA-PKCS1-v1_5 */
	JWT_KIND_PSS,		/* RSASSA-PSS, MGF1 with the same digest */
	JWT_KIND_ECDSA,
	JWT_KIND_EDDSA
};

struct jwt_alg {
	const char	*name;
	enum jwt_kind	 kind;
	const EVP_MD	*(*md)(void);
	int		 curve;		/* ECDSA: the curve's NID */
	size_t		 half;		/* ECDSA: bytes of R and of S */
};

static const struct jwt_alg jwt_algs[] = {
	{ "none", JWT_KIND_NONE, NULL, 0, 0 },
	{ "HS256", JWT_KIND_HMAC, EVP_sha256, 0, 0 },
	{ "HS384", JWT_KIND_HMAC, EVP_sha384, 0, 0 },
	{ "HS512", JWT_KIND_HMAC, EVP_sha512, 0, 0 },
	{ "RS256", JWT_KIND_RSA, EVP_sha256, 0, 0 },
	{ "RS384", JWT_KIND_RSA, EVP_sha384, 0, 0 },
	{ "RS512", JWT_KIND_RSA, EVP_sha512, 0, 0 },
	{ "PS256", JWT_KIND_PSS, EVP_sha256, 0, 0 },
	{ "PS384", JWT_KIND_PSS, EVP_sha384, 0, 0 },
	{ "PS512", JWT_KIND_PSS, EVP_sha512, 0, 0 },
	{ "ES256", JWT_KIND_ECDSA, EVP_sha256, NID_X9_62_prime256v1, 32 },
	{ "ES384", JWT_KIND_ECDSA, EVP_sha384, NID_secp384r1, 48 },
	{ "ES512", JWT_KIND_ECDSA, EVP_sha512, NID_secp521r1, 66 },
	{ "ES256K", JWT_KIND_ECDSA, EVP_sha256, NID_secp256k1, 32 },
	{ "EdDSA", JWT_KIND_EDDSA, NULL, 0, 0 },
};

enum jwt_key_type {
	JWT_KEY_HMAC,
	JWT_KEY_RSA,
	JWT_KEY_RSA_PSS,	/* an RSA-PSS key: PS* only */
	JWT_KEY_EC,
	JWT_KEY_ED25519,
	JWT_KEY_ED448
};

struct jwt_key {
	enum jwt_key_type	 type;
	int			 curve;		/* JWT_KEY_EC: the NID */
	unsigned char		*secret;	/* JWT_KEY_HMAC */
	size_t			 secret_len;
	EVP_PKEY		*pkey;		/* the others */
};

static const struct jwt_alg *
jwt_alg_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof jwt_algs / sizeof jwt_algs[0]; i++) {
		if (strcmp(jwt_algs[i].name, name) == 0)
			return &jwt_algs[i];
	}
	return NULL;
}

/* --- base64url without padding (RFC 7515 section 2) --- */

static void
jwt_b64_encode(struct buf *out, const void *p, size_t n)
{
	size_t	start = out->len, i;

	base64_encode(out, p, n);
	for (i = start; i < out->len; i++) {
		if (out->data[i] == '+')
			out->data[i] = '-';
		else if (out->data[i] == '/')
			out->data[i] = '_';
	}
	while (out->len > start && out->data[out->len - 1] == '=')
		out->len--;
	out->data[out->len] = '\0';
}

/*
 * Appends the bytes s[0..len) encodes to out: the url-safe alphabet, no
 * padding, canonical (base64.c's strict rules).  0, or -1 with *erroff
 * set to the offset of the offending character (len if it is missing).
 */
static int
jwt_b64_decode(struct buf *out, const char *s, size_t len, size_t *erroff)
{
	struct buf	tmp;
	size_t		i, off;
	int		rc = -1;
	char		c;

	buf_init(&tmp);
	buf_reserve(&tmp, len + 3);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+' || c == '/' || c == '=') {
			*erroff = i;
			goto out;
		}
		buf_append_byte(&tmp, c == '-' ? '+' : c == '_' ? '/' : c);
	}
	while (tmp.len % 4 != 0)
		buf_append_byte(&tmp, '=');
	if (len % 4 == 1)
		off = len;
	else if ((rc = base64_decode(out, tmp.data, tmp.len, &off)) == 0)
		goto out;
	*erroff = off < len ? off : len;
	rc = -1;
out:
	buf_free(&tmp);
	return rc;
}

/* --- numeric dates --- */

/*
 * A NumericDate split as integer seconds and the decimal digits of its
 * fraction (without the point), exactly as the JSON number text says.
 */
struct jwt_num {
	int64_t	secs;
	char	frac[JWT_FRAC_MAX + 1];
	size_t	fraclen;
	int	plain;		/* written without an exponent */
};

/*
 * Reads JSON number text t[0..n) (already validated).  Integers may be
 * negative; a value with a fraction or an exponent must not be (a time
 * before 1970 written so is not worth the arithmetic).  -1 when the
 * value does not fit.
 */
static int
jwt_num_read(const char *t, size_t n, struct jwt_num *num)
{
	char		 digits[128], ipart[32];
	const char	*dot;
	size_t		 i, nd = 0, nint, mant, k, ni = 0;
	long		 exp10 = 0, point;
	int		 eneg = 0;

	memset(num, 0, sizeof *num);
	num->plain = 1;
	if (json_number_to_int64(t, n, &num->secs) == 0)
		return 0;
	if (n > 0 && t[0] == '-')
		return -1;
	/* The mantissa's digits, and how many come before its point. */
	for (mant = 0; mant < n && t[mant] != 'e' && t[mant] != 'E'; mant++)
		;
	dot = memchr(t, '.', mant);
	nint = dot != NULL ? (size_t)(dot - t) : mant;
	for (i = 0; i < mant; i++) {
		if (t[i] == '.')
			continue;
		if (nd == sizeof digits)
			return -1;
		digits[nd++] = t[i];
	}
	if (mant < n) {
		num->plain = 0;
		i = mant + 1;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			eneg = t[i++] == '-';
		for (; i < n; i++) {
			if (exp10 > 1000)
				return -1;
			exp10 = exp10 * 10 + (t[i] - '0');
		}
		if (eneg)
			exp10 = -exp10;
	}
	/* The decimal point falls after digits[point - 1]. */
	point = (long)nint + exp10;
	for (k = 0; (long)k < point; k++) {
		char	d = k < nd ? digits[k] : '0';

		if (ni == 0 && d == '0')
			continue;
		if (ni == 19)
			return -1;
		ipart[ni++] = d;
	}
	if (ni == 0)
		ipart[ni++] = '0';
	if (json_number_to_int64(ipart, ni, &num->secs) == -1)
		return -1;
	for (k = 0; point < 0 && k < (size_t)-point; k++) {
		if (num->fraclen == JWT_FRAC_MAX)
			return -1;
		num->frac[num->fraclen++] = '0';
	}
	for (k = point > 0 ? (size_t)point : 0; k < nd; k++) {
		if (num->fraclen == JWT_FRAC_MAX)
			return -1;
		num->frac[num->fraclen++] = digits[k];
	}
	/* An exponent form's trailing zeros say nothing: drop them. */
	while (!num->plain && num->fraclen > 0 &&
	    num->frac[num->fraclen - 1] == '0')
		num->fraclen--;
	return 0;
}

/*
 * Appends the number text t[0..n) moved by shift seconds.  Integers stay
 * integers; a plain fraction keeps its digits; a value written with an
 * exponent comes back as a plain decimal of the same value plus shift.
 * -1 when it does not fit, or when a fractional time would become
 * negative.
 */
static int
jwt_num_shift(struct buf *out, const char *t, size_t n, int64_t shift)
{
	struct jwt_num	num;
	int64_t		v;

	if (jwt_num_read(t, n, &num) == -1)
		return -1;
	if (__builtin_add_overflow(num.secs, shift, &v))
		return -1;
	if (num.fraclen > 0 && v < 0)
		return -1;
	buf_printf(out, "%" PRId64, v);
	if (num.fraclen > 0) {
		buf_append_byte(out, '.');
		buf_append(out, num.frac, num.fraclen);
	}
	return 0;
}

/* --- parsing --- */

/* The three segments of a compact token. */
struct jwt_parts {
	const char	*hdr;
	size_t		 hdr_len;
	const char	*pay;
	size_t		 pay_len;
	const char	*sig;
	size_t		 sig_len;
};

static int
jwt_split(const char *s, size_t len, struct jwt_parts *pt, char **cause)
{
	const char	*d1, *d2;
	size_t		 i, dots = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
	}
	if (dots != 2) {
		*cause = xasprintf("a JWS compact token has 3 parts separated "
		    "by '.', this one has %zu%s", dots + 1,
		    dots == 4 ? " (an encrypted token, JWE?)" : "");
		return -1;
	}
	d1 = memchr(s, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s));
	pt->hdr = s;
	pt->hdr_len = (size_t)(d1 - s);
	pt->pay = d1 + 1;
	pt->pay_len = (size_t)(d2 - pt->pay);
	pt->sig = d2 + 1;
	pt->sig_len = len - (size_t)(pt->sig - s);
	return 0;
}

/*
 * Decodes one base64url segment, which starts at byte off of the token,
 * into a NUL-terminated allocated string.
 */
static char *
jwt_segment(const char *p, size_t n, size_t off, const char *what,
    size_t *outlen, char **cause)
{
	struct buf	b;
	size_t		bad;

	buf_init(&b);
	if (jwt_b64_decode(&b, p, n, &bad) == -1) {
		buf_free(&b);
		*cause = xasprintf("%s: not base64url (byte %zu of the "
		    "token)", what, off + bad);
		return NULL;
	}
	return buf_detach(&b, outlen);
}

/* Decodes the string at the cursor to a short C string (no NULs). */
static int
jwt_read_short(struct json_parser *jp, char *dst, size_t size)
{
	struct buf	b;
	int		rc = -1;

	buf_init(&b);
	if (json_read_string(jp, &b, NULL) == 0 && b.len < size &&
	    memchr(b.data != NULL ? b.data : "", '\0', b.len) == NULL) {
		memcpy(dst, b.data != NULL ? b.data : "", b.len);
		dst[b.len] = '\0';
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

static int
jwt_parse_header(struct jwt *t, char **cause)
{
	struct json_parser	jp;
	struct json_value	key;
	struct buf		b;
	size_t			i;
	int			r, have_alg = 0;

	json_init(&jp, t->header, t->header_len);
	if (json_object_enter(&jp) == -1)
		goto bad;
	while ((r = json_object_next(&jp, &key)) == 1) {
		if (json_string_eq(&key, "alg")) {
			if (have_alg) {
				*cause = xstrdup("header: \"alg\" appears "
				    "twice");
				return -1;
			}
			if (json_peek(&jp) != JSON_STRING ||
			    jwt_read_short(&jp, t->alg, sizeof t->alg) == -1)
				goto bad_alg;
			for (i = 0; t->alg[i] != '\0'; i++) {
				if (t->alg[i] <= ' ' || t->alg[i] > '~')
					goto bad_alg;
			}
			if (i == 0)
				goto bad_alg;
			have_alg = 1;
		} else if (json_string_eq(&key, "kid") && t->kid == NULL &&
		    json_peek(&jp) == JSON_STRING) {
			buf_init(&b);
			if (json_read_string(&jp, &b, NULL) == -1) {
				buf_free(&b);
				goto bad;
			}
			t->kid = buf_detach(&b, NULL);
		} else if (json_skip(&jp, NULL) == -1)
			goto bad;
	}
	if (r == -1 || json_finish(&jp) == -1)
		goto bad;
	if (!have_alg) {
		*cause = xstrdup("header: no \"alg\"");
		return -1;
	}
	return 0;

bad_alg:
	*cause = xstrdup("header: \"alg\" is not an algorithm name");
	return -1;
bad:
	*cause = xasprintf("header: not a JSON object: %s at byte %zu of "
	    "the decoded header", jp.error != NULL ? jp.error : "bad value",
	    jp.error_off);
	return -1;
}

static int
jwt_parse_payload(struct jwt *t, char **cause)
{
	struct json_parser	 jp;
	struct json_value	 key, v;
	struct jwt_num		 num;
	int64_t			*slot;
	int			 r;

	json_init(&jp, t->payload, t->payload_len);
	if (json_object_enter(&jp) == -1)
		goto bad;
	while ((r = json_object_next(&jp, &key)) == 1) {
		if (json_string_eq(&key, "iat"))
			slot = &t->iat;
		else if (json_string_eq(&key, "nbf"))
			slot = &t->nbf;
		else if (json_string_eq(&key, "exp"))
			slot = &t->exp;
		else
			slot = NULL;
		if (json_skip(&jp, &v) == -1)
			goto bad;
		if (slot != NULL && v.type == JSON_NUMBER &&
		    jwt_num_read(v.p, v.len, &num) == 0)
			*slot = num.secs;
	}
	if (r == -1 || json_finish(&jp) == -1)
		goto bad;
	return 0;

bad:
	*cause = xasprintf("payload: not a JSON object: %s at byte %zu of "
	    "the decoded payload", jp.error != NULL ? jp.error : "bad value",
	    jp.error_off);
	return -1;
}

static void
jwt_zero(struct jwt *t)
{
	memset(t, 0, sizeof *t);
	t->iat = t->nbf = t->exp = JWT_NO_TIME;
}

static int
jwt_parse_parts(const char *s, size_t len, struct jwt *t,
    struct jwt_parts *pt, char **cause)
{
	char	*sig;

	jwt_zero(t);
	if (jwt_split(s, len, pt, cause) == -1)
		return -1;
	if ((t->header = jwt_segment(pt->hdr, pt->hdr_len, 0, "header",
	    &t->header_len, cause)) == NULL)
		goto fail;
	if ((t->payload = jwt_segment(pt->pay, pt->pay_len,
	    (size_t)(pt->pay - s), "payload", &t->payload_len,
	    cause)) == NULL)
		goto fail;
	if (jwt_parse_header(t, cause) == -1 ||
	    jwt_parse_payload(t, cause) == -1)
		goto fail;
	if ((sig = jwt_segment(pt->sig, pt->sig_len, (size_t)(pt->sig - s),
	    "signature", NULL, cause)) == NULL)
		goto fail;
	free(sig);
	return 0;

fail:
	jwt_free(t);
	return -1;
}

int
jwt_parse(const char *s, size_t len, struct jwt *t, char **cause)
{
	struct jwt_parts	pt;

	return jwt_parse_parts(s, len, t, &pt, cause);
}

void
jwt_free(struct jwt *t)
{
	if (t == NULL)
		return;
	free(t->header);
	free(t->payload);
	free(t->kid);
	jwt_zero(t);
}

/* --- keys --- */

static const char *
jwt_key_name(const struct jwt_key *key)
{
	switch (key->type) {
	case JWT_KEY_HMAC:
		return "an HMAC secret";
	case JWT_KEY_RSA:
		return "an RSA key";
	case JWT_KEY_RSA_PSS:
		return "an RSA-PSS key";
	case JWT_KEY_EC:
		switch (key->curve) {
		case NID_X9_62_prime256v1:
			return "an EC P-256 key";
		case NID_secp384r1:
			return "an EC P-384 key";
		case NID_secp521r1:
			return "an EC P-521 key";
		case NID_secp256k1:
			return "an EC secp256k1 key";
		}
		return "an EC key";
	case JWT_KEY_ED25519:
		return "an Ed25519 key";
	case JWT_KEY_ED448:
		return "an Ed448 key";
	}
	return "a key";
}

static int
jwt_alg_fits(const struct jwt_key *key, const struct jwt_alg *a)
{
	switch (a->kind) {
	case JWT_KIND_NONE:
		return 1;
	case JWT_KIND_HMAC:
		return key->type == JWT_KEY_HMAC;
	case JWT_KIND_RSA:
		return key->type == JWT_KEY_RSA;
	case JWT_KIND_PSS:
		return key->type == JWT_KEY_RSA ||
		    key->type == JWT_KEY_RSA_PSS;
	case JWT_KIND_ECDSA:
		return key->type == JWT_KEY_EC && key->curve == a->curve;
	case JWT_KIND_EDDSA:
		return key->type == JWT_KEY_ED25519 ||
		    key->type == JWT_KEY_ED448;
	}
	return 0;
}

int
jwt_key_fits(const struct jwt_key *key, const char *alg)
{
	const struct jwt_alg	*a;

	if (alg == NULL || (a = jwt_alg_find(alg)) == NULL)
		return key != NULL && key->type == JWT_KEY_HMAC &&
		    alg != NULL && strcmp(alg, "HS") == 0;
	if (a->kind == JWT_KIND_NONE)
		return 1;
	return key != NULL && jwt_alg_fits(key, a);
}

struct jwt_key *
jwt_key_hmac(const void *secret, size_t len)
{
	struct jwt_key	*key;

	if (len == 0 || len > INT_MAX)
		return NULL;
	key = xcalloc(1, sizeof *key);
	key->type = JWT_KEY_HMAC;
	key->secret = xmalloc(len);
	memcpy(key->secret, secret, len);
	key->secret_len = len;
	return key;
}

void
jwt_key_free(struct jwt_key *key)
{
	if (key == NULL)
		return;
	if (key->secret != NULL) {
		OPENSSL_cleanse(key->secret, key->secret_len);
		free(key->secret);
	}
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* Frees file contents that may be a secret. */
static void
jwt_wipe(unsigned char *p, size_t n)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/*
 * Reads the whole file at path (at most JWT_FILE_MAX bytes) into *data,
 * NUL-terminated; copies made while growing are cleansed.
 */
static int
jwt_read_file(const char *path, unsigned char **data, size_t *len,
    char **cause)
{
	unsigned char	*p, *q;
	size_t		 cap, n = 0;
	struct stat	 st;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*cause = xasprintf("%s: %s", path, strerror(EISDIR));
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size > JWT_FILE_MAX) {
		*cause = xasprintf("%s: larger than %d bytes, not a key or a "
		    "secret", path, JWT_FILE_MAX);
		close(fd);
		return -1;
	}
	/* Room for the NUL, and for the read that sees the end. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
	p = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > JWT_FILE_MAX) {
				*cause = xasprintf("%s: larger than %d bytes, "
				    "not a key or a secret", path,
				    JWT_FILE_MAX);
				jwt_wipe(p, cap);
				close(fd);
				return -1;
			}
			q = xmalloc(cap * 2);
			memcpy(q, p, n);
			jwt_wipe(p, cap);
			p = q;
			cap *= 2;
		}
		r = read(fd, p + n, cap - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*cause = xasprintf("%s: %s", path, strerror(errno));
			jwt_wipe(p, cap);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}

/* Refuses to prompt for a passphrase; notes that one was wanted. */
static int
jwt_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	*(int *)arg = 1;
	return -1;
}

static int
jwt_ec_curve(EVP_PKEY *pkey)
{
	char	name[80];
	size_t	n;
	int	nid;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof name, &n) != 1)
		return NID_undef;
	if ((nid = OBJ_sn2nid(name)) == NID_undef &&
	    (nid = OBJ_ln2nid(name)) == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid;
}

static struct jwt_key *
jwt_key_pem(const char *path, const unsigned char *data, size_t len,
    char **cause)
{
	struct jwt_key	*key;
	EVP_PKEY	*pkey;
	BIO		*bio;
	int		 asked = 0;

	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		*cause = xasprintf("%s: out of memory", path);
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, jwt_no_passphrase, &asked);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		if (asked)
			*cause = xasprintf("%s: the private key is encrypted "
			    "(passphrases are not supported)", path);
		else if (strstr((const char *)data, "-----BEGIN PUBLIC KEY") !=
		    NULL || strstr((const char *)data,
		    "-----BEGIN RSA PUBLIC KEY") != NULL)
			*cause = xasprintf("%s: a public key; re-signing "
			    "needs the private key", path);
		else
			*cause = xasprintf("%s: not a PEM private key", path);
		return NULL;
	}
	key = xcalloc(1, sizeof *key);
	key->pkey = pkey;
	if (EVP_PKEY_is_a(pkey, "RSA"))
		key->type = JWT_KEY_RSA;
	else if (EVP_PKEY_is_a(pkey, "RSA-PSS"))
		key->type = JWT_KEY_RSA_PSS;
	else if (EVP_PKEY_is_a(pkey, "ED25519"))
		key->type = JWT_KEY_ED25519;
	else if (EVP_PKEY_is_a(pkey, "ED448"))
		key->type = JWT_KEY_ED448;
	else if (EVP_PKEY_is_a(pkey, "EC")) {
		key->type = JWT_KEY_EC;
		key->curve = jwt_ec_curve(pkey);
		if (key->curve != NID_X9_62_prime256v1 &&
		    key->curve != NID_secp384r1 &&
		    key->curve != NID_secp521r1 &&
		    key->curve != NID_secp256k1) {
			*cause = xasprintf("%s: an EC key on a curve JWS does "
			    "not use (ES256 needs P-256, ES384 P-384, ES512 "
			    "P-521)", path);
			jwt_key_free(key);
			return NULL;
		}
	} else {
		*cause = xasprintf("%s: %s keys cannot sign JWTs (RSA, EC or "
		    "Ed25519 keys can)", path,
		    EVP_PKEY_get0_type_name(pkey) != NULL ?
		    EVP_PKEY_get0_type_name(pkey) : "these");
		jwt_key_free(key);
		return NULL;
	}
	return key;
}

struct jwt_key *
jwt_key_load(const char *path, const char *alg, char **cause)
{
	const struct jwt_alg	*a = NULL;
	struct jwt_key		*key;
	unsigned char		*data;
	size_t			 len, n;
	int			 hmac;

	if (alg != NULL && strcmp(alg, "HS") != 0) {
		if ((a = jwt_alg_find(alg)) == NULL) {
			*cause = xasprintf("%s: unsupported alg \"%s\"", path,
			    alg);
			return NULL;
		}
		if (a->kind == JWT_KIND_NONE) {
			*cause = xasprintf("%s: alg none is unsigned and "
			    "takes no key", path);
			return NULL;
		}
	}
	if (jwt_read_file(path, &data, &len, cause) == -1)
		return NULL;
	if (alg == NULL)
		hmac = strstr((const char *)data, "-----BEGIN ") == NULL;
	else
		hmac = a == NULL || a->kind == JWT_KIND_HMAC;
	if (hmac) {
		n = len;
		if (n > 0 && data[n - 1] == '\n')
			n--;
		if (n == 0) {
			*cause = xasprintf("%s: the secret is empty", path);
			jwt_wipe(data, len + 1);
			return NULL;
		}
		key = jwt_key_hmac(data, n);
	} else {
		key = jwt_key_pem(path, data, len, cause);
		if (key != NULL && a != NULL && !jwt_alg_fits(key, a)) {
			*cause = xasprintf("%s: %s cannot sign %s", path,
			    jwt_key_name(key), a->name);
			jwt_key_free(key);
			key = NULL;
		}
	}
	jwt_wipe(data, len + 1);
	return key;
}

/* --- signatures --- */

/* The first queued OpenSSL error as "what: reason" (never key bytes). */
static char *
jwt_ssl_cause(const char *what)
{
	char		e[256];
	unsigned long	code;

	if ((code = ERR_get_error()) == 0)
		return xasprintf("%s failed", what);
	ERR_error_string_n(code, e, sizeof e);
	ERR_clear_error();
	return xasprintf("%s failed: %s", what, e);
}

/* Sets RSA padding on a DigestSign/Verify context as alg wants. */
static int
jwt_pctx_setup(EVP_PKEY_CTX *pctx, const struct jwt_alg *a)
{
	if (a->kind == JWT_KIND_RSA)
		return EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PADDING) > 0 ? 0 : -1;
	if (a->kind == JWT_KIND_PSS) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, a->md()) <= 0)
			return -1;
	}
	return 0;
}

/* DER ECDSA-Sig-Value to the fixed-width R || S of JWS. */
static int
jwt_ecdsa_der_to_raw(const unsigned char *der, size_t n, size_t half,
    unsigned char *raw)
{
	const unsigned char	*p = der;
	const BIGNUM		*r, *s;
	ECDSA_SIG		*sig;
	int			 rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, (int)half) == (int)half &&
	    BN_bn2binpad(s, raw + half, (int)half) == (int)half)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/* R || S back to DER for EVP_DigestVerify; *der allocated by OpenSSL. */
static int
jwt_ecdsa_raw_to_der(const unsigned char *raw, size_t half,
    unsigned char **der, size_t *n)
{
	ECDSA_SIG	*sig;
	BIGNUM		*r, *s;
	int		 len;

	r = BN_bin2bn(raw, (int)half, NULL);
	s = BN_bin2bn(raw + half, (int)half, NULL);
	if (r == NULL || s == NULL || (sig = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		return -1;
	}
	if (ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	*der = NULL;
	len = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return -1;
	*n = (size_t)len;
	return 0;
}

/* Appends the signature of data[0..n) to sig.  0, or -1 with *cause. */
static int
jwt_sign(struct buf *sig, const struct jwt_alg *a, const struct jwt_key *key,
    const char *data, size_t n, char **cause)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], raw[2 * 66];
	unsigned int	 maclen;
	unsigned char	*der = NULL;
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	size_t		 len;
	int		 rc = -1;

	ERR_clear_error();
	if (a->kind == JWT_KIND_HMAC) {
		if (HMAC(a->md(), key->secret, (int)key->secret_len,
		    (const unsigned char *)data, n, mac, &maclen) == NULL) {
			*cause = jwt_ssl_cause("HMAC");
			return -1;
		}
		buf_append(sig, mac, maclen);
		OPENSSL_cleanse(mac, sizeof mac);
		return 0;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		*cause = jwt_ssl_cause("signing");
		return -1;
	}
	if (EVP_DigestSignInit(ctx, &pctx, a->md != NULL ? a->md() : NULL,
	    NULL, key->pkey) != 1 || jwt_pctx_setup(pctx, a) == -1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)data,
	    n) != 1) {
		*cause = jwt_ssl_cause("signing");
		goto out;
	}
	der = xmalloc(len);
	if (EVP_DigestSign(ctx, der, &len, (const unsigned char *)data,
	    n) != 1) {
		*cause = jwt_ssl_cause("signing");
		goto out;
	}
	if (a->kind == JWT_KIND_ECDSA) {
		if (jwt_ecdsa_der_to_raw(der, len, a->half, raw) == -1) {
			*cause = jwt_ssl_cause("ECDSA signature conversion");
			goto out;
		}
		buf_append(sig, raw, 2 * a->half);
	} else
		buf_append(sig, der, len);
	rc = 0;
out:
	free(der);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* 0 when sig[0..siglen) is a valid signature of data[0..n) by key. */
static int
jwt_check(const struct jwt_alg *a, const struct jwt_key *key,
    const char *data, size_t n, const unsigned char *sig, size_t siglen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen;
	unsigned char	*der = NULL;
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	size_t		 derlen;
	int		 rc = -1;

	if (a->kind == JWT_KIND_HMAC) {
		if (HMAC(a->md(), key->secret, (int)key->secret_len,
		    (const unsigned char *)data, n, mac, &maclen) == NULL) {
			ERR_clear_error();
			return -1;
		}
		if (maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0)
			rc = 0;
		OPENSSL_cleanse(mac, sizeof mac);
		return rc;
	}
	if (a->kind == JWT_KIND_ECDSA) {
		if (siglen != 2 * a->half ||
		    jwt_ecdsa_raw_to_der(sig, a->half, &der, &derlen) == -1)
			return -1;
		sig = der;
		siglen = derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, &pctx, a->md != NULL ? a->md() : NULL,
	    NULL, key->pkey) == 1 && jwt_pctx_setup(pctx, a) == 0 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data,
	    n) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/* --- re-signing --- */

/* True if member name key (raw, quoted) decodes to name. */
static int
jwt_name_eq(const struct json_value *key, const char *name)
{
	struct json_parser	jp;
	struct buf		b;
	int			eq;

	if (!key->escaped)
		return json_string_eq(key, name);
	buf_init(&b);
	json_init(&jp, key->p, key->len);
	eq = json_read_string(&jp, &b, NULL) == 0 &&
	    b.len == strlen(name) && memcmp(b.data, name, b.len) == 0;
	buf_free(&b);
	return eq;
}

/* The index of the last claim named like key, or nclaims. */
static size_t
jwt_claim_find(const struct json_value *key, const struct jwt_claim *claims,
    size_t nclaims)
{
	size_t	i;

	for (i = nclaims; i > 0; i--) {
		if (jwt_name_eq(key, claims[i - 1].name))
			return i - 1;
	}
	return nclaims;
}

/* True if a claim after claims[i] has its name (it wins). */
static int
jwt_claim_shadowed(const struct jwt_claim *claims, size_t nclaims, size_t i)
{
	size_t	j;

	for (j = i + 1; j < nclaims; j++) {
		if (strcmp(claims[j].name, claims[i].name) == 0)
			return 1;
	}
	return 0;
}

static int
jwt_claims_check(const struct jwt_claim *claims, size_t nclaims,
    char **cause)
{
	struct json_parser	jp;
	size_t			i;

	for (i = 0; i < nclaims; i++) {
		if (claims[i].name == NULL || claims[i].json == NULL) {
			*cause = xasprintf("claim %zu: no name or value", i);
			return -1;
		}
		json_init(&jp, claims[i].json, strlen(claims[i].json));
		if (json_skip(&jp, NULL) == -1 || json_finish(&jp) == -1) {
			*cause = xasprintf("claim \"%s\": the value is not "
			    "one JSON value (%s at byte %zu)", claims[i].name,
			    jp.error, jp.error_off);
			return -1;
		}
	}
	return 0;
}

/*
 * Appends payload p[0..n) with iat, nbf and exp moved by shift and the
 * claims set.  0, or -1 with *cause.
 */
static int
jwt_edit_payload(struct buf *out, const char *p, size_t n, int64_t shift,
    const struct jwt_claim *claims, size_t nclaims, char **cause)
{
	struct json_parser	 jp;
	struct json_value	 key, v;
	unsigned char		*set;
	size_t			 copied = 0, last, c, i;
	int			 r, rc = -1, members = 0;

	if (jwt_claims_check(claims, nclaims, cause) == -1)
		return -1;
	set = xcalloc(nclaims + 1, 1);
	json_init(&jp, p, n);
	if (json_object_enter(&jp) == -1)
		goto bad;
	last = jp.off;
	while ((r = json_object_next(&jp, &key)) == 1) {
		members = 1;
		if (json_skip(&jp, &v) == -1)
			goto bad;
		last = v.off + v.len;
		c = jwt_claim_find(&key, claims, nclaims);
		if (c < nclaims) {
			for (i = 0; i < nclaims; i++) {
				if (strcmp(claims[i].name, claims[c].name) == 0)
					set[i] = 1;
			}
			buf_append(out, p + copied, v.off - copied);
			buf_append_str(out, claims[c].json);
			copied = v.off + v.len;
		} else if (shift != 0 && v.type == JSON_NUMBER &&
		    (json_string_eq(&key, "iat") ||
		    json_string_eq(&key, "nbf") ||
		    json_string_eq(&key, "exp"))) {
			buf_append(out, p + copied, v.off - copied);
			if (jwt_num_shift(out, v.p, v.len, shift) == -1) {
				*cause = xasprintf("payload: %.*s = %.*s%s cannot "
				    "be moved by %" PRId64 " s", (int)key.len,
				    key.p, v.len > 40 ? 40 : (int)v.len, v.p,
				    v.len > 40 ? "..." : "", shift);
				goto out;
			}
			copied = v.off + v.len;
		}
	}
	if (r == -1 || json_finish(&jp) == -1)
		goto bad;
	buf_append(out, p + copied, last - copied);
	for (i = 0; i < nclaims; i++) {
		if (set[i] || jwt_claim_shadowed(claims, nclaims, i))
			continue;
		if (members)
			buf_append_byte(out, ',');
		members = 1;
		json_append_string(out, claims[i].name,
		    strlen(claims[i].name));
		buf_append_byte(out, ':');
		buf_append_str(out, claims[i].json);
	}
	buf_append(out, p + last, n - last);
	rc = 0;
	goto out;

bad:
	*cause = xasprintf("payload: not a JSON object: %s at byte %zu of "
	    "the decoded payload", jp.error != NULL ? jp.error : "bad value",
	    jp.error_off);
out:
	free(set);
	return rc;
}

int
jwt_resign(struct buf *out, const char *s, size_t len, int64_t shift_s,
    const struct jwt_claim *claims, size_t nclaims,
    const struct jwt_key *key, char **cause)
{
	const struct jwt_alg	*a;
	struct jwt_parts	 pt;
	struct jwt		 t;
	struct buf		 pay, tok, sig;
	int			 rc = -1;

	if (jwt_parse_parts(s, len, &t, &pt, cause) == -1)
		return -1;
	buf_init(&pay);
	buf_init(&tok);
	buf_init(&sig);
	if ((a = jwt_alg_find(t.alg)) == NULL) {
		*cause = xasprintf("alg \"%s\" is not supported: the token "
		    "cannot be re-signed", t.alg);
		goto out;
	}
	if (a->kind != JWT_KIND_NONE && key == NULL) {
		*cause = xasprintf("the token is signed with %s and no key "
		    "was given: it cannot be re-signed", a->name);
		goto out;
	}
	if (a->kind != JWT_KIND_NONE && !jwt_alg_fits(key, a)) {
		*cause = xasprintf("%s cannot sign %s tokens",
		    jwt_key_name(key), a->name);
		goto out;
	}
	if (jwt_edit_payload(&pay, t.payload, t.payload_len, shift_s, claims,
	    nclaims, cause) == -1)
		goto out;
	buf_append(&tok, pt.hdr, pt.hdr_len);
	buf_append_byte(&tok, '.');
	jwt_b64_encode(&tok, pay.data != NULL ? pay.data : "", pay.len);
	if (a->kind != JWT_KIND_NONE &&
	    jwt_sign(&sig, a, key, tok.data, tok.len, cause) == -1)
		goto out;
	buf_append_byte(&tok, '.');
	jwt_b64_encode(&tok, sig.data != NULL ? sig.data : "", sig.len);
	buf_append(out, tok.data, tok.len);
	rc = 0;
out:
	buf_free(&pay);
	buf_free(&tok);
	buf_free(&sig);
	jwt_free(&t);
	return rc;
}

int
jwt_verify(const char *s, size_t len, const struct jwt_key *key)
{
	const struct jwt_alg	*a;
	struct jwt_parts	 pt;
	struct jwt		 t;
	struct buf		 sig;
	char			*cause = NULL;
	size_t			 bad;
	int			 rc = -1;

	if (key == NULL)
		return -1;
	if (jwt_parse_parts(s, len, &t, &pt, &cause) == -1) {
		free(cause);
		return -1;
	}
	buf_init(&sig);
	a = jwt_alg_find(t.alg);
	if (a != NULL && a->kind != JWT_KIND_NONE && jwt_alg_fits(key, a) &&
	    jwt_b64_decode(&sig, pt.sig, pt.sig_len, &bad) == 0)
		rc = jwt_check(a, key, s, (size_t)(pt.pay + pt.pay_len - s),
		    (const unsigned char *)(sig.data != NULL ? sig.data : ""),
		    sig.len);
	buf_free(&sig);
	jwt_free(&t);
	return rc;
}
