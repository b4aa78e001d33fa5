/*
 * protodesc.c -- a .proto descriptor set: the loader (a
 * FileDescriptorSet read with protobuf.h's reader, checked, its names
 * resolved and sorted), the lookups, the field path resolver, and the
 * named view of a message with its encoder (the format is in
 * protodesc.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base64.h"
#include "json.h"
#include "protobuf.h"
#include "protodesc.h"
#include "xmalloc.h"

/* The largest set protodesc_load reads. */
#define PD_MAX_FILE	(64u << 20)

/* --- the loader ------------------------------------------------------- */

struct pd_load {
	struct protodesc	*set;
	const char		*name;
	char			*cause;
	size_t			 msgcap, enumcap, methcap;
	char			**meth_in, **meth_out;	/* by method index */
};

static int
pd_fail(struct pd_load *ld, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pd_fail(struct pd_load *ld, size_t off, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	if (ld->cause != NULL)
		return -1;
	buf_init(&b);
	if (off == SIZE_MAX)
		buf_printf(&b, "%s: ", ld->name);
	else
		buf_printf(&b, "%s: byte %zu: ", ld->name, off);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	ld->cause = buf_detach(&b, NULL);
	return -1;
}

/* The reader's failure as the loader's, at base + its offset. */
static int
pd_fail_reader(struct pd_load *ld, const struct pb_reader *r, size_t base)
{
	return pd_fail(ld, base + r->error_off, "%s", r->error);
}

/* A string member: length-delimited, without NUL; the last one wins. */
static int
pd_str(struct pd_load *ld, const struct pb_field *f, size_t base,
    const char *what, char **out)
{
	if (f->wire != PB_LEN)
		return pd_fail(ld, base + f->off, "%s must be length-delimited",
		    what);
	if (memchr(f->p, '\0', f->len) != NULL)
		return pd_fail(ld, base + f->off, "%s holds a NUL byte", what);
	free(*out);
	*out = xstrndup((const char *)f->p, f->len);
	return 0;
}

/*
 * A name member: as pd_str(), and made of letters, digits and '_' (dots
 * too where dots is set: a package), as protoc writes every name; so a
 * type's name is written into a view as it is and read back the same.
 */
static int
pd_name(struct pd_load *ld, const struct pb_field *f, size_t base,
    const char *what, char **out, int dots)
{
	const char	*c;

	if (pd_str(ld, f, base, what, out) == -1)
		return -1;
	for (c = *out; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '_' ||
		    (dots && *c == '.')))
			return pd_fail(ld, base + f->off, "%s is not a name "
			    "(letters, digits, _)", what);
	return 0;
}

static int
pd_varint(struct pd_load *ld, const struct pb_field *f, size_t base,
    const char *what, uint64_t *v)
{
	if (f->wire != PB_VARINT)
		return pd_fail(ld, base + f->off, "%s must be a varint", what);
	*v = f->u;
	return 0;
}

/* A sub-message member: its bytes' offset in the file. */
static int
pd_sub(struct pd_load *ld, const struct pb_field *f, size_t base,
    const uint8_t *msg, const char *what, size_t *at)
{
	if (f->wire != PB_LEN)
		return pd_fail(ld, base + f->off, "%s must be length-delimited",
		    what);
	*at = base + (size_t)(f->p - msg);
	return 0;
}

static char *
pd_join(const char *prefix, const char *name)
{
	if (prefix == NULL || *prefix == '\0')
		return xstrdup(name);
	return xasprintf("%s.%s", prefix, name);
}

/* protoc's json_name when a set lacks it: "foo_bar" is "fooBar". */
static char *
pd_json_name(const char *name)
{
	char	*s = xmalloc(strlen(name) + 1), *o = s;
	int	 up = 0;

	for (; *name != '\0'; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		*o++ = up && *name >= 'a' && *name <= 'z' ?
		    (char)(*name - 'a' + 'A') : *name;
		up = 0;
	}
	*o = '\0';
	return s;
}

static int
pd_is_packable(enum protodesc_type t)
{
	return t != PROTODESC_STRING && t != PROTODESC_BYTES &&
	    t != PROTODESC_MESSAGE && t != PROTODESC_GROUP;
}

/* A bool member numbered num of an options message (FieldOptions'
 * packed, MessageOptions' map_entry) into *out. */
static int
pd_bool_option(struct pd_load *ld, const uint8_t *p, size_t len,
    size_t base, uint32_t num, const char *what, int *out)
{
	struct pb_reader	r;
	struct pb_field		f;
	uint64_t		v = 0;
	int			rc;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1)
		if (f.num == num) {
			if (pd_varint(ld, &f, base, what, &v) == -1)
				return -1;
			*out = v != 0;
		}
	return rc == -1 ? pd_fail_reader(ld, &r, base) : 0;
}

/* One member of a FieldDescriptorProto into fd. */
static int
pd_field_member(struct pd_load *ld, const struct pb_field *f, size_t base,
    const uint8_t *p, struct protodesc_field *fd, int *packed)
{
	uint64_t	v = 0;
	size_t		at = 0;

	switch (f->num) {
	case 1:
		return pd_name(ld, f, base, "FieldDescriptorProto.name",
		    &fd->name, 0);
	case 3:
		if (pd_varint(ld, f, base, "FieldDescriptorProto.number",
		    &v) == -1)
			return -1;
		if (v == 0 || v > PB_MAX_FIELD)
			return pd_fail(ld, base + f->off, "field number %" PRIu64
			    " out of range (1 to 536870911)", v);
		fd->num = (uint32_t)v;
		return 0;
	case 4:
	case 5:
		if (pd_varint(ld, f, base, f->num == 4 ?
		    "FieldDescriptorProto.label" : "FieldDescriptorProto.type",
		    &v) == -1)
			return -1;
		if (f->num == 4 ? v < 1 || v > 3 : v < 1 || v > 18)
			return pd_fail(ld, base + f->off, "field %s %" PRIu64
			    " unknown", f->num == 4 ? "label" : "type", v);
		if (f->num == 4)
			fd->label = (enum protodesc_label)v;
		else
			fd->type = (enum protodesc_type)v;
		return 0;
	case 6:
		return pd_str(ld, f, base, "FieldDescriptorProto.type_name",
		    &fd->type_name);
	case 8:
		if (pd_sub(ld, f, base, p, "FieldDescriptorProto.options",
		    &at) == -1)
			return -1;
		return pd_bool_option(ld, f->p, f->len, at, 2,
		    "FieldOptions.packed", packed);
	case 9:
		if (pd_varint(ld, f, base, "FieldDescriptorProto.oneof_index",
		    &v) == -1)
			return -1;
		fd->oneof = v > INT32_MAX ? -1 : (int)v;
		return 0;
	case 10:
		return pd_str(ld, f, base, "FieldDescriptorProto.json_name",
		    &fd->json_name);
	default:
		return 0;
	}
}

static void
pd_field_clear(struct protodesc_field *fd)
{
	free(fd->name);
	free(fd->json_name);
	free(fd->type_name);
}

/* A FieldDescriptorProto at p[0..len), file offset base. */
static int
pd_field(struct pd_load *ld, const uint8_t *p, size_t len, size_t base,
    int proto3, struct protodesc_field *fd)
{
	struct pb_reader	r;
	struct pb_field		f;
	int			rc, packed = -1;

	memset(fd, 0, sizeof *fd);
	fd->label = PROTODESC_OPTIONAL;
	fd->oneof = -1;
	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1)
		if (pd_field_member(ld, &f, base, p, fd, &packed) == -1)
			return -1;
	if (rc == -1)
		return pd_fail_reader(ld, &r, base);
	if (fd->name == NULL || fd->num == 0 || fd->type == 0)
		return pd_fail(ld, base, "a field without its %s",
		    fd->name == NULL ? "name" : fd->num == 0 ? "number" :
		    "type");
	if ((fd->type == PROTODESC_MESSAGE || fd->type == PROTODESC_GROUP ||
	    fd->type == PROTODESC_ENUM) && fd->type_name == NULL)
		return pd_fail(ld, base, "field %s without its type_name",
		    fd->name);
	if (fd->type_name != NULL && !(fd->type == PROTODESC_MESSAGE ||
	    fd->type == PROTODESC_GROUP || fd->type == PROTODESC_ENUM)) {
		free(fd->type_name);
		fd->type_name = NULL;
	}
	if (fd->json_name == NULL)
		fd->json_name = pd_json_name(fd->name);
	fd->packed = fd->label == PROTODESC_REPEATED &&
	    pd_is_packable(fd->type) && (packed == -1 ? proto3 : packed);
	return 0;
}

/* EnumValueDescriptorProto: name (1), number (2). */
static int
pd_enum_value(struct pd_load *ld, const uint8_t *p, size_t len,
    size_t base, struct protodesc_enum_value *v)
{
	struct pb_reader	r;
	struct pb_field		f;
	uint64_t		u = 0;
	int			rc, have = 0;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (f.num == 1 && pd_name(ld, &f, base,
		    "EnumValueDescriptorProto.name", &v->name, 0) == -1)
			return -1;
		if (f.num != 2)
			continue;
		if (pd_varint(ld, &f, base, "EnumValueDescriptorProto.number",
		    &u) == -1)
			return -1;
		if (u > INT32_MAX && u < 0xffffffff80000000u)
			return pd_fail(ld, base + f.off, "enum value out of "
			    "range for int32");
		v->num = (int32_t)(int64_t)u;
		have = 1;
	}
	if (rc == -1)
		return pd_fail_reader(ld, &r, base);
	if (v->name == NULL || !have)
		return pd_fail(ld, base, "an enum value without its %s",
		    v->name == NULL ? "name" : "number");
	return 0;
}

/* An EnumDescriptorProto, its full name prefix.name. */
static int
pd_enum(struct pd_load *ld, const uint8_t *p, size_t len, size_t base,
    const char *prefix)
{
	struct protodesc	*set = ld->set;
	struct protodesc_enum	 e;
	struct pb_reader	 r;
	struct pb_field		 f;
	char			*name = NULL;
	size_t			 at = 0, cap = 0;
	int			 rc;

	memset(&e, 0, sizeof e);
	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (f.num == 1 && pd_name(ld, &f, base,
		    "EnumDescriptorProto.name", &name, 0) == -1)
			goto fail;
		if (f.num != 2)
			continue;
		if (pd_sub(ld, &f, base, p, "EnumDescriptorProto.value",
		    &at) == -1)
			goto fail;
		if (e.nvalues == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			e.values = xreallocarray(e.values, cap,
			    sizeof *e.values);
		}
		memset(&e.values[e.nvalues], 0, sizeof *e.values);
		e.nvalues++;
		if (pd_enum_value(ld, f.p, f.len, at,
		    &e.values[e.nvalues - 1]) == -1)
			goto fail;
	}
	if (rc == -1) {
		pd_fail_reader(ld, &r, base);
		goto fail;
	}
	if (name == NULL) {
		pd_fail(ld, base, "an enum without its name");
		goto fail;
	}
	e.name = pd_join(prefix, name);
	free(name);
	if (set->nenums == ld->enumcap) {
		ld->enumcap = ld->enumcap == 0 ? 16 : ld->enumcap * 2;
		set->enums = xreallocarray(set->enums, ld->enumcap,
		    sizeof *set->enums);
	}
	set->enums[set->nenums++] = e;
	return 0;
fail:
	free(name);
	while (e.nvalues > 0)
		free(e.values[--e.nvalues].name);
	free(e.values);
	return -1;
}

static int	pd_message(struct pd_load *, const uint8_t *, size_t, size_t,
		    const char *, int, int);

/* The members of DescriptorProto m (index idx): fields, nested types,
 * enums. */
static int
pd_message_body(struct pd_load *ld, const uint8_t *p, size_t len,
    size_t base, size_t idx, int proto3, int depth)
{
	struct protodesc_msg	*m;
	struct protodesc_field	*fields = NULL;
	struct pb_reader	 r;
	struct pb_field		 f;
	size_t			 n = 0, cap = 0, at = 0;
	char			*full = ld->set->msgs[idx].name;
	int			 rc;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (f.num != 2 && f.num != 3 && f.num != 4)
			continue;
		if (pd_sub(ld, &f, base, p, "a DescriptorProto member",
		    &at) == -1) {
			rc = -1;
			break;
		}
		if (f.num == 3)
			rc = pd_message(ld, f.p, f.len, at, full, proto3,
			    depth + 1);
		else if (f.num == 4)
			rc = pd_enum(ld, f.p, f.len, at, full);
		else {
			if (n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				fields = xreallocarray(fields, cap,
				    sizeof *fields);
			}
			rc = pd_field(ld, f.p, f.len, at, proto3, &fields[n]);
			if (rc == 0 || fields[n].name != NULL ||
			    fields[n].type_name != NULL ||
			    fields[n].json_name != NULL)
				n++;
		}
		if (rc == -1)
			break;
	}
	/* Nested types moved the array: find this one again. */
	m = &ld->set->msgs[idx];
	m->fields = fields;
	m->nfields = n;
	if (rc == -1 && ld->cause == NULL)
		pd_fail_reader(ld, &r, base);
	return rc == -1 ? -1 : 0;
}

/* A DescriptorProto, its full name prefix.name; nested types after it. */
static int
pd_message(struct pd_load *ld, const uint8_t *p, size_t len, size_t base,
    const char *prefix, int proto3, int depth)
{
	struct protodesc	*set = ld->set;
	struct pb_reader	 r;
	struct pb_field		 f;
	char			*name = NULL;
	size_t			 at = 0;
	int			 rc, map_entry = 0;

	if (depth > 64)
		return pd_fail(ld, base, "message types nested too deep");
	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (f.num == 1 && pd_name(ld, &f, base, "DescriptorProto.name",
		    &name, 0) == -1)
			goto fail;
		if (f.num == 7 && (pd_sub(ld, &f, base, p,
		    "DescriptorProto.options", &at) == -1 ||
		    pd_bool_option(ld, f.p, f.len, at, 7,
		    "MessageOptions.map_entry", &map_entry) == -1))
			goto fail;
	}
	if (rc == -1) {
		pd_fail_reader(ld, &r, base);
		goto fail;
	}
	if (name == NULL) {
		pd_fail(ld, base, "a message type without its name");
		goto fail;
	}
	if (set->nmsgs == ld->msgcap) {
		ld->msgcap = ld->msgcap == 0 ? 16 : ld->msgcap * 2;
		set->msgs = xreallocarray(set->msgs, ld->msgcap,
		    sizeof *set->msgs);
	}
	memset(&set->msgs[set->nmsgs], 0, sizeof *set->msgs);
	set->msgs[set->nmsgs].name = pd_join(prefix, name);
	set->msgs[set->nmsgs].map_entry = map_entry;
	free(name);
	set->nmsgs++;
	return pd_message_body(ld, p, len, base, set->nmsgs - 1, proto3,
	    depth);
fail:
	free(name);
	return -1;
}

/* MethodDescriptorProto, of service svc. */
static int
pd_method(struct pd_load *ld, const uint8_t *p, size_t len, size_t base,
    const char *svc)
{
	struct protodesc	*set = ld->set;
	struct protodesc_method	*mt;
	struct pb_reader	 r;
	struct pb_field		 f;
	char			*name = NULL, *in = NULL, *out = NULL;
	uint64_t		 v = 0;
	int			 rc, cs = 0, ss = 0;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		rc = 0;
		if (f.num == 1)
			rc = pd_name(ld, &f, base, "MethodDescriptorProto.name",
			    &name, 0);
		else if (f.num == 2 || f.num == 3)
			rc = pd_str(ld, &f, base, "MethodDescriptorProto."
			    "input_type or output_type", f.num == 2 ? &in :
			    &out);
		else if (f.num == 5 || f.num == 6) {
			rc = pd_varint(ld, &f, base, "MethodDescriptorProto."
			    "client_streaming or server_streaming", &v);
			*(f.num == 5 ? &cs : &ss) = v != 0;
		}
		if (rc == -1)
			break;
	}
	if (rc == -1 || name == NULL || in == NULL || out == NULL) {
		if (rc == -1 && ld->cause == NULL)
			pd_fail_reader(ld, &r, base);
		pd_fail(ld, base, "a method without its name or types");
		free(name);
		free(in);
		free(out);
		return -1;
	}
	if (set->nmethods == ld->methcap) {
		ld->methcap = ld->methcap == 0 ? 8 : ld->methcap * 2;
		set->methods = xreallocarray(set->methods, ld->methcap,
		    sizeof *set->methods);
		ld->meth_in = xreallocarray(ld->meth_in, ld->methcap,
		    sizeof *ld->meth_in);
		ld->meth_out = xreallocarray(ld->meth_out, ld->methcap,
		    sizeof *ld->meth_out);
	}
	mt = &set->methods[set->nmethods];
	memset(mt, 0, sizeof *mt);
	mt->service = xstrdup(svc);
	mt->name = name;
	mt->path = xasprintf("/%s/%s", svc, name);
	mt->client_streaming = cs;
	mt->server_streaming = ss;
	ld->meth_in[set->nmethods] = in;
	ld->meth_out[set->nmethods] = out;
	set->nmethods++;
	return 0;
}

/* ServiceDescriptorProto: name (1), methods (2). */
static int
pd_service(struct pd_load *ld, const uint8_t *p, size_t len, size_t base,
    const char *package)
{
	struct pb_reader	 r;
	struct pb_field		 f;
	char			*name = NULL, *full;
	size_t			 at = 0;
	int			 rc;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1)
		if (f.num == 1 && pd_name(ld, &f, base,
		    "ServiceDescriptorProto.name", &name, 0) == -1) {
			free(name);
			return -1;
		}
	if (rc == -1 || name == NULL) {
		free(name);
		if (rc == -1)
			return pd_fail_reader(ld, &r, base);
		return pd_fail(ld, base, "a service without its name");
	}
	full = pd_join(package, name);
	free(name);
	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1)
		if (f.num == 2 && (pd_sub(ld, &f, base, p,
		    "ServiceDescriptorProto.method", &at) == -1 ||
		    pd_method(ld, f.p, f.len, at, full) == -1)) {
			rc = -1;
			break;
		}
	free(full);
	return rc == -1 ? -1 : 0;
}

/* A FileDescriptorProto: package (2) and syntax (12) first, then its
 * message types (4), enums (5) and services (6). */
static int
pd_file(struct pd_load *ld, const uint8_t *p, size_t len, size_t base)
{
	struct pb_reader	 r;
	struct pb_field		 f;
	char			*package = NULL, *syntax = NULL;
	size_t			 at = 0;
	int			 rc, proto3;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		rc = 0;
		if (f.num == 2)
			rc = pd_name(ld, &f, base, "FileDescriptorProto.package",
			    &package, 1);
		else if (f.num == 12)
			rc = pd_str(ld, &f, base, "FileDescriptorProto.syntax",
			    &syntax);
		if (rc == -1)
			break;
	}
	if (rc == -1 && ld->cause == NULL)
		pd_fail_reader(ld, &r, base);
	/* Editions (2023) pack repeated scalars by default, as proto3. */
	proto3 = syntax != NULL && (strcmp(syntax, "proto3") == 0 ||
	    strcmp(syntax, "editions") == 0);
	if (rc != -1) {
		pb_reader_init(&r, p, len);
		while ((rc = pb_read_field(&r, &f)) == 1) {
			if (f.num < 4 || f.num > 6)
				continue;
			if (pd_sub(ld, &f, base, p, "a FileDescriptorProto "
			    "member", &at) == -1)
				rc = -1;
			else if (f.num == 4)
				rc = pd_message(ld, f.p, f.len, at, package,
				    proto3, 0);
			else if (f.num == 5)
				rc = pd_enum(ld, f.p, f.len, at, package);
			else
				rc = pd_service(ld, f.p, f.len, at, package);
			if (rc == -1)
				break;
		}
	}
	free(package);
	free(syntax);
	return rc == -1 ? -1 : 0;
}

/* qsort(3), which takes no NULL array even when it is empty (a set
 * without enums, a message without fields). */
static void
pd_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int
pd_msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct protodesc_msg *)a)->name,
	    ((const struct protodesc_msg *)b)->name);
}

static int
pd_enum_cmp(const void *a, const void *b)
{
	return strcmp(((const struct protodesc_enum *)a)->name,
	    ((const struct protodesc_enum *)b)->name);
}

static int
pd_method_cmp(const void *a, const void *b)
{
	return strcmp(((const struct protodesc_method *)a)->path,
	    ((const struct protodesc_method *)b)->path);
}

static int
pd_field_cmp(const void *a, const void *b)
{
	uint32_t	x = ((const struct protodesc_field *)a)->num;
	uint32_t	y = ((const struct protodesc_field *)b)->num;

	return x < y ? -1 : x > y;
}

/* a (NUL-terminated) against b[0..blen). */
static int
pd_cmp(const char *a, const char *b, size_t blen)
{
	size_t	alen = strlen(a);
	int	c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The index of name[0..len) in a sorted array of n elements of size sz
 * whose first member is its char * key; -1 if absent. */
static ssize_t
pd_find(const void *base, size_t n, size_t sz, const char *name, size_t len)
{
	size_t	lo = 0, hi = n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = pd_cmp(*(char *const *)(const void *)((const char *)base +
		    mid * sz), name, len);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Field types' names resolved, fields sorted, names unique. */
static int
pd_link_fields(struct pd_load *ld)
{
	struct protodesc	*set = ld->set;
	struct protodesc_msg	*m;
	struct protodesc_field	*fd;
	const char		*tn;
	ssize_t			 i;
	size_t			 k, j;

	for (k = 0; k < set->nmsgs; k++) {
		m = &set->msgs[k];
		if (k > 0 && strcmp(m->name, set->msgs[k - 1].name) == 0)
			return pd_fail(ld, SIZE_MAX, "message type %s declared "
			    "twice", m->name);
		pd_sort(m->fields, m->nfields, sizeof *m->fields, pd_field_cmp);
		for (j = 0; j < m->nfields; j++) {
			fd = &m->fields[j];
			if (j > 0 && fd->num == m->fields[j - 1].num)
				return pd_fail(ld, SIZE_MAX, "%s: field number "
				    "%" PRIu32 " declared twice", m->name,
				    fd->num);
			if (fd->type_name == NULL)
				continue;
			tn = fd->type_name + (fd->type_name[0] == '.');
			if (fd->type == PROTODESC_ENUM) {
				i = pd_find(set->enums, set->nenums,
				    sizeof *set->enums, tn, strlen(tn));
				if (i != -1)
					fd->en = &set->enums[i];
			} else {
				i = pd_find(set->msgs, set->nmsgs,
				    sizeof *set->msgs, tn, strlen(tn));
				if (i != -1)
					fd->msg = &set->msgs[i];
			}
			if (i == -1)
				return pd_fail(ld, SIZE_MAX, "%s.%s: type %s is "
				    "not in the set (protoc "
				    "--include_imports)", m->name, fd->name,
				    fd->type_name);
			memmove(fd->type_name, tn, strlen(tn) + 1);
		}
	}
	return 0;
}

/* Names sorted and resolved. */
static int
pd_link(struct pd_load *ld)
{
	struct protodesc	*set = ld->set;
	struct protodesc_method	*mt;
	const char		*tn;
	ssize_t			 i;
	size_t			 k;
	int			 out;

	pd_sort(set->msgs, set->nmsgs, sizeof *set->msgs, pd_msg_cmp);
	pd_sort(set->enums, set->nenums, sizeof *set->enums, pd_enum_cmp);
	for (k = 1; k < set->nenums; k++)
		if (strcmp(set->enums[k].name, set->enums[k - 1].name) == 0)
			return pd_fail(ld, SIZE_MAX, "enum %s declared twice",
			    set->enums[k].name);
	if (pd_link_fields(ld) == -1)
		return -1;
	for (k = 0; k < set->nmethods; k++) {
		mt = &set->methods[k];
		for (out = 0; out < 2; out++) {
			tn = out ? ld->meth_out[k] : ld->meth_in[k];
			tn += tn[0] == '.';
			i = pd_find(set->msgs, set->nmsgs, sizeof *set->msgs,
			    tn, strlen(tn));
			if (i == -1)
				return pd_fail(ld, SIZE_MAX, "%s: type %s is "
				    "not in the set (protoc "
				    "--include_imports)", mt->path, tn);
			*(out ? &mt->output : &mt->input) = &set->msgs[i];
		}
	}
	pd_sort(set->methods, set->nmethods, sizeof *set->methods,
	    pd_method_cmp);
	for (k = 1; k < set->nmethods; k++)
		if (strcmp(set->methods[k].path, set->methods[k - 1].path) == 0)
			return pd_fail(ld, SIZE_MAX, "method %s declared twice",
			    set->methods[k].path);
	return 0;
}

struct protodesc *
protodesc_parse(const void *buf, size_t len, const char *name, char **cause)
{
	struct pd_load		 ld;
	struct pb_reader	 r;
	struct pb_field		 f;
	size_t			 k, files = 0;
	int			 rc;

	memset(&ld, 0, sizeof ld);
	ld.name = name;
	ld.set = xcalloc(1, sizeof *ld.set);
	ld.set->file = xstrdup(name);
	pb_reader_init(&r, buf, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (f.num != 1)
			continue;
		if (f.wire != PB_LEN) {
			rc = pd_fail(&ld, f.off, "FileDescriptorSet.file must "
			    "be length-delimited");
			break;
		}
		files++;
		if ((rc = pd_file(&ld, f.p, f.len, (size_t)(f.p -
		    (const uint8_t *)buf))) == -1)
			break;
	}
	if (rc == -1 && ld.cause == NULL)
		pd_fail_reader(&ld, &r, 0);
	if (rc != -1 && files == 0)
		rc = pd_fail(&ld, SIZE_MAX, "no file in the descriptor set "
		    "(make it with protoc --include_imports "
		    "--descriptor_set_out=FILE)");
	if (rc != -1)
		rc = pd_link(&ld);
	for (k = 0; k < ld.set->nmethods; k++) {
		free(ld.meth_in[k]);
		free(ld.meth_out[k]);
	}
	free(ld.meth_in);
	free(ld.meth_out);
	if (rc == -1) {
		protodesc_free(ld.set);
		*cause = ld.cause;
		return NULL;
	}
	return ld.set;
}

struct protodesc *
protodesc_load(const char *path, char **cause)
{
	struct protodesc	*set;
	struct buf		 b;
	FILE			*fp;
	int			 rc;

	if ((fp = fopen(path, "rb")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	rc = buf_read_stream(&b, fp, PD_MAX_FILE);
	fclose(fp);
	if (rc == -1 || b.len > PD_MAX_FILE) {
		*cause = xasprintf("%s: %s", path, rc == 0 ?
		    "larger than 64 MiB" : strerror(errno));
		buf_free(&b);
		return NULL;
	}
	set = protodesc_parse(b.data != NULL ? b.data : "", b.len, path,
	    cause);
	buf_free(&b);
	return set;
}

void
protodesc_free(struct protodesc *set)
{
	size_t	i, j;

	if (set == NULL)
		return;
	for (i = 0; i < set->nmsgs; i++) {
		for (j = 0; j < set->msgs[i].nfields; j++)
			pd_field_clear(&set->msgs[i].fields[j]);
		free(set->msgs[i].fields);
		free(set->msgs[i].name);
	}
	for (i = 0; i < set->nenums; i++) {
		for (j = 0; j < set->enums[i].nvalues; j++)
			free(set->enums[i].values[j].name);
		free(set->enums[i].values);
		free(set->enums[i].name);
	}
	for (i = 0; i < set->nmethods; i++) {
		free(set->methods[i].path);
		free(set->methods[i].service);
		free(set->methods[i].name);
	}
	free(set->msgs);
	free(set->enums);
	free(set->methods);
	free(set->file);
	free(set);
}

/* --- lookups ---------------------------------------------------------- */

const struct protodesc_method *
protodesc_method(const struct protodesc *set, const char *path, size_t len)
{
	ssize_t	i;

	if (set == NULL)
		return NULL;
	i = pd_find(set->methods, set->nmethods, sizeof *set->methods, path,
	    len);
	return i == -1 ? NULL : &set->methods[i];
}

const struct protodesc_msg *
protodesc_message(const struct protodesc *set, const char *name, size_t len)
{
	ssize_t	i;

	if (set == NULL)
		return NULL;
	if (len > 0 && name[0] == '.') {
		name++;
		len--;
	}
	i = pd_find(set->msgs, set->nmsgs, sizeof *set->msgs, name, len);
	return i == -1 ? NULL : &set->msgs[i];
}

const struct protodesc_msg *
protodesc_call_type(const struct protodesc *set, const char *path,
    size_t len, int response)
{
	const struct protodesc_method	*mt;

	if ((mt = protodesc_method(set, path, len)) == NULL)
		return NULL;
	return response ? mt->output : mt->input;
}

const struct protodesc_field *
protodesc_field_by_number(const struct protodesc_msg *m, uint32_t num)
{
	size_t	lo = 0, hi = m->nfields, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->fields[mid].num == num)
			return &m->fields[mid];
		if (m->fields[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct protodesc_field *
protodesc_field_by_name(const struct protodesc_msg *m, const char *name,
    size_t len)
{
	size_t	i;

	for (i = 0; i < m->nfields; i++)
		if (pd_cmp(m->fields[i].json_name, name, len) == 0 ||
		    pd_cmp(m->fields[i].name, name, len) == 0)
			return &m->fields[i];
	return NULL;
}

/* A decimal field number s[0..len): 0, or -1 if it is not one. */
static int
pd_parse_num(const char *s, size_t len, uint32_t *num)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > PB_MAX_FIELD)
		return -1;
	*num = (uint32_t)v;
	return 0;
}

int
protodesc_resolve_path(const struct protodesc_msg *m, const char *path,
    size_t len, uint32_t *nums, size_t max, size_t *n, char **cause)
{
	const struct protodesc_field	*fd;
	const char			*seg, *end = path + len, *dot;
	size_t				 slen;

	*n = 0;
	for (seg = path; ; seg = dot + 1) {
		dot = memchr(seg, '.', (size_t)(end - seg));
		if (dot == NULL)
			dot = end;
		slen = (size_t)(dot - seg);
		if (slen == 0) {
			*cause = xasprintf("empty segment in field path "
			    "\"%.*s\"", (int)len, path);
			return -1;
		}
		if (*n == max) {
			*cause = xasprintf("field path \"%.*s\" deeper than "
			    "%zu", (int)len, path, max);
			return -1;
		}
		fd = m == NULL ? NULL : protodesc_field_by_name(m, seg, slen);
		if (fd == NULL && pd_parse_num(seg, slen, &nums[*n]) == 0) {
			if (m != NULL)
				fd = protodesc_field_by_number(m, nums[*n]);
		} else if (fd == NULL) {
			*cause = m == NULL ? xasprintf("\"%.*s\" in \"%.*s\": "
			    "past a field the set does not declare, a path "
			    "goes on by numbers", (int)slen, seg, (int)len,
			    path) : xasprintf("field \"%.*s\" not in %s",
			    (int)slen, seg, m->name);
			return -1;
		} else
			nums[*n] = fd->num;
		(*n)++;
		if (dot == end)
			return 0;
		if (fd != NULL && fd->msg == NULL) {
			*cause = xasprintf("field \"%.*s\" of %s is not a "
			    "message: \"%.*s\" goes past it", (int)slen, seg,
			    m->name, (int)len, path);
			return -1;
		}
		m = fd != NULL ? fd->msg : NULL;
	}
}

int
protodesc_resolve_call_path(const struct protodesc *set, const char *call,
    size_t call_len, int response, const char *path, size_t len,
    uint32_t *nums, size_t max, size_t *n, char **cause)
{
	const struct protodesc_msg	*m;

	if ((m = protodesc_call_type(set, call, call_len, response)) == NULL) {
		*cause = xasprintf("method %.*s is not in the descriptor set",
		    (int)call_len, call);
		return -1;
	}
	return protodesc_resolve_path(m, path, len, nums, max, n, cause);
}

/* --- the named view --------------------------------------------------- */

#define PD_NAN64	0x7ff8000000000000u	/* the NaN the encoder writes */
#define PD_NAN32	0x7fc00000u

static enum pb_wire
pd_wire_of(enum protodesc_type t)
{
	switch (t) {
	case PROTODESC_DOUBLE:
	case PROTODESC_FIXED64:
	case PROTODESC_SFIXED64:
		return PB_I64;
	case PROTODESC_FLOAT:
	case PROTODESC_FIXED32:
	case PROTODESC_SFIXED32:
		return PB_I32;
	case PROTODESC_STRING:
	case PROTODESC_BYTES:
	case PROTODESC_MESSAGE:
		return PB_LEN;
	case PROTODESC_GROUP:
		return PB_SGROUP;
	default:
		return PB_VARINT;
	}
}

static const char *
pd_enum_name(const struct protodesc_enum *en, int32_t v)
{
	size_t	i;

	for (i = 0; en != NULL && i < en->nvalues; i++)
		if (en->values[i].num == v)
			return en->values[i].name;
	return NULL;
}

/* A float or double from its bits; -1 for a NaN the encoder would not
 * give back. */
static int
pd_view_real(struct buf *out, uint64_t bits, int is64)
{
	double		d;
	float		f;
	uint32_t	w = (uint32_t)bits;

	if (is64)
		memcpy(&d, &bits, sizeof d);
	else {
		memcpy(&f, &w, sizeof f);
		d = f;
	}
	if (isnan(d)) {
		if (bits != (is64 ? PD_NAN64 : PD_NAN32))
			return -1;
		buf_append_str(out, "\"NaN\"");
	} else if (isinf(d))
		buf_append_str(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		buf_printf(out, is64 ? "%.17g" : "%.9g", d);
	return 0;
}

static int	pd_view_obj(const struct protodesc_msg *, struct buf *,
		    const uint8_t *, size_t, int, const char *);

/* A varint-typed value; -1 when the type cannot show it exactly. */
static int
pd_view_varint(const struct protodesc_field *fd, uint64_t u, struct buf *out)
{
	const char	*name;

	switch (fd->type) {
	case PROTODESC_INT32:
	case PROTODESC_ENUM:
		if (u > INT32_MAX && u < 0xffffffff80000000u)
			return -1;
		if (fd->type == PROTODESC_ENUM && (name = pd_enum_name(fd->en,
		    (int32_t)(int64_t)u)) != NULL)
			json_append_string(out, name, strlen(name));
		else
			buf_printf(out, "%" PRId32, (int32_t)(int64_t)u);
		return 0;
	case PROTODESC_UINT32:
		if (u > UINT32_MAX)
			return -1;
		buf_printf(out, "%" PRIu64, u);
		return 0;
	case PROTODESC_SINT32:
		if (u > UINT32_MAX)
			return -1;
		buf_printf(out, "%" PRId32, (int32_t)((uint32_t)(u >> 1) ^
		    (0u - (uint32_t)(u & 1))));
		return 0;
	case PROTODESC_INT64:
		buf_printf(out, "\"%" PRId64 "\"", (int64_t)u);
		return 0;
	case PROTODESC_UINT64:
		buf_printf(out, "\"%" PRIu64 "\"", u);
		return 0;
	case PROTODESC_SINT64:
		buf_printf(out, "\"%" PRId64 "\"", (int64_t)((u >> 1) ^
		    (0u - (u & 1))));
		return 0;
	default:	/* bool */
		if (u > 1)
			return -1;
		buf_append_str(out, u ? "true" : "false");
		return 0;
	}
}

/*
 * One value of field fd (f: one record, or one element of a packed run
 * with f->wire its element's); -1 with nothing appended when fd's type
 * cannot show it exactly.
 */
static int
pd_view_scalar(const struct protodesc_field *fd, const struct pb_field *f,
    struct buf *out, int depth)
{
	size_t	mark = out->len;

	if (f->wire != pd_wire_of(fd->type))
		return -1;
	switch (fd->type) {
	case PROTODESC_FIXED32:
		buf_printf(out, "%" PRIu64, f->u);
		return 0;
	case PROTODESC_SFIXED32:
		buf_printf(out, "%" PRId32, (int32_t)(uint32_t)f->u);
		return 0;
	case PROTODESC_FIXED64:
		buf_printf(out, "\"%" PRIu64 "\"", f->u);
		return 0;
	case PROTODESC_SFIXED64:
		buf_printf(out, "\"%" PRId64 "\"", (int64_t)f->u);
		return 0;
	case PROTODESC_FLOAT:
	case PROTODESC_DOUBLE:
		return pd_view_real(out, f->u, fd->type == PROTODESC_DOUBLE);
	case PROTODESC_STRING:
		if (!pb_is_text(f->p, f->len, 0))
			return -1;
		json_append_string(out, (const char *)f->p, f->len);
		return 0;
	case PROTODESC_BYTES:
		buf_append_byte(out, '"');
		base64_encode(out, f->p, f->len);
		buf_append_byte(out, '"');
		return 0;
	case PROTODESC_MESSAGE:
	case PROTODESC_GROUP:
		if (depth >= PB_VIEW_DEPTH || fd->msg == NULL)
			return -1;
		return pd_view_obj(fd->msg, out, f->p, f->len, depth + 1, NULL);
	default:
		if (pd_view_varint(fd, f->u, out) == -1) {
			out->len = mark;
			return -1;
		}
		return 0;
	}
}

/* The elements of a packed run p[0..len) of fd's type. */
static int
pd_view_packed(const struct protodesc_field *fd, const uint8_t *p,
    size_t len, struct buf *out, int *first)
{
	struct pb_field	e;
	size_t		off = 0, n;
	int		shortest = 1;

	memset(&e, 0, sizeof e);
	e.wire = pd_wire_of(fd->type);
	while (off < len) {
		if (e.wire == PB_VARINT) {
			n = pb_varint(p + off, len - off, &e.u, &shortest);
			if (n == 0 || !shortest)
				return -1;
		} else {
			n = e.wire == PB_I64 ? 8 : 4;
			if (len - off < n)
				return -1;
			e.u = 0;
			while (n-- > 0)
				e.u = e.u << 8 | p[off + n];
			n = e.wire == PB_I64 ? 8 : 4;
		}
		off += n;
		if (!*first)
			buf_append_byte(out, ',');
		*first = 0;
		if (pd_view_scalar(fd, &e, out, 1) == -1)
			return -1;
	}
	return 0;
}

/* A map entry as "key":value, when it is exactly key (1) then value
 * (2). */
static int
pd_view_entry(const struct protodesc_field *fd, const struct pb_field *rec,
    struct buf *out, int depth)
{
	const struct protodesc_field	*kf, *vf;
	struct pb_reader		 r;
	struct pb_field			 k, v, end;
	size_t				 at = 0;

	kf = protodesc_field_by_number(fd->msg, 1);
	vf = protodesc_field_by_number(fd->msg, 2);
	if (kf == NULL || vf == NULL || rec->wire != PB_LEN)
		return -1;
	pb_reader_init(&r, rec->p, rec->len);
	if (pb_read_field(&r, &k) != 1 || k.num != 1 ||
	    pb_read_field(&r, &v) != 1 || v.num != 2 ||
	    pb_read_field(&r, &end) != 0 || !r.canonical)
		return -1;
	at = out->len;
	if (pd_view_scalar(kf, &k, out, depth) == -1)
		return -1;
	if (out->data[at] != '"') {	/* 32-bit integers and bools */
		buf_append_byte(out, '"');
		memmove(out->data + at + 1, out->data + at, out->len - at - 1);
		out->data[at] = '"';
		buf_append_byte(out, '"');
	}
	buf_append_byte(out, ':');
	return pd_view_scalar(vf, &v, out, depth + 1);
}

/* The records run[0..n) of repeated field fd, as the value of its
 * member: an array, or a map's object. */
static int
pd_view_run(const struct protodesc_field *fd, const struct pb_field *run,
    size_t n, struct buf *out, int depth)
{
	size_t	mark = out->len, i;
	int	first = 1;

	if (fd->msg != NULL && fd->msg->map_entry) {
		buf_append_byte(out, '{');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_append_byte(out, ',');
			if (pd_view_entry(fd, &run[i], out, depth) == -1)
				break;
		}
		if (i == n) {
			buf_append_byte(out, '}');
			return 0;
		}
		out->len = mark;	/* entries as messages, below */
	}
	buf_append_byte(out, '[');
	for (i = 0; i < n; i++) {
		if (run[i].wire == PB_LEN && pd_is_packable(fd->type)) {
			if (pd_view_packed(fd, run[i].p, run[i].len, out,
			    &first) == -1)
				return -1;
			continue;
		}
		if (!first)
			buf_append_byte(out, ',');
		first = 0;
		if (pd_view_scalar(fd, &run[i], out, depth) == -1)
			return -1;
	}
	buf_append_byte(out, ']');
	return 0;
}

/* Notes key (a field number, times two, plus one for "#N"). */
static void
pd_key_add(uint32_t **keys, size_t *n, size_t *cap, uint32_t key)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		*keys = xreallocarray(*keys, *cap, sizeof **keys);
	}
	(*keys)[(*n)++] = key;
}

static int
pd_u32_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* 1 if a key was noted twice (sorted here: a message of many distinct
 * fields costs n log n, not n squared). */
static int
pd_keys_repeat(uint32_t *keys, size_t n)
{
	size_t	i;

	pd_sort(keys, n, sizeof *keys, pd_u32_cmp);
	for (i = 1; i < n; i++)
		if (keys[i] == keys[i - 1])
			return 1;
	return 0;
}

static int	pd_enc_obj_text(const struct protodesc_msg *, const char *,
		    size_t, int, int, const uint8_t *, size_t);

/* One member "name":value at out's end (the comma written); the reader
 * moved past the member's records with *f the next (*rc its status). */
static int
pd_view_member(const struct protodesc_msg *m, struct pb_reader *r,
    struct pb_field *f, int *rc, struct buf *out, int depth,
    struct pb_field **run, size_t *runcap, uint32_t *key)
{
	const struct protodesc_field	*fd;
	size_t				 at = out->len, n = 0;
	int				 ok;

	fd = protodesc_field_by_number(m, f->num);
	if (fd != NULL) {
		do {
			if (n == *runcap) {
				*runcap = *runcap == 0 ? 8 : *runcap * 2;
				*run = xreallocarray(*run, *runcap,
				    sizeof **run);
			}
			(*run)[n++] = *f;
		} while (fd->label == PROTODESC_REPEATED &&
		    (*rc = pb_read_field(r, f)) == 1 && f->num == fd->num);
		if (fd->label != PROTODESC_REPEATED)
			*rc = pb_read_field(r, f);
		json_append_string(out, fd->json_name, strlen(fd->json_name));
		buf_append_byte(out, ':');
		ok = fd->label == PROTODESC_REPEATED ?
		    pd_view_run(fd, *run, n, out, depth) :
		    pd_view_scalar(fd, &(*run)[0], out, depth);
		*key = fd->num * 2u;
		if (ok == 0)
			return 0;
		out->len = at;
		if (n > 1)
			return -1;
	} else {
		if (n == *runcap) {
			*runcap = *runcap == 0 ? 8 : *runcap * 2;
			*run = xreallocarray(*run, *runcap, sizeof **run);
		}
		(*run)[0] = *f;
		*rc = pb_read_field(r, f);
	}
	*key = (*run)[0].num * 2u + 1;
	buf_printf(out, "\"#%" PRIu32 "\":", (*run)[0].num);
	return pb_view_field_value(out, &(*run)[0], depth);
}

/*
 * Appends the named view of p[0..len), a message of type m at nesting
 * depth (with "@type": type first when type is not NULL); or appends
 * nothing and returns -1 when it would not encode back to the same
 * bytes.
 */
static int
pd_view_obj(const struct protodesc_msg *m, struct buf *out,
    const uint8_t *p, size_t len, int depth, const char *type)
{
	struct pb_reader	 r;
	struct pb_field		 f, *run = NULL;
	uint32_t		*keys = NULL, key;
	size_t			 mark = out->len, runcap = 0, nkeys = 0;
	size_t			 keycap = 0;
	int			 rc, first = 1;

	pb_reader_init(&r, p, len);
	buf_append_byte(out, '{');
	if (type != NULL) {
		buf_append_str(out, "\"@type\":");
		json_append_string(out, type, strlen(type));
		first = 0;
	}
	rc = pb_read_field(&r, &f);
	while (rc == 1) {
		if (!first)
			buf_append_byte(out, ',');
		first = 0;
		if (pd_view_member(m, &r, &f, &rc, out, depth, &run, &runcap,
		    &key) == -1) {
			rc = -1;
			break;
		}
		pd_key_add(&keys, &nkeys, &keycap, key);
	}
	if (rc == 0 && pd_keys_repeat(keys, nkeys))
		rc = -1;
	free(run);
	free(keys);
	if (rc == 0 && r.canonical) {
		buf_append_byte(out, '}');
		if (pd_enc_obj_text(m, out->data + mark, out->len - mark,
		    depth, type != NULL, p, len) == 0)
			return 0;
	}
	out->len = mark;
	if (out->data != NULL)
		out->data[mark] = '\0';
	return -1;
}

int
protodesc_view(const struct protodesc_msg *m, struct buf *out,
    const void *msg, size_t len)
{
	return pd_view_obj(m, out, msg, len, 1, m->name);
}

/* --- the encoder ------------------------------------------------------ */

/*
 * An integer of type t from its text s[0..len) (a JSON number's, or a
 * string's content), as the wire carries it (sign-extended, zigzag, or
 * the 32 bits): 0, or -1 with *why.
 */
static int
pd_int_text(const char *s, size_t len, enum protodesc_type t, uint64_t *u,
    const char **why)
{
	uint64_t	x = 0, lim;
	size_t		i;
	int		neg = len > 0 && s[0] == '-', is32, sig;
	int64_t		v;

	is32 = t == PROTODESC_INT32 || t == PROTODESC_SINT32 ||
	    t == PROTODESC_SFIXED32 || t == PROTODESC_ENUM ||
	    t == PROTODESC_UINT32 || t == PROTODESC_FIXED32;
	sig = !(t == PROTODESC_UINT32 || t == PROTODESC_FIXED32 ||
	    t == PROTODESC_UINT64 || t == PROTODESC_FIXED64);
	if ((size_t)neg == len) {
		*why = "not an integer";
		return -1;
	}
	for (i = (size_t)neg; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "not an integer";
			return -1;
		}
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
			*why = "out of range";
			return -1;
		}
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	lim = is32 ? (sig ? (neg ? 0x80000000u : 0x7fffffffu) : UINT32_MAX) :
	    (sig ? (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX) :
	    UINT64_MAX);
	if (x > lim || (neg && !sig && x > 0)) {
		*why = "out of range";
		return -1;
	}
	v = neg ? (int64_t)(0 - x) : (int64_t)x;
	switch (t) {
	case PROTODESC_SINT32:
		*u = (uint32_t)((uint32_t)v << 1) ^ (uint32_t)(v < 0 ?
		    UINT32_MAX : 0);
		return 0;
	case PROTODESC_SINT64:
		*u = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
		return 0;
	case PROTODESC_SFIXED32:
		*u = (uint32_t)v;
		return 0;
	default:
		*u = neg ? (uint64_t)v : x;
		return 0;
	}
}

/* An integer member of fd's type: a JSON number or a string. */
static int
pd_enc_int(const struct protodesc_field *fd, struct json_parser *jp,
    uint64_t *u)
{
	struct json_value	 v;
	struct buf		 s;
	const char		*why;
	size_t			 off;
	int			 rc;

	json_peek(jp);
	off = jp->off;
	if (json_peek(jp) == JSON_NUMBER) {
		if (json_skip(jp, &v) == -1)
			return -1;
		rc = pd_int_text(v.p, v.len, fd->type, u, &why);
	} else if (json_peek(jp) == JSON_STRING) {
		buf_init(&s);
		rc = json_read_string(jp, &s, NULL);
		if (rc == 0)
			rc = pd_int_text(s.data != NULL ? s.data : "", s.len,
			    fd->type, u, &why);
		else
			why = "bad string";
		buf_free(&s);
	} else {
		rc = -1;
		why = "must be an integer (a number or a string)";
	}
	if (rc == -1)
		return json_fail(jp, off, "\"%s\": %s", fd->json_name, why);
	return 0;
}

/* A float or double member: a number, "NaN", "Infinity", "-Infinity";
 * *bits as the wire carries it. */
static int
pd_enc_real(const struct protodesc_field *fd, struct json_parser *jp,
    uint64_t *bits)
{
	struct json_value	 v;
	double			 d;
	float			 f;
	uint32_t		 w;
	char			*s;
	int			 is64 = fd->type == PROTODESC_DOUBLE;
	size_t			 off;

	json_peek(jp);
	off = jp->off;
	if (json_skip(jp, &v) == -1)
		return -1;
	if (v.type == JSON_STRING) {
		if (json_string_eq(&v, "NaN")) {
			*bits = is64 ? PD_NAN64 : PD_NAN32;
			return 0;
		}
		if (json_string_eq(&v, "Infinity"))
			d = INFINITY;
		else if (json_string_eq(&v, "-Infinity"))
			d = -INFINITY;
		else
			return json_fail(jp, off, "\"%s\": a number, \"NaN\", "
			    "\"Infinity\" or \"-Infinity\"", fd->json_name);
		f = (float)d;
	} else if (v.type == JSON_NUMBER) {
		s = xstrndup(v.p, v.len);
		d = strtod(s, NULL);
		f = strtof(s, NULL);
		free(s);
		if (is64 ? isinf(d) : isinf(f))
			return json_fail(jp, off, "\"%s\": out of range",
			    fd->json_name);
	} else
		return json_fail(jp, off, "\"%s\" must be a number",
		    fd->json_name);
	if (is64)
		memcpy(bits, &d, sizeof d);
	else {
		memcpy(&w, &f, sizeof w);
		*bits = w;
	}
	return 0;
}

static void
pd_put_le(struct buf *out, uint64_t v, size_t n)
{
	uint8_t	le[8];
	size_t	i;

	for (i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	buf_append(out, le, n);
}

static int	pd_enc_obj(const struct protodesc_msg *, struct json_parser *,
		    struct buf *, int);

/* An enum member: a value name or a number. */
static int
pd_enc_enum(const struct protodesc_field *fd, struct json_parser *jp,
    uint64_t *u)
{
	struct json_value	v;
	size_t			i;

	if (json_peek(jp) != JSON_STRING || fd->en == NULL)
		return pd_enc_int(fd, jp, u);
	if (json_skip(jp, &v) == -1)
		return -1;
	for (i = 0; i < fd->en->nvalues; i++)
		if (json_string_eq(&v, fd->en->values[i].name)) {
			*u = (uint64_t)(int64_t)fd->en->values[i].num;
			return 0;
		}
	return json_fail(jp, v.off, "\"%s\": %.*s is not a value of %s",
	    fd->json_name, (int)v.len, v.p, fd->en->name);
}

/* A length-delimited member (string, bytes, message) into sub. */
static int
pd_enc_len(const struct protodesc_field *fd, struct json_parser *jp,
    struct buf *sub, int depth)
{
	struct buf	s;
	size_t		off, bad;
	int		rc;

	if (fd->type == PROTODESC_MESSAGE)
		return pd_enc_obj(fd->msg, jp, sub, depth + 1);
	if (json_peek(jp) != JSON_STRING)
		return json_fail(jp, jp->off, "\"%s\" must be a string",
		    fd->json_name);
	if (fd->type == PROTODESC_STRING)
		return json_read_string(jp, sub, NULL);
	buf_init(&s);
	if ((rc = json_read_string(jp, &s, &off)) == 0 &&
	    base64_decode(sub, s.data != NULL ? s.data : "", s.len,
	    &bad) == -1)
		rc = json_fail(jp, off + 1 + bad, "\"%s\": bad base64",
		    fd->json_name);
	buf_free(&s);
	return rc;
}

/*
 * One value of field fd at the cursor, appended to out with its key
 * (withkey) or bare (an element of a packed run).
 */
static int
pd_enc_scalar(const struct protodesc_field *fd, struct json_parser *jp,
    struct buf *out, int depth, int withkey)
{
	enum pb_wire	 w = pd_wire_of(fd->type);
	struct buf	 sub;
	uint64_t	 u = 0;
	int		 b, rc;

	if (fd->type == PROTODESC_GROUP) {
		pb_put_key(out, fd->num, PB_SGROUP);
		if (pd_enc_obj(fd->msg, jp, out, depth + 1) == -1)
			return -1;
		pb_put_key(out, fd->num, PB_EGROUP);
		return 0;
	}
	if (w == PB_LEN) {
		buf_init(&sub);
		if ((rc = pd_enc_len(fd, jp, &sub, depth)) == 0) {
			pb_put_key(out, fd->num, PB_LEN);
			pb_put_varint(out, sub.len);
			buf_append(out, sub.data, sub.len);
		}
		buf_free(&sub);
		return rc;
	}
	if (fd->type == PROTODESC_BOOL) {
		if (json_read_bool(jp, &b) == -1)
			return -1;
		u = (uint64_t)b;
	} else if (fd->type == PROTODESC_FLOAT ||
	    fd->type == PROTODESC_DOUBLE) {
		if (pd_enc_real(fd, jp, &u) == -1)
			return -1;
	} else if ((fd->type == PROTODESC_ENUM ? pd_enc_enum(fd, jp, &u) :
	    pd_enc_int(fd, jp, &u)) == -1)
		return -1;
	if (withkey)
		pb_put_key(out, fd->num, w);
	if (w == PB_VARINT)
		pb_put_varint(out, u);
	else
		pd_put_le(out, u, w == PB_I64 ? 8 : 4);
	return 0;
}

/* A map's object: each member an entry, key (1) then value (2). */
static int
pd_enc_map(const struct protodesc_field *fd, struct json_parser *jp,
    struct buf *out, int depth)
{
	const struct protodesc_field	*kf, *vf;
	struct json_parser		 kp;
	struct json_value		 k;
	struct buf			 entry, key;
	const char			*why;
	uint64_t			 u = 0;
	int				 rc;

	kf = protodesc_field_by_number(fd->msg, 1);
	vf = protodesc_field_by_number(fd->msg, 2);
	if (kf == NULL || vf == NULL)
		return json_fail(jp, jp->off, "\"%s\": its map entry type "
		    "lacks a key or a value", fd->json_name);
	if (json_object_enter(jp) == -1)
		return -1;
	buf_init(&entry);
	buf_init(&key);
	while ((rc = json_object_next(jp, &k)) == 1) {
		buf_reset(&entry);
		buf_reset(&key);
		json_init(&kp, k.p, k.len);
		if (json_read_string(&kp, &key, NULL) == -1) {
			rc = json_fail(jp, k.off, "bad map key");
			break;
		}
		if (kf->type == PROTODESC_STRING) {
			pb_put_key(&entry, 1, PB_LEN);
			pb_put_varint(&entry, key.len);
			buf_append(&entry, key.data, key.len);
		} else if (kf->type == PROTODESC_BOOL) {
			if (!json_string_eq(&k, "true") &&
			    !json_string_eq(&k, "false")) {
				rc = json_fail(jp, k.off, "\"%s\": a bool key "
				    "is \"true\" or \"false\"", fd->json_name);
				break;
			}
			pb_put_key(&entry, 1, PB_VARINT);
			pb_put_varint(&entry, json_string_eq(&k, "true"));
		} else {
			if (pd_int_text(key.data != NULL ? key.data : "",
			    key.len, kf->type, &u, &why) == -1) {
				rc = json_fail(jp, k.off, "\"%s\": map key: %s",
				    fd->json_name, why);
				break;
			}
			pb_put_key(&entry, 1, pd_wire_of(kf->type));
			if (pd_wire_of(kf->type) == PB_VARINT)
				pb_put_varint(&entry, u);
			else
				pd_put_le(&entry, u, pd_wire_of(kf->type) ==
				    PB_I64 ? 8 : 4);
		}
		if ((rc = pd_enc_scalar(vf, jp, &entry, depth + 1, 1)) == -1)
			break;
		pb_put_key(out, fd->num, PB_LEN);
		pb_put_varint(out, entry.len);
		buf_append(out, entry.data, entry.len);
	}
	buf_free(&entry);
	buf_free(&key);
	return rc == -1 ? -1 : 0;
}

/* A member's value: a repeated field's array (or map's object), or one
 * value. */
static int
pd_enc_field(const struct protodesc_field *fd, struct json_parser *jp,
    struct buf *out, int depth)
{
	struct buf	packed;
	int		rc;

	if (fd->label != PROTODESC_REPEATED)
		return pd_enc_scalar(fd, jp, out, depth, 1);
	if (fd->msg != NULL && fd->msg->map_entry &&
	    json_peek(jp) == JSON_OBJECT)
		return pd_enc_map(fd, jp, out, depth);
	if (json_peek(jp) != JSON_ARRAY)
		return json_fail(jp, jp->off, "\"%s\" is repeated: an array",
		    fd->json_name);
	if (json_array_enter(jp) == -1)
		return -1;
	buf_init(&packed);
	while ((rc = json_array_next(jp)) == 1)
		if (pd_enc_scalar(fd, jp, fd->packed ? &packed : out, depth,
		    !fd->packed) == -1) {
			rc = -1;
			break;
		}
	if (rc == 0 && packed.len > 0) {
		pb_put_key(out, fd->num, PB_LEN);
		pb_put_varint(out, packed.len);
		buf_append(out, packed.data, packed.len);
	}
	buf_free(&packed);
	return rc;
}

/* The members of an object entered already ("@type" read when top). */
static int
pd_enc_members(const struct protodesc_msg *m, struct json_parser *jp,
    struct buf *out, int depth)
{
	const struct protodesc_field	*fd;
	struct json_value		 k;
	const char			*name;
	size_t				 nlen;
	uint32_t			 num;
	int				 rc;

	while ((rc = json_object_next(jp, &k)) == 1) {
		name = k.p + 1;
		nlen = k.len - 2;
		if (nlen > 1 && name[0] == '#' && !k.escaped) {
			if (pd_parse_num(name + 1, nlen - 1, &num) == -1)
				return json_fail(jp, k.off, "\"#N\": N must be "
				    "a field number (1 to 536870911)");
			if (pb_encode_view_value(jp, num, out) == -1)
				return -1;
			continue;
		}
		if (json_string_eq(&k, "@type"))
			return json_fail(jp, k.off, "\"@type\" comes once, "
			    "first, in the outermost message");
		fd = k.escaped ? NULL : protodesc_field_by_name(m, name, nlen);
		if (fd == NULL)
			return json_fail(jp, k.off, "no field %.*s in %s",
			    (int)k.len, k.p, m->name);
		if (pd_enc_field(fd, jp, out, depth) == -1)
			return -1;
	}
	return rc;
}

static int
pd_enc_obj(const struct protodesc_msg *m, struct json_parser *jp,
    struct buf *out, int depth)
{
	if (depth > PB_VIEW_DEPTH)
		return json_fail(jp, jp->off, "messages nested deeper than %d",
		    PB_VIEW_DEPTH);
	if (json_peek(jp) != JSON_OBJECT)
		return json_fail(jp, jp->off, "a %s must be an object",
		    m->name);
	if (json_object_enter(jp) == -1)
		return -1;
	return pd_enc_members(m, jp, out, depth);
}

/* Encodes the view text[0..len) of an m (with "@type" first when top)
 * and compares it with p[0..plen): 0 when equal. */
static int
pd_enc_obj_text(const struct protodesc_msg *m, const char *text, size_t len,
    int depth, int top, const uint8_t *p, size_t plen)
{
	struct json_parser	jp;
	struct json_value	k;
	struct buf		b;
	int			rc;

	buf_init(&b);
	json_init(&jp, text, len);
	if (top)
		rc = json_object_enter(&jp) == -1 ||
		    json_object_next(&jp, &k) != 1 ||
		    json_skip(&jp, NULL) == -1 ||
		    pd_enc_members(m, &jp, &b, depth) == -1 ? -1 : 0;
	else
		rc = pd_enc_obj(m, &jp, &b, depth);
	if (rc == 0)
		rc = json_finish(&jp);
	if (rc == 0 && (b.len != plen || (plen > 0 &&
	    memcmp(b.data, p, plen) != 0)))
		rc = -1;
	buf_free(&b);
	return rc;
}

int
protodesc_is_view(const struct json_parser *jp)
{
	const char	*p = jp->buf + jp->off, *end = jp->buf + jp->len;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	if (p == end || *p++ != '{')
		return 0;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return (size_t)(end - p) >= 7 && memcmp(p, "\"@type\"", 7) == 0;
}

int
protodesc_encode_view(const struct protodesc *set, struct json_parser *jp,
    struct buf *out)
{
	const struct protodesc_msg	*m;
	struct json_value		 k, v;
	size_t				 off;

	json_peek(jp);
	off = jp->off;
	if (set == NULL)
		return json_fail(jp, off, "a named view (\"@type\") needs the "
		    "descriptor set: pass --proto-set FILE (decoyd: "
		    "proto_set)");
	if (json_object_enter(jp) == -1)
		return -1;
	if (json_object_next(jp, &k) != 1 || !json_string_eq(&k, "@type"))
		return json_fail(jp, off, "a named view starts with "
		    "\"@type\"");
	if (json_peek(jp) != JSON_STRING || json_skip(jp, &v) == -1)
		return json_fail(jp, k.off, "\"@type\" must be a message "
		    "type's name");
	if (v.escaped || (m = protodesc_message(set, v.p + 1,
	    v.len - 2)) == NULL)
		return json_fail(jp, v.off, "message type %.*s is not in %s",
		    (int)v.len, v.p, set->file);
	return pd_enc_members(m, jp, out, 1);
}

int
protodesc_encode_view_text(const struct protodesc *set, const char *json,
    size_t len, struct buf *out, char **cause)
{
	struct json_parser	jp;

	json_init(&jp, json, len);
	if (protodesc_encode_view(set, &jp, out) == -1 ||
	    json_finish(&jp) == -1) {
		*cause = xasprintf("byte %zu: %s", jp.error_off,
		    jp.error != NULL ? jp.error : "not a named view");
		return -1;
	}
	return 0;
}
