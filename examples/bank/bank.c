/*
 * bank.c -- the bank example's service under test.  Its clients log in for
 * a bearer token (issued by the tokens service), move money (posted by the
 * ledger) and read their transfers back by the ids bank issued.  Nearly
 * every value that crosses it is volatile: JWTs that expire, a client
 * clock that must be near bank's, fresh idempotency keys and nonces on
 * every ledger call, server-issued ids read back later.  That is what
 * makes it the subject of decoy's realistic replay (issue 12).
 *
 *   POST /login                  {"user","password"} -> tokens -> 200
 *                                {"token","expires_at"}; 401 bad password;
 *                                502 when the token service's token is not
 *                                signed with the shared secret, is for
 *                                someone else or has already expired
 *   POST /transfers              {"to","amount"} -> ledger entry -> 201
 *                                {"id","entry","to","amount","status",
 *                                "created_at"} + Location: /transfers/{id}
 *   GET  /transfers/{id}         200 the transfer (its owner only), 404
 *   GET  /accounts/{id}/balance  ledger account -> 200 {"account",
 *                                "balance","as_of"} (own account only: 403)
 *   GET  /admin/audit            admin JWT (signed with the admin secret,
 *                                "role":"admin") -> 200 {"transfers": N}
 *   GET  /healthz                200
 *
 * Every endpoint but /login and /healthz needs "Authorization: Bearer JWT"
 * valid under its secret with exp in the future (401 {"error":"token
 * expired"} or {"error":"bad token"}) and "X-Client-Time: RFC 3339"
 * within 300 s of bank's now (400 {"error":"clock skew"}).  A ledger
 * answer that does not echo the idempotency key bank sent, or whose
 * created_at is more than 300 s from now, is a 502: bank does not trust
 * a dependency that answers some other request or lives in another time.
 *
 * `bank mint-admin-token --admin-secret-file F [--ttl S]` prints an admin
 * JWT, as an operator's tool would; the recording driver uses it.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xmalloc.h"
#include "bk.h"

#define BANK_WINDOW_S		300	/* allowed clock difference */
#define BANK_MAX_AMOUNT		1000000000L
#define BANK_SCOPE		"transfers:write accounts:read"
#define BANK_ID_LEN		36	/* "tr_" + 32 hex + NUL */

struct bank_user {
	const char	*name;
	const char	*password;
	const char	*account;
};

struct bank_transfer {
	char	 id[BANK_ID_LEN];
	char	*owner;
	char	*entry;
	char	*to;
	long	 amount;
	char	*created_at;
};

static const struct bank_user bank_users[] = {
	{ "alice",	"wonderland",	"acct-alice" },
	{ "bob",	"builder",	"acct-bob" },
	{ "carol",	"singing",	"acct-carol" },
};
#define BANK_NUSERS	(sizeof bank_users / sizeof bank_users[0])

static struct shop_upstream	 bank_tokens;
static struct shop_upstream	 bank_ledger;
static struct buf		 bank_secret;
static struct buf		 bank_admin_secret;

static pthread_mutex_t		 bank_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bank_transfer	*bank_transfers;
static size_t			 bank_ntransfers;

static const struct bank_user *
bank_user_find(const char *name)
{
	size_t	i;

	for (i = 0; name != NULL && i < BANK_NUSERS; i++) {
		if (strcmp(bank_users[i].name, name) == 0)
			return &bank_users[i];
	}
	return NULL;
}

/* Account ids travel in URLs: keep them to a safe alphabet. */
static int
bank_id_is_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	}
	return 1;
}

static void
bank_unauthorized(struct shop_res *res, const char *error)
{
	shop_res_error(res, 401, error);
	shop_res_header(res, "WWW-Authenticate",
	    "Bearer realm=\"bank\", error=\"invalid_token\"");
}

/*
 * Checks the bearer token (under secret) and X-Client-Time.  Returns the
 * token's payload (the caller frees it), or NULL having answered 401 or
 * 400.
 */
static cJSON *
bank_auth(const struct shop_req *req, struct shop_res *res,
    const struct buf *secret)
{
	cJSON		*claims;
	const char	*why;
	char		*auth, *client_time;
	int64_t		 now_us, exp, ct_us;

	auth = bk_header(req, "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		free(auth);
		bank_unauthorized(res, "missing token");
		return NULL;
	}
	claims = bk_jwt_verify(auth + 7, secret, &why);
	free(auth);
	if (claims == NULL) {
		log_debug("bad token: %s", why);
		bank_unauthorized(res, "bad token");
		return NULL;
	}
	now_us = bk_now_us();
	if ((exp = bk_json_seconds(claims, "exp")) == -1) {
		cJSON_Delete(claims);
		bank_unauthorized(res, "bad token");
		return NULL;
	}
	if (exp * 1000000 <= now_us) {
		cJSON_Delete(claims);
		bank_unauthorized(res, "token expired");
		return NULL;
	}

	client_time = bk_header(req, "X-Client-Time");
	if (client_time == NULL ||
	    bk_parse_rfc3339(client_time, &ct_us) == -1) {
		free(client_time);
		cJSON_Delete(claims);
		shop_res_error(res, 400, "X-Client-Time must be RFC 3339");
		return NULL;
	}
	free(client_time);
	if (ct_us < now_us - BANK_WINDOW_S * 1000000LL ||
	    ct_us > now_us + BANK_WINDOW_S * 1000000LL) {
		cJSON_Delete(claims);
		shop_res_error(res, 400, "clock skew");
		return NULL;
	}
	return claims;
}

/* bank_auth for a user's token: returns the user, or NULL having answered. */
static const struct bank_user *
bank_auth_user(const struct shop_req *req, struct shop_res *res)
{
	const struct bank_user	*u;
	cJSON			*claims;

	if ((claims = bank_auth(req, res, &bank_secret)) == NULL)
		return NULL;
	u = bank_user_find(shop_json_str(claims, "sub"));
	cJSON_Delete(claims);
	if (u == NULL)
		bank_unauthorized(res, "bad token");
	return u;
}

static void
bank_login(const struct shop_req *req, struct shop_res *res)
{
	const struct bank_user	*u;
	struct snap_header	 h;
	struct snap_txn		 t;
	cJSON			*obj, *body, *ans = NULL, *claims = NULL, *out;
	const char		*user, *password, *token, *why, *sub;
	char			 request_id[BK_UUID_LEN], date[BK_DATE_LEN];
	int64_t			 now_us, exp;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid JSON");
		return;
	}
	user = shop_json_str(obj, "user");
	password = shop_json_str(obj, "password");
	if (user == NULL || password == NULL) {
		shop_res_error(res, 400, "user and password are required");
		goto out;
	}
	if ((u = bank_user_find(user)) == NULL ||
	    strcmp(u->password, password) != 0) {
		shop_res_error(res, 401, "bad credentials");
		goto out;
	}

	bk_uuid4(request_id);
	h.name = (char *)"X-Request-Id";
	h.value = request_id;
	bk_format_rfc3339(bk_now_us(), BK_RFC3339_SECONDS, date, sizeof date);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "sub", u->name);
	cJSON_AddStringToObject(body, "scope", BANK_SCOPE);
	cJSON_AddStringToObject(body, "requested_at", date);
	if (shop_call_json(&bank_tokens, "POST", "/v1/tokens", &h, 1, body, &t,
	    res) == -1)
		goto out;
	ans = t.res.status == 201 ? shop_answer_json(&t) : NULL;
	if (ans == NULL) {
		log_warn("tokens answered %d", t.res.status);
		snap_txn_free(&t);
		shop_res_unavailable(res, &bank_tokens, 502);
		goto out;
	}
	snap_txn_free(&t);

	/* Trust nothing: the token must be ours, for this user, and alive. */
	token = shop_json_str(ans, "access_token");
	if (token == NULL ||
	    (claims = bk_jwt_verify(token, &bank_secret, &why)) == NULL) {
		log_warn("tokens answered a bad token: %s",
		    token == NULL ? "none" : why);
		shop_res_error(res, 502, "token service answered a bad token");
		goto out;
	}
	sub = shop_json_str(claims, "sub");
	exp = bk_json_seconds(claims, "exp");
	now_us = bk_now_us();
	if (sub == NULL || strcmp(sub, u->name) != 0 || exp == -1) {
		shop_res_error(res, 502, "token service answered a bad token");
		goto out;
	}
	if (exp * 1000000 <= now_us) {
		log_warn("tokens issued a token that expired %lld s ago",
		    (long long)(now_us / 1000000 - exp));
		shop_res_error(res, 502,
		    "token service issued an expired token");
		goto out;
	}

	bk_format_rfc3339(exp * 1000000, BK_RFC3339_SECONDS, date,
	    sizeof date);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "token", token);
	cJSON_AddStringToObject(out, "expires_at", date);
	shop_res_json(res, 200, out);
out:
	cJSON_Delete(claims);
	cJSON_Delete(ans);
	cJSON_Delete(obj);
}

static cJSON *
bank_transfer_json(const struct bank_transfer *tr)
{
	cJSON	*obj;

	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", tr->id);
	cJSON_AddStringToObject(obj, "entry", tr->entry);
	cJSON_AddStringToObject(obj, "to", tr->to);
	cJSON_AddNumberToObject(obj, "amount", (double)tr->amount);
	cJSON_AddStringToObject(obj, "status", "posted");
	cJSON_AddStringToObject(obj, "created_at", tr->created_at);
	return obj;
}

static void
bank_transfer_create(const struct shop_req *req, struct shop_res *res)
{
	const struct bank_user	*u;
	struct bank_transfer	 tr;
	struct snap_header	 h;
	struct snap_txn		 t;
	cJSON			*obj, *body, *ans = NULL;
	const char		*to, *echoed, *entry, *created_at;
	char			 key[BK_UUID_LEN], nonce[33], *location;
	long			 amount;
	int64_t			 now_us, created_us;

	if ((u = bank_auth_user(req, res)) == NULL)
		return;
	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid JSON");
		return;
	}
	to = shop_json_str(obj, "to");
	if (to == NULL || !bank_id_is_valid(to, strlen(to)) ||
	    shop_json_int(obj, "amount", 1, BANK_MAX_AMOUNT, &amount) == -1) {
		shop_res_error(res, 400, "to and a positive amount are "
		    "required");
		goto out;
	}
	if (strcmp(to, u->account) == 0) {
		shop_res_error(res, 422, "cannot transfer to own account");
		goto out;
	}

	bk_uuid4(key);
	bk_hex_random(nonce, 16);
	h.name = (char *)"Idempotency-Key";
	h.value = key;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "account", u->account);
	cJSON_AddStringToObject(body, "to", to);
	cJSON_AddNumberToObject(body, "amount", (double)amount);
	cJSON_AddStringToObject(body, "idempotency_key", key);
	cJSON_AddNumberToObject(body, "requested_at",
	    (double)(bk_now_us() / 1000));
	cJSON_AddStringToObject(body, "nonce", nonce);
	if (shop_call_json(&bank_ledger, "POST", "/v1/entries", &h, 1, body, &t,
	    res) == -1)
		goto out;
	if (t.res.status != 201) {
		if (t.res.status == 409)
			shop_res_error(res, 409, "insufficient funds");
		else if (t.res.status == 404)
			shop_res_error(res, 422, "unknown payee");
		else {
			log_warn("ledger answered %d", t.res.status);
			shop_res_unavailable(res, &bank_ledger, 502);
		}
		snap_txn_free(&t);
		goto out;
	}
	ans = shop_answer_json(&t);
	snap_txn_free(&t);
	if (ans == NULL || (echoed = shop_json_str(ans, "idempotency_key")) ==
	    NULL || (entry = shop_json_str(ans, "entry")) == NULL ||
	    (created_at = shop_json_str(ans, "created_at")) == NULL ||
	    bk_parse_rfc3339(created_at, &created_us) == -1) {
		shop_res_unavailable(res, &bank_ledger, 502);
		goto out;
	}
	if (strcmp(echoed, key) != 0) {
		log_warn("ledger echoed idempotency key %s, sent %s", echoed,
		    key);
		shop_res_error(res, 502, "ledger answered another request");
		goto out;
	}
	now_us = bk_now_us();
	if (created_us < now_us - BANK_WINDOW_S * 1000000LL ||
	    created_us > now_us + BANK_WINDOW_S * 1000000LL) {
		log_warn("ledger created_at %s is %lld s from now", created_at,
		    (long long)((created_us - now_us) / 1000000));
		shop_res_error(res, 502, "ledger clock skew");
		goto out;
	}

	memcpy(tr.id, "tr_", 3);
	bk_hex_random(tr.id + 3, 16);
	tr.owner = xstrdup(u->name);
	tr.entry = xstrdup(entry);
	tr.to = xstrdup(to);
	tr.amount = amount;
	tr.created_at = xstrdup(created_at);
	pthread_mutex_lock(&bank_lock);
	bank_transfers = xreallocarray(bank_transfers, bank_ntransfers + 1,
	    sizeof *bank_transfers);
	bank_transfers[bank_ntransfers++] = tr;
	pthread_mutex_unlock(&bank_lock);

	location = xasprintf("/transfers/%s", tr.id);
	shop_res_header(res, "Location", location);
	free(location);
	shop_res_json(res, 201, bank_transfer_json(&tr));
out:
	cJSON_Delete(ans);
	cJSON_Delete(obj);
}

static void
bank_transfer_get(const struct shop_req *req, struct span id,
    struct shop_res *res)
{
	const struct bank_user	*u;
	cJSON			*obj = NULL;
	size_t			 i;

	if ((u = bank_auth_user(req, res)) == NULL)
		return;
	pthread_mutex_lock(&bank_lock);
	for (i = 0; i < bank_ntransfers; i++) {
		/* Someone else's transfer is not found, not forbidden:
		 * ids must not be probed. */
		if (span_eq_str(id, bank_transfers[i].id) &&
		    strcmp(bank_transfers[i].owner, u->name) == 0) {
			obj = bank_transfer_json(&bank_transfers[i]);
			break;
		}
	}
	pthread_mutex_unlock(&bank_lock);
	if (obj != NULL)
		shop_res_json(res, 200, obj);
	else
		shop_res_error(res, 404, "transfer not found");
}

static void
bank_balance(const struct shop_req *req, struct span account,
    struct shop_res *res)
{
	const struct bank_user	*u;
	struct snap_txn		 t;
	cJSON			*ans, *out;
	const char		*got, *as_of;
	char			*target;
	long			 balance;

	if ((u = bank_auth_user(req, res)) == NULL)
		return;
	if (!span_eq_str(account, u->account)) {
		shop_res_error(res, 403, "not your account");
		return;
	}
	target = xasprintf("/v1/accounts/%s", u->account);
	if (shop_call_json(&bank_ledger, "GET", target, NULL, 0, NULL, &t,
	    res) == -1) {
		free(target);
		return;
	}
	free(target);
	if (t.res.status == 404) {
		shop_res_error(res, 404, "unknown account");
		snap_txn_free(&t);
		return;
	}
	ans = t.res.status == 200 ? shop_answer_json(&t) : NULL;
	snap_txn_free(&t);
	if (ans == NULL || (got = shop_json_str(ans, "account")) == NULL ||
	    strcmp(got, u->account) != 0 ||
	    (as_of = shop_json_str(ans, "as_of")) == NULL ||
	    shop_json_int(ans, "balance", LONG_MIN / 2, LONG_MAX / 2,
	    &balance) == -1) {
		shop_res_unavailable(res, &bank_ledger, 502);
		cJSON_Delete(ans);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "account", got);
	cJSON_AddNumberToObject(out, "balance", (double)balance);
	cJSON_AddStringToObject(out, "as_of", as_of);
	shop_res_json(res, 200, out);
	cJSON_Delete(ans);
}

static void
bank_audit(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*claims, *out;
	const char	*role;
	size_t		 n;

	if ((claims = bank_auth(req, res, &bank_admin_secret)) == NULL)
		return;
	role = shop_json_str(claims, "role");
	if (role == NULL || strcmp(role, "admin") != 0) {
		cJSON_Delete(claims);
		shop_res_error(res, 403, "admin role required");
		return;
	}
	cJSON_Delete(claims);
	pthread_mutex_lock(&bank_lock);
	n = bank_ntransfers;
	pthread_mutex_unlock(&bank_lock);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "transfers", (double)n);
	shop_res_json(res, 200, out);
}

static void
bank_route(const struct shop_req *req, struct shop_res *res)
{
	struct span	 rest, account;
	const char	*slash;

	if (shop_healthz(req, res))
		return;
	if (span_eq_str(req->path, "/login")) {
		if (shop_method(req, res, "POST", "method not allowed"))
			bank_login(req, res);
		return;
	}
	if (span_eq_str(req->path, "/transfers")) {
		if (shop_method(req, res, "POST", "method not allowed"))
			bank_transfer_create(req, res);
		return;
	}
	if (shop_path_id(req->path, "/transfers/", &rest)) {
		if (shop_method(req, res, "GET", "method not allowed"))
			bank_transfer_get(req, rest, res);
		return;
	}
	if (shop_path_prefix(req->path, "/accounts/", &rest) &&
	    (slash = memchr(rest.p, '/', rest.len)) != NULL &&
	    span_eq_str((struct span){ slash, (size_t)(rest.p + rest.len -
	    slash) }, "/balance")) {
		account.p = rest.p;
		account.len = (size_t)(slash - rest.p);
		if (!bank_id_is_valid(account.p, account.len))
			shop_res_error(res, 404, "not found");
		else if (shop_method(req, res, "GET", "method not allowed"))
			bank_balance(req, account, res);
		return;
	}
	if (span_eq_str(req->path, "/admin/audit")) {
		if (shop_method(req, res, "GET", "method not allowed"))
			bank_audit(req, res);
		return;
	}
	shop_res_error(res, 404, "not found");
}

#define BANK_MINT_USAGE \
	"usage: bank mint-admin-token --admin-secret-file FILE " \
	"[--ttl SECONDS] [--sub NAME]\n" \
	"                             [--clock-offset SECONDS]\n"

/* bank mint-admin-token: prints an admin JWT signed with the admin secret. */
static int
bank_mint_admin_token(struct shop_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "admin-secret-file",	required_argument,	NULL, 'a' },
		{ "ttl",		required_argument,	NULL, 't' },
		{ "sub",		required_argument,	NULL, 's' },
		BK_OPTION_CLOCK,
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	const char	*secret_file = NULL, *sub = "auditor";
	cJSON		*claims;
	char		*token;
	long		 ttl = 600;
	int64_t		 now;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "a:t:s:c:h", longopts,
	    NULL)) != -1) {
		if (bk_option(o, ch, optarg))
			continue;
		switch (ch) {
		case 'a':
			secret_file = optarg;
			break;
		case 't':
			if (shop_parse_long(optarg, 1, 86400 * 365, &ttl) ==
			    -1) {
				fprintf(stderr, "bank: bad ttl: %s\n", optarg);
				exit(2);
			}
			break;
		case 's':
			sub = optarg;
			break;
		case 'h':
			shop_usage(0, BANK_MINT_USAGE);
		default:
			shop_usage(2, BANK_MINT_USAGE);
		}
	}
	if (optind != argc)
		shop_usage(2, BANK_MINT_USAGE);
	bk_secret_option(o, "--admin-secret-file", secret_file,
	    &bank_admin_secret);
	now = bk_now_us() / 1000000;
	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "sub", sub);
	cJSON_AddStringToObject(claims, "role", "admin");
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + ttl));
	token = bk_jwt_sign(claims, &bank_admin_secret);
	cJSON_Delete(claims);
	printf("%s\n", token);
	free(token);
	return fflush(stdout) == 0 ? 0 : 1;
}

#define BANK_USAGE \
	"usage: bank --tokens URL --ledger URL --secret-file FILE " \
	"--admin-secret-file FILE\n" \
	"            [--port PORT] [--port-file FILE] " \
	"[--clock-offset SECONDS]\n" \
	"            [--timeout MS] [--resolve NAME:ADDR]...\n" \
	"       bank mint-admin-token --admin-secret-file FILE " \
	"[--ttl SECONDS] [--sub NAME]\n" \
	"                             [--clock-offset SECONDS]\n"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SHOP_OPTIONS_SERVE,
		SHOP_OPTIONS_CALL,
		BK_OPTION_CLOCK,
		{ "tokens",		required_argument,	NULL, 'k' },
		{ "ledger",		required_argument,	NULL, 'l' },
		{ "secret-file",	required_argument,	NULL, 's' },
		{ "admin-secret-file",	required_argument,	NULL, 'a' },
		{ NULL,			0,			NULL, 0 }
	};
	struct shop_opts o;
	const char	*tokens = NULL, *ledger = NULL;
	const char	*secret_file = NULL, *admin_secret_file = NULL;
	int		 ch;

	shop_opts_init(&o, "bank");
	if (argc > 1 && strcmp(argv[1], "mint-admin-token") == 0)
		return bank_mint_admin_token(&o, argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "p:P:hT:r:c:k:l:s:a:", longopts,
	    NULL)) != -1) {
		if (bk_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'k':
			tokens = optarg;
			break;
		case 'l':
			ledger = optarg;
			break;
		case 's':
			secret_file = optarg;
			break;
		case 'a':
			admin_secret_file = optarg;
			break;
		case 'h':
			shop_usage(0, BANK_USAGE);
		default:
			shop_usage(2, BANK_USAGE);
		}
	}
	if (optind != argc || tokens == NULL || ledger == NULL)
		shop_usage(2, BANK_USAGE);
	bk_secret_option(&o, "--secret-file", secret_file, &bank_secret);
	bk_secret_option(&o, "--admin-secret-file", admin_secret_file,
	    &bank_admin_secret);
	shop_upstream_init_opts(&bank_tokens, &o, "tokens", tokens);
	shop_upstream_init_opts(&bank_ledger, &o, "ledger", ledger);
	bank_tokens.user_agent = "bank/1.0";
	bank_ledger.user_agent = "bank/1.0";
	return bk_serve(&o, bank_route);
}
