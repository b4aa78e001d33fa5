/*
 * snap.h -- snapshot codec: JSON Lines, one transaction per line
 * (man page decoy-snapshot(5), docs/design.md section 5).
 *
 * Decoding never passes a body through cJSON: bodies are read straight
 * from the JSON string ("body", any bytes that are valid UTF-8, NUL
 * included) or from base64 ("body_b64"), and written back the same way.
 * Members this version does not know are kept as their raw JSON text and
 * written back verbatim, so a rewrite loses nothing.
 */
#ifndef DECOY_SNAP_H
#define DECOY_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

#define SNAP_VERSION	1

enum snap_dir { SNAP_DIR_OUT = 0, SNAP_DIR_IN = 1 };

struct snap_header {
	char	*name;		/* NUL-terminated */
	char	*value;		/* NUL-terminated */
};

struct snap_req {
	char			*method;
	char			*target;	/* as recorded: origin- or absolute-form */
	char			*host;		/* NULL if not recorded */
	struct snap_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NUL-terminated past body_len; NULL if empty */
	size_t			 body_len;
	/* Trailer fields (HTTP/1.1 chunked trailers, h2 trailing HEADERS),
	 * like headers; never part of store below. */
	struct snap_header	*trailers;
	size_t			 ntrailers;
	/* 1: the body is gRPC messages, written as "grpc" (one view or
	 * bytes per message) where it frames; set when read that way. */
	int			 grpc;
	/*
	 * NULL, or one allocation holding the headers array and every
	 * string above but the body (a capture's copy of a parsed head):
	 * snap_txn_free() then frees it alone, so those members must not be
	 * freed or replaced one by one.
	 */
	char			*store;
};

struct snap_res {
	int			 status;
	char			*reason;	/* NULL if not recorded */
	struct snap_header	*headers;
	size_t			 nheaders;
	char			*body;
	size_t			 body_len;
	struct snap_header	*trailers;	/* as in snap_req */
	size_t			 ntrailers;
	int			 grpc;		/* as in snap_req */
	char			*store;		/* as in snap_req: reason, headers */
};

struct snap_txn {
	int		 v;
	char		*id;		/* NULL if absent */
	char		*ts;		/* ISO 8601, NULL if absent */
	enum snap_dir	 dir;
	char		*svc;		/* NULL if absent */
	char		*proto;		/* "http/1.1" if absent */
	int		 tls;
	char		*client;	/* NULL if absent */
	char		*server;	/* NULL if absent */
	struct snap_req	 req;
	int		 has_res;	/* 0: no "res" member (e.g. a failure) */
	struct snap_res	 res;
	int64_t		 start_us;	/* timing; -1 when absent */
	int64_t		 ttfb_us;
	int64_t		 total_us;
	/*
	 * What the recorders say about a transaction (decoy-snapshot(5)),
	 * written after the timing, before extra.  Write side only: the
	 * decoder does not interpret these members, it keeps them in extra
	 * as it read them.  error is borrowed (snap_txn_free leaves it).
	 */
	const char	*error;		/* "error": why it failed; NULL */
	int		 truncated;	/* "truncated": a body was cut ... */
	size_t		 truncated_req;	/* ... and these were the sizes */
	size_t		 truncated_res;
	int		 gap;		/* "gap": the capture missed bytes */
	int		 opaque;	/* "opaque": a tunnel not intercepted */
	uint64_t	 opaque_up;	/* ... and its bytes each way */
	uint64_t	 opaque_down;
	/*
	 * Raw JSON text of the members this version does not interpret
	 * ("tags" and any future field), as ",\"k\":v" repeated, or NULL.
	 * Written back verbatim after the known members.
	 */
	char		*extra;
	size_t		 line;		/* 1-based line it was read from, 0 if built */
	/*
	 * 1: every pointer above points into memory the reader owns
	 * (snap_chunk_next()); snap_txn_free() only clears the struct.
	 */
	int		 borrowed;
};

/*
 * The .proto descriptor set (protodesc.h) the codec uses for gRPC
 * messages from now on, or NULL (the default): snap_encode() writes a
 * message as its named view when the set knows the call's method (by
 * req.target) and the view is exact, and the decoders read named views
 * only with a set (without one, a named view is an error naming
 * --proto-set).  Set it before any reader or writer runs; the set stays
 * the caller's and must outlive their use.
 */
struct protodesc;
void	snap_set_protodesc(const struct protodesc *);
/* The set snap_set_protodesc() gave, or NULL (the transforms file
 * resolves gRPC field names with it). */
const struct protodesc	*snap_protodesc(void);

/* Zeroes a transaction (v = 1, timings -1, proto NULL). */
void	snap_txn_init(struct snap_txn *);
/* Frees every member; the struct itself stays the caller's. */
void	snap_txn_free(struct snap_txn *);

/*
 * Decodes one line (without its newline) into t, which is initialised
 * first.  Returns 0, or -1 with *cause = "column N: message" (allocated;
 * the column is the 1-based byte offset in the line).  On failure t holds
 * nothing that needs freeing.
 */
int	snap_decode_line(const char *line, size_t len, struct snap_txn *t,
	    char **cause);

/* Appends t as one JSON line, newline included. */
void	snap_encode(struct buf *, const struct snap_txn *t);

/*
 * Streaming reader.  path "-" reads stdin.  Blank lines are skipped; a
 * line longer than 64 MiB is an error (at its line and column 64 MiB + 1),
 * so /dev/zero or a binary file cannot exhaust memory.
 * snap_reader_next() returns 1 with *t filled (free it with
 * snap_txn_free), 0 at end of file, or -1 with *cause =
 * "FILE:LINE:COL: message".  A last line that lacks its newline and does
 * not parse is a write torn by a crash: it is skipped with a log_warn()
 * and reads as end of file.  Any other line that does not parse is an
 * error.
 */
struct snap_reader;
struct snap_reader	*snap_reader_open(const char *path, char **cause);
int	snap_reader_next(struct snap_reader *, struct snap_txn *t, char **cause);
void	snap_reader_close(struct snap_reader *);

/*
 * The same reader, a run of whole lines at a time, for loaders that
 * decode on several threads: snap_reader_chunk() returns 1 with *c filled
 * (about want bytes of whole lines, at least one; the last chunk may end
 * without a newline), 0 at end of file, or -1 with *cause (a read
 * error).  A line longer than 64 MiB ends the file: its chunk holds only
 * that error, which snap_chunk_next() returns at the line.  c is zeroed
 * before its first use, then given again: its buffers are reused.  Do
 * not mix with snap_reader_next().
 * A regular file is mapped (read only) up to its last newline, and a
 * chunk of it is the mapping's bytes, not a copy, cut at the last newline
 * before the want mark (only those bytes are read); what follows the last
 * newline, and any other input, is read(2) into c's own buffer.  A
 * chunk's bytes stay valid until snap_reader_close() at the latest; the
 * file must not shrink meanwhile.
 * The reader does not count lines: snap_chunk_count() lists c's lines and
 * returns how many it holds (the torn last line included), on any thread
 * (the one that decodes c takes the page faults), and the caller sets
 * c->first, the number of lines before c's in the file (the sum of the
 * counts of the chunks before it; snap_reader_chunk() sets 0), before the
 * first snap_chunk_next() of c.
 * snap_chunk_next() then decodes c's lines in order exactly as
 * snap_reader_next() does (1, 0 at the chunk's end, -1 with *cause; a
 * torn last line of the file is skipped with a warning); it may run on
 * any thread.  It decodes without an allocation per line, in place or
 * (a mapped chunk) into c's scratch buffer: *t borrows the chunk's bytes
 * (t->borrowed) and stays valid until the next snap_chunk_next() or
 * snap_chunk_free() of c; snap_txn_free(t) only clears it.  At a mapped
 * chunk's end its pages leave the process's resident set.
 * snap_chunk_free() frees c's buffers.
 */
struct snap_scratch;
struct snap_chunk {
	const char	*name;		/* the reader's, for messages */
	char		*data;		/* mapped: the reader's, read only */
	size_t		 cap;		/* of data when it is c's own */
	size_t		 len;
	size_t		 off;
	size_t		 first;		/* the file's lines before c's */
	size_t		 lineno;	/* of the last line decoded, in c */
	size_t		 nlines;	/* snap_chunk_count() */
	int		 listed;	/* ... done */
	int		 stop;		/* a torn line ended the file */
	int		 mapped;	/* data is in the reader's mapping */
	int		 released;	/* ... and its pages were let go */
	char		*err;		/* "COL: message" of a too long line */
	char		*out;		/* mapped: the decoded strings */
	size_t		 outcap;
	struct snap_scratch *scratch;	/* what a decoded line borrows */
};
/* The mapped bytes snap_reader_chunk() has not cut yet (0: none, or the
 * input is not mapped), for a loader that cuts its last chunks smaller. */
size_t	snap_reader_left(struct snap_reader *);
int	snap_reader_chunk(struct snap_reader *, size_t want,
	    struct snap_chunk *c, char **cause);
size_t	snap_chunk_count(struct snap_chunk *);
int	snap_chunk_next(struct snap_chunk *, struct snap_txn *t, char **cause);
void	snap_chunk_free(struct snap_chunk *);

/*
 * The output side every snapshot writer shares (the recorders, split,
 * import): an O_APPEND descriptor that never keeps a torn line.
 *
 * snap_out_open() opens path ("-": stdout).  A file it creates is mode
 * 0600: a snapshot holds Authorization headers, cookies and bodies.  An
 * existing file keeps its mode, with a warning when group or others may
 * read it.  Without append the file is truncated.  With append, a last
 * line that lacks its newline (a writer died, or its disk filled, inside
 * write(2)) is mended first: one that parses gets its newline, one that
 * does not is cut away, and either is logged (log_warn) naming the
 * bytes.  0, or -1 with *cause naming the path.
 *
 * snap_out_write() appends whole lines (buf[len - 1] is a newline).
 * When the file takes only part of them (ENOSPC, EDQUOT, EIO, EFBIG) the
 * partial line is cut off again with ftruncate(2), so the file ends with
 * the last line written whole.  Returns the number of bytes stored, a
 * prefix of whole lines (len when all went), with *err 0 or the errno of
 * the failure.  If the cut itself fails (an append-only file) the next
 * write starts on a fresh line.
 */
struct snap_out {
	int	 fd;
	int	 owned;		/* not stdout: closed by snap_out_close */
	int	 regular;	/* a regular file: a torn line can be cut */
	int	 torn;		/* the file ends inside a line */
	char	*name;		/* for messages */
};

int	snap_out_open(struct snap_out *, const char *path, int append,
	    char **cause);
size_t	snap_out_write(struct snap_out *, const char *buf, size_t len,
	    int *err);
/* Closes (unless stdout) and frees the name; 0, or -1 with *cause. */
int	snap_out_close(struct snap_out *, char **cause);

/*
 * Appending writer on a snap_out.  Each write is one complete line in one
 * write(2), so a reader never sees half a transaction unless the process
 * dies inside write(2); a write that fails part-way leaves no torn line.
 */
struct snap_writer;
struct snap_writer	*snap_writer_open(const char *path, int append,
			    char **cause);
int	snap_writer_write(struct snap_writer *, const struct snap_txn *,
	    char **cause);
int	snap_writer_close(struct snap_writer *, char **cause);

/* True if buf[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int	utf8_is_valid(const char *buf, size_t len);

const char	*snap_dir_name(enum snap_dir);

/*
 * Appends the session t belongs to: its tags.session member (a string),
 * else its client address, else nothing.  The generator replays a
 * session's transactions in order on one connection and the analyzer
 * follows values within a session.  scratch is a buffer the caller
 * keeps between calls (no allocation per call once it has grown).
 */
void	snap_txn_session(struct buf *out, const struct snap_txn *t,
	    struct buf *scratch);

#endif
