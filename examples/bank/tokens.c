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
	if (shop_healthz(req, res))
		return;
	if (span_eq_str(req->path, "/v1/tokens")) {
		if (shop_method(req, res, "POST", "method not allowed"))
			tokens_issue(req, res);
		return;
	}
	shop_res_error(res, 404, "not found");
}

#define TOKENS_USAGE \
	"usage: tokens --secret-file FILE [--port PORT] " \
	"[--port-file FILE]\n" \
	"              [--clock-offset SECONDS]\n"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SHOP_OPTIONS_SERVE,
		BK_OPTION_CLOCK,
		{ "secret-file",	required_argument,	NULL, 's' },
		{ NULL,			0,			NULL, 0 }
	};
	struct shop_opts	 o;
	const char		*secret_file = NULL;
	int			 ch;

	shop_opts_init(&o, "tokens");
	while ((ch = getopt_long(argc, argv, "p:P:hc:s:", longopts,
	    NULL)) != -1) {
		if (bk_option(&o, ch, optarg))
			continue;
		if (ch == 's')
			secret_file = optarg;
		else
			shop_usage(ch == 'h' ? 0 : 2, TOKENS_USAGE);
	}
	if (optind != argc || secret_file == NULL)
		shop_usage(2, TOKENS_USAGE);
	bk_secret_option(&o, "--secret-file", secret_file, &tokens_secret);
	return bk_serve(&o, tokens_route);
}
