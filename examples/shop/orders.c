/*
 * orders.c -- the demo's service under test.  It answers its clients by
 * calling two dependencies, inventory and payments, which is what makes it
 * a good subject for decoy: record it once, then replay its inbound half
 * against a new build while decoy plays inventory and payments.
 *
 *   GET  /healthz                200, no dependency calls, never traced
 *   GET  /products/{sku}         inventory stock -> {"sku","name","price",
 *                                "in_stock"}
 *   GET  /products/{sku}/image   inventory image, bytes passed through
 *   POST /orders                 {"sku","qty","card"}: stock check (price),
 *                                reservation, charge of price*qty usd ->
 *                                201 {"order","sku","qty","amount","charge",
 *                                "status":"confirmed"}
 *   GET  /orders/{id}            200 the stored order, 404 if unknown
 *
 * A dependency that fails (5xx, refused or reset connection, an answer
 * that is not HTTP or not the JSON expected) gives 502 {"error":"<dep>
 * unavailable"}, a timeout 504; orders itself never falls over.  The
 * reservation, not the stock check, decides whether there is enough stock,
 * so two concurrent orders cannot both take the last item.  Order ids come
 * from a counter, so the same dependency answers give the same output.
 *
 * --trace FILE records both directions as a snapshot; --resolve NAME:ADDR
 * lets the dependency URLs carry real names (examples/shop/record.sh
 * uses it so that the snapshot tells inventory and payments apart).
 *
 * --plant-regression deliberately breaks GET /products/{sku}: the product
 * "name" comes back upper-cased.  Tests use it to show that decoy's
 * regression check (decoy run, decoy replay) catches a changed field.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "shop.h"

struct orders_order {
	long	 n;
	char	*sku;
	long	 qty;
	long	 amount;
	char	*charge;
};

static struct shop_upstream	 orders_payments;
static struct shop_upstream	 orders_inventory;
static int			 orders_plant_regression;

static pthread_mutex_t		 orders_lock = PTHREAD_MUTEX_INITIALIZER;
static struct orders_order	*orders_list;
static size_t			 orders_nlist;

/* Skus travel in URLs: keep them to a safe alphabet. */
static int
orders_sku_is_valid(struct span sku)
{
	size_t	i;
	char	c;

	if (sku.len == 0 || sku.len > 64)
		return 0;
	for (i = 0; i < sku.len; i++) {
		c = sku.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static cJSON *
orders_order_json(const struct orders_order *o)
{
	cJSON	*obj;
	char	 id[32];

	snprintf(id, sizeof id, "o-%ld", o->n);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "order", id);
	cJSON_AddStringToObject(obj, "sku", o->sku);
	cJSON_AddNumberToObject(obj, "qty", (double)o->qty);
	cJSON_AddNumberToObject(obj, "amount", (double)o->amount);
	cJSON_AddStringToObject(obj, "charge", o->charge);
	cJSON_AddStringToObject(obj, "status", "confirmed");
	return obj;
}

static void
orders_product(struct span sku, struct shop_res *res)
{
	struct snap_txn	 t;
	cJSON		*ans, *out;
	const char	*name, *got;
	char		*target;
	long		 price, available;

	target = xasprintf("/v1/stock/%.*s", (int)sku.len, sku.p);
	if (shop_call_json(&orders_inventory, "GET", target, NULL, 0, NULL,
	    &t, res) == -1) {
		free(target);
		return;
	}
	free(target);
	if (t.res.status == 404) {
		shop_res_error(res, 404, "unknown_sku");
		goto out;
	}
	ans = t.res.status == 200 ? shop_answer_json(&t) : NULL;
	if (ans == NULL ||
	    (got = shop_json_str(ans, "sku")) == NULL ||
	    (name = shop_json_str(ans, "name")) == NULL ||
	    shop_json_int(ans, "price", 0, LONG_MAX / 2, &price) == -1 ||
	    shop_json_int(ans, "available", 0, LONG_MAX / 2,
	    &available) == -1) {
		shop_res_unavailable(res, &orders_inventory, 502);
		cJSON_Delete(ans);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "sku", got);
	if (orders_plant_regression) {
		char	*upper = xstrdup(name), *c;

		for (c = upper; *c != '\0'; c++) {
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		}
		cJSON_AddStringToObject(out, "name", upper);
		free(upper);
	} else
		cJSON_AddStringToObject(out, "name", name);
	cJSON_AddNumberToObject(out, "price", (double)price);
	cJSON_AddBoolToObject(out, "in_stock", available > 0);
	shop_res_json(res, 200, out);
	cJSON_Delete(ans);
out:
	snap_txn_free(&t);
}

static void
orders_image(struct span sku, struct shop_res *res)
{
	struct snap_txn	 t;
	const char	*type;
	char		*target;

	target = xasprintf("/v1/images/%.*s", (int)sku.len, sku.p);
	if (shop_call_json(&orders_inventory, "GET", target, NULL, 0, NULL,
	    &t, res) == -1) {
		free(target);
		return;
	}
	free(target);
	type = shop_header(t.res.headers, t.res.nheaders, "Content-Type");
	if (t.res.status == 404)
		shop_res_error(res, 404, "unknown_sku");
	else if (t.res.status != 200 || type == NULL ||
	    strncmp(type, "image/", 6) != 0)
		shop_res_unavailable(res, &orders_inventory, 502);
	else {
		/* The type must outlive t: keep only the ones we know. */
		if (strcmp(type, "image/png") == 0)
			type = "image/png";
		else if (strcmp(type, "image/jpeg") == 0)
			type = "image/jpeg";
		else
			type = "application/octet-stream";
		shop_res_bytes(res, 200, type, t.res.body, t.res.body_len);
	}
	snap_txn_free(&t);
}

static void
orders_create(const struct shop_req *req, struct shop_res *res)
{
	struct orders_order	 o;
	struct snap_txn		 t;
	cJSON			*obj, *ans = NULL, *body;
	const char		*sku, *card, *charge;
	char			*target;
	long			 qty, price;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	sku = shop_json_str(obj, "sku");
	card = shop_json_str(obj, "card");
	if (sku == NULL || !orders_sku_is_valid(span_from_str(sku)) ||
	    card == NULL || *card == '\0' ||
	    shop_json_int(obj, "qty", 1, 1000, &qty) == -1) {
		shop_res_error(res, 400, "invalid_order");
		cJSON_Delete(obj);
		return;
	}

	/* The price comes from the stock check. */
	target = xasprintf("/v1/stock/%s", sku);
	if (shop_call_json(&orders_inventory, "GET", target, NULL, 0, NULL,
	    &t, res) == -1) {
		free(target);
		goto out;
	}
	free(target);
	if (t.res.status == 404) {
		shop_res_error(res, 404, "unknown_sku");
		snap_txn_free(&t);
		goto out;
	}
	ans = t.res.status == 200 ? shop_answer_json(&t) : NULL;
	snap_txn_free(&t);
	if (ans == NULL ||
	    shop_json_int(ans, "price", 0, 10000000, &price) == -1) {
		shop_res_unavailable(res, &orders_inventory, 502);
		goto out;
	}
	cJSON_Delete(ans);
	ans = NULL;

	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "sku", sku);
	cJSON_AddNumberToObject(body, "qty", (double)qty);
	if (shop_call_json(&orders_inventory, "POST", "/v1/reservations",
	    NULL, 0, body, &t, res) == -1)
		goto out;
	if (t.res.status != 201) {
		if (t.res.status == 409)
			shop_res_error(res, 409, "insufficient_stock");
		else if (t.res.status == 404)
			shop_res_error(res, 404, "unknown_sku");
		else
			shop_res_unavailable(res, &orders_inventory, 502);
		snap_txn_free(&t);
		goto out;
	}
	snap_txn_free(&t);

	body = cJSON_CreateObject();
	cJSON_AddNumberToObject(body, "amount", (double)(price * qty));
	cJSON_AddStringToObject(body, "currency", "usd");
	cJSON_AddStringToObject(body, "card", card);
	if (shop_call_json(&orders_payments, "POST", "/v1/charges", NULL, 0,
	    body, &t, res) == -1)
		goto out;
	if (t.res.status == 402) {
		shop_res_error(res, 402, "payment_declined");
		snap_txn_free(&t);
		goto out;
	}
	ans = t.res.status == 201 ? shop_answer_json(&t) : NULL;
	snap_txn_free(&t);
	if (ans == NULL || (charge = shop_json_str(ans, "id")) == NULL) {
		shop_res_unavailable(res, &orders_payments, 502);
		goto out;
	}

	o.sku = xstrdup(sku);
	o.qty = qty;
	o.amount = price * qty;
	o.charge = xstrdup(charge);
	pthread_mutex_lock(&orders_lock);
	o.n = (long)orders_nlist + 1;
	orders_list = xreallocarray(orders_list, orders_nlist + 1,
	    sizeof *orders_list);
	orders_list[orders_nlist++] = o;
	pthread_mutex_unlock(&orders_lock);
	shop_res_json(res, 201, orders_order_json(&o));
out:
	cJSON_Delete(ans);
	cJSON_Delete(obj);
}

static void
orders_get(struct span id, struct shop_res *res)
{
	cJSON	*obj = NULL;
	char	*s;
	long	 n;

	s = span_dup(id);
	if (strncmp(s, "o-", 2) == 0 &&
	    shop_parse_long(s + 2, 1, LONG_MAX, &n) == 0) {
		pthread_mutex_lock(&orders_lock);
		if ((size_t)n <= orders_nlist)
			obj = orders_order_json(&orders_list[n - 1]);
		pthread_mutex_unlock(&orders_lock);
	}
	free(s);
	if (obj != NULL)
		shop_res_json(res, 200, obj);
	else
		shop_res_error(res, 404, "order_not_found");
}

static void
orders_handle(const struct shop_req *req, struct shop_res *res)
{
	struct span	 rest, sku;
	const char	*slash;

	if (shop_healthz(req, res)) {
		res->untraced = 1;
		return;
	}
	if (shop_path_prefix(req->path, "/products/", &rest)) {
		slash = memchr(rest.p, '/', rest.len);
		sku.p = rest.p;
		sku.len = slash == NULL ? rest.len : (size_t)(slash - rest.p);
		if (!orders_sku_is_valid(sku) || (slash != NULL &&
		    !span_eq_str((struct span){ slash, (size_t)(rest.p +
		    rest.len - slash) }, "/image"))) {
			shop_res_error(res, 404, "not_found");
			return;
		}
		if (!shop_method(req, res, "GET", "method_not_allowed"))
			return;
		if (slash == NULL)
			orders_product(sku, res);
		else
			orders_image(sku, res);
		return;
	}
	if (span_eq_str(req->path, "/orders")) {
		if (shop_method(req, res, "POST", "method_not_allowed"))
			orders_create(req, res);
		return;
	}
	if (shop_path_id(req->path, "/orders/", &rest)) {
		if (shop_method(req, res, "GET", "method_not_allowed"))
			orders_get(rest, res);
		return;
	}
	shop_res_error(res, 404, "not_found");
}

#define ORDERS_USAGE \
	"usage: orders [--port PORT] [--port-file FILE] --payments URL " \
	"--inventory URL\n" \
	"              [--trace FILE] [--timeout MS] " \
	"[--resolve NAME:ADDR]...\n" \
	"              [--plant-regression]\n" \
	"  URLs may also come from PAYMENTS_URL and INVENTORY_URL; " \
	"flags win.\n" \
	"  --plant-regression  upper-case the product \"name\" (a " \
	"deliberate bug for\n" \
	"                      testing regression checks)\n"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SHOP_OPTIONS_SERVE,
		SHOP_OPTIONS_CALL,
		{ "payments",	required_argument,	NULL, 'y' },
		{ "inventory",	required_argument,	NULL, 'i' },
		{ "trace",	required_argument,	NULL, 't' },
		{ "plant-regression", no_argument,	NULL, 'R' },
		{ NULL,		0,			NULL, 0 }
	};
	struct shop_opts o;
	const char	*trace = NULL, *payments, *inventory;
	char		*cause;
	int		 ch;

	shop_opts_init(&o, "orders");
	payments = getenv("PAYMENTS_URL");
	inventory = getenv("INVENTORY_URL");
	while ((ch = getopt_long(argc, argv, "p:P:hT:r:y:i:t:", longopts,
	    NULL)) != -1) {
		if (shop_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'y':
			payments = optarg;
			break;
		case 'i':
			inventory = optarg;
			break;
		case 't':
			trace = optarg;
			break;
		case 'R':
			orders_plant_regression = 1;
			break;
		case 'h':
			shop_usage(0, ORDERS_USAGE);
		default:
			shop_usage(2, ORDERS_USAGE);
		}
	}
	if (optind != argc)
		shop_usage(2, ORDERS_USAGE);
	if (payments == NULL || *payments == '\0') {
		fprintf(stderr, "orders: no payments URL: give --payments URL "
		    "or set PAYMENTS_URL\n");
		shop_usage(2, ORDERS_USAGE);
	}
	if (inventory == NULL || *inventory == '\0') {
		fprintf(stderr, "orders: no inventory URL: give --inventory "
		    "URL or set INVENTORY_URL\n");
		shop_usage(2, ORDERS_USAGE);
	}
	shop_upstream_init_opts(&orders_payments, &o, "payments", payments);
	shop_upstream_init_opts(&orders_inventory, &o, "inventory", inventory);
	if (trace != NULL && shop_trace_open(trace, &cause) == -1) {
		fprintf(stderr, "orders: %s\n", cause);
		exit(1);
	}
	return shop_serve_opts(&o, orders_handle);
}
