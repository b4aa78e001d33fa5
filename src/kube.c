/*
 * kube.c -- `decoy kube inject|eject`: the YAML rewriting (kube.h).
 *
 * The stream is loaded one document at a time with libyaml's document API
 * (through yamldoc, for its size and nesting bounds), so each node keeps
 * its style and position.  A workload is changed in its node tree: decoy's
 * items are removed (eject, and the first step of inject), then added from
 * a template written as YAML text, parsed into a document of its own and
 * copied node by node.  A document with no change is copied from the input
 * text between its boundaries (libyaml's document marks), so it keeps
 * every byte; a changed one is handed to libyaml's emitter, between the
 * text before its first node and the text after its last value.
 *
 * Node pointers move when a node is added to a document (its node array
 * grows): the walkers hold node ids and look pointers up again after each
 * addition.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube.h"
#include "log.h"
#include "redirect.h"
#include "xmalloc.h"
#include "yamldoc.h"

#define KUBE_IMAGE		"decoy:" PACKAGE_VERSION
#define KUBE_SIDECAR		"decoy"
#define KUBE_INIT		"decoy-redirect"
#define KUBE_VOL_TMP		"decoy-tmp"
#define KUBE_VOL_XTABLES	"decoy-xtables"
#define KUBE_SNAPSHOT		"deps.jsonl"

struct kube {
	const struct kube_opts	*opts;
	struct yamldoc		 d;
	size_t			 nchanged;
	int			 changed;	/* the current document */
};

/* The annotations a workload is read from (see kube_annotation). */
struct kube_workload {
	int	 meta;		/* the workload's metadata, 0: none */
	int	 pod_meta;	/* its pod template's, 0: none (a Pod) */
	int	 spec;		/* the pod spec */
	int	 node;		/* the workload, for errors */
};

static yaml_node_t *
kube_node(struct kube *k, int id)
{
	if (id == 0)
		return NULL;
	return yaml_document_get_node(&k->d.doc, id);
}

/* The value of scalar id, or NULL when id is 0 or not a scalar. */
static const char *
kube_str(struct kube *k, int id)
{
	yaml_node_t	*n = kube_node(k, id);

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int
kube_is(struct kube *k, int id, yaml_node_type_t type)
{
	yaml_node_t	*n = kube_node(k, id);

	return n != NULL && n->type == type;
}

/* The index of the pair of mapping map whose key is the scalar key, or -1
 * (also when map is not a mapping). */
static long
kube_pair(struct kube *k, int map, const char *key)
{
	yaml_node_t		*n = kube_node(k, map);
	yaml_node_pair_t	*p;
	const char		*s;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return -1;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		if ((s = kube_str(k, p->key)) != NULL && strcmp(s, key) == 0)
			return (long)(p - n->data.mapping.pairs.start);
	}
	return -1;
}

/* The value id of key in mapping map, or 0. */
static int
kube_get(struct kube *k, int map, const char *key)
{
	long	i;

	if ((i = kube_pair(k, map, key)) == -1)
		return 0;
	return kube_node(k, map)->data.mapping.pairs.start[i].value;
}

static void
kube_nomem(void)
{
	fatal("kube: out of memory building a YAML document");
}

static int
kube_add_scalar(struct kube *k, const char *s)
{
	int	id;

	id = yaml_document_add_scalar(&k->d.doc, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)strlen(s), YAML_PLAIN_SCALAR_STYLE);
	if (id == 0)
		kube_nomem();
	return id;
}

/*
 * The collection (YAML_MAPPING_NODE or YAML_SEQUENCE_NODE) under key of
 * mapping map, added (block style, at the end) when the key is missing or
 * null.  0 when the key holds something else (recorded at it as
 * "WHAT: expected KIND").
 */
static int
kube_ensure(struct kube *k, int map, const char *key, yaml_node_type_t type,
    const char *what)
{
	yaml_node_t	*v;
	long		 i;
	int		 id, kid;

	i = kube_pair(k, map, key);
	if (i != -1) {
		id = kube_node(k, map)->data.mapping.pairs.start[i].value;
		v = kube_node(k, id);
		if (v->type == type)
			return id;
		if (!yamldoc_is_null(v)) {
			yamldoc_err(&k->d, v, "%s: expected %s, not %s", what,
			    type == YAML_MAPPING_NODE ? "a mapping" : "a list",
			    yamldoc_kind(v));
			return 0;
		}
	}
	if (type == YAML_MAPPING_NODE)
		id = yaml_document_add_mapping(&k->d.doc, NULL,
		    YAML_BLOCK_MAPPING_STYLE);
	else
		id = yaml_document_add_sequence(&k->d.doc, NULL,
		    YAML_BLOCK_SEQUENCE_STYLE);
	if (id == 0)
		kube_nomem();
	if (i != -1) {
		kube_node(k, map)->data.mapping.pairs.start[i].value = id;
		return id;
	}
	kid = kube_add_scalar(k, key);
	if (!yaml_document_append_mapping_pair(&k->d.doc, map, kid, id))
		kube_nomem();
	return id;
}

/* Removes key from mapping map, if there. */
static void
kube_del(struct kube *k, int map, const char *key)
{
	yaml_node_t	*n;
	long		 i;
	size_t		 rest;

	if ((i = kube_pair(k, map, key)) == -1)
		return;
	n = kube_node(k, map);
	rest = (size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start) - (size_t)i - 1;
	memmove(n->data.mapping.pairs.start + i,
	    n->data.mapping.pairs.start + i + 1, rest * sizeof(yaml_node_pair_t));
	n->data.mapping.pairs.top--;
}

/* Inserts item at position at of sequence seq. */
static void
kube_seq_insert(struct kube *k, int seq, size_t at, int item)
{
	yaml_node_t	*n;
	size_t		 len;

	if (!yaml_document_append_sequence_item(&k->d.doc, seq, item))
		kube_nomem();
	n = kube_node(k, seq);
	len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	memmove(n->data.sequence.items.start + at + 1,
	    n->data.sequence.items.start + at,
	    (len - 1 - at) * sizeof(yaml_node_item_t));
	n->data.sequence.items.start[at] = item;
}

/* The number of items of sequence seq (0 when not a sequence). */
static size_t
kube_seq_len(struct kube *k, int seq)
{
	yaml_node_t	*n = kube_node(k, seq);

	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

static int
kube_seq_item(struct kube *k, int seq, size_t i)
{
	return kube_node(k, seq)->data.sequence.items.start[i];
}

/* Removes from sequence seq (under key of map) the mappings whose name is
 * one of names (NULL-terminated); removes the key when that empties it.
 * Returns how many were removed. */
static int
kube_remove_named(struct kube *k, int map, const char *key,
    const char *const *names)
{
	yaml_node_t	*n;
	const char	*s;
	size_t		 i, j;
	int		 seq, removed = 0;

	seq = kube_get(k, map, key);
	if (!kube_is(k, seq, YAML_SEQUENCE_NODE))
		return 0;
	n = kube_node(k, seq);
	for (i = 0; i < kube_seq_len(k, seq); ) {
		s = kube_str(k, kube_get(k, kube_seq_item(k, seq, i), "name"));
		for (j = 0; s != NULL && names[j] != NULL; j++) {
			if (strcmp(s, names[j]) == 0)
				break;
		}
		if (s == NULL || names[j] == NULL) {
			i++;
			continue;
		}
		memmove(n->data.sequence.items.start + i,
		    n->data.sequence.items.start + i + 1,
		    (kube_seq_len(k, seq) - i - 1) * sizeof(yaml_node_item_t));
		n->data.sequence.items.top--;
		removed++;
	}
	if (removed > 0 && kube_seq_len(k, seq) == 0)
		kube_del(k, map, key);
	return removed;
}

/* Copies node id of document src, and all under it, into the document. */
static int
kube_copy(struct kube *k, yaml_document_t *src, int id)
{
	yaml_document_t		*dst = &k->d.doc;
	yaml_node_t		*n = yaml_document_get_node(src, id);
	yaml_node_item_t	*it;
	yaml_node_pair_t	*p;
	int			 nid, a, b;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		nid = yaml_document_add_scalar(dst, n->tag,
		    n->data.scalar.value, (int)n->data.scalar.length,
		    n->data.scalar.style);
		break;
	case YAML_SEQUENCE_NODE:
		if ((nid = yaml_document_add_sequence(dst, n->tag,
		    n->data.sequence.style)) == 0)
			break;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			a = kube_copy(k, src, *it);
			if (!yaml_document_append_sequence_item(dst, nid, a))
				kube_nomem();
		}
		break;
	case YAML_MAPPING_NODE:
		if ((nid = yaml_document_add_mapping(dst, n->tag,
		    n->data.mapping.style)) == 0)
			break;
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			a = kube_copy(k, src, p->key);
			b = kube_copy(k, src, p->value);
			if (!yaml_document_append_mapping_pair(dst, nid, a, b))
				kube_nomem();
		}
		break;
	default:
		nid = 0;
		break;
	}
	if (nid == 0)
		kube_nomem();
	return nid;
}

/* Parses template text (ours: a syntax error is a bug) and copies its
 * root into the document. */
static int
kube_template(struct kube *k, const struct buf *text)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	int		 id;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text->data,
	    text->len);
	if (!yaml_parser_load(&parser, &doc))
		fatal("kube: bad template at %zu:%zu: %s:\n%s",
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "?", text->data);
	if (yaml_document_get_root_node(&doc) == NULL)
		fatal("kube: empty template");
	id = kube_copy(k, &doc, 1);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return id;
}

/* Appends s as a YAML double-quoted scalar (JSON escapes are YAML's). */
static void
kube_quote(struct buf *b, const char *s)
{
	unsigned char	c;

	buf_append_byte(b, '"');
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\') {
			buf_append_byte(b, '\\');
			buf_append_byte(b, (char)c);
		} else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append_byte(b, (char)c);
	}
	buf_append_byte(b, '"');
}

/* Appends KUBE_DATA_DIR/name, quoted. */
static void
kube_quote_data(struct buf *b, const char *name)
{
	char	*path;

	path = xasprintf(KUBE_DATA_DIR "/%s", name);
	kube_quote(b, path);
	free(path);
}

/*
 * The value node of annotation decoy.dev/NAME: the pod template's first,
 * then the workload's.  0 when absent.
 */
static int
kube_annotation(struct kube *k, const struct kube_workload *w,
    const char *name)
{
	char	key[128];
	int	id;

	snprintf(key, sizeof key, KUBE_ANNOTATION "%s", name);
	if (w->pod_meta != 0 && (id = kube_get(k,
	    kube_get(k, w->pod_meta, "annotations"), key)) != 0)
		return id;
	if (w->meta != 0)
		return kube_get(k, kube_get(k, w->meta, "annotations"), key);
	return 0;
}

/* The annotation's value, or NULL when absent (an error is recorded when
 * it is not a single value). */
static const char *
kube_annotation_str(struct kube *k, const struct kube_workload *w,
    const char *name, int *node)
{
	const char	*s;
	int		 id;

	*node = id = kube_annotation(k, w, name);
	if (id == 0)
		return NULL;
	if ((s = kube_str(k, id)) == NULL)
		yamldoc_err(&k->d, kube_node(k, id), KUBE_ANNOTATION
		    "%s: expected a string, not %s", name,
		    yamldoc_kind(kube_node(k, id)));
	return s;
}

/* 1 when the workload is to be changed, 0 when not, -1 on a bad value. */
static int
kube_wanted(struct kube *k, const struct kube_workload *w)
{
	const char	*s;
	int		 id;

	if ((s = kube_annotation_str(k, w, "inject", &id)) == NULL)
		return id != 0 ? -1 : k->opts->all;
	if (strcmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "false") == 0)
		return 0;
	yamldoc_err(&k->d, kube_node(k, id), KUBE_ANNOTATION
	    "inject: expected \"true\" or \"false\", not \"%s\"", s);
	return -1;
}

/* A file of the data volume: relative, no "..", no control characters. */
static int
kube_check_file(struct kube *k, int id, const char *what, const char *s)
{
	const char	*p;

	if (*s == '\0' || *s == '/') {
		yamldoc_err(&k->d, kube_node(k, id), "%s: expected a file name "
		    "relative to the snapshot volume, not \"%s\"", what, s);
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (p[0] == '.' && p[1] == '.' &&
		    (p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))) {
			yamldoc_err(&k->d, kube_node(k, id), "%s: \"%s\" leaves "
			    "the snapshot volume or holds a control character",
			    what, s);
			return -1;
		}
	}
	return 0;
}

/* A quantity for resources: digits, '.', letters; short. */
static int
kube_check_quantity(struct kube *k, int id, const char *what, const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || *p == '.' ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			break;
	}
	if (*s == '\0' || *p != '\0' || (*s < '0' || *s > '9') ||
	    p - s > 32) {
		yamldoc_err(&k->d, kube_node(k, id), "%s: expected a Kubernetes "
		    "quantity (256Mi, 500m), not \"%s\"", what, s);
		return -1;
	}
	return 0;
}

/* Calls fn(one, arg) for each non-empty item of a comma-separated list,
 * blanks around it trimmed; returns how many items there were. */
static int
kube_each_item(const char *list, void (*fn)(const char *, void *), void *arg)
{
	const char	*p, *q;
	char		*one;
	int		 n = 0;

	for (p = list; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		while (*p == ' ')
			p++;
		if ((q = strchr(p, ',')) == NULL)
			q = p + strlen(p);
		one = xstrndup(p, (size_t)(q - p));
		while (one[0] != '\0' && one[strlen(one) - 1] == ' ')
			one[strlen(one) - 1] = '\0';
		if (one[0] != '\0') {
			n++;
			fn(one, arg);
		}
		free(one);
	}
	return n;
}

struct kube_file_arg {
	struct buf	*b;
	const char	*flag;
};

static void
kube_file_arg(const char *one, void *arg)
{
	struct kube_file_arg	*fa = arg;

	buf_printf(fa->b, ", %s, ", fa->flag);
	kube_quote_data(fa->b, one);
}

/* Appends, as flow list items, flag and the data volume's path of each
 * file of a comma-separated annotation (", --rules, \"/.../x.yaml\""). */
static void
kube_file_args(struct buf *b, const char *flag, const char *list)
{
	struct kube_file_arg	 fa = { b, flag };

	kube_each_item(list, kube_file_arg, &fa);
}

struct kube_check_arg {
	struct kube	*k;
	int		 id;
	const char	*what;
	int		 rv;
};

static void
kube_check_one(const char *one, void *arg)
{
	struct kube_check_arg	*ca = arg;

	if (kube_check_file(ca->k, ca->id, ca->what, one) == -1)
		ca->rv = -1;
}

/* Checks each file of a comma-separated annotation. */
static int
kube_check_files(struct kube *k, int id, const char *what, const char *list)
{
	struct kube_check_arg	 ca = { k, id, what, 0 };

	if (kube_each_item(list, kube_check_one, &ca) == 0) {
		yamldoc_err(&k->d, kube_node(k, id), "%s: no file named", what);
		return -1;
	}
	return ca.rv;
}

/* The uid a container runs as: its securityContext's, else the pod's;
 * -1 when neither says. */
static long
kube_run_as(struct kube *k, int sc)
{
	const char	*s;
	char		*end;
	long		 l;

	if ((s = kube_str(k, kube_get(k, sc, "runAsUser"))) == NULL)
		return -1;
	l = strtol(s, &end, 10);
	return *end == '\0' && end != s ? l : -1;
}

/* Refuses what the redirect cannot work with: the node's network
 * namespace, or a container of the app running as decoy's uid (its
 * traffic would escape the redirect). */
static int
kube_check_pod(struct kube *k, const struct kube_workload *w)
{
	const char	*s;
	long		 pod_uid, uid;
	size_t		 i;
	int		 rv = 0, seq, c, id;

	if ((s = kube_str(k, id = kube_get(k, w->spec, "hostNetwork"))) != NULL &&
	    strcmp(s, "true") == 0) {
		yamldoc_err(&k->d, kube_node(k, id), "hostNetwork: decoy cannot "
		    "be injected into a pod that shares the node's network "
		    "namespace (the redirect would apply to the node)");
		rv = -1;
	}
	for (i = 0; i < 2; i++) {
		s = i == 0 ? "initContainers" : "volumes";
		id = kube_get(k, w->spec, s);
		if (id != 0 && !kube_is(k, id, YAML_SEQUENCE_NODE) &&
		    !yamldoc_is_null(kube_node(k, id))) {
			yamldoc_err(&k->d, kube_node(k, id), "%s: expected a "
			    "list, not %s", s, yamldoc_kind(kube_node(k, id)));
			rv = -1;
		}
	}
	pod_uid = kube_run_as(k, kube_get(k, w->spec, "securityContext"));
	seq = kube_get(k, w->spec, "containers");
	for (i = 0; i < kube_seq_len(k, seq); i++) {
		c = kube_seq_item(k, seq, i);
		uid = kube_run_as(k, kube_get(k, c, "securityContext"));
		if (uid == -1)
			uid = pod_uid;
		if (uid == KUBE_UID) {
			yamldoc_err(&k->d, kube_node(k, c), "container \"%s\" "
			    "runs as uid %d, decoy's own (whose traffic is not "
			    "redirected)", kube_str(k, kube_get(k, c, "name")) ?
			    kube_str(k, kube_get(k, c, "name")) : "?", KUBE_UID);
			rv = -1;
		}
	}
	return rv;
}

/* The container securityContext decoy's own containers share. */
static void
kube_security(struct buf *b, int init)
{
	if (init)
		buf_printf(b,
		    "securityContext:\n"
		    "  runAsUser: 0\n"
		    "  runAsGroup: 0\n"
		    "  runAsNonRoot: false\n"
		    "  privileged: false\n"
		    "  allowPrivilegeEscalation: false\n"
		    "  readOnlyRootFilesystem: true\n"
		    "  capabilities: {add: [NET_ADMIN], drop: [ALL]}\n"
		    "  seccompProfile: {type: RuntimeDefault}\n");
	else
		buf_printf(b,
		    "securityContext:\n"
		    "  runAsUser: %d\n"
		    "  runAsGroup: %d\n"
		    "  runAsNonRoot: true\n"
		    "  privileged: false\n"
		    "  allowPrivilegeEscalation: false\n"
		    "  readOnlyRootFilesystem: true\n"
		    "  capabilities: {drop: [ALL]}\n"
		    "  seccompProfile: {type: RuntimeDefault}\n",
		    KUBE_UID, KUBE_UID);
}

/* A workload's decoy annotations, read and checked by kube_inject_read. */
struct kube_ann {
	const char		*mode, *vol, *ports, *xports, *xcidr, *snap;
	const char		*rules, *transforms, *image, *mem, *cpu;
	int			 id_mode, id_vol, id_ports, id_xports, id_xcidr;
	int			 id_snap, id_rules, id_transforms, id_image;
	int			 id_mem, id_cpu;
	int			 record;
	struct redirect_config	 rc;
};

/* Checks the snapshot-volume annotation against the pod's volumes. */
static void
kube_check_volume(struct kube *k, const struct kube_workload *w,
    const struct kube_ann *a)
{
	const char	*s;
	int		 vols, found = 0;
	size_t		 i;

	if (a->vol == NULL && a->id_vol == 0)
		yamldoc_err(&k->d, kube_node(k, w->node), "no " KUBE_ANNOTATION
		    "snapshot-volume annotation: name the pod's volume that "
		    "holds the snapshot (or receives it, in record mode)");
	else if (a->vol != NULL) {
		vols = kube_get(k, w->spec, "volumes");
		for (i = 0; i < kube_seq_len(k, vols); i++) {
			s = kube_str(k, kube_get(k, kube_seq_item(k, vols, i),
			    "name"));
			if (s != NULL && strcmp(s, a->vol) == 0)
				found = 1;
		}
		if (!found)
			yamldoc_err(&k->d, kube_node(k, a->id_vol), KUBE_ANNOTATION
			    "snapshot-volume: the pod spec has no volume named "
			    "\"%s\"", a->vol);
	}
}

/* Parses the redirect annotations into a->rc (initialised here). */
static void
kube_check_redirect(struct kube *k, struct kube_ann *a)
{
	const char	*ports = a->ports, *xports = a->xports, *xcidr = a->xcidr;
	struct redirect_config *rc = &a->rc;
	char		*cause = NULL;

	redirect_config_init(rc);
	if (ports != NULL && strcmp(ports, "*") != 0 &&
	    redirect_parse_ports(ports, &rc->ports, &rc->nports, &cause) == -1) {
		yamldoc_err(&k->d, kube_node(k, a->id_ports), KUBE_ANNOTATION
		    "redirect-ports: %s", cause);
		free(cause);
		cause = NULL;
	}
	if (xports != NULL && redirect_parse_ports(xports, &rc->exclude_ports,
	    &rc->nexclude_ports, &cause) == -1) {
		yamldoc_err(&k->d, kube_node(k, a->id_xports), KUBE_ANNOTATION
		    "exclude-ports: %s", cause);
		free(cause);
		cause = NULL;
	}
	if (xports != NULL && ports != NULL && strcmp(ports, "*") != 0)
		yamldoc_err(&k->d, kube_node(k, a->id_xports), KUBE_ANNOTATION
		    "exclude-ports: only with every port redirected (no "
		    KUBE_ANNOTATION "redirect-ports, or \"*\")");
	if (xcidr != NULL && redirect_parse_cidrs(xcidr, &rc->exclude_cidr,
	    &rc->nexclude_cidr, &cause) == -1) {
		yamldoc_err(&k->d, kube_node(k, a->id_xcidr), KUBE_ANNOTATION
		    "exclude-cidrs: %s", cause);
		free(cause);
	}
}

/*
 * Reads and checks workload w's annotations into a (a->rc to be freed by
 * the caller); returns -1 when one is wrong (the errors are in k->d).
 */
static int
kube_inject_read(struct kube *k, const struct kube_workload *w,
    struct kube_ann *a)
{
	int	 nerr = k->d.nerrors;

	a->mode = kube_annotation_str(k, w, "mode", &a->id_mode);
	a->vol = kube_annotation_str(k, w, "snapshot-volume", &a->id_vol);
	a->ports = kube_annotation_str(k, w, "redirect-ports", &a->id_ports);
	a->xports = kube_annotation_str(k, w, "exclude-ports", &a->id_xports);
	a->xcidr = kube_annotation_str(k, w, "exclude-cidrs", &a->id_xcidr);
	a->snap = kube_annotation_str(k, w, "snapshot", &a->id_snap);
	a->rules = kube_annotation_str(k, w, "rules", &a->id_rules);
	a->transforms = kube_annotation_str(k, w, "transforms",
	    &a->id_transforms);
	a->image = kube_annotation_str(k, w, "image", &a->id_image);
	a->mem = kube_annotation_str(k, w, "memory-limit", &a->id_mem);
	a->cpu = kube_annotation_str(k, w, "cpu-limit", &a->id_cpu);

	a->record = 0;
	if (a->mode != NULL && strcmp(a->mode, "record") == 0)
		a->record = 1;
	else if (a->mode != NULL && strcmp(a->mode, "respond") != 0)
		yamldoc_err(&k->d, kube_node(k, a->id_mode), KUBE_ANNOTATION
		    "mode: expected respond or record, not \"%s\"", a->mode);
	kube_check_volume(k, w, a);
	kube_check_redirect(k, a);
	if (a->snap != NULL)
		kube_check_file(k, a->id_snap, KUBE_ANNOTATION "snapshot",
		    a->snap);
	if (a->rules != NULL)
		kube_check_files(k, a->id_rules, KUBE_ANNOTATION "rules",
		    a->rules);
	if (a->transforms != NULL)
		kube_check_file(k, a->id_transforms, KUBE_ANNOTATION
		    "transforms", a->transforms);
	if (a->record && (a->rules != NULL || a->transforms != NULL))
		yamldoc_err(&k->d, kube_node(k, a->rules != NULL ? a->id_rules :
		    a->id_transforms), "%s: only in respond mode",
		    a->rules != NULL ? KUBE_ANNOTATION "rules" :
		    KUBE_ANNOTATION "transforms");
	if (a->image != NULL && (*a->image == '\0' ||
	    strpbrk(a->image, " \t\r\n") != NULL))
		yamldoc_err(&k->d, kube_node(k, a->id_image), KUBE_ANNOTATION
		    "image: expected an image reference, not \"%s\"", a->image);
	if (a->mem != NULL)
		kube_check_quantity(k, a->id_mem, KUBE_ANNOTATION
		    "memory-limit", a->mem);
	if (a->cpu != NULL)
		kube_check_quantity(k, a->id_cpu, KUBE_ANNOTATION "cpu-limit",
		    a->cpu);
	kube_check_pod(k, w);
	if (k->d.nerrors != nerr)
		return -1;
	if (a->image == NULL)
		a->image = k->opts->image != NULL ? k->opts->image : KUBE_IMAGE;
	if (a->snap == NULL)
		a->snap = KUBE_SNAPSHOT;
	return 0;
}

/* Writes the init container: the redirect, then it exits. */
static void
kube_init_container(struct buf *b, const struct kube_ann *a)
{
	buf_printf(b, "name: " KUBE_INIT "\nimage: ");
	kube_quote(b, a->image);
	buf_printf(b, "\nimagePullPolicy: IfNotPresent\n"
	    "command: [decoy, redirect, install, --uid, \"%d\", --to-port, "
	    "\"%d\"", KUBE_UID, KUBE_PORT);
	if (a->rc.nports > 0) {
		buf_printf(b, ", --ports, ");
		kube_quote(b, a->ports);
	} else {
		buf_printf(b, ", --all");
		buf_append_field(b, ", --exclude-ports, ", a->xports, kube_quote, "");
	}
	buf_append_field(b, ", --exclude-cidr, ", a->xcidr, kube_quote, "");
	buf_printf(b, "]\n"
	    "resources:\n"
	    "  requests: {cpu: 10m, memory: 16Mi}\n"
	    "  limits: {cpu: 100m, memory: 64Mi}\n");
	kube_security(b, 1);
	buf_printf(b, "volumeMounts:\n"
	    "- {name: " KUBE_VOL_XTABLES ", mountPath: /run}\n");
}

/* Writes the sidecar: started before the app, ready when its probe says. */
static void
kube_sidecar(struct buf *b, const struct kube_ann *a)
{
	buf_printf(b, "name: " KUBE_SIDECAR "\nimage: ");
	kube_quote(b, a->image);
	buf_printf(b, "\nimagePullPolicy: IfNotPresent\n"
	    "restartPolicy: Always\n");
	if (a->record) {
		buf_printf(b, "command: [decoy, record, --transparent, "
		    "\"127.0.0.1:%d\", --mark, \"0\", --append, "
		    "--port-file, /tmp/decoy.port, --output, ", KUBE_PORT);
		kube_quote_data(b, a->snap);
		buf_printf(b, "]\n"
		    "startupProbe:\n"
		    "  exec: {command: [test, -s, /tmp/decoy.port]}\n"
		    "  periodSeconds: 1\n"
		    "  failureThreshold: 120\n"
		    "readinessProbe:\n"
		    "  exec: {command: [test, -s, /tmp/decoy.port]}\n"
		    "  periodSeconds: 10\n");
	} else {
		buf_printf(b, "command: [decoy, respond, ");
		kube_quote_data(b, a->snap);
		buf_printf(b, ", --transparent, \"127.0.0.1:%d\", --admin, "
		    "\"127.0.0.1:%d\"", KUBE_PORT, KUBE_ADMIN_PORT);
		if (a->rules != NULL)
			kube_file_args(b, "--rules", a->rules);
		if (a->transforms != NULL)
			kube_file_args(b, "--transforms", a->transforms);
		buf_printf(b, "]\n"
		    "startupProbe:\n"
		    "  exec: {command: [decoy, ctl, --admin, \"127.0.0.1:%d\", "
		    "--timeout, 1s, status]}\n"
		    "  periodSeconds: 1\n"
		    "  timeoutSeconds: 2\n"
		    "  failureThreshold: 120\n"
		    "readinessProbe:\n"
		    "  exec: {command: [decoy, ctl, --admin, \"127.0.0.1:%d\", "
		    "--timeout, 1s, status]}\n"
		    "  periodSeconds: 10\n"
		    "  timeoutSeconds: 2\n", KUBE_ADMIN_PORT, KUBE_ADMIN_PORT);
	}
	buf_printf(b, "resources:\n"
	    "  requests: {cpu: 100m, memory: 64Mi}\n"
	    "  limits: {cpu: ");
	kube_quote(b, a->cpu != NULL ? a->cpu : "1");
	buf_printf(b, ", memory: ");
	kube_quote(b, a->mem != NULL ? a->mem : "512Mi");
	buf_printf(b, "}\n");
	kube_security(b, 0);
	buf_printf(b, "volumeMounts:\n- name: ");
	kube_quote(b, a->vol);
	buf_printf(b, "\n  mountPath: " KUBE_DATA_DIR "\n");
	if (!a->record)
		buf_printf(b, "  readOnly: true\n");
	buf_printf(b, "- {name: " KUBE_VOL_TMP ", mountPath: /tmp}\n");
}

/* Parses the YAML text in b (then empties b) and inserts it into seq at
 * index at. */
static void
kube_insert_text(struct kube *k, int seq, size_t at, struct buf *b)
{
	int	c;

	c = kube_template(k, b);
	kube_seq_insert(k, seq, at, c);
	buf_reset(b);
}

/*
 * Adds decoy to the pod spec of workload w.  Annotations are checked
 * first; nothing is added when one is wrong.
 */
static void
kube_inject(struct kube *k, const struct kube_workload *w)
{
	struct kube_ann	 a;
	struct buf	 b;
	int		 ic, vols;

	if (kube_inject_read(k, w, &a) == -1) {
		redirect_config_free(&a.rc);
		return;
	}
	buf_init(&b);
	ic = kube_ensure(k, w->spec, "initContainers", YAML_SEQUENCE_NODE,
	    "initContainers");
	if (ic == 0)
		goto out;
	kube_init_container(&b, &a);
	kube_insert_text(k, ic, 0, &b);
	kube_sidecar(&b, &a);
	kube_insert_text(k, ic, 1, &b);

	vols = kube_ensure(k, w->spec, "volumes", YAML_SEQUENCE_NODE, "volumes");
	if (vols == 0)
		goto out;
	buf_printf(&b, "{name: " KUBE_VOL_TMP ", emptyDir: {medium: Memory, "
	    "sizeLimit: 16Mi}}");
	kube_insert_text(k, vols, kube_seq_len(k, vols), &b);
	buf_printf(&b, "{name: " KUBE_VOL_XTABLES ", emptyDir: {medium: Memory, "
	    "sizeLimit: 1Mi}}");
	kube_insert_text(k, vols, kube_seq_len(k, vols), &b);
	k->changed = 1;
	k->nchanged++;
out:
	buf_free(&b);
	redirect_config_free(&a.rc);
}

/* Removes what kube_inject adds; 1 when something was removed. */
static int
kube_eject(struct kube *k, const struct kube_workload *w)
{
	static const char *const containers[] = { KUBE_INIT, KUBE_SIDECAR,
	    NULL };
	static const char *const volumes[] = { KUBE_VOL_TMP, KUBE_VOL_XTABLES,
	    NULL };
	int	n;

	n = kube_remove_named(k, w->spec, "initContainers", containers);
	n += kube_remove_named(k, w->spec, "volumes", volumes);
	return n > 0;
}

/* The workload at mapping id, if it is one: fills w and returns 1. */
static int
kube_find_workload(struct kube *k, int id, struct kube_workload *w)
{
	const char	*kind;
	int		 spec, tmpl;

	memset(w, 0, sizeof *w);
	if ((kind = kube_str(k, kube_get(k, id, "kind"))) == NULL)
		return 0;
	w->node = id;
	w->meta = kube_get(k, id, "metadata");
	spec = kube_get(k, id, "spec");
	if (strcmp(kind, "Pod") == 0) {
		w->spec = spec;
		w->pod_meta = 0;
	} else if (strcmp(kind, "Deployment") == 0 ||
	    strcmp(kind, "StatefulSet") == 0 ||
	    strcmp(kind, "DaemonSet") == 0 ||
	    strcmp(kind, "ReplicaSet") == 0 ||
	    strcmp(kind, "ReplicationController") == 0 ||
	    strcmp(kind, "Job") == 0) {
		tmpl = kube_get(k, spec, "template");
		w->pod_meta = kube_get(k, tmpl, "metadata");
		w->spec = kube_get(k, tmpl, "spec");
	} else if (strcmp(kind, "CronJob") == 0) {
		tmpl = kube_get(k, kube_get(k, kube_get(k, spec, "jobTemplate"),
		    "spec"), "template");
		w->pod_meta = kube_get(k, tmpl, "metadata");
		w->spec = kube_get(k, tmpl, "spec");
	} else
		return 0;
	if (!kube_is(k, w->spec, YAML_MAPPING_NODE)) {
		yamldoc_err(&k->d, kube_node(k, id), "%s without a pod spec",
		    kind);
		return 0;
	}
	return 1;
}

/* One object, or the items of a List. */
static void
kube_object(struct kube *k, int id, int depth)
{
	struct kube_workload	 w;
	const char		*kind;
	size_t			 i, len;
	int			 items;

	if (!kube_is(k, id, YAML_MAPPING_NODE))
		return;
	kind = kube_str(k, kube_get(k, id, "kind"));
	items = kube_get(k, id, "items");
	if (kind != NULL && depth < 4 && strlen(kind) >= 4 &&
	    strcmp(kind + strlen(kind) - 4, "List") == 0 &&
	    kube_is(k, items, YAML_SEQUENCE_NODE)) {
		len = kube_seq_len(k, items);
		for (i = 0; i < len; i++)
			kube_object(k, kube_seq_item(k, items, i), depth + 1);
		return;
	}
	if (!kube_find_workload(k, id, &w))
		return;
	if (k->opts->eject) {
		if (kube_eject(k, &w)) {
			k->changed = 1;
			k->nchanged++;
		}
		return;
	}
	switch (kube_wanted(k, &w)) {
	case 1:
		if (kube_eject(k, &w))
			k->changed = 1;
		kube_inject(k, &w);
		break;
	case 0:
		break;
	default:
		break;
	}
}

static int
kube_write_handler(void *data, unsigned char *p, size_t len)
{
	buf_append(data, p, len);
	return 1;
}

/* The end of the last value of node id: its end mark for a scalar or a
 * flow collection, the latest of its children's for a block one. */
static size_t
kube_last_end(struct kube *k, int id, int depth)
{
	yaml_node_t		*n = kube_node(k, id);
	yaml_node_item_t	*it;
	yaml_node_pair_t	*p;
	size_t			 end = 0, e;

	if (n == NULL || depth > 256)
		return 0;
	if (n->type == YAML_SCALAR_NODE ||
	    (n->type == YAML_SEQUENCE_NODE &&
	    n->data.sequence.style == YAML_FLOW_SEQUENCE_STYLE) ||
	    (n->type == YAML_MAPPING_NODE &&
	    n->data.mapping.style == YAML_FLOW_MAPPING_STYLE))
		return n->end_mark.index;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			if ((e = kube_last_end(k, *it, depth + 1)) > end)
				end = e;
	} else {
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++)
			if ((e = kube_last_end(k, p->value, depth + 1)) > end)
				end = e;
	}
	return end;
}

/*
 * Writes the changed document [from, to) of text: the text before its
 * root (the "---" line and comments; the root started at start), libyaml's
 * emission of the tree, and the lines after its last value (which ended
 * at last, before the change).  The emitter takes the document.
 */
static void
kube_emit(struct kube *k, const char *text, size_t from, size_t to,
    size_t start, size_t last, struct buf *out)
{
	yaml_emitter_t		 em;
	yaml_version_directive_t *vd;
	yaml_tag_directive_t	*td, *tde, *t;
	struct buf		 body;
	size_t			 pre, i;

	if (start < from || start > to)
		start = from;
	if (last < start || last > to)
		last = to;
	/* The text before the root, up to the root's line. */
	pre = start;
	while (pre > from && (text[pre - 1] == ' ' || text[pre - 1] == '\t'))
		pre--;
	buf_append(out, text + from, pre - from);
	if (pre > from && text[pre - 1] != '\n')
		buf_append_byte(out, '\n');

	buf_init(&body);
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, kube_write_handler, &body);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	k->d.doc.start_implicit = 1;
	k->d.doc.end_implicit = 1;
	/* The %YAML and %TAG lines are in the text before the root: the
	 * emitter must not write them (and a "---") again.  Tags are then
	 * written whole, which means the same. */
	vd = k->d.doc.version_directive;
	td = k->d.doc.tag_directives.start;
	tde = k->d.doc.tag_directives.end;
	k->d.doc.version_directive = NULL;
	k->d.doc.tag_directives.start = k->d.doc.tag_directives.end = NULL;
	if (!yaml_emitter_open(&em) || !yaml_emitter_dump(&em, &k->d.doc) ||
	    !yaml_emitter_close(&em))
		fatal("kube: the YAML emitter failed: %s",
		    em.problem != NULL ? em.problem : "?");
	k->d.has_doc = 0;	/* yaml_emitter_dump deleted it */
	/* What yaml_document_delete would have freed (libyaml's yaml_free is
	 * free). */
	free(vd);
	for (t = td; t != NULL && t < tde; t++) {
		free(t->handle);
		free(t->prefix);
	}
	free(td);
	k->d.root = NULL;
	yaml_emitter_delete(&em);
	/* A "..." the emitter may close an open-ended stream with. */
	if (body.len >= 4 && memcmp(body.data + body.len - 4, "...\n", 4) == 0)
		body.len -= 4;
	buf_append(out, body.data, body.len);
	buf_free(&body);

	/* The lines after the last value: comments, blank lines. */
	for (i = last; i < to && text[i] != '\n'; i++)
		;
	if (i < to)
		buf_append(out, text + i + 1, to - i - 1);
}

int
kube_rewrite(const struct kube_opts *opts, const char *name, const char *text,
    size_t len, struct buf *out, size_t *nchanged, char **cause)
{
	struct kube	 k;
	size_t		 from = 0, to, start, last;
	int		 rv;

	memset(&k, 0, sizeof k);
	k.opts = opts;
	yamldoc_init(&k.d);
	if (yamldoc_load_text(&k.d, name, text, len) == -1)
		goto syntax;
	for (;;) {
		if (yaml_document_get_root_node(&k.d.doc) == NULL)
			break;
		to = k.d.doc.end_mark.index;
		if (to < from || to > len)
			to = len;
		start = yaml_document_get_root_node(&k.d.doc)->start_mark.index;
		last = kube_last_end(&k, 1, 0);
		k.changed = 0;
		kube_object(&k, 1, 0);
		if (k.changed && k.d.nerrors == 0)
			kube_emit(&k, text, from, to, start, last, out);
		else
			buf_append(out, text + from, to - from);
		from = to;
		if (k.d.has_doc)
			yaml_document_delete(&k.d.doc);
		k.d.has_doc = 0;
		if (!yaml_parser_load(&k.d.parser, &k.d.doc)) {
			k.d.mark = k.d.parser.problem_mark;
			k.d.problem = k.d.parser.problem;
			k.d.context = k.d.parser.context;
			goto syntax;
		}
		k.d.has_doc = 1;
	}
	buf_append(out, text + from, len - from);
	goto done;
syntax:
	yamldoc_err_at(&k.d, &k.d.mark, "%s%s%s", k.d.problem != NULL ?
	    k.d.problem : "YAML syntax error", k.d.context != NULL ? " " : "",
	    k.d.context != NULL ? k.d.context : "");
done:
	yamldoc_close(&k.d);
	rv = yamldoc_finish(&k.d, cause);
	yamldoc_free(&k.d);
	if (nchanged != NULL)
		*nchanged = k.nchanged;
	return rv;
}

/* A DNS-1123 label of at most max characters: [a-z0-9-], alphanumeric at
 * both ends. */
static int
kube_is_label(const char *s, size_t max)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return s[0] != '-' && s[len - 1] != '-';
}

/* The pod-level security context of the load and merge pods. */
static void
kube_job_security(struct buf *b, const char *indent)
{
	buf_printf(b,
	    "%ssecurityContext:\n"
	    "%s  runAsNonRoot: true\n"
	    "%s  runAsUser: %d\n"
	    "%s  runAsGroup: %d\n"
	    "%s  fsGroup: %d\n"
	    "%s  seccompProfile: {type: RuntimeDefault}\n",
	    indent, indent, indent, KUBE_UID, indent, KUBE_UID, indent,
	    KUBE_UID, indent);
}

static void
kube_job_container_security(struct buf *b, const char *indent)
{
	buf_printf(b,
	    "%ssecurityContext:\n"
	    "%s  allowPrivilegeEscalation: false\n"
	    "%s  readOnlyRootFilesystem: true\n"
	    "%s  capabilities: {drop: [ALL]}\n",
	    indent, indent, indent, indent);
}

/* Checks job j's names and parallelism. */
static int
kube_job_check(const struct kube_job *j, char **cause)
{
	if (!kube_is_label(j->name, 52)) {
		*cause = xasprintf("--name: \"%s\" is not a DNS label of at "
		    "most 52 characters ([a-z0-9-])", j->name);
		return -1;
	}
	if (!kube_is_label(j->reports_claim, 63) ||
	    (j->snapshot_claim != NULL &&
	    !kube_is_label(j->snapshot_claim, 63))) {
		*cause = xasprintf("a claim name must be a DNS label "
		    "([a-z0-9-])");
		return -1;
	}
	if (j->parallelism < 1 || j->parallelism > KUBE_MAX_SHARDS) {
		*cause = xasprintf("--parallelism: expected 1..%d",
		    KUBE_MAX_SHARDS);
		return -1;
	}
	return 0;
}

/* The merge pod of job j: the shard reports merged, on its log. */
static void
kube_job_merge_pod(const struct kube_job *j, const char *image,
    struct buf *out)
{
	char		*path;
	unsigned	 i;

	buf_printf(out,
	    "# decoy kube job --merge: the %u shard reports of job %s "
	    "merged into one,\n"
	    "# printed on the pod's log:\n"
	    "#   kubectl logs pod/%s-merge >%s.json && decoy report "
	    "%s.json",
	    j->parallelism, j->name, j->name, j->name, j->name);
	buf_append_field(out, " --assert ", j->scenario, kube_quote, "");
	buf_printf(out, "\n"
	    "apiVersion: v1\n"
	    "kind: Pod\n"
	    "metadata:\n"
	    "  name: %s-merge\n"
	    "  labels: {decoy.dev/run: %s}\n"
	    "spec:\n"
	    "  restartPolicy: Never\n",
	    j->name, j->name);
	kube_job_security(out, "  ");
	buf_printf(out, "  containers:\n"
	    "  - name: merge\n"
	    "    image: ");
	kube_quote(out, image);
	buf_printf(out, "\n    command: [decoy, report, merge");
	for (i = 0; i < j->parallelism; i++) {
		path = xasprintf(KUBE_REPORTS_DIR "/%s-%u.json",
		    j->name, i);
		buf_printf(out, ", ");
		kube_quote(out, path);
		free(path);
	}
	buf_printf(out, ", -o, \"-\"]\n"
	    "    resources:\n"
	    "      requests: {cpu: 100m, memory: 64Mi}\n"
	    "      limits: {cpu: \"1\", memory: 512Mi}\n");
	kube_job_container_security(out, "    ");
	buf_printf(out, "    volumeMounts:\n"
	    "    - {name: reports, mountPath: " KUBE_REPORTS_DIR
	    ", readOnly: true}\n"
	    "  volumes:\n"
	    "  - name: reports\n"
	    "    persistentVolumeClaim: {claimName: %s, readOnly: true}\n",
	    j->reports_claim);
}

/* The Indexed Job of j: one decoy replay shard per completion index. */
static void
kube_job_load(const struct kube_job *j, const char *image, struct buf *out)
{
	char		*path;
	char *const	*a;

	buf_printf(out,
	    "# decoy kube job: %u shards of decoy replay against %s, starting "
	    "together\n"
	    "# at %s (apply before then); reports on the claim %s.\n"
	    "#   kubectl apply -f THIS.yaml\n"
	    "#   kubectl wait --for=condition=complete --timeout=24h job/%s\n"
	    "#   decoy kube job --merge SAME-OPTIONS | kubectl apply -f -\n"
	    "#   kubectl wait --for=jsonpath='{.status.phase}'=Succeeded "
	    "pod/%s-merge\n"
	    "#   kubectl logs pod/%s-merge >%s.json && decoy report %s.json",
	    j->parallelism, j->target, j->start_at, j->reports_claim, j->name,
	    j->name, j->name, j->name, j->name);
	buf_append_field(out, " --assert ", j->scenario, kube_quote, "");
	buf_printf(out, "\n#   kubectl delete job/%s pod/%s-merge\n", j->name,
	    j->name);
	buf_printf(out,
	    "apiVersion: batch/v1\n"
	    "kind: Job\n"
	    "metadata:\n"
	    "  name: %s\n"
	    "  labels: {decoy.dev/run: %s}\n"
	    "spec:\n"
	    "  completionMode: Indexed\n"
	    "  completions: %u\n"
	    "  parallelism: %u\n"
	    "  backoffLimit: 0\n"
	    "  template:\n"
	    "    metadata:\n"
	    "      labels: {decoy.dev/run: %s}\n"
	    "    spec:\n"
	    "      restartPolicy: Never\n",
	    j->name, j->name, j->parallelism, j->parallelism, j->name);
	kube_job_security(out, "      ");
	buf_printf(out, "      containers:\n"
	    "      - name: load\n"
	    "        image: ");
	kube_quote(out, image);
	buf_printf(out, "\n        command: [decoy, replay, ");
	kube_quote_data(out, j->snapshot);
	buf_printf(out, ", --target, ");
	kube_quote(out, j->target);
	buf_printf(out, ", --shard, \"$(JOB_COMPLETION_INDEX)/%u\", "
	    "--start-at, ", j->parallelism);
	kube_quote(out, j->start_at);
	path = xasprintf(KUBE_REPORTS_DIR "/%s-$(JOB_COMPLETION_INDEX).json",
	    j->name);
	/* A shard's regressions are reported, not its exit: the Job must
	 * not fail on them; the merged report decides (--assert). */
	buf_printf(out, ", --report, ");
	kube_quote(out, path);
	buf_printf(out, ", --allow-regressions");
	free(path);
	for (a = j->replay_args; a != NULL && *a != NULL; a++) {
		buf_printf(out, ", ");
		kube_quote(out, *a);
	}
	buf_printf(out, "]\n"
	    "        env:\n"
	    "        - name: JOB_COMPLETION_INDEX\n"
	    "          valueFrom:\n"
	    "            fieldRef:\n"
	    "              fieldPath: "
	    "\"metadata.annotations['batch.kubernetes.io/job-completion-index']\"\n"
	    "        resources:\n"
	    "          requests: {cpu: 500m, memory: 128Mi}\n"
	    "          limits: {cpu: \"2\", memory: 1Gi}\n");
	kube_job_container_security(out, "        ");
	buf_printf(out, "        volumeMounts:\n"
	    "        - {name: snapshot, mountPath: " KUBE_DATA_DIR
	    ", readOnly: true}\n"
	    "        - {name: reports, mountPath: " KUBE_REPORTS_DIR "}\n"
	    "      volumes:\n"
	    "      - name: snapshot\n");
	if (j->snapshot_claim != NULL)
		buf_printf(out, "        persistentVolumeClaim: {claimName: %s, "
		    "readOnly: true}\n", j->snapshot_claim);
	else {
		buf_printf(out, "        image: {reference: ");
		kube_quote(out, j->snapshot_image);
		buf_printf(out, ", pullPolicy: IfNotPresent}\n");
	}
	buf_printf(out, "      - name: reports\n"
	    "        persistentVolumeClaim: {claimName: %s}\n",
	    j->reports_claim);
}

int
kube_job_render(const struct kube_job *j, struct buf *out, char **cause)
{
	const char	*image = j->image != NULL ? j->image : KUBE_IMAGE;

	if (kube_job_check(j, cause) == -1)
		return -1;
	if (j->merge)
		kube_job_merge_pod(j, image, out);
	else
		kube_job_load(j, image, out);
	return 0;
}
