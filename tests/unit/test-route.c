/*
 * test-route.c -- endpoint templates: per-path parameters, versions kept,
 * route matching, and what a route set learns from many paths (names
 * that vary, endpoint names that do not, deeper positions judged over
 * every value above them, methods apart).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "route.h"
#include "unit.h"

static const char *
tmpl(const char *path)
{
	static struct buf	b;

	buf_reset(&b);
	route_template(&b, path, strlen(path));
	buf_append_byte(&b, '\0');
	return b.data;
}

static const char *
learned(struct route_set *rs, const char *method, const char *path)
{
	static struct buf	b;

	buf_reset(&b);
	route_set_template(rs, method, path, strlen(path), &b);
	buf_append_byte(&b, '\0');
	return b.data;
}

static void
test_template(void)
{
	ASSERT_STR_EQ(tmpl(""), "/");
	ASSERT_STR_EQ(tmpl("/"), "/");
	ASSERT_STR_EQ(tmpl("/items/42"), "/items/{n}");
	ASSERT_STR_EQ(tmpl("/orders/3f2c9a10b7"), "/orders/{id}");
	ASSERT_STR_EQ(tmpl("/u/123e4567-e89b-12d3-a456-426614174000/x"),
	    "/u/{uuid}/x");
	ASSERT_STR_EQ(tmpl("/v1/orders"), "/v1/orders");
	ASSERT_STR_EQ(tmpl("/api/v2.1/items/7/"), "/api/v2.1/items/{n}/");
	ASSERT_STR_EQ(tmpl("/users/alice"), "/users/alice");
	ASSERT_STR_EQ(tmpl("//a//1"), "//a//{n}");
	/* Real-world shapes. */
	ASSERT_STR_EQ(tmpl("/api/v1/health"), "/api/v1/health");
	ASSERT_STR_EQ(tmpl("/repos/decoy/commit/"
	    "3f2c9a10b7e4d5c6a7b8c9d0e1f2a3b4c5d6e7f8"),
	    "/repos/decoy/commit/{id}");
	ASSERT_STR_EQ(tmpl("/reports/2026-12-07"), "/reports/{date}");
	ASSERT_STR_EQ(tmpl("/logs/2026-12-07T10:00:00Z/x"), "/logs/{date}/x");
	ASSERT_STR_EQ(tmpl("/reports/20261207"), "/reports/{n}");
	ASSERT_STR_EQ(tmpl("/blog/my-first-post"), "/blog/my-first-post");
	ASSERT_STR_EQ(tmpl("/orders/ord_8f3k2"), "/orders/{id}");
	ASSERT_STR_EQ(tmpl("/files/ULID01ARZ3NDEKTSV4RRFFQ69G5FAV"),
	    "/files/{id}");
	ASSERT_STR_EQ(tmpl("/u/123E4567-E89B-12D3-A456-426614174000"),
	    "/u/{uuid}");
	ASSERT_STR_EQ(tmpl("/static/app.3f2a1b.js"), "/static/{id}");
	ASSERT_STR_EQ(tmpl("/V2/items"), "/V2/items");
}

static void
test_match(void)
{
	ASSERT(route_match("/orders/{id}", span_from_str("/orders/abc1")));
	ASSERT(route_match("*", span_from_str("/anything")));
	ASSERT(!route_match("/orders/{id}", span_from_str("/orders/")));
	ASSERT(!route_match("/orders/{id}", span_from_str("/orders/1/x")));
	ASSERT(!route_match("/orders/{id}", span_from_str("/order/1")));
	ASSERT(route_match("/", span_from_str("/")));
	ASSERT(!route_match("/a", span_from_str("/b")));
	ASSERT(route_is_param("{param}", 7));
	ASSERT(!route_is_param("{", 1));
}

static void
test_learn(void)
{
	struct route_set	*rs = route_set_create(0);
	char			 p[64];
	static const char	*names[] = { "alice", "bob", "carol", "dave",
	    "erin", "frank", "grace", "heidi", "ivan", "judy" };
	static const char	*eps[] = { "orders", "users", "items",
	    "health", "login", "logout", "search", "cart", "admin" };
	size_t			 i, j;

	/* Ten user names, each once or twice, with a sub-resource. */
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof p, "/users/%s", names[i]);
		route_set_add(rs, "GET", p, strlen(p));
		snprintf(p, sizeof p, "/users/%s/repos/main", names[i]);
		route_set_add(rs, "GET", p, strlen(p));
	}
	/* Nine endpoint names, each called 20 times. */
	for (i = 0; i < 9; i++)
		for (j = 0; j < 20; j++) {
			snprintf(p, sizeof p, "/api/%s", eps[i]);
			route_set_add(rs, "GET", p, strlen(p));
		}
	ASSERT_STR_EQ(learned(rs, "GET", "/users/zoe"), "/users/{param}");
	ASSERT_STR_EQ(learned(rs, "GET", "/users/alice/repos/main"),
	    "/users/{param}/repos/main");
	ASSERT_STR_EQ(learned(rs, "GET", "/api/orders"), "/api/orders");
	ASSERT_STR_EQ(learned(rs, "GET", "/api/orders/17"), "/api/orders/{n}");
	/* Another method learned nothing. */
	ASSERT_STR_EQ(learned(rs, "POST", "/users/alice"), "/users/alice");
	ASSERT_STR_EQ(learned(rs, "GET", "/unknown/5"), "/unknown/{n}");

	/* More repos under the merged users: now that position varies. */
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof p, "/users/%s/repos/x%c", names[i],
		    (char)('a' + i));
		route_set_add(rs, "GET", p, strlen(p));
	}
	ASSERT_STR_EQ(learned(rs, "GET", "/users/bob/repos/anything"),
	    "/users/{param}/repos/{param}");
	route_set_free(rs);

	/* Below min_distinct nothing is merged. */
	rs = route_set_create(0);
	for (i = 0; i < 7; i++) {
		snprintf(p, sizeof p, "/users/%s", names[i]);
		route_set_add(rs, NULL, p, strlen(p));
	}
	ASSERT_STR_EQ(learned(rs, NULL, "/users/alice"), "/users/alice");
	route_set_free(rs);
}

/* Request targets split into authority, path and query. */
static void
test_split(void)
{
	struct span	a, p, q;

	route_split_target("/a/b?x=1#f", &a, &p, &q);
	ASSERT(a.p == NULL);
	ASSERT_SPAN_EQ(p, "/a/b");
	ASSERT_SPAN_EQ(q, "x=1");
	route_split_target("HTTPS://h.example:8443/p#frag", &a, &p, &q);
	ASSERT_SPAN_EQ(a, "h.example:8443");
	ASSERT_SPAN_EQ(p, "/p");
	ASSERT(q.p == NULL);
	route_split_target("http://[::1]:80?only", &a, &p, &q);
	ASSERT_SPAN_EQ(a, "[::1]:80");
	ASSERT_EQ(p.len, 0);
	ASSERT_SPAN_EQ(q, "only");
	route_split_target("http://", &a, &p, &q);
	ASSERT(a.p != NULL && a.len == 0);
	ASSERT_EQ(p.len, 0);
	route_split_target("*", NULL, &p, &q);
	ASSERT_SPAN_EQ(p, "*");
	route_split_target("ftp://h/x?", NULL, &p, &q);
	ASSERT_SPAN_EQ(p, "ftp://h/x");
	ASSERT(q.p != NULL && q.len == 0);
	route_split_target("", &a, &p, &q);
	ASSERT(a.p == NULL && p.len == 0 && q.p == NULL);
}

int
main(void)
{
	test_template();
	test_match();
	test_learn();
	test_split();
	UNIT_DONE();
}
