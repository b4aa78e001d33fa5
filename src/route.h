/*
 * route.h -- endpoint templates: "/orders/{id}" for "/orders/3f2c9a...",
 * "/items/{n}" for "/items/42".  One module for every place that groups
 * requests by endpoint: `decoy inspect`, the replay report, transforms
 * and the analyzer, the responder's miss explanations, rules
 * (match: {route: ...}).
 *
 * Two levels:
 * - route_template() reads one path alone: a segment holding a digit is a
 *   parameter ({n} all digits, {uuid} a UUID, {date} a calendar date,
 *   {id} anything else: hashes, prefixed ids, file names with a hash),
 *   except API versions ("v1", "v2.1"), which stay literal.  A segment
 *   without a digit (slugs, "api", "health") stays.
 * - a route set learns from many paths which segments vary although they
 *   hold no digit (user names, slugs: "/users/alice", "/users/bob" ...):
 *   under one parent, a position with at least min_distinct different
 *   values, most of them rare, becomes {param}.  Fixed endpoint names
 *   ("/api/orders", "/api/users"), few and each frequent, stay.
 *
 * Paths are given without their query string.  Not thread-safe per set.
 */
#ifndef DECOY_ROUTE_H
#define DECOY_ROUTE_H

#include <stddef.h>

#include "buf.h"

/*
 * Splits a request target, origin-form ("/a?b") or absolute-form
 * ("http://h:8080/a?b", scheme http or https in any case), into spans of
 * target: *authority (when not NULL) as written, p NULL for origin-form;
 * *path as written up to '?' or '#' ("" when there is none; not
 * necessarily starting with '/'); *query without '?', p NULL when none.
 * A fragment is dropped.
 */
void	route_split_target(const char *target, struct span *authority,
	    struct span *path, struct span *query);

/* Appends the template of path (len bytes, no query) to b; "" gives "/". */
void	route_template(struct buf *b, const char *path, size_t len);

/*
 * 1 when path falls under route: literal segments equal, each "{...}"
 * segment matching one non-empty segment.  route "*" matches any path.
 */
int	route_match(const char *route, struct span path);

/* 1 when s (len bytes) is a template parameter ("{id}", "{n}" ...). */
int	route_is_param(const char *s, size_t len);

struct route_set;

/* min_distinct: 0 takes the default, 8. */
struct route_set *route_set_create(size_t min_distinct);
void	route_set_free(struct route_set *);
/* Learns one request (method may be NULL: one tree for all methods). */
void	route_set_add(struct route_set *, const char *method, const char *path,
	    size_t len);
/*
 * Appends the learned template of method + path to b: route_template(),
 * with the positions the set found variable as {param}.  A path the set
 * never saw gets its per-path template too.
 */
void	route_set_template(struct route_set *, const char *method,
	    const char *path, size_t len, struct buf *b);

#endif
