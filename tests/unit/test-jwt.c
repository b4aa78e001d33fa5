/*
 * test-jwt.c -- JWT parsing, re-signing and verification (jwt.c).
 *
 * Re-signed tokens are checked by a verifier written here, straight on
 * OpenSSL's EVP_DigestVerify with the public half of the key (or HMAC()),
 * not by jwt_verify(), so a bug shared by signing and verifying in jwt.c
 * cannot hide.  Keys are generated per run and loaded from PEM files.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "buf.h"
#include "jwt.h"
#include "unit.h"

#define SECRET	"s3cr3t-Value-XYZ"

static char	tmpdir[] = "/tmp/test-jwt.XXXXXX";

/* --- helpers independent of jwt.c --- */

/* Decodes unpadded base64url s[0..n) into out (via base64.c). */
static int
b64url_dec(struct buf *out, const char *s, size_t n)
{
	struct buf	t;
	size_t		i;
	int		rc;

	buf_init(&t);
	for (i = 0; i < n; i++)
		buf_append_byte(&t, s[i] == '-' ? '+' : s[i] == '_' ? '/' :
		    s[i]);
	while (t.len % 4 != 0)
		buf_append_byte(&t, '=');
	rc = base64_decode(out, t.data, t.len, NULL);
	buf_free(&t);
	return rc;
}

static void
b64url_enc(struct buf *out, const char *s)
{
	struct buf	t;
	size_t		i;

	buf_init(&t);
	base64_encode(&t, s, strlen(s));
	for (i = 0; i < t.len && t.data[i] != '='; i++)
		buf_append_byte(out, t.data[i] == '+' ? '-' :
		    t.data[i] == '/' ? '_' : t.data[i]);
	buf_free(&t);
}

/* Builds header.payload.sig from JSON texts (sig: a dummy "c2ln"). */
static char *
make_token(const char *header, const char *payload)
{
	struct buf	b;

	buf_init(&b);
	b64url_enc(&b, header);
	buf_append_byte(&b, '.');
	b64url_enc(&b, payload);
	buf_append_str(&b, ".c2ln");
	return buf_detach(&b, NULL);
}

/* The decoded payload of token tok (allocated). */
static char *
payload_of(const char *tok)
{
	const char	*d1, *d2;
	struct buf	 b;

	buf_init(&b);
	if ((d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL ||
	    b64url_dec(&b, d1 + 1, (size_t)(d2 - d1 - 1)) == -1) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static char *
write_file(const char *name, const void *data, size_t len)
{
	char	*path;
	FILE	*f;

	if (asprintf(&path, "%s/%s", tmpdir, name) == -1)
		abort();
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

static char *
write_pem(const char *name, EVP_PKEY *pkey, int traditional)
{
	char	*path, *pem;
	BIO	*bio;
	long	 n;

	bio = BIO_new(BIO_s_mem());
	if (traditional)
		PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0,
		    NULL, NULL);
	else
		PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &pem);
	path = write_file(name, pem, (size_t)n);
	BIO_free(bio);
	return path;
}

/* The public half alone, through DER, so nothing private is left. */
static EVP_PKEY *
public_half(EVP_PKEY *pkey)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	EVP_PKEY		*pub;
	int			 n;

	if ((n = i2d_PUBKEY(pkey, &der)) <= 0)
		abort();
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	return pub;
}

/*
 * Verifies tok per RFC 7518 with pub (or the HMAC secret): 1 if the
 * signature is valid, 0 if not.
 */
static int
indep_verify(const char *tok, const char *alg, EVP_PKEY *pub,
    const void *secret, size_t secret_len)
{
	const char	*d1, *d2;
	const EVP_MD	*md = NULL;
	unsigned char	 mac[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int	 maclen;
	struct buf	 sig;
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	const unsigned char *s;
	size_t		 slen, half = 0;
	int		 ok = 0, n;

	if ((d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL)
		return 0;
	buf_init(&sig);
	if (b64url_dec(&sig, d2 + 1, strlen(d2 + 1)) == -1)
		goto out;
	if (strstr(alg, "256") != NULL)
		md = EVP_sha256();
	else if (strstr(alg, "384") != NULL)
		md = EVP_sha384();
	else if (strstr(alg, "512") != NULL)
		md = EVP_sha512();
	s = (const unsigned char *)sig.data;
	slen = sig.len;
	if (alg[0] == 'H') {
		HMAC(md, secret, (int)secret_len, (const unsigned char *)tok,
		    (size_t)(d2 - tok), mac, &maclen);
		ok = maclen == sig.len && memcmp(mac, sig.data, maclen) == 0;
		goto out;
	}
	if (alg[0] == 'E' && alg[1] == 'S') {
		ECDSA_SIG	*es = ECDSA_SIG_new();

		half = strncmp(alg, "ES256", 5) == 0 ? 32 :
		    strcmp(alg, "ES384") == 0 ? 48 : 66;
		if (sig.len != 2 * half) {
			ECDSA_SIG_free(es);
			goto out;
		}
		ECDSA_SIG_set0(es, BN_bin2bn(s, (int)half, NULL),
		    BN_bin2bn(s + half, (int)half, NULL));
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		s = der;
		slen = (size_t)n;
	}
	ctx = EVP_MD_CTX_new();
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pub) != 1)
		abort();
	if (alg[0] == 'R')
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
	if (alg[0] == 'P') {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md));
		EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
	}
	ok = EVP_DigestVerify(ctx, s, slen, (const unsigned char *)tok,
	    (size_t)(d2 - tok)) == 1;
	EVP_MD_CTX_free(ctx);
out:
	OPENSSL_free(der);
	buf_free(&sig);
	return ok;
}

/* --- RFC 7515 appendix A.1 --- */

static const char rfc_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_k[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h"
    "cgUuTwjAzZr1Z9CAow";

static void
test_rfc7515(void)
{
	struct jwt	 t;
	struct jwt_key	*key, *fkey, *wrong;
	struct buf	 secret, out, file;
	char		*cause = NULL, *path, *pay, tampered[sizeof rfc_token];

	buf_init(&secret);
	ASSERT_EQ(b64url_dec(&secret, rfc_k, strlen(rfc_k)), 0);
	ASSERT_EQ(secret.len, 64);

	ASSERT_EQ(jwt_parse(rfc_token, strlen(rfc_token), &t, &cause), 0);
	ASSERT_STR_EQ(t.alg, "HS256");
	ASSERT_MEM_EQ(t.header, t.header_len,
	    "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
	ASSERT_MEM_EQ(t.payload, t.payload_len, "{\"iss\":\"joe\",\r\n"
	    " \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
	ASSERT(t.kid == NULL);
	ASSERT_EQ(t.exp, 1300819380);
	ASSERT(t.iat == JWT_NO_TIME);
	ASSERT(t.nbf == JWT_NO_TIME);
	jwt_free(&t);

	key = jwt_key_hmac(secret.data, secret.len);
	ASSERT(key != NULL);
	ASSERT_EQ(jwt_key_fits(key, "HS256"), 1);
	ASSERT_EQ(jwt_key_fits(key, "HS512"), 1);
	ASSERT_EQ(jwt_key_fits(key, "RS256"), 0);
	ASSERT_EQ(jwt_verify(rfc_token, strlen(rfc_token), key), 0);

	/* Shift 0, no claims: the published bytes exactly. */
	buf_init(&out);
	ASSERT_EQ(jwt_resign(&out, rfc_token, strlen(rfc_token), 0, NULL, 0,
	    key, &cause), 0);
	ASSERT_MEM_EQ(out.data, out.len, rfc_token);

	/* One byte of the payload changed: the signature no longer holds. */
	memcpy(tampered, rfc_token, sizeof tampered);
	tampered[60] = tampered[60] == 'A' ? 'B' : 'A';
	ASSERT_EQ(jwt_verify(tampered, strlen(tampered), key), -1);
	wrong = jwt_key_hmac("not the key", 11);
	ASSERT_EQ(jwt_verify(rfc_token, strlen(rfc_token), wrong), -1);
	jwt_key_free(wrong);

	/* Moved an hour: exp alone changes, the signature is HS256's. */
	buf_reset(&out);
	ASSERT_EQ(jwt_resign(&out, rfc_token, strlen(rfc_token), 3600, NULL,
	    0, key, &cause), 0);
	ASSERT(strncmp(out.data, rfc_token, 41) == 0);
	pay = payload_of(out.data);
	ASSERT_STR_EQ(pay, "{\"iss\":\"joe\",\r\n \"exp\":1300822980,\r\n"
	    " \"http://example.com/is_root\":true}");
	free(pay);
	ASSERT(indep_verify(out.data, "HS256", NULL, secret.data,
	    secret.len));
	ASSERT_EQ(jwt_verify(out.data, out.len, key), 0);

	/* The same secret from a file, with a trailing newline. */
	buf_init(&file);
	buf_append(&file, secret.data, secret.len);
	buf_append_byte(&file, '\n');
	path = write_file("rfc.secret", file.data, file.len);
	fkey = jwt_key_load(path, "HS256", &cause);
	ASSERT(fkey != NULL);
	if (fkey != NULL)
		ASSERT_EQ(jwt_verify(rfc_token, strlen(rfc_token), fkey), 0);
	jwt_key_free(fkey);
	fkey = jwt_key_load(path, NULL, &cause);	/* guessed: HMAC */
	ASSERT(fkey != NULL);
	if (fkey != NULL)
		ASSERT_EQ(jwt_verify(rfc_token, strlen(rfc_token), fkey), 0);
	jwt_key_free(fkey);
	unlink(path);
	free(path);

	buf_free(&file);
	buf_free(&out);
	buf_free(&secret);
	jwt_key_free(key);
}

/* --- every family: re-sign, verify independently, check the payload --- */

static const char payload_in[] =
    "{\"sub\":\"alice\", \"iat\":1733000000,\"role\":\"user\",\n"
    " \"n\":{\"exp\":5,\"x\":[1,2.50,\"\\u00e9\"]},\"nbf\":1733000000,"
    "\"big\":9007199254740993,\"exp\":1733003600 }";
/* shift +3600, role = "admin", jti appended */
static const char payload_out[] =
    "{\"sub\":\"alice\", \"iat\":1733003600,\"role\":\"admin\",\n"
    " \"n\":{\"exp\":5,\"x\":[1,2.50,\"\\u00e9\"]},\"nbf\":1733003600,"
    "\"big\":9007199254740993,\"exp\":1733007200,\"jti\":\"j-2\" }";

static void
check_family(EVP_PKEY *pkey, const char *name, const char *const *algs,
    int traditional)
{
	static const struct jwt_claim claims[] = {
		{ "role", "\"admin\"" },
		{ "jti", "\"j-2\"" },
	};
	struct jwt_key	*key, *guessed;
	EVP_PKEY	*pub = public_half(pkey);
	struct buf	 out, hdr;
	struct jwt	 t;
	char		*path, *cause = NULL, *tok, *pay, header[96];
	size_t		 i;

	path = write_pem(name, pkey, traditional);
	guessed = jwt_key_load(path, NULL, &cause);
	ASSERT(guessed != NULL);
	for (i = 0; algs[i] != NULL; i++) {
		snprintf(header, sizeof header,
		    "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"k1\"}", algs[i]);
		tok = make_token(header, payload_in);
		key = jwt_key_load(path, algs[i], &cause);
		ASSERT(key != NULL);
		if (key == NULL) {
			fprintf(stderr, "%s: %s\n", algs[i], cause);
			free(cause);
			free(tok);
			continue;
		}
		ASSERT_EQ(jwt_key_fits(key, algs[i]), 1);
		ASSERT_EQ(jwt_key_fits(guessed, algs[i]), 1);
		ASSERT_EQ(jwt_key_fits(key, "HS256"), 0);

		buf_init(&out);
		ASSERT_EQ(jwt_resign(&out, tok, strlen(tok), 3600, claims, 2,
		    key, &cause), 0);
		/* The header segment is kept byte for byte. */
		buf_init(&hdr);
		b64url_enc(&hdr, header);
		ASSERT(strncmp(out.data, hdr.data, hdr.len) == 0 &&
		    out.data[hdr.len] == '.');
		buf_free(&hdr);
		pay = payload_of(out.data);
		ASSERT_STR_EQ(pay, payload_out);
		free(pay);
		if (!indep_verify(out.data, algs[i], pub, NULL, 0))
			UNIT_FAIL("%s: OpenSSL rejects the re-signed token "
			    "%s", algs[i], out.data);
		unit_checks++;
		ASSERT_EQ(jwt_verify(out.data, out.len, key), 0);
		ASSERT_EQ(jwt_verify(out.data, out.len, guessed), 0);
		/* Parsed back, the times are an hour later. */
		ASSERT_EQ(jwt_parse(out.data, out.len, &t, &cause), 0);
		ASSERT_EQ(t.iat, 1733003600);
		ASSERT_EQ(t.nbf, 1733003600);
		ASSERT_EQ(t.exp, 1733007200);
		ASSERT_STR_EQ(t.kid, "k1");
		ASSERT_STR_EQ(t.alg, algs[i]);
		jwt_free(&t);
		/* The original's dummy signature is not valid. */
		ASSERT_EQ(jwt_verify(tok, strlen(tok), key), -1);
		/* A flipped signature byte is caught. */
		out.data[out.len - 3] = out.data[out.len - 3] == 'A' ?
		    'B' : 'A';
		ASSERT_EQ(jwt_verify(out.data, out.len, key), -1);
		ASSERT(!indep_verify(out.data, algs[i], pub, NULL, 0));
		buf_free(&out);
		jwt_key_free(key);
		free(tok);
	}
	jwt_key_free(guessed);
	EVP_PKEY_free(pub);
	unlink(path);
	free(path);
}

/* Loading path for alg must fail with a cause holding want. */
static void
load_fails(const char *path, const char *alg, const char *want)
{
	struct jwt_key	*key;
	char		*cause = NULL;

	key = jwt_key_load(path, alg, &cause);
	ASSERT(key == NULL);
	jwt_key_free(key);
	ASSERT(cause != NULL && strstr(cause, want) != NULL);
	ASSERT(cause != NULL && strstr(cause, path) != NULL);
	ASSERT(cause == NULL || strstr(cause, SECRET) == NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		fprintf(stderr, "  cause: %s\n", cause);
	free(cause);
}

static EVP_PKEY *rsa, *p256, *p384, *p521, *ed25519;

static void
test_families(void)
{
	static const char *const rs[] = { "RS256", "RS384", "RS512",
	    "PS256", "PS384", "PS512", NULL };
	static const char *const es256[] = { "ES256", NULL };
	static const char *const es384[] = { "ES384", NULL };
	static const char *const es512[] = { "ES512", NULL };
	static const char *const eddsa[] = { "EdDSA", NULL };
	char	*path;

	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (rsa == NULL || p256 == NULL || p384 == NULL || p521 == NULL ||
	    ed25519 == NULL)
		abort();
	check_family(rsa, "rsa.pem", rs, 0);
	check_family(rsa, "rsa-trad.pem", rs, 1);
	check_family(p256, "p256.pem", es256, 0);
	check_family(p384, "p384.pem", es384, 1);
	check_family(p521, "p521.pem", es512, 0);
	check_family(ed25519, "ed25519.pem", eddsa, 0);

	/* A key of the wrong type or curve is refused at load. */
	path = write_pem("rsa-mismatch.pem", rsa, 0);
	load_fails(path, "ES256", "an RSA key cannot sign ES256");
	load_fails(path, "EdDSA", "an RSA key cannot sign EdDSA");
	unlink(path);
	free(path);
	path = write_pem("p256-mismatch.pem", p256, 0);
	load_fails(path, "ES384", "an EC P-256 key cannot sign ES384");
	load_fails(path, "RS256", "an EC P-256 key cannot sign RS256");
	unlink(path);
	free(path);
	path = write_pem("ed-mismatch.pem", ed25519, 0);
	load_fails(path, "ES256", "an Ed25519 key cannot sign ES256");
	unlink(path);
	free(path);
}

/* Less common keys and PEM files. */
static void
test_more_keys(void)
{
	static const char *const pss[] = { "PS256", "PS512", NULL };
	static const char *const es256k[] = { "ES256K", NULL };
	static const char *const eddsa[] = { "EdDSA", NULL };
	/* `openssl ecparam -genkey` puts the curve's OID first. */
	static const char params[] = "Some text before the key\n"
	    "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
	    "-----END EC PARAMETERS-----\n";
	EVP_PKEY	*k;
	EVP_PKEY_CTX	*pctx;
	struct jwt_key	*key;
	struct buf	 b;
	char		*path, *pem, *cause = NULL;
	BIO		*bio;
	long		 n;

	/* An RSA-PSS key signs PS* only. */
	k = NULL;
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	if (pctx == NULL || EVP_PKEY_keygen_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 2048) != 1 ||
	    EVP_PKEY_generate(pctx, &k) != 1)
		abort();
	EVP_PKEY_CTX_free(pctx);
	if (k != NULL) {
		check_family(k, "rsa-pss.pem", pss, 0);
		path = write_pem("rsa-pss2.pem", k, 0);
		load_fails(path, "RS256", "an RSA-PSS key cannot sign RS256");
		unlink(path);
		free(path);
		EVP_PKEY_free(k);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	check_family(k, "ed448.pem", eddsa, 0);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	check_family(k, "secp256k1.pem", es256k, 1);
	path = write_pem("secp256k1-2.pem", k, 0);
	load_fails(path, "ES256", "an EC secp256k1 key cannot sign ES256");
	unlink(path);
	free(path);
	EVP_PKEY_free(k);

	/* Curves and key types JWS has no alg for. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	path = write_pem("p224.pem", k, 0);
	load_fails(path, NULL, "a curve JWS does not use");
	unlink(path);
	free(path);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	path = write_pem("x25519.pem", k, 0);
	load_fails(path, NULL, "X25519 keys cannot sign JWTs");
	unlink(path);
	free(path);
	EVP_PKEY_free(k);

	/* An encrypted key is refused without prompting. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, p256, EVP_aes_128_cbc(),
	    (unsigned char *)"pass", 4, NULL, NULL);
	n = BIO_get_mem_data(bio, &pem);
	path = write_file("encrypted.pem", pem, (size_t)n);
	BIO_free(bio);
	load_fails(path, "ES256", "encrypted");
	load_fails(path, NULL, "encrypted");
	unlink(path);
	free(path);

	/* EC PARAMETERS and text before the key are skipped. */
	buf_init(&b);
	buf_append_str(&b, params);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(bio, p256, NULL, NULL, 0, NULL,
	    NULL);
	n = BIO_get_mem_data(bio, &pem);
	buf_append(&b, pem, (size_t)n);
	BIO_free(bio);
	path = write_file("ecparam.pem", b.data, b.len);
	key = jwt_key_load(path, "ES256", &cause);
	ASSERT(key != NULL);
	if (key == NULL) {
		fprintf(stderr, "  %s\n", cause);
		free(cause);
	}
	jwt_key_free(key);
	key = jwt_key_load(path, NULL, &cause);
	ASSERT(key != NULL && jwt_key_fits(key, "ES256"));
	if (key == NULL)
		free(cause);
	jwt_key_free(key);
	unlink(path);
	free(path);
	buf_free(&b);
}

/*
 * Every prefix of a valid token, each placed right before an unreadable
 * page: parse, re-sign and verify fail cleanly (or succeed) and never
 * read past the end.
 */
static void
test_truncations(void)
{
	struct jwt_key	*key = jwt_key_hmac(SECRET, strlen(SECRET));
	struct buf	 out;
	struct jwt	 t;
	char		*tok, *page, *cause;
	size_t		 len, i, pagesz = (size_t)sysconf(_SC_PAGESIZE);
	int		 ok = 0;

	tok = make_token("{\"alg\":\"HS256\",\"kid\":\"a\\u00e9\"}",
	    "{\"iat\":1.5e9,\"n\":[1,{\"x\":\"\\ud83d\\ude00\"}],"
	    "\"exp\":1500000060}");
	len = strlen(tok);
	ASSERT(len < pagesz);
	page = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || mprotect(page + pagesz, pagesz,
	    PROT_NONE) == -1)
		abort();
	buf_init(&out);
	for (i = 0; i <= len; i++) {
		memcpy(page + pagesz - i, tok, i);
		cause = NULL;
		if (jwt_parse(page + pagesz - i, i, &t, &cause) == 0) {
			ok++;
			jwt_free(&t);
		} else
			ASSERT(cause != NULL);
		free(cause);
		cause = NULL;
		buf_reset(&out);
		if (jwt_resign(&out, page + pagesz - i, i, 10, NULL, 0, key,
		    &cause) == 0)
			ASSERT(jwt_verify(out.data, out.len, key) == 0);
		else
			ASSERT(cause != NULL && out.len == 0);
		free(cause);
		ASSERT_EQ(jwt_verify(page + pagesz - i, i, key), -1);
	}
	/* At least the whole token and "header.payload." (unsigned). */
	ASSERT(ok >= 2);
	munmap(page, 2 * pagesz);
	buf_free(&out);
	free(tok);
	jwt_key_free(key);
}

/* --- errors --- */

/* jwt_resign must fail, leave out empty, and say want (never SECRET). */
static void
resign_fails(const char *tok, const struct jwt_key *key, const char *want)
{
	struct buf	 out;
	char		*cause = NULL;

	buf_init(&out);
	buf_append_str(&out, "kept");
	ASSERT_EQ(jwt_resign(&out, tok, strlen(tok), 60, NULL, 0, key,
	    &cause), -1);
	ASSERT_MEM_EQ(out.data, out.len, "kept");
	ASSERT(cause != NULL && strstr(cause, want) != NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		fprintf(stderr, "  cause: %s\n", cause);
	ASSERT(cause == NULL || strstr(cause, SECRET) == NULL);
	free(cause);
	buf_free(&out);
	if (key != NULL)
		ASSERT_EQ(jwt_verify(tok, strlen(tok), key), -1);
}

static void
parse_fails(const char *tok, const char *want)
{
	struct jwt	 t;
	struct jwt_key	*key = jwt_key_hmac(SECRET, strlen(SECRET));
	char		*cause = NULL;

	ASSERT_EQ(jwt_parse(tok, strlen(tok), &t, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, want) != NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		fprintf(stderr, "  %s: cause: %s\n", tok, cause);
	free(cause);
	resign_fails(tok, key, want);
	jwt_key_free(key);
}

static void
test_errors(void)
{
	static const char garbage_pem[] = "-----BEGIN PRIVATE KEY-----\n"
	    "bm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n";
	struct jwt_key	*hkey;
	char		*path, *tok, *nopath, *cause = NULL, *pem;
	BIO		*bio;
	long		 n;

	/* Files that cannot be read, or hold nothing usable. */
	if (asprintf(&nopath, "%s/absent", tmpdir) == -1)
		abort();
	load_fails(nopath, "HS256", "No such file or directory");
	load_fails(nopath, "RS256", "No such file or directory");
	free(nopath);
	load_fails(tmpdir, "HS256", "Is a directory");
	if (geteuid() != 0) {
		path = write_file("noperm", SECRET, strlen(SECRET));
		chmod(path, 0);
		load_fails(path, "HS256", "Permission denied");
		unlink(path);
		free(path);
	}
	path = write_file("empty", "\n", 1);
	load_fails(path, "HS256", "the secret is empty");
	load_fails(path, NULL, "the secret is empty");
	unlink(path);
	free(path);
	path = write_file("secret", SECRET "\n", strlen(SECRET) + 1);
	load_fails(path, "RS256", "not a PEM private key");
	load_fails(path, "ES256", "not a PEM private key");
	load_fails(path, "XX999", "unsupported alg");
	load_fails(path, "none", "takes no key");
	unlink(path);
	free(path);
	path = write_file("garbage.pem", garbage_pem, strlen(garbage_pem));
	load_fails(path, "RS256", "not a PEM private key");
	load_fails(path, NULL, "not a PEM private key");
	unlink(path);
	free(path);
	/* A public key where the private one is needed. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, rsa);
	n = BIO_get_mem_data(bio, &pem);
	path = write_file("public.pem", pem, (size_t)n);
	BIO_free(bio);
	load_fails(path, "RS256", "a public key");
	unlink(path);
	free(path);

	/* Malformed tokens. */
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e30", "3 parts");
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e30.c2ln.x", "3 parts");
	parse_fails("a.b.c.d.e", "JWE");
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e3!0.c2ln", "payload: not base64url "
	    "(byte 23 of the token)");
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e30=.c2ln", "payload: not base64url "
	    "(byte 24 of");
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e30.c2l", "signature: not base64url "
	    "(byte 27 of");
	parse_fails("eyJhbGciOiJIUzI1NiJ9+.e30.c2ln", "header: not base64url "
	    "(byte 20 of");
	parse_fails("eyJhbGciOiJIUzI1NiJ9.e30xY.c2ln", "payload: not base64url "
	    "(byte 26 of");
	tok = make_token("not json", "{}");
	parse_fails(tok, "header: not a JSON object");
	free(tok);
	tok = make_token("{\"typ\":\"JWT\"}", "{}");
	parse_fails(tok, "no \"alg\"");
	free(tok);
	tok = make_token("{\"alg\":256}", "{}");
	parse_fails(tok, "\"alg\" is not an algorithm name");
	free(tok);
	tok = make_token("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{}");
	parse_fails(tok, "twice");
	free(tok);
	tok = make_token("{\"alg\":\"HS256\"}", "[1]");
	parse_fails(tok, "payload: not a JSON object");
	free(tok);
	tok = make_token("{\"alg\":\"HS256\"}", "{\"a\":1} x");
	parse_fails(tok, "payload: not a JSON object");
	free(tok);
	parse_fails("", "3 parts");

	/* Keys that cannot sign the token, or none at all. */
	hkey = jwt_key_hmac(SECRET, strlen(SECRET));
	ASSERT(jwt_key_hmac(SECRET, 0) == NULL);
	tok = make_token("{\"alg\":\"RS256\"}", "{\"exp\":1}");
	resign_fails(tok, hkey, "an HMAC secret cannot sign RS256 tokens");
	resign_fails(tok, NULL, "signed with RS256 and no key was given: "
	    "it cannot be re-signed");
	free(tok);
	tok = make_token("{\"alg\":\"HS999\"}", "{\"exp\":1}");
	resign_fails(tok, hkey, "alg \"HS999\" is not supported");
	free(tok);
	/* A time that cannot move, a claim value that is not JSON. */
	tok = make_token("{\"alg\":\"HS256\"}",
	    "{\"exp\":9223372036854775800}");
	resign_fails(tok, hkey, "\"exp\" = 9223372036854775800 cannot be "
	    "moved");
	free(tok);
	{
		static const struct jwt_claim bad = { "role", "admin" };
		struct buf	out;

		tok = make_token("{\"alg\":\"HS256\"}", "{}");
		buf_init(&out);
		ASSERT_EQ(jwt_resign(&out, tok, strlen(tok), 0, &bad, 1, hkey,
		    &cause), -1);
		ASSERT_EQ(out.len, 0);
		ASSERT(cause != NULL && strstr(cause, "claim \"role\"") !=
		    NULL);
		free(cause);
		buf_free(&out);
		free(tok);
	}
	jwt_key_free(hkey);
}

/* --- alg none, odd times, claim overrides --- */

/* Re-signs payload (HS256, shift, claims) and returns the new payload. */
static char *
resign_payload(const char *payload, int64_t shift,
    const struct jwt_claim *claims, size_t n)
{
	struct jwt_key	*key = jwt_key_hmac(SECRET, strlen(SECRET));
	struct buf	 out;
	char		*tok, *cause = NULL, *pay = NULL;

	tok = make_token("{\"alg\":\"HS256\"}", payload);
	buf_init(&out);
	if (jwt_resign(&out, tok, strlen(tok), shift, claims, n, key,
	    &cause) == 0) {
		pay = payload_of(out.data);
		ASSERT(indep_verify(out.data, "HS256", NULL, SECRET,
		    strlen(SECRET)));
	} else {
		fprintf(stderr, "  %s: %s\n", payload, cause);
		free(cause);
	}
	buf_free(&out);
	free(tok);
	jwt_key_free(key);
	return pay;
}

#define PAYLOAD_IS(in, shift, claims, n, want) do {			\
	char	*p_ = resign_payload((in), (shift), (claims), (n));	\
	ASSERT_STR_EQ(p_, (want));					\
	free(p_);							\
} while (0)

static void
test_none(void)
{
	struct jwt_key	*key = jwt_key_hmac(SECRET, strlen(SECRET));
	struct buf	 out, want;
	char		*tok, *cause = NULL;

	ASSERT_EQ(jwt_key_fits(NULL, "none"), 1);
	ASSERT_EQ(jwt_key_fits(NULL, "HS256"), 0);
	tok = make_token("{\"alg\":\"none\"}", "{\"iat\":100,\"exp\":200}");
	tok[strlen(tok) - 4] = '\0';	/* unsigned: "header.payload." */
	buf_init(&out);
	ASSERT_EQ(jwt_resign(&out, tok, strlen(tok), 50, NULL, 0, NULL,
	    &cause), 0);
	buf_init(&want);
	b64url_enc(&want, "{\"alg\":\"none\"}");
	buf_append_byte(&want, '.');
	b64url_enc(&want, "{\"iat\":150,\"exp\":250}");
	buf_append_byte(&want, '.');
	ASSERT_MEM_EQ(out.data, out.len, want.data);
	/* A key is not needed, and nothing verifies an unsigned token. */
	buf_reset(&out);
	ASSERT_EQ(jwt_resign(&out, tok, strlen(tok), 50, NULL, 0, key,
	    &cause), 0);
	ASSERT_MEM_EQ(out.data, out.len, want.data);
	ASSERT_EQ(jwt_verify(out.data, out.len, key), -1);
	ASSERT_EQ(jwt_verify(out.data, out.len, NULL), -1);
	buf_free(&want);
	buf_free(&out);
	free(tok);
	jwt_key_free(key);
}

static void
test_times(void)
{
	struct jwt	 t;
	char		*tok, *cause = NULL;

	/* A fraction keeps its digits; an exponent becomes plain. */
	PAYLOAD_IS("{\"iat\":1733000000.5,\"exp\":1.7e9,\"nbf\":17e8}", 3600,
	    NULL, 0, "{\"iat\":1733003600.5,\"exp\":1700003600,"
	    "\"nbf\":1700003600}");
	PAYLOAD_IS("{\"iat\":1.7330000005E+9,\"exp\":1733000000.250}", -60,
	    NULL, 0, "{\"iat\":1732999940.5,\"exp\":1732999940.250}");
	/* Shift 0 leaves every byte alone, exponents included. */
	PAYLOAD_IS("{\"iat\":1.7e9 , \"exp\" : 1733000000}", 0, NULL, 0,
	    "{\"iat\":1.7e9 , \"exp\" : 1733000000}");
	/* Not numbers, or not top-level: untouched. */
	PAYLOAD_IS("{\"exp\":\"1733000000\",\"iat\":null,"
	    "\"x\":{\"exp\":10}}", 5, NULL, 0, "{\"exp\":\"1733000000\","
	    "\"iat\":null,\"x\":{\"exp\":10}}");
	/* Negative integers move like any other. */
	PAYLOAD_IS("{\"nbf\":-10}", 5, NULL, 0, "{\"nbf\":-5}");

	tok = make_token("{\"alg\":\"HS256\"}",
	    "{\"iat\":1733000000.75,\"nbf\":1.7e9,\"exp\":\"soon\"}");
	ASSERT_EQ(jwt_parse(tok, strlen(tok), &t, &cause), 0);
	ASSERT_EQ(t.iat, 1733000000);
	ASSERT_EQ(t.nbf, 1700000000);
	ASSERT(t.exp == JWT_NO_TIME);
	jwt_free(&t);
	free(tok);
}

static void
test_claims(void)
{
	static const struct jwt_claim c1[] = {
		{ "role", "{\"a\": [1, 2]}" },
		{ "new", "42" },
		{ "iat", "7" },
	};
	static const struct jwt_claim twice[] = {
		{ "x", "1" }, { "y", "true" }, { "x", "2" },
	};
	static const struct jwt_claim odd[] = {
		{ "say \"hi\"\n", "\"\\u0041\"" },
	};

	/* In place, escaped names matched, the override beats the shift. */
	PAYLOAD_IS("{\"\\u0072ole\":\"user\",\"iat\":1000,\"exp\":2000}", 10,
	    c1, 3, "{\"\\u0072ole\":{\"a\": [1, 2]},\"iat\":7,\"exp\":2010,"
	    "\"new\":42}");
	/* Appended into an empty object, with no comma. */
	PAYLOAD_IS("{ }", 0, c1 + 1, 1, "{\"new\":42 }");
	PAYLOAD_IS("{}", 0, twice, 3, "{\"y\":true,\"x\":2}");
	PAYLOAD_IS("{\"x\":0,\"x\":0}", 0, twice, 3,
	    "{\"x\":2,\"x\":2,\"y\":true}");
	/* A name that needs escaping is written as JSON. */
	PAYLOAD_IS("{\"a\":1}\n", 0, odd, 1,
	    "{\"a\":1,\"say \\\"hi\\\"\\n\":\"\\u0041\"}\n");
}

/* --- several threads, one key --- */

struct worker {
	const struct jwt_key	*key;
	const char		*alg;
	EVP_PKEY		*pub;
	int			 bad;
};

static void *
worker_run(void *arg)
{
	static const struct jwt_claim claim = { "n", "1" };
	struct worker	*w = arg;
	struct buf	 out;
	char		*tok, header[64], *cause = NULL;
	int		 i;

	snprintf(header, sizeof header, "{\"alg\":\"%s\"}", w->alg);
	tok = make_token(header, "{\"iat\":1733000000}");
	buf_init(&out);
	for (i = 0; i < 40; i++) {
		buf_reset(&out);
		if (jwt_resign(&out, tok, strlen(tok), i, &claim, 1, w->key,
		    &cause) == -1) {
			free(cause);
			w->bad++;
			continue;
		}
		if (jwt_verify(out.data, out.len, w->key) == -1 ||
		    !indep_verify(out.data, w->alg, w->pub, SECRET,
		    strlen(SECRET)))
			w->bad++;
	}
	buf_free(&out);
	free(tok);
	return NULL;
}

static void
test_threads(void)
{
	struct jwt_key	*keys[4];
	struct worker	 w[8];
	pthread_t	 th[8];
	char		*path, *cause = NULL;
	int		 i;

	path = write_pem("shared-ec.pem", p256, 0);
	keys[0] = jwt_key_load(path, "ES256", &cause);
	unlink(path);
	free(path);
	path = write_pem("shared-rsa.pem", rsa, 0);
	keys[1] = jwt_key_load(path, "PS256", &cause);
	unlink(path);
	free(path);
	path = write_pem("shared-ed.pem", ed25519, 0);
	keys[2] = jwt_key_load(path, "EdDSA", &cause);
	unlink(path);
	free(path);
	keys[3] = jwt_key_hmac(SECRET, strlen(SECRET));
	ASSERT(keys[0] != NULL && keys[1] != NULL && keys[2] != NULL);
	if (keys[0] == NULL || keys[1] == NULL || keys[2] == NULL)
		return;
	for (i = 0; i < 8; i++) {
		w[i].key = keys[i % 4];
		w[i].alg = (const char *[]){ "ES256", "PS256", "EdDSA",
		    "HS384" }[i % 4];
		w[i].pub = (EVP_PKEY *[]){ p256, rsa, ed25519, NULL }[i % 4];
		w[i].bad = 0;
		if (pthread_create(&th[i], NULL, worker_run, &w[i]) != 0)
			abort();
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ(w[i].bad, 0);
	}
	for (i = 0; i < 4; i++)
		jwt_key_free(keys[i]);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_rfc7515();
	test_families();
	test_more_keys();
	test_errors();
	test_truncations();
	test_none();
	test_times();
	test_claims();
	test_threads();
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed25519);
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
	UNIT_DONE();
}
