/*
 * inventory.c -- the demo's inventory API, a dependency of orders.
 *
 *   GET  /v1/stock/{sku}    200 {"sku","available","price","name"}, 404 if
 *                           the sku is not in the catalogue
 *   POST /v1/reservations   {"sku","qty"}: 201 {"reservation","sku","qty",
 *                           "remaining"}, 409 {"error":"insufficient_stock"},
 *                           404 unknown sku, 400 bad body
 *   GET  /v1/images/{sku}   200 image/png: a 16x16 PNG drawn here, so that
 *                           snapshots carry a binary (body_b64) body
 *   GET  /healthz           200 {"status":"ok"}
 *
 * The catalogue is fixed; reservations take from the stock in memory and
 * are numbered from a counter ("r-1", ...).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "shop.h"

#define INVENTORY_IMAGE_SIDE	16

struct inventory_item {
	const char	*sku;
	const char	*name;
	long		 price;		/* cents */
	long		 available;
	uint8_t		 rgb[3];	/* the colour of its picture */
};

static struct inventory_item inventory_items[] = {
	{ "sku-1001", "Espresso beans 1kg",	2400,	40, { 0x6f, 0x4e, 0x37 } },
	{ "sku-1002", "Pour-over kettle",	5900,	12, { 0xc0, 0xc0, 0xc8 } },
	{ "sku-1003", "Ceramic mug",		1500,	100, { 0xf4, 0xf1, 0xe8 } },
	{ "sku-1004", "Hand grinder",		8900,	3, { 0x2b, 0x2b, 0x2b } },
	{ "sku-1005", "Paper filters (100)",	600,	0, { 0xff, 0xff, 0xff } },
};
#define INVENTORY_NITEMS \
	(sizeof inventory_items / sizeof inventory_items[0])

static pthread_mutex_t	inventory_lock = PTHREAD_MUTEX_INITIALIZER;
static long		inventory_nreservations;

static struct inventory_item *
inventory_find(struct span sku)
{
	size_t	i;

	for (i = 0; i < INVENTORY_NITEMS; i++) {
		if (span_eq_str(sku, inventory_items[i].sku))
			return &inventory_items[i];
	}
	return NULL;
}

static uint32_t
inventory_crc32(const uint8_t *p, size_t len, uint32_t crc)
{
	size_t	i;
	int	k;

	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

static uint32_t
inventory_adler32(const uint8_t *p, size_t len)
{
	uint32_t	a = 1, b = 0;
	size_t		i;

	for (i = 0; i < len; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

static void
inventory_put32(struct buf *b, uint32_t v)
{
	uint8_t	be[4];

	be[0] = v >> 24;
	be[1] = v >> 16;
	be[2] = v >> 8;
	be[3] = v;
	buf_append(b, be, 4);
}

static void
inventory_png_chunk(struct buf *b, const char *type, const uint8_t *data,
    size_t len)
{
	uint32_t	crc;

	inventory_put32(b, (uint32_t)len);
	buf_append(b, type, 4);
	buf_append(b, data, len);
	crc = inventory_crc32((const uint8_t *)type, 4, 0);
	crc = inventory_crc32(data, len, crc);
	inventory_put32(b, crc);
}

/*
 * Draws the item's picture: its colour with a darker diagonal band, as an
 * 8-bit RGB PNG whose image data is one stored (uncompressed) deflate
 * block, so no zlib is needed.
 */
static void
inventory_png(const struct inventory_item *it, struct buf *out)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
	    '\n' };
	enum { ROW = 1 + INVENTORY_IMAGE_SIDE * 3 };
	uint8_t		raw[ROW * INVENTORY_IMAGE_SIDE], ihdr[13], *px;
	struct buf	z;
	uint16_t	len;
	int		x, y, c, band;

	for (y = 0; y < INVENTORY_IMAGE_SIDE; y++) {
		raw[y * ROW] = 0;	/* filter: none */
		for (x = 0; x < INVENTORY_IMAGE_SIDE; x++) {
			px = &raw[y * ROW + 1 + x * 3];
			band = (x + y) % INVENTORY_IMAGE_SIDE < 3;
			for (c = 0; c < 3; c++)
				px[c] = band ? it->rgb[c] / 2 : it->rgb[c];
		}
	}

	memset(ihdr, 0, sizeof ihdr);
	ihdr[3] = INVENTORY_IMAGE_SIDE;	/* width, big-endian */
	ihdr[7] = INVENTORY_IMAGE_SIDE;	/* height */
	ihdr[8] = 8;			/* bit depth */
	ihdr[9] = 2;			/* colour type: RGB */

	buf_init(&z);
	buf_append(&z, "\x78\x01", 2);	/* zlib header, no compression */
	buf_append_byte(&z, 0x01);	/* final stored block */
	len = sizeof raw;
	buf_append_byte(&z, (char)(len & 0xff));
	buf_append_byte(&z, (char)(len >> 8));
	buf_append_byte(&z, (char)(~len & 0xff));
	buf_append_byte(&z, (char)((uint16_t)~len >> 8));
	buf_append(&z, raw, sizeof raw);
	inventory_put32(&z, inventory_adler32(raw, sizeof raw));

	buf_append(out, sig, sizeof sig);
	inventory_png_chunk(out, "IHDR", ihdr, sizeof ihdr);
	inventory_png_chunk(out, "IDAT", (const uint8_t *)z.data, z.len);
	inventory_png_chunk(out, "IEND", NULL, 0);
	buf_free(&z);
}

static cJSON *
inventory_item_json(const struct inventory_item *it, long available)
{
	cJSON	*obj;

	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "sku", it->sku);
	cJSON_AddNumberToObject(obj, "available", (double)available);
	cJSON_AddNumberToObject(obj, "price", (double)it->price);
	cJSON_AddStringToObject(obj, "name", it->name);
	return obj;
}

static void
inventory_stock(struct span sku, struct shop_res *res)
{
	struct inventory_item	*it;
	long			 available;

	if ((it = inventory_find(sku)) == NULL) {
		shop_res_error(res, 404, "unknown_sku");
		return;
	}
	pthread_mutex_lock(&inventory_lock);
	available = it->available;
	pthread_mutex_unlock(&inventory_lock);
	shop_res_json(res, 200, inventory_item_json(it, available));
}

static void
inventory_image(struct span sku, struct shop_res *res)
{
	struct inventory_item	*it;
	struct buf		 png;

	if ((it = inventory_find(sku)) == NULL) {
		shop_res_error(res, 404, "unknown_sku");
		return;
	}
	buf_init(&png);
	inventory_png(it, &png);
	shop_res_bytes(res, 200, "image/png", png.data, png.len);
	buf_free(&png);
}

static void
inventory_reserve(const struct shop_req *req, struct shop_res *res)
{
	struct inventory_item	*it;
	cJSON			*obj, *out;
	const char		*sku;
	char			 id[32];
	long			 qty, remaining = 0;
	int			 ok = 0;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	if ((sku = shop_json_str(obj, "sku")) == NULL ||
	    shop_json_int(obj, "qty", 1, 1000, &qty) == -1) {
		shop_res_error(res, 400, "invalid_reservation");
		goto done;
	}
	if ((it = inventory_find(span_from_str(sku))) == NULL) {
		shop_res_error(res, 404, "unknown_sku");
		goto done;
	}

	pthread_mutex_lock(&inventory_lock);
	if (it->available >= qty) {
		it->available -= qty;
		remaining = it->available;
		snprintf(id, sizeof id, "r-%ld", ++inventory_nreservations);
		ok = 1;
	}
	pthread_mutex_unlock(&inventory_lock);
	if (!ok) {
		shop_res_error(res, 409, "insufficient_stock");
		goto done;
	}

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "reservation", id);
	cJSON_AddStringToObject(out, "sku", it->sku);
	cJSON_AddNumberToObject(out, "qty", (double)qty);
	cJSON_AddNumberToObject(out, "remaining", (double)remaining);
	shop_res_json(res, 201, out);
done:
	cJSON_Delete(obj);
}

static void
inventory_handle(const struct shop_req *req, struct shop_res *res)
{
	struct span	 rest;

	if (shop_healthz(req, res))
		return;
	if (shop_path_id(req->path, "/v1/stock/", &rest)) {
		if (shop_method(req, res, "GET", "method_not_allowed"))
			inventory_stock(rest, res);
		return;
	}
	if (shop_path_id(req->path, "/v1/images/", &rest)) {
		if (shop_method(req, res, "GET", "method_not_allowed"))
			inventory_image(rest, res);
		return;
	}
	if (span_eq_str(req->path, "/v1/reservations")) {
		if (shop_method(req, res, "POST", "method_not_allowed"))
			inventory_reserve(req, res);
		return;
	}
	shop_res_error(res, 404, "not_found");
}

int
main(int argc, char **argv)
{
	return shop_main_simple("inventory", argc, argv, inventory_handle);
}
