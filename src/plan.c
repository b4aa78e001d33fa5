/*
 * plan.c -- the chaos decision (plan.h): from a request to the rules that
 * fire, from those to a plan, from a plan to chaos log lines and to the
 * bytes of a reply.  The responder and packet chaos both come here, so a
 * request gets the same decision, and the same log lines, whichever path
 * injects the faults.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chaos.h"
#include "fault.h"
#include "grpc.h"
#include "http.h"
#include "match.h"
#include "plan.h"
#include "rule.h"
#include "xmalloc.h"

void
plan_req_from_snap(struct rule_req *rq, struct http_header *hdrs,
    size_t nhdrs, const struct snap_req *r, enum snap_dir dir)
{
	const char	*q;
	size_t		 i, tlen = strlen(r->target);

	memset(rq, 0, sizeof *rq);
	rq->dir = dir;
	rq->host = r->host != NULL ? span_from_str(r->host) : SPAN_NULL;
	rq->method = span_from_str(r->method);
	q = memchr(r->target, '?', tlen);
	rq->path = (struct span){ r->target,
	    q != NULL ? (size_t)(q - r->target) : tlen };
	rq->query = q != NULL ? (struct span){ q + 1,
	    tlen - (size_t)(q + 1 - r->target) } : SPAN_NULL;
	for (i = 0; i < r->nheaders && i < nhdrs; i++) {
		hdrs[i].name = span_from_str(r->headers[i].name);
		hdrs[i].value = span_from_str(r->headers[i].value);
	}
	rq->headers = hdrs;
	rq->nheaders = i;
	rq->body = r->body;
	rq->body_len = r->body_len;
}

uint64_t
plan_signature(struct span method, struct span path, struct span query,
    const char *body, size_t body_len)
{
	uint64_t	sig;

	sig = match_hash(MATCH_HASH_INIT, method.p, method.len);
	sig = match_hash(sig, path.p, path.len);
	sig = match_hash(sig, query.p, query.len);
	return match_hash(sig, body, body_len);
}

uint64_t
plan_occ_next(struct plan_occ *occ, uint64_t sig)
{
	return atomic_fetch_add_explicit(&occ->n[sig % PLAN_OCC_SLOTS], 1,
	    memory_order_relaxed);
}

/* Sets a plan header: a later rule's replaces one of the same name. */
static void
plan_add_header(struct plan *plan, const struct fault_header *h)
{
	size_t	i;

	for (i = 0; i < plan->nheaders; i++)
		if (strcasecmp(plan->headers[i].name, h->name) == 0) {
			plan->headers[i] = *h;
			return;
		}
	if (plan->nheaders < PLAN_MAX_HEADERS)
		plan->headers[plan->nheaders++] = *h;
}

/* 1 if the request's content-type is gRPC's. */
static int
plan_is_grpc_req(const struct rule_req *rq)
{
	size_t	i;

	for (i = 0; i < rq->nheaders; i++)
		if (span_caseeq_str(rq->headers[i].name, "Content-Type"))
			return grpc_is_content_type(rq->headers[i].value);
	return 0;
}

void
plan_decide(struct plan *plan, const struct rule_set *rs,
    const struct rule_req *rq, const struct rule_ctx *ctx,
    const uint64_t *mask)
{
	const struct fault_spec	*f;
	const char		*name;
	size_t			 i, j;

	/* The arrays are filled as far as the counts say: not cleared. */
	memset(plan, 0, offsetof(struct plan, headers));
	plan->sig = ctx->sig;
	plan->occurrence = ctx->occurrence;
	if (rule_set_count(rs) == 0 || (mask != NULL && *mask == 0))
		return;
	if (mask != NULL)
		plan->nhits = rule_set_eval_mask(rs, rq, ctx, *mask,
		    plan->hits, RULE_MAX_HITS);
	else
		plan->nhits = rule_set_eval(rs, rq, ctx, plan->hits,
		    RULE_MAX_HITS);
	if (plan->nhits > 0)
		plan->grpc_call = plan_is_grpc_req(rq);
	for (i = 0; i < plan->nhits; i++) {
		f = plan->hits[i].fault;
		name = rule_name(plan->hits[i].rule);
		if (f->per_message && plan->grpc_call)
			plan->msg_latency_ns += plan->hits[i].latency_ns;
		else
			plan->latency_ns += plan->hits[i].latency_ns;
		if (f->has_grpc) {
			plan->grpc = f;
			plan->grpc_rule = name;
		}
		if (f->status != 0) {
			plan->status = f;
			plan->status_rule = name;
		}
		if (f->has_body) {
			plan->body = f;
			plan->body_rule = name;
		}
		if (f->malform != FAULT_MALFORM_NONE) {
			plan->malform = f;
			plan->malform_rule = name;
			plan->malform_seed = plan->hits[i].rng_seed;
		}
		for (j = 0; j < f->nheaders; j++)
			plan_add_header(plan, &f->headers[j]);
		if (f->connection != FAULT_CONN_NONE) {
			plan->conn = f->connection;
			plan->drip_bps = f->drip_bps;
			plan->h2_code = f->h2_code;
			plan->conn_rule = name;
		}
		if (f->drop > plan->drop) {
			plan->drop = f->drop;
			plan->drop_rule = name;
		}
	}
}

/* --- the chaos log ----------------------------------------------------- */

void
plan_log(const struct plan *plan, struct chaos_log *cl, const char *id,
    enum plan_scope scope)
{
	uint64_t	sig = plan->sig, occ = plan->occurrence;
	char		params[160];
	size_t		i;
	int		http = scope == PLAN_SCOPE_HTTP;

	for (i = 0; i < plan->nhits; i++) {
		const struct fault_spec	*f = plan->hits[i].fault;
		const char		*name = rule_name(plan->hits[i].rule);

		if (f->latency.kind != FAULT_LAT_NONE) {
			snprintf(params, sizeof params,
			    "{\"distribution\":\"%s\",\"ms\":%.3f%s}",
			    fault_latency_name(f->latency.kind),
			    (double)plan->hits[i].latency_ns / 1e6,
			    f->per_message && plan->grpc_call ?
			    ",\"per_message\":true" : "");
			chaos_log_fault(cl, id, sig, occ, name, "latency",
			    params);
		}
		if (http && f->status != 0 && plan->grpc_call)
			/* Said as the gRPC code it is answered with. */
			snprintf(params, sizeof params, "{\"status\":%d,"
			    "\"grpc\":\"%s\"}", f->status, grpc_code_name(
			    grpc_code_from_http(f->status)));
		else if (http && f->status != 0)
			snprintf(params, sizeof params, "{\"status\":%d}",
			    f->status);
		if (http && f->status != 0)
			chaos_log_fault(cl, id, sig, occ, name, "status",
			    params);
		if (http && f->has_grpc && plan->grpc_call) {
			snprintf(params, sizeof params, "{\"code\":\"%s\"}",
			    grpc_code_name(f->grpc_code));
			chaos_log_fault(cl, id, sig, occ, name, "grpc",
			    params);
		}
		/* A status brings its headers: one fault, not two. */
		if (http && f->nheaders > 0 && f->status == 0)
			chaos_log_fault(cl, id, sig, occ, name, "headers", NULL);
		if (http && f->has_body && f->status == 0)
			chaos_log_fault(cl, id, sig, occ, name, "body", NULL);
		if (http && f->malform != FAULT_MALFORM_NONE)
			chaos_log_fault(cl, id, sig, occ, name,
			    fault_malform_name(f->malform), NULL);
		if (!http && f->drop > 0) {
			snprintf(params, sizeof params,
			    "{\"probability\":%g}", f->drop);
			chaos_log_fault(cl, id, sig, occ, name, "drop",
			    params);
		}
		if (f->connection != FAULT_CONN_NONE &&
		    (http || f->connection == FAULT_CONN_RESET)) {
			params[0] = '\0';
			if (f->connection == FAULT_CONN_DRIP ||
			    f->connection == FAULT_CONN_SLOW_HEADERS)
				snprintf(params, sizeof params,
				    "{\"bytes_per_s\":%.0f}", f->drip_bps);
			if (f->connection == FAULT_CONN_RST_STREAM ||
			    f->connection == FAULT_CONN_GOAWAY) {
				char	hex[16];

				snprintf(params, sizeof params,
				    "{\"code\":\"%s\"}", fault_h2_code_name(
				    f->h2_code, hex, sizeof hex));
			}
			chaos_log_fault(cl, id, sig, occ, name,
			    fault_conn_name(f->connection),
			    params[0] != '\0' ? params : NULL);
		}
	}
}

/* --- the reply --------------------------------------------------------- */

/* True if a header of that name is in set[]. */
static int
plan_header_overridden(struct span name, const struct fault_header *set,
    size_t nset)
{
	size_t	i;

	for (i = 0; i < nset; i++)
		if (span_caseeq_str(name, set[i].name))
			return 1;
	return 0;
}

/* A malform of kind k? */
static int
plan_is_malform(const struct plan *plan, enum fault_malform k)
{
	return plan->malform != NULL && plan->malform->malform == k;
}

/*
 * Damages body[0..len) as the plan's malform says into nbody (oversize:
 * filler instead, nothing in nbody).
 */
static void
plan_render_malform(const struct plan *plan, const char *b, size_t blen,
    struct buf *nbody, struct plan_reply *out)
{
	const struct fault_spec	*malform = plan->malform;
	struct fault_rng	 rng;

	fault_rng_seed(&rng, plan->malform_seed);
	switch (malform->malform) {
	case FAULT_MALFORM_OVERSIZE:
		out->filler = malform->oversize;
		break;
	case FAULT_MALFORM_WRONG_CONTENT_TYPE:
		buf_append(nbody, b, blen);
		break;
	case FAULT_MALFORM_BAD_CHUNK:
		/* An invalid chunk size, then the body: unparseable. */
		buf_append_str(nbody, "1g\r\n");
		buf_append(nbody, b, blen);
		buf_append_str(nbody, "\r\n0\r\n\r\n");
		out->close = 1;
		break;
	default:
		fault_malform_body(malform, &rng, b, blen, nbody);
		break;
	}
}

/*
 * Writes the head: the status line, the recorded headers (m, or NULL)
 * but framing and overridden ones, the plan's headers, framing.  b and
 * blen are the new body; orig_len the body's length before a malform.
 * A plan that changes no body bytes keeps the recorded Content-Length
 * (the responder's, already framed: a HEAD's or a 304's says the
 * representation's length over an empty body).
 */
static void
plan_render_head(const struct plan *plan, const struct http_msg *m,
    const char *b, size_t blen, size_t orig_len, struct plan_reply *out)
{
	const struct fault_header	*set = plan->headers;
	size_t				 nset = plan->nheaders, i;
	struct buf			*head = &out->head;
	struct span			 cl = SPAN_NULL;
	int				 wrong_ct, keep_cl;

	wrong_ct = plan_is_malform(plan, FAULT_MALFORM_WRONG_CONTENT_TYPE);
	keep_cl = plan->status == NULL && plan->body == NULL &&
	    plan->malform == NULL;
	http_write_status_line(head, plan->status != NULL ?
	    plan->status->status : m != NULL ? m->status : 200,
	    plan->status == NULL && m != NULL ? m->reason : SPAN_NULL);
	if (m != NULL) {
		for (i = 0; i < m->nheaders; i++) {
			const struct http_header *h = &m->headers[i];

			if (keep_cl && cl.p == NULL && span_caseeq_str(h->name,
			    "Content-Length") &&
			    !plan_header_overridden(h->name, set, nset))
				cl = h->value;
			if (http_is_framing_header(h->name) ||
			    plan_header_overridden(h->name, set, nset))
				continue;
			if (wrong_ct && span_caseeq_str(h->name,
			    "Content-Type"))
				continue;
			http_write_header(head, h->name, h->value);
		}
	} else if (blen > 0 && !plan_header_overridden(
	    SPAN_LIT("Content-Type"), set, nset))
		http_write_header(head, SPAN_LIT("Content-Type"),
		    (b[0] == '{' || b[0] == '[') ?
		    SPAN_LIT("application/json") : SPAN_LIT("text/plain"));
	for (i = 0; i < nset; i++)
		http_write_header(head, span_from_str(set[i].name),
		    span_from_str(set[i].value));
	if (wrong_ct)
		http_write_header(head, SPAN_LIT("Content-Type"),
		    span_from_str(plan->malform->content_type != NULL ?
		    plan->malform->content_type : "text/html"));
	if (plan_is_malform(plan, FAULT_MALFORM_BAD_CHUNK))
		buf_append_str(head, "Transfer-Encoding: chunked\r\n");
	else if (plan_is_malform(plan, FAULT_MALFORM_LYING_LENGTH)) {
		/* Promise the whole body, send less, close. */
		buf_printf(head, "Content-Length: %zu\r\n", orig_len);
		out->close = 1;
	} else if (cl.p != NULL)
		http_write_header(head, SPAN_LIT("Content-Length"), cl);
	else
		buf_printf(head, "Content-Length: %llu\r\n",
		    (unsigned long long)(out->filler > 0 ? out->filler : blen));
}

/* --- gRPC replies ------------------------------------------------------ */

/*
 * The data and the trailer section (after the last chunk, its final CRLF
 * included) of a chunked body: 0, or -1 if it is not chunked.
 */
static int
plan_unchunk(const char *b, size_t len, struct buf *data,
    struct span *trailers)
{
	size_t	off = 0, n;
	int	d;

	for (;;) {
		n = 0;
		if (off >= len)
			return -1;
		for (; off < len && b[off] != '\r' && b[off] != ';'; off++) {
			d = b[off] >= '0' && b[off] <= '9' ? b[off] - '0' :
			    (b[off] | 0x20) >= 'a' && (b[off] | 0x20) <= 'f' ?
			    (b[off] | 0x20) - 'a' + 10 : -1;
			if (d == -1 || n > (SIZE_MAX >> 4))
				return -1;
			n = n * 16 + (size_t)d;
		}
		while (off < len && b[off] != '\n')
			off++;
		if (++off > len)
			return -1;
		if (n == 0)
			break;
		if (len - off < n + 2)
			return -1;
		buf_append(data, b + off, n);
		off += n + 2;
	}
	*trailers = (struct span){ b + off, len - off };
	return 0;
}

/* The length of the varint at p[0..len) (at most len). */
static size_t
plan_varint_len(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((p[i] & 0x80) == 0)
			return i + 1;
	return len;
}

/* Damages the message stream d (framed messages) as a gRPC malform. */
static void
plan_grpc_malform(const struct plan *plan, struct buf *d)
{
	struct grpc_msg	 m;
	struct buf	 nd;
	size_t		 off = 0, last = 0, cut;
	const char	*why;
	uint32_t	 n;

	switch (plan->malform->malform) {
	case FAULT_MALFORM_GRPC_BAD_LENGTH:
		if (d->len < GRPC_PREFIX_LEN)
			grpc_put_msg(d, 0, "", 0);
		/* One byte more than the rest of the body. */
		n = (uint32_t)(d->len - GRPC_PREFIX_LEN + 1);
		d->data[1] = (char)(n >> 24);
		d->data[2] = (char)(n >> 16);
		d->data[3] = (char)(n >> 8);
		d->data[4] = (char)n;
		break;
	case FAULT_MALFORM_GRPC_TRUNCATE:
		while (grpc_next_msg((const uint8_t *)d->data, d->len, &off,
		    &m, &why) == 1)
			last = m.off;
		if (d->len == 0)
			grpc_put_msg(d, 0, "", 0);
		/* Half of the last message's bytes, at least one short. */
		cut = d->len - last > GRPC_PREFIX_LEN ? GRPC_PREFIX_LEN +
		    (d->len - last - GRPC_PREFIX_LEN) / 2 : 2;
		d->len = last + cut;
		break;
	case FAULT_MALFORM_GRPC_BAD_PROTOBUF:
		buf_init(&nd);
		if (grpc_next_msg((const uint8_t *)d->data, d->len, &off, &m,
		    &why) == 1 && m.len > 0) {
			/* The first field's tag, without its value. */
			grpc_put_msg(&nd, m.compressed, m.p,
			    plan_varint_len(m.p, m.len));
			buf_append(&nd, d->data + off, d->len - off);
		} else {
			/* Field 1, length-delimited, its length missing. */
			grpc_put_msg(&nd, 0, "\n", 1);
			buf_append(&nd, d->data + off, d->len - off);
		}
		buf_free(d);
		*d = nd;
		break;
	default: {
		struct fault_rng	rng;

		buf_init(&nd);
		fault_rng_seed(&rng, plan->malform_seed);
		fault_malform_body(plan->malform, &rng, d->data != NULL ?
		    d->data : "", d->len, &nd);
		buf_free(d);
		*d = nd;
		break;
	}
	}
}

/*
 * The chunked body of a gRPC answer: data d (one chunk, or one per
 * message with out->split when messages go out one at a time), then the
 * trailer section.
 */
static void
plan_grpc_body(const struct plan *plan, const struct buf *d,
    struct span trailers, struct plan_reply *out)
{
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0, from = 0, cap = 0;
	int		 rv;

	while (from < d->len) {
		rv = plan->msg_latency_ns > 0 ? grpc_next_msg(
		    (const uint8_t *)d->data, d->len, &off, &m, &why) : 0;
		if (rv != 1)
			off = d->len;	/* the rest in one piece */
		buf_printf(&out->body, "%zx\r\n", off - from);
		buf_append(&out->body, d->data + from, off - from);
		buf_append(&out->body, "\r\n", 2);
		if (plan->msg_latency_ns > 0) {
			if (out->nsplit == cap) {
				cap = cap == 0 ? 8 : 2 * cap;
				out->split = xreallocarray(out->split, cap,
				    sizeof *out->split);
			}
			out->split[out->nsplit++] = out->body.len;
		}
		from = off;
	}
	buf_append(&out->body, "0\r\n", 3);
	if (trailers.len > 0)
		buf_append(&out->body, trailers.p, trailers.len);
	else
		buf_append(&out->body, "\r\n", 2);
	if (out->nsplit > 0)
		out->split[out->nsplit - 1] = out->body.len;
}

/* The trailers-only answer with code (and msg, or NULL). */
static void
plan_grpc_status(const struct plan *plan, int code, const char *msg,
    struct plan_reply *out)
{
	size_t	i;

	http_write_status_line(&out->head, 200, SPAN_NULL);
	http_write_header(&out->head, SPAN_LIT("Content-Type"),
	    SPAN_LIT("application/grpc"));
	for (i = 0; i < plan->nheaders; i++)
		http_write_header(&out->head,
		    span_from_str(plan->headers[i].name),
		    span_from_str(plan->headers[i].value));
	buf_printf(&out->head, "grpc-status: %d\r\n", code);
	if (msg != NULL) {
		buf_append_str(&out->head, "grpc-message: ");
		grpc_message_encode(&out->head, msg, strlen(msg));
		buf_append(&out->head, "\r\n", 2);
	}
	buf_append_str(&out->head, "Content-Length: 0\r\n");
}

/*
 * plan_render() of a gRPC call (plan.h): 0 with *out filled, or -1 when
 * the plan is not for the gRPC path (not a gRPC call, no gRPC fault, a
 * recorded body that is not a message stream with trailers) and the
 * HTTP one applies.
 */
static int
plan_render_grpc(const struct plan *plan, const char *head,
    size_t head_len, const char *body, size_t body_len,
    struct plan_reply *out)
{
	struct http_msg	*m;
	struct buf	 tmp, d;
	struct span	 trailers;
	enum http_err	 err;
	size_t		 erroff, i;
	int		 code = -1, rv = -1;

	if (!plan->grpc_call)
		return -1;
	memset(out, 0, sizeof *out);
	buf_init(&out->head);
	buf_init(&out->body);
	if (plan->grpc != NULL)
		code = plan->grpc->grpc_code;
	else if (plan->status != NULL)
		code = grpc_code_from_http(plan->status->status);
	if (code != -1) {
		plan_grpc_status(plan, code, plan->grpc != NULL ?
		    plan->grpc->grpc_message : NULL, out);
		return 0;
	}
	if ((plan->malform == NULL && plan->msg_latency_ns == 0) ||
	    plan->body != NULL || body == NULL ||
	    plan_is_malform(plan, FAULT_MALFORM_OVERSIZE) ||
	    plan_is_malform(plan, FAULT_MALFORM_WRONG_CONTENT_TYPE) ||
	    plan_is_malform(plan, FAULT_MALFORM_BAD_CHUNK) ||
	    plan_is_malform(plan, FAULT_MALFORM_LYING_LENGTH))
		return -1;
	buf_init(&d);
	if (plan_unchunk(body, body_len, &d, &trailers) == -1) {
		buf_free(&d);
		return -1;
	}
	buf_init(&tmp);
	buf_append(&tmp, head, head_len);
	buf_append(&tmp, "\r\n", 2);
	m = xmalloc(sizeof *m);
	if (http_parse_response(tmp.data, tmp.len, tmp.len + 1, 0, m, &err,
	    &erroff) > 0) {
		if (plan->malform != NULL)
			plan_grpc_malform(plan, &d);
		http_write_status_line(&out->head, m->status, m->reason);
		for (i = 0; i < m->nheaders; i++)
			if (!http_is_framing_header(m->headers[i].name) &&
			    !plan_header_overridden(m->headers[i].name,
			    plan->headers, plan->nheaders))
				http_write_header(&out->head,
				    m->headers[i].name, m->headers[i].value);
		for (i = 0; i < plan->nheaders; i++)
			http_write_header(&out->head,
			    span_from_str(plan->headers[i].name),
			    span_from_str(plan->headers[i].value));
		buf_append_str(&out->head, "Transfer-Encoding: chunked\r\n");
		plan_grpc_body(plan, &d, trailers, out);
		rv = 0;
	}
	free(m);
	buf_free(&tmp);
	buf_free(&d);
	if (rv == -1)
		plan_reply_free(out);
	return rv;
}

int
plan_render(const struct plan *plan, const char *head, size_t head_len,
    const char *body, size_t body_len, struct plan_reply *out)
{
	struct http_msg	*m = NULL;
	struct buf	 tmp, nbody;
	const char	*b;
	size_t		 blen, orig_len;

	if (plan->status == NULL && plan->body == NULL &&
	    plan->malform == NULL && plan->nheaders == 0 &&
	    (plan->grpc == NULL || !plan->grpc_call) &&
	    plan->msg_latency_ns == 0)
		return 0;
	if (plan_render_grpc(plan, head, head_len, body, body_len, out) == 0)
		return 1;
	memset(out, 0, sizeof *out);
	buf_init(&out->head);
	buf_init(&out->body);
	buf_init(&tmp);
	buf_init(&nbody);
	if (plan->status != NULL) {
		b = "";
		blen = 0;
	} else {
		enum http_err	err;
		size_t		erroff;

		/* Parse the recorded head back to edit its headers. */
		buf_append(&tmp, head, head_len);
		buf_append(&tmp, "\r\n", 2);
		m = xmalloc(sizeof *m);
		if (http_parse_response(tmp.data, tmp.len, tmp.len + 1, 0, m,
		    &err, &erroff) <= 0) {
			free(m);
			m = NULL;
		}
		b = body != NULL ? body : "";
		blen = body_len;
	}
	if (plan->body != NULL) {
		b = plan->body->body;
		blen = plan->body->body_len;
	}
	orig_len = blen;
	if (plan->malform != NULL) {
		plan_render_malform(plan, b, blen, &nbody, out);
		b = nbody.data != NULL ? nbody.data : "";
		blen = nbody.len;
	}
	plan_render_head(plan, m, b, blen, orig_len, out);
	buf_append(&out->body, b, blen);
	buf_free(&tmp);
	buf_free(&nbody);
	free(m);
	return 1;
}

void
plan_reply_free(struct plan_reply *out)
{
	buf_free(&out->head);
	buf_free(&out->body);
	free(out->split);
	out->split = NULL;
	out->nsplit = 0;
}
