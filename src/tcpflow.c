/*
 * tcpflow.c -- TCP reassembly for the packet paths (tcpflow.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define TCPFLOW_DEFAULT_OOO	(4 * 1024 * 1024)

struct tcpflow_ooo {
	struct tcpflow_ooo	*next;
	uint32_t		 seq;
	size_t			 len;
	unsigned char		 data[];
};

struct tcpflow_table {
	const struct tcpflow_ops *ops;
	void			*arg;
	size_t			 ooo_limit;
	int			(*is_server)(uint16_t, void *);
	struct tcpflow		**buckets;
	size_t			 nbuckets;	/* power of two */
	size_t			 count;
	struct tcpflow		*lru_head, *lru_tail;
	struct tcpflow_stats	 stats;
};

int
tcpflow_parse(const unsigned char *p, size_t len, struct tcpflow_seg *s)
{
	size_t	ihl, thl, total, iplen;

	if (len < 1)
		return -1;
	memset(s, 0, sizeof *s);
	if ((p[0] >> 4) == 4) {
		if (len < 20 || p[9] != IPPROTO_TCP)
			return -1;
		ihl = (size_t)(p[0] & 0x0f) * 4;
		/* Fragments other than the first carry no TCP header. */
		if (ihl < 20 || (((p[6] & 0x1f) << 8) | p[7]) != 0)
			return -1;
		total = ((size_t)p[2] << 8) | p[3];
		s->af = AF_INET;
		memcpy(s->saddr, p + 12, 4);
		memcpy(s->daddr, p + 16, 4);
		iplen = ihl;
	} else if ((p[0] >> 4) == 6) {
		if (len < 40 || p[6] != IPPROTO_TCP)
			return -1;
		total = (((size_t)p[4] << 8) | p[5]) + 40;
		if (total == 40 && len > 40)
			total = 0;	/* a jumbo or GSO length */
		s->af = AF_INET6;
		memcpy(s->saddr, p + 8, 16);
		memcpy(s->daddr, p + 24, 16);
		iplen = 40;
	} else
		return -1;
	if (total == 0)
		total = len;	/* GSO super-packet: the whole of it */
	if (total < iplen + 20 || len < iplen + 20)
		return -1;
	p += iplen;
	thl = (size_t)(p[12] >> 4) * 4;
	if (thl < 20 || iplen + thl > total || iplen + thl > len)
		return -1;
	s->sport = (uint16_t)((p[0] << 8) | p[1]);
	s->dport = (uint16_t)((p[2] << 8) | p[3]);
	s->seq = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) |
	    ((uint32_t)p[6] << 8) | p[7];
	s->ack = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) |
	    ((uint32_t)p[10] << 8) | p[11];
	s->flags = p[13] & 0x1f;
	s->data = p + thl;
	total -= iplen + thl;
	len -= iplen + thl;
	s->len = total < len ? total : len;
	s->missing = total - s->len;
	return 0;
}

static uint64_t
tcpflow_hash(int af, const uint8_t *a, uint16_t pa, const uint8_t *b,
    uint16_t pb)
{
	uint64_t	h = 1469598103934665603ULL ^ (uint64_t)af;
	size_t		i, n = af == AF_INET ? 4 : 16;

	/* Symmetric: both directions of a flow hash alike. */
	for (i = 0; i < n; i++)
		h = (h ^ (uint64_t)(a[i] ^ b[i])) * 1099511628211ULL;
	h = (h ^ (uint64_t)(pa ^ pb)) * 1099511628211ULL;
	h ^= (uint64_t)pa * (uint64_t)pb;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

struct tcpflow_table *
tcpflow_table_create(const struct tcpflow_ops *ops, void *arg,
    size_t ooo_limit, int (*is_server)(uint16_t, void *))
{
	struct tcpflow_table	*t;

	t = xcalloc(1, sizeof *t);
	t->ops = ops;
	t->arg = arg;
	t->ooo_limit = ooo_limit != 0 ? ooo_limit : TCPFLOW_DEFAULT_OOO;
	t->is_server = is_server;
	t->nbuckets = 1024;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	return t;
}

static size_t
tcpflow_bucket(const struct tcpflow_table *t, const struct tcpflow *f)
{
	return (size_t)(tcpflow_hash(f->af, f->caddr, f->cport, f->saddr,
	    f->sport) & (t->nbuckets - 1));
}

static void
tcpflow_grow(struct tcpflow_table *t)
{
	struct tcpflow	**old = t->buckets, *f, *next;
	size_t		  i, n = t->nbuckets, b;

	t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	for (i = 0; i < n; i++) {
		for (f = old[i]; f != NULL; f = next) {
			next = f->hnext;
			b = tcpflow_bucket(t, f);
			f->hnext = t->buckets[b];
			t->buckets[b] = f;
		}
	}
	free(old);
}

static inline int
tcpflow_addr_eq(int af, const uint8_t *a, const uint8_t *b)
{
	/* Constant sizes: the compiler compares in registers. */
	if (af == AF_INET)
		return memcmp(a, b, 4) == 0;
	return memcmp(a, b, 16) == 0;
}

struct tcpflow *
tcpflow_lookup(struct tcpflow_table *t, const struct tcpflow_seg *s, int *dir)
{
	struct tcpflow	*f;
	size_t		 b;

	b = (size_t)(tcpflow_hash(s->af, s->saddr, s->sport, s->daddr,
	    s->dport) & (t->nbuckets - 1));
	for (f = t->buckets[b]; f != NULL; f = f->hnext) {
		if (f->af != s->af)
			continue;
		if (f->cport == s->sport && f->sport == s->dport &&
		    tcpflow_addr_eq(s->af, f->caddr, s->saddr) &&
		    tcpflow_addr_eq(s->af, f->saddr, s->daddr)) {
			*dir = TCPFLOW_C2S;
			return f;
		}
		if (f->cport == s->dport && f->sport == s->sport &&
		    tcpflow_addr_eq(s->af, f->caddr, s->daddr) &&
		    tcpflow_addr_eq(s->af, f->saddr, s->saddr)) {
			*dir = TCPFLOW_S2C;
			return f;
		}
	}
	return NULL;
}

static void
tcpflow_lru_unlink(struct tcpflow_table *t, struct tcpflow *f)
{
	if (f->lprev != NULL)
		f->lprev->lnext = f->lnext;
	else
		t->lru_head = f->lnext;
	if (f->lnext != NULL)
		f->lnext->lprev = f->lprev;
	else
		t->lru_tail = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void
tcpflow_lru_append(struct tcpflow_table *t, struct tcpflow *f)
{
	f->lprev = t->lru_tail;
	f->lnext = NULL;
	if (t->lru_tail != NULL)
		t->lru_tail->lnext = f;
	else
		t->lru_head = f;
	t->lru_tail = f;
}

/* Which side of a new flow's first segment is the client. */
static int
tcpflow_sender_is_client(const struct tcpflow_table *t,
    const struct tcpflow_seg *s)
{
	if ((s->flags & TCPF_SYN) != 0)
		return (s->flags & TCPF_ACK) == 0;
	if (t->is_server != NULL) {
		if (t->is_server(s->dport, t->arg))
			return 1;
		if (t->is_server(s->sport, t->arg))
			return 0;
	}
	return s->sport > s->dport;
}

static struct tcpflow *
tcpflow_new(struct tcpflow_table *t, const struct tcpflow_seg *s,
    uint64_t now, int *dir)
{
	struct tcpflow	*f;
	size_t		 n = s->af == AF_INET ? 4 : 16, b;

	if (t->count >= t->nbuckets)
		tcpflow_grow(t);
	f = xcalloc(1, sizeof *f);
	f->af = s->af;
	if (tcpflow_sender_is_client(t, s)) {
		memcpy(f->caddr, s->saddr, n);
		memcpy(f->saddr, s->daddr, n);
		f->cport = s->sport;
		f->sport = s->dport;
		*dir = TCPFLOW_C2S;
	} else {
		memcpy(f->caddr, s->daddr, n);
		memcpy(f->saddr, s->saddr, n);
		f->cport = s->dport;
		f->sport = s->sport;
		*dir = TCPFLOW_S2C;
	}
	f->first_ns = f->last_ns = now;
	f->id = ++t->stats.flows;
	b = tcpflow_bucket(t, f);
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	tcpflow_lru_append(t, f);
	t->count++;
	if (t->ops->open != NULL)
		t->ops->open(f, t->arg);
	return f;
}

static void
tcpflow_deliver(struct tcpflow_table *t, struct tcpflow *f, int dir,
    uint32_t seq, const unsigned char *p, size_t len, uint64_t now)
{
	struct tcpflow_half	*h = &f->half[dir];
	int32_t			 off = (int32_t)(seq - h->next);

	if (off < 0) {
		if ((size_t)-(int64_t)off >= len)
			return;
		p += (size_t)-(int64_t)off;
		len -= (size_t)-(int64_t)off;
	}
	if (h->fin) {
		/* Nothing counts past the FIN. */
		int32_t	room = (int32_t)(h->fin_seq - h->next);

		if (room <= 0)
			return;
		if (len > (size_t)room)
			len = (size_t)room;
	}
	h->next += (uint32_t)len;
	h->bytes += len;
	if (len > 0 && t->ops->data != NULL)
		t->ops->data(f, dir, p, len, now, t->arg);
}

/* Delivers whatever waits and is now in order. */
static void
tcpflow_drain(struct tcpflow_table *t, struct tcpflow *f, int dir,
    uint64_t now)
{
	struct tcpflow_half	*h = &f->half[dir];
	struct tcpflow_ooo	*o;

	while ((o = h->ooo) != NULL && (int32_t)(o->seq - h->next) <= 0) {
		h->ooo = o->next;
		h->ooo_bytes -= o->len;
		tcpflow_deliver(t, f, dir, o->seq, o->data, o->len, now);
		free(o);
	}
}

/* Skips to the first waiting segment, reporting what is missing. */
static void
tcpflow_skip(struct tcpflow_table *t, struct tcpflow *f, int dir,
    uint64_t now)
{
	struct tcpflow_half	*h = &f->half[dir];
	uint32_t		 miss;

	if (h->ooo == NULL)
		return;
	miss = h->ooo->seq - h->next;
	t->stats.gaps++;
	t->stats.gap_bytes += miss;
	if (t->ops->gap != NULL)
		t->ops->gap(f, dir, miss, t->arg);
	h->next = h->ooo->seq;
	tcpflow_drain(t, f, dir, now);
}

static void
tcpflow_check_eof(struct tcpflow_table *t, struct tcpflow *f, int dir,
    uint64_t now)
{
	struct tcpflow_half	*h = &f->half[dir];

	if (h->fin && !h->eof && h->next == h->fin_seq) {
		h->eof = 1;
		if (t->ops->eof != NULL)
			t->ops->eof(f, dir, now, t->arg);
	}
}

static void
tcpflow_free_half(struct tcpflow_half *h)
{
	struct tcpflow_ooo	*o;

	while ((o = h->ooo) != NULL) {
		h->ooo = o->next;
		free(o);
	}
	h->ooo_bytes = 0;
}

void
tcpflow_close(struct tcpflow_table *t, struct tcpflow *f, enum tcpflow_end why)
{
	struct tcpflow	**pp;
	int		  dir;

	/* What waits out of order is delivered after a gap. */
	for (dir = 0; dir < 2; dir++) {
		while (f->half[dir].ooo != NULL)
			tcpflow_skip(t, f, dir, f->last_ns);
		tcpflow_check_eof(t, f, dir, f->last_ns);
	}
	if (t->ops->close != NULL)
		t->ops->close(f, why, t->arg);
	for (pp = &t->buckets[tcpflow_bucket(t, f)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	}
	tcpflow_lru_unlink(t, f);
	t->count--;
	tcpflow_free_half(&f->half[0]);
	tcpflow_free_half(&f->half[1]);
	free(f);
}

struct tcpflow *
tcpflow_input(struct tcpflow_table *t, const struct tcpflow_seg *s,
    uint64_t now, int *dirp, int *closed)
{
	struct tcpflow		*f;
	struct tcpflow_half	*h;
	struct tcpflow_ooo	*o, **pp;
	uint32_t		 seq = s->seq, end;
	int			 dir;

	*closed = 0;
	t->stats.segments++;
	if ((f = tcpflow_lookup(t, s, &dir)) == NULL) {
		if ((s->flags & TCPF_RST) != 0 ||
		    ((s->flags & TCPF_SYN) == 0 && s->len == 0))
			return NULL;
		f = tcpflow_new(t, s, now, &dir);
	}
	*dirp = dir;
	f->last_ns = now;
	tcpflow_lru_unlink(t, f);
	tcpflow_lru_append(t, f);
	h = &f->half[dir];
	if ((s->flags & TCPF_ACK) != 0) {
		h->last_ack = s->ack;
		h->have_ack = 1;
	}
	if ((s->flags & TCPF_RST) != 0) {
		tcpflow_close(t, f, TCPFLOW_END_RST);
		*closed = 1;
		return f;
	}
	if ((s->flags & TCPF_SYN) != 0) {
		if (!h->have_seq) {
			h->have_seq = 1;
			h->next = seq + 1;
		}
		seq++;
	} else if (!h->have_seq) {
		/* Joined mid-stream: start at this segment. */
		h->have_seq = 1;
		h->next = seq;
	}
	end = seq + (uint32_t)s->len + (uint32_t)s->missing;
	if ((s->flags & TCPF_FIN) != 0 && !h->fin) {
		h->fin = 1;
		h->fin_seq = end;
	}
	if (s->len > 0) {
		int32_t	off = (int32_t)(seq - h->next);

		if (off <= 0) {
			if ((int32_t)(seq + (uint32_t)s->len - h->next) <= 0)
				t->stats.retransmits++;
			tcpflow_deliver(t, f, dir, seq, s->data, s->len, now);
			if (s->missing > 0) {
				/* Cut by the copy range: those bytes are lost. */
				t->stats.gaps++;
				t->stats.gap_bytes += s->missing;
				if (t->ops->gap != NULL)
					t->ops->gap(f, dir, s->missing, t->arg);
				h->next += (uint32_t)s->missing;
			}
			tcpflow_drain(t, f, dir, now);
		} else {
			t->stats.out_of_order++;
			for (pp = &h->ooo; *pp != NULL &&
			    (int32_t)((*pp)->seq - seq) <= 0; pp = &(*pp)->next)
				;
			o = xmalloc(sizeof *o + s->len);
			o->seq = seq;
			o->len = s->len;
			memcpy(o->data, s->data, s->len);
			o->next = *pp;
			*pp = o;
			h->ooo_bytes += s->len;
			while (h->ooo_bytes > t->ooo_limit)
				tcpflow_skip(t, f, dir, now);
		}
	}
	tcpflow_check_eof(t, f, dir, now);
	if (f->half[0].eof && f->half[1].eof) {
		tcpflow_close(t, f, TCPFLOW_END_FIN);
		*closed = 1;
	}
	return f;
}

void
tcpflow_expire(struct tcpflow_table *t, uint64_t now, uint64_t idle_ns)
{
	struct tcpflow	*f;

	while ((f = t->lru_head) != NULL && now - f->last_ns >= idle_ns)
		tcpflow_close(t, f, TCPFLOW_END_IDLE);
}

void
tcpflow_table_free(struct tcpflow_table *t)
{
	if (t == NULL)
		return;
	while (t->lru_head != NULL)
		tcpflow_close(t, t->lru_head, TCPFLOW_END_SHUTDOWN);
	free(t->buckets);
	free(t);
}

size_t
tcpflow_count(const struct tcpflow_table *t)
{
	return t->count;
}

const struct tcpflow_stats *
tcpflow_stats(const struct tcpflow_table *t)
{
	return &t->stats;
}

int
tcpflow_port_in(uint16_t port, const uint16_t *ports, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/*
 * Formatted by hand (this runs twice per captured transaction): IPv4 as
 * inet_ntop() writes it, IPv6 through inet_ntop() (zero compression and
 * the embedded-IPv4 forms are its rules), the port appended.
 */
void
tcpflow_addr_str(int af, const uint8_t *addr, uint16_t port, char *buf,
    size_t size)
{
	char	tmp[INET6_ADDRSTRLEN + 16], *p = tmp;
	size_t	n, i;

	if (af == AF_INET) {
		for (i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = buf_put_u64(p, addr[i], 0);
		}
	} else {
		if (af == AF_INET6)
			*p++ = '[';
		if (inet_ntop(af, addr, p, INET6_ADDRSTRLEN) != NULL)
			p += strlen(p);
		if (af == AF_INET6)
			*p++ = ']';
	}
	*p++ = ':';
	p = buf_put_u64(p, port, 0);
	if (size == 0)
		return;
	n = (size_t)(p - tmp);
	if (n > size - 1)
		n = size - 1;	/* snprintf()'s truncation */
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}
