/*
 * ca.c -- decoy's certificate authority: making one (`decoy ca init`),
 * loading it, and minting leaf certificates for TLS servers on demand.
 *
 * The CA key and every leaf are EC P-256.  One leaf key is generated at
 * load and shared by all the leaves of that CA, so minting a leaf is one
 * ECDSA signature (a fraction of a millisecond), never a key generation;
 * what the leaves share (issuer, public key, extensions other than the
 * SAN) is set from a template built once.  The leaf key is held as a
 * legacy EC_KEY (see ca_leaf_keygen): with OpenSSL 3.0 putting a
 * provider key into a certificate goes through the encoder machinery and
 * costs ~0.4 ms, ten ECDSA signatures.
 * Leaves are minted in the transport's certificate hook (ca_conn_cert,
 * a conn_tls_cert_cb), which runs after the ClientHello has been parsed:
 * the SNI names the leaf, and a client that sent none gets a leaf for the
 * IP address it connected to (getsockname on the conn's fd, or the
 * original destination of a connection an iptables REDIRECT sent here).
 * Leaves are cached per name in a hash table under a mutex, at most
 * CA_LEAF_MAX of them: beyond, a clock over the buckets drops the oldest
 * bucket's leaves.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "conn.h"
#include "log.h"
#include "sock.h"
#include "xmalloc.h"

#define CA_CERT_FILE	"ca.pem"
#define CA_KEY_FILE	"ca.key"
#define CA_DAYS		(10 * 365 + 2)
#define CA_LEAF_DAYS	365
#define CA_LEAF_BACKDATE (60 * 60)	/* clocks of clients may be behind */
#define CA_NAME_MAX	253
/* Leaves kept (about 1 KiB each); more names evict older buckets. */
#define CA_LEAF_MAX	4096
#define CA_MAX_BUCKETS	2048

static X509	*ca_leaf_template(struct ca *);
static EVP_PKEY *ca_leaf_keygen(void);

struct ca_leaf {
	struct ca_leaf	*next;
	char		*name;
	X509		*cert;
};

struct ca {
	EVP_PKEY	*key;
	X509		*cert;
	char		*pem;
	EVP_PKEY	*leaf_key;	/* shared by all the leaves */
	X509		*leaf_tmpl;	/* holds the extensions leaves share */

	pthread_mutex_t	 lock;		/* guards the leaf table */
	struct ca_leaf	**leaves;
	size_t		 nbuckets;
	size_t		 nleaves;
	size_t		 maxleaves;	/* bound of the cache */
	size_t		 evict;		/* next bucket to evict */
};

/* The first queued OpenSSL error, as an allocated "what: reason". */
static char *
ca_ssl_cause(const char *what)
{
	return conn_tls_cause(what);
}

const char *
ca_default_dir(void)
{
	static char	 path[PATH_MAX];
	const char	*s;

	if ((s = getenv("DECOY_CA_DIR")) != NULL && *s != '\0')
		return s;
	if ((s = getenv("HOME")) == NULL || *s == '\0')
		s = ".";
	snprintf(path, sizeof path, "%s/.decoy/ca", s);
	return path;
}

/* mkdir -p, each created component 0700. */
static int
ca_mkdirs(const char *dir, char **cause)
{
	char	*p, *s;

	s = xstrdup(dir);
	for (p = s + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		int end = *p == '\0';

		*p = '\0';
		if (mkdir(s, 0700) == -1 && errno != EEXIST) {
			*cause = xasprintf("%s: %s", s, strerror(errno));
			free(s);
			return -1;
		}
		if (end)
			break;
		*p = '/';
	}
	free(s);
	return 0;
}

/* A random positive 128-bit serial number. */
static int
ca_set_serial(X509 *x)
{
	unsigned char	 b[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	b[0] &= 0x7f;
	b[0] |= 0x40;	/* keep all 16 bytes significant */
	if ((bn = BN_bin2bn(b, sizeof b, NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
ca_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Writes data to path through path.tmp created with mode, then rename. */
static int
ca_write_file(const char *path, const char *data, size_t len, mode_t mode,
    char **cause)
{
	char	*tmp;
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	tmp = xasprintf("%s.tmp", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;

fail:
	*cause = xasprintf("%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	free(tmp);
	return -1;
}

/* The certificate x, or else the private key k, as PEM text, allocated
 * and NUL-terminated; NULL when OpenSSL fails. */
static char *
ca_pem(X509 *x, EVP_PKEY *k)
{
	BIO	*bio;
	char	*p, *s;
	long	 len;
	int	 ok;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (x != NULL)
		ok = PEM_write_bio_X509(bio, x);
	else
		ok = PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	if (ok != 1) {
		BIO_free(bio);
		return NULL;
	}
	len = BIO_get_mem_data(bio, &p);
	s = xstrndup(p, (size_t)len);
	BIO_free(bio);
	return s;
}

/* A self-signed v3 CA certificate for key. */
static X509 *
ca_make_cert(EVP_PKEY *key)
{
	X509		*x;
	X509_NAME	*name;
	X509V3_CTX	 ctx;
	char		 host[64], cn[128];

	if ((x = X509_new()) == NULL)
		return NULL;
	if (gethostname(host, sizeof host) == -1)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	snprintf(cn, sizeof cn, "decoy CA%s%s", host[0] != '\0' ? " " : "",
	    host);
	if (X509_set_version(x, 2) != 1 || ca_set_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -CA_LEAF_BACKDATE) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CA_DAYS * 24 * 60 * 60) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"decoy", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (ca_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
	    ca_add_ext(x, &ctx, NID_key_usage,
	    "critical,keyCertSign,cRLSign") ||
	    ca_add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    ca_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	return x;

fail:
	X509_free(x);
	return NULL;
}

int
ca_init(const char *dir, int force, char **cause)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	char		*cert_path, *key_path, *pem = NULL, *kpem = NULL;
	struct stat	 st;
	int		 rv = -1;

	cert_path = xasprintf("%s/%s", dir, CA_CERT_FILE);
	key_path = xasprintf("%s/%s", dir, CA_KEY_FILE);
	if (!force && (stat(cert_path, &st) == 0 || stat(key_path, &st) == 0)) {
		*cause = xasprintf("%s: a CA exists already (--force replaces "
		    "it)", dir);
		goto out;
	}
	if (ca_mkdirs(dir, cause) == -1)
		goto out;
	ERR_clear_error();
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		*cause = ca_ssl_cause("EC key generation");
		goto out;
	}
	if ((x = ca_make_cert(key)) == NULL) {
		*cause = ca_ssl_cause("CA certificate");
		goto out;
	}
	if ((pem = ca_pem(x, NULL)) == NULL || (kpem = ca_pem(NULL, key)) ==
	    NULL) {
		*cause = ca_ssl_cause("PEM encoding");
		goto out;
	}
	/* The key first: a ca.pem never exists without its key. */
	if (ca_write_file(key_path, kpem, strlen(kpem), 0600, cause) == -1 ||
	    ca_write_file(cert_path, pem, strlen(pem), 0644, cause) == -1)
		goto out;
	rv = 0;

out:
	if (kpem != NULL)
		OPENSSL_cleanse(kpem, strlen(kpem));
	free(kpem);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(key);
	free(cert_path);
	free(key_path);
	return rv;
}

struct ca *
ca_load(const char *dir, char **cause)
{
	struct ca	*ca;
	struct stat	 st;
	char		*path;
	FILE		*f;

	ca = xcalloc(1, sizeof *ca);
	pthread_mutex_init(&ca->lock, NULL);
	ca->nbuckets = 256;
	ca->maxleaves = CA_LEAF_MAX;
	ca->leaves = xcalloc(ca->nbuckets, sizeof *ca->leaves);
	ERR_clear_error();

	path = xasprintf("%s/%s", dir, CA_CERT_FILE);
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s (make one with `decoy ca init "
		    "--ca %s`)", path, strerror(errno), dir);
		goto fail;
	}
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->cert == NULL) {
		*cause = ca_ssl_cause(path);
		goto fail;
	}
	free(path);

	path = xasprintf("%s/%s", dir, CA_KEY_FILE);
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	/* Whoever reads the key can mint certificates the clients that
	 * trust this CA accept. */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("%s: mode %04o lets %s read or change the CA's "
		    "private key, and so mint certificates its clients trust; "
		    "chmod 600 %s", path, (unsigned int)(st.st_mode & 07777),
		    (st.st_mode & 007) ? "every user" : "the file's group",
		    path);
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->key == NULL) {
		*cause = ca_ssl_cause(path);
		goto fail;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		*cause = xasprintf("%s: does not match %s/%s", path, dir,
		    CA_CERT_FILE);
		goto fail;
	}
	free(path);
	path = NULL;

	if ((ca->leaf_key = ca_leaf_keygen()) == NULL) {
		*cause = ca_ssl_cause("leaf key generation");
		goto fail;
	}
	if ((ca->leaf_tmpl = ca_leaf_template(ca)) == NULL) {
		*cause = ca_ssl_cause("leaf template");
		goto fail;
	}
	if ((ca->pem = ca_pem(ca->cert, NULL)) == NULL) {
		*cause = ca_ssl_cause("PEM encoding");
		goto fail;
	}
	return ca;

fail:
	free(path);
	ca_free(ca);
	return NULL;
}

void
ca_free(struct ca *ca)
{
	struct ca_leaf	*l, *next;
	size_t		 i;

	if (ca == NULL)
		return;
	for (i = 0; i < ca->nbuckets; i++) {
		for (l = ca->leaves[i]; l != NULL; l = next) {
			next = l->next;
			X509_free(l->cert);
			free(l->name);
			free(l);
		}
	}
	free(ca->leaves);
	pthread_mutex_destroy(&ca->lock);
	X509_free(ca->leaf_tmpl);
	EVP_PKEY_free(ca->leaf_key);
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
	free(ca);
}

const char *
ca_cert_pem(const struct ca *ca)
{
	return ca->pem;
}

/* --- leaves ------------------------------------------------------------ */

static uint64_t
ca_hash(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A server name is a DNS name (letters, digits, '-', '_', '.', a leading
 * "*.") or an IP literal; anything else is refused. */
static int
ca_name_is_valid(const char *name)
{
	size_t	i, len = strlen(name);

	if (len == 0 || len > CA_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == ':' || (ch == '*' && i == 0))
			continue;
		return 0;
	}
	return 1;
}

static int
ca_name_is_ip(const char *name)
{
	unsigned char	a[16];

	return inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
}

/*
 * The leaf key: P-256, as a legacy EC_KEY-backed EVP_PKEY.  X509_set_pubkey
 * encodes such a key with its method table (~15 us) where a provider key
 * takes the OSSL_ENCODER path (~400 us with OpenSSL 3.0), per leaf.
 */
static EVP_PKEY *
ca_leaf_keygen(void)
{
	EVP_PKEY	*k, *lk;
	EC_KEY		*ek;

	if ((k = EVP_EC_gen("P-256")) == NULL)
		return NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	ek = EVP_PKEY_get1_EC_KEY(k);
	EVP_PKEY_free(k);
	if (ek == NULL)
		return NULL;
	if ((lk = EVP_PKEY_new()) == NULL || EVP_PKEY_assign_EC_KEY(lk, ek) !=
	    1) {
		EC_KEY_free(ek);
		EVP_PKEY_free(lk);
		return NULL;
	}
#pragma GCC diagnostic pop
	return lk;
}

/* The extensions every leaf shares. */
static X509 *
ca_leaf_template(struct ca *ca)
{
	X509		*x;
	X509V3_CTX	 ctx;

	if ((x = X509_new()) == NULL)
		return NULL;
	X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
	if (ca_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    ca_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    ca_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    ca_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A leaf for name: SAN DNS:name or IP:name, serverAuth, 1 year. */
static X509 *
ca_mint(struct ca *ca, const char *name)
{
	X509		*x;
	X509_NAME	*subj;
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gen = NULL;
	ASN1_IA5STRING	*ia5;
	ASN1_OCTET_STRING *ip;
	int		 i, is_ip = ca_name_is_ip(name);

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, 2) != 1 || ca_set_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -CA_LEAF_BACKDATE) ==
	    NULL || X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CA_LEAF_DAYS * 24 * 60 * 60) == NULL ||
	    X509_set_pubkey(x, ca->leaf_key) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1)
		goto fail;
	for (i = 0; i < X509_get_ext_count(ca->leaf_tmpl); i++)
		if (X509_add_ext(x, X509_get_ext(ca->leaf_tmpl, i), -1) != 1)
			goto fail;
	/* The CN is informative (clients check the SAN) and limited to 64. */
	subj = X509_get_subject_name(x);
	if (strlen(name) <= 64 && X509_NAME_add_entry_by_txt(subj, "CN",
	    MBSTRING_UTF8, (const unsigned char *)name, -1, -1, 0) != 1)
		goto fail;

	/* Built as a structure, not a config string: no name can smuggle
	 * in a second SAN entry. */
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto fail;
	if (is_ip) {
		if ((ip = a2i_IPADDRESS(name)) == NULL)
			goto fail;
		gen = GENERAL_NAME_new();
		if (gen == NULL) {
			ASN1_OCTET_STRING_free(ip);
			goto fail;
		}
		GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
	} else {
		if ((ia5 = ASN1_IA5STRING_new()) == NULL)
			goto fail;
		if (ASN1_STRING_set(ia5, name, -1) != 1 ||
		    (gen = GENERAL_NAME_new()) == NULL) {
			ASN1_IA5STRING_free(ia5);
			goto fail;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	}
	if (sk_GENERAL_NAME_push(gens, gen) == 0)
		goto fail;
	gen = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto fail;
	if (X509_sign(x, ca->key, EVP_sha256()) == 0)
		goto fail;
	GENERAL_NAMES_free(gens);
	return x;

fail:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return NULL;
}

static void
ca_grow(struct ca *ca)
{
	struct ca_leaf	**nb, *l, *next;
	size_t		  i, n = ca->nbuckets * 2, b;

	nb = xcalloc(n, sizeof *nb);
	for (i = 0; i < ca->nbuckets; i++) {
		for (l = ca->leaves[i]; l != NULL; l = next) {
			next = l->next;
			b = ca_hash(l->name) & (n - 1);
			l->next = nb[b];
			nb[b] = l;
		}
	}
	free(ca->leaves);
	ca->leaves = nb;
	ca->nbuckets = n;
}

/*
 * Frees the leaves of the next non-empty bucket after the eviction
 * cursor, keeping bucket keep: a clock over buckets bounds the cache
 * without a list per entry.  Connections hold their own references.
 */
static void
ca_evict(struct ca *ca, size_t keep)
{
	struct ca_leaf	*l, *next;
	size_t		 i, b;

	for (i = 0; i < ca->nbuckets; i++) {
		b = (ca->evict + i) & (ca->nbuckets - 1);
		if (b == keep || ca->leaves[b] == NULL)
			continue;
		for (l = ca->leaves[b]; l != NULL; l = next) {
			next = l->next;
			X509_free(l->cert);
			free(l->name);
			free(l);
			ca->nleaves--;
		}
		ca->leaves[b] = NULL;
		ca->evict = b + 1;
		return;
	}
}

void
ca_set_cache_max(struct ca *ca, size_t max)
{
	pthread_mutex_lock(&ca->lock);
	ca->maxleaves = max < 1 ? 1 : max;
	while (ca->nleaves > ca->maxleaves && ca->nleaves > 0) {
		size_t	n = ca->nleaves;

		ca_evict(ca, SIZE_MAX);
		if (ca->nleaves == n)
			break;
	}
	pthread_mutex_unlock(&ca->lock);
}

size_t
ca_cache_count(struct ca *ca)
{
	size_t	n;

	pthread_mutex_lock(&ca->lock);
	n = ca->nleaves;
	pthread_mutex_unlock(&ca->lock);
	return n;
}

/* The leaf for name, minted on first use; a new reference, or NULL. */
static X509 *
ca_leaf_get(struct ca *ca, const char *name)
{
	struct ca_leaf	*l;
	X509		*x = NULL;
	size_t		 b;

	pthread_mutex_lock(&ca->lock);
	b = ca_hash(name) & (ca->nbuckets - 1);
	for (l = ca->leaves[b]; l != NULL; l = l->next) {
		if (strcmp(l->name, name) == 0) {
			x = l->cert;
			break;
		}
	}
	if (x == NULL && (x = ca_mint(ca, name)) != NULL) {
		if (ca->nleaves >= ca->maxleaves)
			ca_evict(ca, b);
		l = xmalloc(sizeof *l);
		l->name = xstrdup(name);
		l->cert = x;
		l->next = ca->leaves[b];
		ca->leaves[b] = l;
		if (++ca->nleaves > ca->nbuckets * 2 &&
		    ca->nbuckets < CA_MAX_BUCKETS)
			ca_grow(ca);
	}
	if (x != NULL)
		X509_up_ref(x);
	pthread_mutex_unlock(&ca->lock);
	return x;
}

/*
 * The address the client connected to, as text (no SNI): the local address
 * of the connection, or for a connection an iptables REDIRECT sent here
 * (transparent mode), its original destination.
 */
static int
ca_local_name(int fd, char *name, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof ss;
	struct sockaddr_in6	*s6;
	struct sock_addr	 dst;

	if (fd == -1 || getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (sock_original_dst(fd, &dst) == 0)
		memcpy(&ss, &dst.ss, sizeof ss);
	if (ss.ss_family == AF_INET) {
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    name, (socklen_t)len) == NULL)
			return -1;
		return 0;
	}
	if (ss.ss_family != AF_INET6)
		return -1;
	s6 = (struct sockaddr_in6 *)&ss;
	/* A v4 client of a dual-stack socket connected to a v4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], name,
		    (socklen_t)len) == NULL ? -1 : 0;
	return inet_ntop(AF_INET6, &s6->sin6_addr, name, (socklen_t)len) ==
	    NULL ? -1 : 0;
}

/* The leaf for a handshake: sni's (NULL or "": none), else the one for
 * the local address of fd.  A new reference, or NULL (fail it). */
static X509 *
ca_leaf_pick(struct ca *ca, const char *sni, int fd)
{
	char	name[CA_NAME_MAX + 1];

	if (sni != NULL && *sni != '\0') {
		if (!ca_name_is_valid(sni))
			return NULL;
		snprintf(name, sizeof name, "%s", sni);
	} else if (ca_local_name(fd, name, sizeof name) == -1)
		return NULL;
	return ca_leaf_get(ca, name);
}

int
ca_conn_cert(struct conn *c, const char *sni, void *arg)
{
	struct ca	*ca = arg;
	X509		*x;
	int		 r;

	if ((x = ca_leaf_pick(ca, sni, conn_fd(c))) == NULL)
		return -1;
	r = conn_tls_use_cert(c, x, ca->leaf_key, ca->cert);
	X509_free(x);
	return r;
}
