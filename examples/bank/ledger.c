/*
 * ledger.c -- the bank example's ledger, a dependency of bank.  It holds
 * three accounts (amounts in euro cents) and posts transfers between them.
 *
 *   POST /v1/entries        {"account","to","amount","idempotency_key":
 *                           UUID v4,"requested_at": epoch ms,"nonce": 32
 *                           hex} with header Idempotency-Key (the same
 *                           UUID) -> 201 {"entry": ULID of now,
 *                           "idempotency_key","account","amount","balance",
 *                           "created_at": RFC 3339 now}; 400 bad input;
 *                           422 requested_at more than 300 s from now, or
 *                           a nonce seen before; 404 unknown account;
 *                           409 {"error":"insufficient funds"}
 *   GET  /v1/accounts/{id}  200 {"account","balance","currency":"EUR",
 *                           "as_of": HTTP-date now}, 404
 *   GET  /healthz           200 {"status":"ok"}
 *
 * A repeated Idempotency-Key gets the first answer again (with
 * "Idempotent-Replayed: true"), as payment ledgers do, so a retried
 * transfer is never posted twice.  Every answer carries a Date header.
 * "now" is real time plus --clock-offset.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "bk.h"

#define LEDGER_WINDOW_MS	300000	/* how far requested_at may be off */
#define LEDGER_MAX_AMOUNT	1000000000L

struct ledger_account {
	const char	*id;
	long		 balance;
};

/* An answer kept for its idempotency key. */
struct ledger_answer {
	char	*key;
	int	 status;
	char	*body;
};

static struct ledger_account ledger_accounts[] = {
	{ "acct-alice",	250000 },
	{ "acct-bob",	120000 },
	{ "acct-carol",	  8000 },
};
#define LEDGER_NACCOUNTS \
	(sizeof ledger_accounts / sizeof ledger_accounts[0])

static pthread_mutex_t		 ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ledger_answer	*ledger_answers;
static size_t			 ledger_nanswers;
static char			**ledger_nonces;
static size_t			 ledger_nnonces;

/* Call with ledger_lock held. */
static struct ledger_account *
ledger_account_find(const char *id, size_t len)
{
	size_t	i;

	for (i = 0; i < LEDGER_NACCOUNTS; i++) {
		if (strlen(ledger_accounts[i].id) == len &&
		    memcmp(ledger_accounts[i].id, id, len) == 0)
			return &ledger_accounts[i];
	}
	return NULL;
}

/* Call with ledger_lock held. */
static const struct ledger_answer *
ledger_answer_find(const char *key)
{
	size_t	i;

	for (i = 0; i < ledger_nanswers; i++) {
		if (strcmp(ledger_answers[i].key, key) == 0)
			return &ledger_answers[i];
	}
	return NULL;
}

/* Sets res and keeps the answer for key.  Call with ledger_lock held. */
static void
ledger_answer(struct shop_res *res, const char *key, int status, cJSON *obj)
{
	struct ledger_answer	*a;
	char			*s;

	if ((s = cJSON_PrintUnformatted(obj)) == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	cJSON_Delete(obj);
	shop_res_bytes(res, status, "application/json", s, strlen(s));
	ledger_answers = xreallocarray(ledger_answers, ledger_nanswers + 1,
	    sizeof *ledger_answers);
	a = &ledger_answers[ledger_nanswers++];
	a->key = xstrdup(key);
	a->status = status;
	a->body = xstrdup(s);
	cJSON_free(s);
}

static void
ledger_answer_error(struct shop_res *res, const char *key, int status,
    const char *error)
{
	cJSON	*obj;

	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "error", error);
	ledger_answer(res, key, status, obj);
}

/* 1 if nonce was seen before; otherwise remembers it.  Lock held. */
static int
ledger_nonce_seen(const char *nonce)
{
	size_t	i;

	for (i = 0; i < ledger_nnonces; i++) {
		if (strcmp(ledger_nonces[i], nonce) == 0)
			return 1;
	}
	ledger_nonces = xreallocarray(ledger_nonces, ledger_nnonces + 1,
	    sizeof *ledger_nonces);
	ledger_nonces[ledger_nnonces++] = xstrdup(nonce);
	return 0;
}

static void
ledger_post(const struct shop_req *req, struct shop_res *res)
{
	const struct ledger_answer	*prev;
	struct ledger_account		*from, *to;
	cJSON				*obj, *out;
	const char			*account, *payee, *key, *nonce;
	char				*header;
	char				 entry[BK_ULID_LEN];
	char				 created[BK_DATE_LEN];
	long				 amount, requested_at;
	int64_t				 now_us, now_ms;

	header = bk_header(req, "Idempotency-Key");
	if (!bk_is_uuid4(header)) {
		free(header);
		shop_res_error(res, 400, "Idempotency-Key must be a UUID v4");
		return;
	}
	pthread_mutex_lock(&ledger_lock);
	if ((prev = ledger_answer_find(header)) != NULL) {
		shop_res_bytes(res, prev->status, "application/json",
		    prev->body, strlen(prev->body));
		pthread_mutex_unlock(&ledger_lock);
		shop_res_header(res, "Idempotent-Replayed", "true");
		free(header);
		return;
	}
	pthread_mutex_unlock(&ledger_lock);

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid JSON");
		free(header);
		return;
	}
	account = shop_json_str(obj, "account");
	payee = shop_json_str(obj, "to");
	key = shop_json_str(obj, "idempotency_key");
	nonce = shop_json_str(obj, "nonce");
	if (account == NULL || payee == NULL ||
	    shop_json_int(obj, "amount", 1, LEDGER_MAX_AMOUNT, &amount) ==
	    -1 || key == NULL || strcmp(key, header) != 0 ||
	    shop_json_int(obj, "requested_at", 0, 9000000000000000L,
	    &requested_at) == -1 || !bk_is_hex(nonce, 32)) {
		shop_res_error(res, 400, "account, to, amount, "
		    "idempotency_key (as the header), requested_at (epoch ms) "
		    "and nonce (32 hex) are required");
		goto out;
	}
	now_us = bk_now_us();
	now_ms = now_us / 1000;
	if (requested_at < now_ms - LEDGER_WINDOW_MS ||
	    requested_at > now_ms + LEDGER_WINDOW_MS) {
		shop_res_error(res, 422, "requested_at out of window");
		goto out;
	}

	pthread_mutex_lock(&ledger_lock);
	if (ledger_nonce_seen(nonce))
		ledger_answer_error(res, key, 422, "nonce reused");
	else if ((from = ledger_account_find(account,
	    strlen(account))) == NULL ||
	    (to = ledger_account_find(payee, strlen(payee))) == NULL)
		ledger_answer_error(res, key, 404, "unknown account");
	else if (from == to)
		ledger_answer_error(res, key, 422, "same account");
	else if (from->balance < amount)
		ledger_answer_error(res, key, 409, "insufficient funds");
	else {
		from->balance -= amount;
		to->balance += amount;
		bk_ulid(now_ms, entry);
		bk_format_rfc3339(now_us, BK_RFC3339_OFFSET, created,
		    sizeof created);
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "entry", entry);
		cJSON_AddStringToObject(out, "idempotency_key", key);
		cJSON_AddStringToObject(out, "account", from->id);
		cJSON_AddNumberToObject(out, "amount", (double)amount);
		cJSON_AddNumberToObject(out, "balance", (double)from->balance);
		cJSON_AddStringToObject(out, "created_at", created);
		ledger_answer(res, key, 201, out);
	}
	pthread_mutex_unlock(&ledger_lock);
out:
	cJSON_Delete(obj);
	free(header);
}

static void
ledger_get_account(struct span id, struct shop_res *res)
{
	struct ledger_account	*a;
	cJSON			*out = NULL;
	char			 date[BK_DATE_LEN];

	pthread_mutex_lock(&ledger_lock);
	if ((a = ledger_account_find(id.p, id.len)) != NULL) {
		bk_format_http_date(bk_now_us(), date, sizeof date);
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "account", a->id);
		cJSON_AddNumberToObject(out, "balance", (double)a->balance);
		cJSON_AddStringToObject(out, "currency", "EUR");
		cJSON_AddStringToObject(out, "as_of", date);
	}
	pthread_mutex_unlock(&ledger_lock);
	if (out != NULL)
		shop_res_json(res, 200, out);
	else
		shop_res_error(res, 404, "unknown account");
}

static void
ledger_route(const struct shop_req *req, struct shop_res *res)
{
	struct span	 rest;

	if (shop_healthz(req, res))
		return;
	if (span_eq_str(req->path, "/v1/entries")) {
		if (shop_method(req, res, "POST", "method not allowed"))
			ledger_post(req, res);
		return;
	}
	if (shop_path_id(req->path, "/v1/accounts/", &rest)) {
		if (shop_method(req, res, "GET", "method not allowed"))
			ledger_get_account(rest, res);
		return;
	}
	shop_res_error(res, 404, "not found");
}

#define LEDGER_USAGE \
	"usage: ledger [--port PORT] [--port-file FILE] " \
	"[--clock-offset SECONDS]\n"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SHOP_OPTIONS_SERVE,
		BK_OPTION_CLOCK,
		{ NULL,			0,			NULL, 0 }
	};
	struct shop_opts	 o;
	int			 ch;

	shop_opts_init(&o, "ledger");
	while ((ch = getopt_long(argc, argv, "p:P:hc:", longopts,
	    NULL)) != -1) {
		if (bk_option(&o, ch, optarg))
			continue;
		shop_usage(ch == 'h' ? 0 : 2, LEDGER_USAGE);
	}
	if (optind != argc)
		shop_usage(2, LEDGER_USAGE);
	return bk_serve(&o, ledger_route);
}
