/*
 * payments.c -- the demo's payments API, a dependency of orders.
 *
 *   POST /v1/charges        {"amount":int,"currency":"usd|eur","card":"..."}
 *                           201 the charge; 402 {"error":"card_declined"} for
 *                           the test card 4000000000000002; 400 when the
 *                           body is not JSON or a field is missing or wrong
 *   GET  /v1/charges/ch_N   200 the charge, 404 if unknown
 *   GET  /healthz           200 {"status":"ok"}
 *
 * Charges live in memory; their ids come from a counter ("ch_1", "ch_2",
 * ...) so a run is deterministic given the same requests.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "shop.h"

#define PAYMENTS_DECLINED_CARD	"4000000000000002"

struct payments_charge {
	long	 n;
	long	 amount;
	char	 currency[4];
};

static pthread_mutex_t		 payments_lock = PTHREAD_MUTEX_INITIALIZER;
static struct payments_charge	*payments_charges;
static size_t			 payments_ncharges;

static cJSON *
payments_charge_json(const struct payments_charge *ch)
{
	cJSON	*obj;
	char	 id[32];

	snprintf(id, sizeof id, "ch_%ld", ch->n);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", id);
	cJSON_AddNumberToObject(obj, "amount", (double)ch->amount);
	cJSON_AddStringToObject(obj, "currency", ch->currency);
	cJSON_AddStringToObject(obj, "status", "succeeded");
	return obj;
}

static void
payments_create(const struct shop_req *req, struct shop_res *res)
{
	struct payments_charge	 ch;
	cJSON			*obj;
	const char		*currency, *card;
	long			 amount;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	currency = shop_json_str(obj, "currency");
	card = shop_json_str(obj, "card");
	if (shop_json_int(obj, "amount", 1, 100000000, &amount) == -1) {
		shop_res_error(res, 400, "invalid_amount");
		goto out;
	}
	if (currency == NULL ||
	    (strcmp(currency, "usd") != 0 && strcmp(currency, "eur") != 0)) {
		shop_res_error(res, 400, "invalid_currency");
		goto out;
	}
	if (card == NULL || *card == '\0') {
		shop_res_error(res, 400, "invalid_card");
		goto out;
	}
	if (strcmp(card, PAYMENTS_DECLINED_CARD) == 0) {
		shop_res_error(res, 402, "card_declined");
		goto out;
	}

	memset(&ch, 0, sizeof ch);
	ch.amount = amount;
	snprintf(ch.currency, sizeof ch.currency, "%s", currency);
	pthread_mutex_lock(&payments_lock);
	ch.n = (long)payments_ncharges + 1;
	payments_charges = xreallocarray(payments_charges,
	    payments_ncharges + 1, sizeof *payments_charges);
	payments_charges[payments_ncharges++] = ch;
	pthread_mutex_unlock(&payments_lock);
	shop_res_json(res, 201, payments_charge_json(&ch));
out:
	cJSON_Delete(obj);
}

static void
payments_get(struct span id, struct shop_res *res)
{
	struct payments_charge	 ch;
	char			*s;
	long			 n;
	int			 found = 0;

	s = span_dup(id);
	if (strncmp(s, "ch_", 3) == 0 &&
	    shop_parse_long(s + 3, 1, LONG_MAX, &n) == 0) {
		pthread_mutex_lock(&payments_lock);
		if ((size_t)n <= payments_ncharges) {
			ch = payments_charges[n - 1];
			found = 1;
		}
		pthread_mutex_unlock(&payments_lock);
	}
	free(s);
	if (found)
		shop_res_json(res, 200, payments_charge_json(&ch));
	else
		shop_res_error(res, 404, "charge_not_found");
}

static void
payments_handle(const struct shop_req *req, struct shop_res *res)
{
	struct span	rest;

	if (shop_healthz(req, res))
		return;
	if (span_eq_str(req->path, "/v1/charges")) {
		if (shop_method(req, res, "POST", "method_not_allowed"))
			payments_create(req, res);
		return;
	}
	if (shop_path_id(req->path, "/v1/charges/", &rest)) {
		if (shop_method(req, res, "GET", "method_not_allowed"))
			payments_get(rest, res);
		return;
	}
	shop_res_error(res, 404, "not_found");
}

int
main(int argc, char **argv)
{
	return shop_main_simple("payments", argc, argv, payments_handle);
}
