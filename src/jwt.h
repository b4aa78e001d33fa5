/*
 * jwt.h -- JSON Web Tokens in JWS compact form (RFC 7515, 7519): read the
 * header and the time claims, and re-sign a token with its times moved
 * (and claims overridden) using a key the user gives.
 *
 * The header and payload are edited as JSON text, never through cJSON:
 * members keep their order and every value that is not rewritten keeps
 * its bytes.  Signing uses OpenSSL 3: HS256/384/512 (HMAC over a secret),
 * RS256/384/512 and PS256/384/512 (RSA), ES256/384/512 (ECDSA P-256,
 * P-384, P-521, the signature written as R || S as JWS requires, not
 * DER), EdDSA (Ed25519).  A key's type must fit the token's alg; a token
 * whose alg is "none" is re-encoded unsigned.
 *
 * Secrets are never logged and never appear in a cause message.
 */
#ifndef DECOY_JWT_H
#define DECOY_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JWT_NO_TIME	INT64_MIN

/* A parsed token; header and payload are decoded JSON text (owned). */
struct jwt {
	char	*header;	/* decoded header JSON */
	size_t	 header_len;
	char	*payload;	/* decoded payload JSON */
	size_t	 payload_len;
	char	 alg[16];	/* "HS256", ..., "none" */
	char	*kid;		/* NULL if absent */
	int64_t	 iat;		/* seconds (integer part), JWT_NO_TIME when
				   absent or not a number */
	int64_t	 nbf;
	int64_t	 exp;
};

/*
 * Parses token s[0..len) (three base64url parts, header and payload JSON
 * objects, "alg" present).  0, or -1 with *cause (allocated).  The
 * signature is not checked.
 */
int	jwt_parse(const char *s, size_t len, struct jwt *, char **cause);
void	jwt_free(struct jwt *);

struct jwt_key;

/*
 * Loads a key.  For HMAC algs (alg "HS256", "HS384", "HS512" or "HS"),
 * path is a file holding the secret: its bytes, one trailing newline
 * removed.  For the others, path is a PEM private key (PKCS#8 or
 * traditional; RSA, EC or Ed25519).  alg NULL: guessed from the file
 * (PEM -> its key type, else HMAC).  Returns NULL with *cause naming the
 * path and the problem (unreadable, empty, not a key, ...), never the
 * secret.
 */
struct jwt_key	*jwt_key_load(const char *path, const char *alg, char **cause);
/*
 * The same with the secret given as bytes (from an environment
 * variable), copied; NULL when len is 0.
 */
struct jwt_key	*jwt_key_hmac(const void *secret, size_t len);
void		 jwt_key_free(struct jwt_key *);
/* 1 when key can sign tokens of alg, else 0. */
int		 jwt_key_fits(const struct jwt_key *, const char *alg);

/* One claim to set: name and its value as raw JSON text ("\"bob\"", "42"). */
struct jwt_claim {
	const char	*name;
	const char	*json;
};

/*
 * Appends to out token s[0..len) re-signed with key: the numeric claims
 * iat, nbf and exp (those present) moved by shift_s seconds, then each of
 * claims[0..nclaims) set (replaced in place when present, appended
 * otherwise), the header kept as it was.  A time with a fraction keeps
 * it; one written with an exponent comes back as a plain decimal.  Claim
 * values must be one JSON value each; when a name is given twice the
 * last wins.  key may be NULL for alg "none".  0, or -1 with *cause (the
 * token does not parse, no key or one that does not fit its alg, a time
 * that cannot move, signing failed); out is then unchanged.
 */
int	jwt_resign(struct buf *out, const char *s, size_t len, int64_t shift_s,
	    const struct jwt_claim *claims, size_t nclaims,
	    const struct jwt_key *key, char **cause);

/*
 * Verifies token s[0..len) against key (the public half of a private
 * key, or the HMAC secret): 0 when the signature is valid, else -1.  For
 * tests and `decoy analyze`, which says whether a given key signed the
 * recorded tokens.  An unsigned token (alg "none") never verifies.
 */
int	jwt_verify(const char *s, size_t len, const struct jwt_key *key);

#endif
