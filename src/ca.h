/*
 * ca.h -- decoy's certificate authority, for TLS interception (the
 * recording forward proxy) and for the responder's --tls.
 *
 * `decoy ca init` makes a CA (EC P-256 key, self-signed certificate, 10
 * years) in a directory: ca.pem (the certificate users install) and
 * ca.key (mode 0600).  A loaded CA mints leaf certificates on demand, one
 * per server name (SNI), all sharing one EC P-256 leaf key generated at
 * load, and caches them (about 0.2 ms per new name); a client that sends
 * no SNI gets a leaf with an IP SAN for the address it connected to.
 * Server contexts are shared by threads; the cache is locked.
 */
#ifndef DECOY_CA_H
#define DECOY_CA_H

#include <openssl/ssl.h>

struct ca;
struct conn;

/* The default directory: $DECOY_CA_DIR, else $HOME/.decoy/ca. */
const char	*ca_default_dir(void);
/* Creates dir (0700) and the CA in it; refuses to overwrite an existing
 * CA unless force.  0, or -1 with *cause. */
int		 ca_init(const char *dir, int force, char **cause);
/* Loads dir's CA; warns (log_warn) when the key file is open to group or
 * others.  NULL with *cause. */
struct ca	*ca_load(const char *dir, char **cause);
void		 ca_free(struct ca *);
/*
 * The leaf cache holds at most 4096 names by default; beyond, the leaves
 * of older hash buckets are dropped (and minted again when asked for).
 * ca_set_cache_max changes the bound (tests); ca_cache_count tells how
 * many leaves are cached.
 */
void		 ca_set_cache_max(struct ca *, size_t max);
size_t		 ca_cache_count(struct ca *);
/* The CA certificate, PEM, NUL-terminated (owned by the CA). */
const char	*ca_cert_pem(const struct ca *);

/*
 * A server context whose certificate is minted per SNI by the CA; with
 * no SNI, the leaf carries an IP SAN for the local address of the
 * connection (SSL_get_fd + getsockname).  ALPN offers http/1.1 only.
 */
SSL_CTX		*ca_server_ctx(struct ca *, char **cause);
/*
 * The same selection as a conn_tls_cert_cb (conn.h), arg the struct ca:
 * pass it with the CA as cert_cb / cert_arg of conn_tls_server_ctx.
 * Installs the leaf for sni, else for the local address of conn_fd(c).
 */
int		 ca_conn_cert(struct conn *c, const char *sni, void *arg);

/* A client context: TLS 1.2+, peers verified against the system CAs, or
 * ca_file, or not at all when insecure.  Callers set SNI and the expected
 * host per connection (SSL_set_tlsext_host_name, SSL_set1_host). */
SSL_CTX		*ca_client_ctx(const char *ca_file, int insecure,
		    char **cause);
/*
 * A client connection of ctx on fd, in connect state, for host (a DNS
 * name or an IP literal, without brackets nor port): SNI carries a name
 * (never an IP); unless insecure, the server's certificate must match the
 * name or the IP.  NULL on failure (the OpenSSL error queue says why).
 */
SSL		*ca_client_ssl(SSL_CTX *ctx, int fd, const char *host,
		    int insecure);

#endif
