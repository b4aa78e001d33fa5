/*
 * tokens.c -- the bank example's token service, a dependency of bank.  It
 * issues short-lived JWTs signed with a secret it shares with bank.
 *
 *   POST /v1/tokens   {"sub","scope","requested_at": RFC 3339} with header
 *                     X-Request-Id: <UUID v4> (echoed in the answer)
 *                     201 {"access_token": JWT HS256 {"sub","scope","iat",
 *                     "exp": iat+900,"jti": UUID v4},"token_type":"Bearer",
 *                     "expires_in":900,"issued_at": RFC 3339 with ms}
 *                     400 bad JSON, field or X-Request-Id; 422 when
 *                     requested_at is more than 300 s from now
 *   GET  /healthz     200 {"status":"ok"}
 *
 * Every answer carries a Date header.  "now" is real time plus
 * --clock-offset.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "bk.h"

#define TOKENS_TTL	900	/* seconds a token lives */
#define TOKENS_WINDOW	300	/* seconds requested_at may be off */

static struct buf	tokens_secret;

/* Subjects and scopes travel into tokens: keep them short and plain. */
static int
tokens_is_plain(const char *s, size_t max, int spaces)
{
	size_t	i;

	if (s == NULL || *s == '\0' || strlen(s) > max)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.' || s[i] == ':' ||
		    (spaces && s[i] == ' ')))
			return 0;
	}
	return 1;
}

static void
tokens_issue(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*obj, *claims, *out;
	const char	*sub, *scope, *requested_at;
	char		*request_id, *token;
	char		 jti[BK_UUID_LEN], issued[BK_DATE_LEN];
	int64_t		 now_us, at_us, now;

	request_id = bk_header(req, "X-Request-Id");
	if (!bk_is_uuid4(request_id)) {
		free(request_id);
		shop_res_error(res, 400, "X-Request-Id must be a UUID v4");
		return;
	}
	shop_res_header(res, "X-Request-Id", request_id);
	free(request_id);

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid JSON");
		return;
	}
	sub = shop_json_str(obj, "sub");
	scope = shop_json_str(obj, "scope");
	requested_at = shop_json_str(obj, "requested_at");
	if (!tokens_is_plain(sub, 64, 0) || !tokens_is_plain(scope, 256, 1)) {
		shop_res_error(res, 400, "sub and scope are required");
		cJSON_Delete(obj);
		return;
	}
	if (requested_at == NULL ||
	    bk_parse_rfc3339(requested_at, &at_us) == -1) {
		shop_res_error(res, 400, "requested_at must be RFC 3339");
		cJSON_Delete(obj);
		return;
	}
	now_us = bk_now_us();
	if (at_us < now_us - TOKENS_WINDOW * 1000000LL ||
	    at_us > now_us + TOKENS_WINDOW * 1000000LL) {
		shop_res_error(res, 422, "requested_at out of window");
		cJSON_Delete(obj);
		return;
	}

	now = now_us / 1000000;
	bk_uuid4(jti);
	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "sub", sub);
	cJSON_AddStringToObject(claims, "scope", scope);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + TOKENS_TTL));
	cJSON_AddStringToObject(claims, "jti", jti);
	token = bk_jwt_sign(claims, &tokens_secret);
	cJSON_Delete(claims);
	cJSON_Delete(obj);

	bk_format_rfc3339(now_us, BK_RFC3339_MILLIS, issued, sizeof issued);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "access_token", token);
	cJSON_AddStringToObject(out, "token_type", "Bearer");
	cJSON_AddNumberToObject(out, "expires_in", TOKENS_TTL);
	cJSON_AddStringToObject(out, "issued_at", issued);
	free(token);
	shop_res_json(res, 201, out);
}

static void
tokens_route(const struct shop_req *req, struct shop_res *res)
{
	cJSON	*obj;

	if (span_eq_str(req->path, "/healthz")) {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "status", "ok");
		shop_res_json(res, 200, obj);
		return;
	}
	if (span_eq_str(req->path, "/v1/tokens")) {
		if (span_eq_str(req->method, "POST"))
			tokens_issue(req, res);
		else
			shop_res_error(res, 405, "method not allowed");
		return;
	}
	shop_res_error(res, 404, "not found");
}

static void
tokens_handle(const struct shop_req *req, struct shop_res *res)
{
	tokens_route(req, res);
	bk_res_date(res);
}

static __attribute__((noreturn)) void
tokens_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: tokens --secret-file FILE [--port PORT] "
	    "[--port-file FILE]\n"
	    "              [--clock-offset SECONDS]\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port",		required_argument,	NULL, 'p' },
		{ "port-file",		required_argument,	NULL, 'P' },
		{ "secret-file",	required_argument,	NULL, 's' },
		{ "clock-offset",	required_argument,	NULL, 'c' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	const char	*port_file = NULL, *secret_file = NULL;
	char		*cause;
	long		 port = 0;
	int64_t		 offset;
	int		 ch;

	log_init("tokens", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "p:P:s:c:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (shop_parse_long(optarg, 0, 65535, &port) == -1) {
				fprintf(stderr, "tokens: bad port: %s\n",
				    optarg);
				exit(2);
			}
			break;
		case 'P':
			port_file = optarg;
			break;
		case 's':
			secret_file = optarg;
			break;
		case 'c':
			if (bk_parse_offset(optarg, &offset) == -1) {
				fprintf(stderr, "tokens: bad clock offset: "
				    "%s\n", optarg);
				exit(2);
			}
			bk_clock_set_offset(offset);
			break;
		case 'h':
			tokens_usage(0);
		default:
			tokens_usage(2);
		}
	}
	if (optind != argc || secret_file == NULL)
		tokens_usage(2);
	buf_init(&tokens_secret);
	if (bk_secret_load(secret_file, &tokens_secret, &cause) == -1) {
		fprintf(stderr, "tokens: %s\n", cause);
		exit(2);
	}
	return shop_serve("tokens", (int)port, port_file, tokens_handle);
}
