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
 * A CA is shared by threads (the selection hook runs in any); the cache
 * is locked.
 */
#ifndef DECOY_CA_H
#define DECOY_CA_H

#include <stddef.h>

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
 * The CA's certificate selection as a conn_tls_cert_cb (conn.h), arg the
 * struct ca: pass it with the CA as cert_cb / cert_arg of
 * conn_tls_server_ctx.  Installs the leaf for sni, else (no SNI) the one
 * with an IP SAN for the local address of conn_fd(c); a name that is not
 * a host name fails the handshake.
 */
int		 ca_conn_cert(struct conn *c, const char *sni, void *arg);

#endif
