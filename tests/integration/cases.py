#!/usr/bin/python3
"""cases.py -- runs the declarative responder cases of tests/cases/.

Usage: cases.py --decoy PATH --work DIR [--list] CASE-OR-DIR...

Each case file (format: tests/cases/README.md) names a snapshot, optional
rules, transforms and responder options, the raw bytes to send on one
connection and the raw bytes expected back, how the connection must end
(close, reset, still open) and the chaos-log lines the case must add.
Cases with the same snapshot, rules, transforms and options share one
`decoy respond` (port 0, --port-file, polled readiness), run in file-name
order; the driver stops every responder it started, by PID.

Prints one TAP-style line per case, a diff in the case file's own
notation under each failure, and "# N cases, F failed".  Exit 0 all
passed, 1 a case failed, 2 a case file is malformed (file:line:col) or a
responder would not start.
"""
import difflib
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time

SECTIONS = ("snapshot", "rules", "transforms", "options", "fresh", "send",
            "expect", "end", "chaos-log", "xfail")
ENDS = ("close", "reset", "open")
MASKS = {"any": rb"[^\r\n]*", "num": rb"[0-9]+"}
# Options the driver owns: a case may not set them.
DRIVER_OPTIONS = ("--listen", "-l", "--port-file", "--chaos-log", "--rules",
                  "-r", "--transforms", "-T", "--transparent", "-t")
READ_TIMEOUT = 5.0      # for a byte the case waits for
OPEN_QUIET = 0.3        # `end open`: this long without bytes or a close
SEND_GAP = 0.02         # between two send sections (separate reads)
TRICKLE_GAP = 0.001     # between two bytes of a `send trickle`


class CaseError(Exception):
    """A malformed case: file, line, column and message."""

    def __init__(self, path, line, col, msg):
        Exception.__init__(self, "%s:%d:%d: %s" % (path, line, col, msg))


# --- parsing -------------------------------------------------------------

TOKEN = re.compile(rb"%([a-z]+)(%|\[)")


def parse_text(path, lineno, raw, allow_masks):
    """Decodes one line of a send/expect/chaos-log section into tokens:
    (b"lit", bytes) and (b"mask", name).  Returns (tokens, joined): joined
    is true when the line ended in a lone backslash (no line end)."""
    toks = []
    lit = bytearray()
    i = 0
    joined = False
    n = len(raw)
    while i < n:
        c = raw[i:i + 1]
        if c == b"\\":
            if i + 1 == n:
                joined = True
                break
            e = raw[i + 1:i + 2]
            simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0",
                      b"\\": b"\\", b"%": b"%"}
            if e in simple:
                lit += simple[e]
                i += 2
                continue
            if e == b"x":
                h = raw[i + 2:i + 4]
                if not re.fullmatch(rb"[0-9a-fA-F]{2}", h):
                    raise CaseError(path, lineno, i + 1,
                                    "\\x needs two hex digits")
                lit.append(int(h, 16))
                i += 4
                continue
            raise CaseError(path, lineno, i + 1,
                            "unknown escape \\%s" % e.decode("latin-1"))
        if c == b"%":
            m = TOKEN.match(raw, i)
            if m:
                name = m.group(1).decode()
                if name == "repeat" and m.group(2) == b"[":
                    rep = re.compile(rb"%repeat\[([0-9]+) x (.*?)\]%")
                    r = rep.match(raw, i)
                    if not r:
                        raise CaseError(path, lineno, i + 1,
                                        "bad %repeat[N x TEXT]%")
                    unit, j = parse_text(path, lineno, r.group(2), False)
                    if j or len(unit) != 1:
                        raise CaseError(path, lineno, i + 1,
                                        "bad %repeat text")
                    lit += unit[0][1] * int(r.group(1))
                    i = r.end()
                    continue
                if name in MASKS and m.group(2) == b"%":
                    if not allow_masks:
                        raise CaseError(path, lineno, i + 1,
                                        "%%%s%% is for expectations only"
                                        % name)
                    if lit:
                        toks.append((b"lit", bytes(lit)))
                        lit = bytearray()
                    toks.append((b"mask", name))
                    i = m.end()
                    continue
                raise CaseError(path, lineno, i + 1,
                                "unknown %%%s%s (a literal %% is \\%%)"
                                % (name, m.group(2).decode()))
        lit += c
        i += 1
    if lit:
        toks.append((b"lit", bytes(lit)))
    return toks, joined


def parse_bytes_section(path, sec, allow_masks, line_end=b"\r\n"):
    """The tokens of a send/expect section; each line ends in CRLF unless
    it ends in a lone backslash."""
    toks = []
    for lineno, raw in sec["lines"]:
        t, joined = parse_text(path, lineno, raw, allow_masks)
        toks.extend(t)
        if not joined:
            toks.append((b"lit", line_end))
    return toks


def load_ref(path, sec):
    """A snapshot/rules/transforms section: inline text, or one line
    `@FILE` naming a file relative to the case file's directory."""
    lines = [raw for _, raw in sec["lines"]]
    if len(lines) >= 1 and lines[0].startswith(b"@"):
        if len(lines) > 1 and any(x.strip() for x in lines[1:]):
            raise CaseError(path, sec["lines"][1][0], 1,
                            "text after an @FILE reference")
        ref = os.path.join(os.path.dirname(path),
                           lines[0][1:].strip().decode())
        try:
            with open(ref, "rb") as f:
                return f.read()
        except OSError as e:
            raise CaseError(path, sec["lines"][0][0], 2,
                            "%s: %s" % (ref, e.strerror))
    return b"".join(x + b"\n" for x in lines)


def parse_case(path):
    """Reads and checks one case file; returns a dict describing it."""
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise CaseError(path, data.count(b"\n") + 1, 1,
                        "the file must end with a newline")
    secs = []
    for lineno, raw in enumerate(data.split(b"\n")[:-1], 1):
        if raw.startswith(b"---"):
            m = re.fullmatch(rb"--- ([a-z-]+)((?: [a-z0-9=._-]+)*)", raw)
            if not m or m.group(1).decode() not in SECTIONS:
                raise CaseError(path, lineno, 1,
                                "bad section header (want `--- NAME`, NAME"
                                " one of %s)" % ", ".join(SECTIONS))
            secs.append({"name": m.group(1).decode(),
                         "args": m.group(2).decode().split(),
                         "line": lineno, "lines": []})
            continue
        if not secs:
            if raw.startswith(b"#") or not raw.strip():
                continue
            raise CaseError(path, lineno, 1,
                            "text before the first section (comments"
                            " start with #)")
        secs[-1]["lines"].append((lineno, raw))
    case = {"path": path, "steps": [],
            "name": os.path.join(os.path.basename(os.path.dirname(path)),
                                 os.path.basename(path)),
            "snapshot": None, "rules": b"", "transforms": b"",
            "options": [], "fresh": False, "end": None, "chaos": None,
            "xfail": None}
    seen = set()
    for sec in secs:
        name, args, line = sec["name"], sec["args"], sec["line"]
        once = ("snapshot", "rules", "transforms", "options", "fresh",
                "end", "chaos-log", "xfail")
        if name in once and name in seen:
            raise CaseError(path, line, 1, "a second `%s` section" % name)
        seen.add(name)
        if name not in ("send", "end") and args:
            raise CaseError(path, line, 5 + len(name),
                            "`%s` takes no arguments" % name)
        if name in ("send", "expect") and case["end"] is not None:
            raise CaseError(path, line, 1, "`%s` after `end`" % name)
        if name in ("snapshot", "rules", "transforms"):
            if not sec["lines"]:
                raise CaseError(path, line, 1, "empty `%s` section" % name)
            case[name] = load_ref(path, sec)
        elif name == "options":
            words = []
            for lineno, raw in sec["lines"]:
                try:
                    ws = shlex.split(raw.decode(), comments=True)
                except ValueError as e:
                    raise CaseError(path, lineno, 1, str(e))
                for w in ws:
                    if w.split("=")[0] in DRIVER_OPTIONS:
                        raise CaseError(path, lineno, 1,
                                        "%s is set by the driver (use"
                                        " the sections)" % w)
                words += ws
            case["options"] = words
        elif name == "xfail":
            why = b" ".join(raw.strip() for _, raw in sec["lines"]).strip()
            if not why:
                raise CaseError(path, line, 1,
                                "`xfail` needs the reason (the bug) as text")
            case["xfail"] = why.decode("utf-8", "replace")
        elif name == "fresh":
            if sec["lines"]:
                raise CaseError(path, sec["lines"][0][0], 1,
                                "`fresh` holds no text")
            case["fresh"] = True
        elif name == "send":
            if any(a != "trickle" for a in args):
                raise CaseError(path, line, 10, "send takes only `trickle`")
            toks = parse_bytes_section(path, sec, False)
            payload = b"".join(t[1] for t in toks)
            if not payload:
                raise CaseError(path, line, 1, "empty `send` section")
            case["steps"].append(("send", payload, "trickle" in args, line))
        elif name == "expect":
            toks = parse_bytes_section(path, sec, True)
            if not toks:
                raise CaseError(path, line, 1, "empty `expect` section")
            case["steps"].append(("expect", toks, None, line))
        elif name == "end":
            if len(args) != 1 or args[0] not in ENDS:
                raise CaseError(path, line, 1,
                                "want `--- end close`, `reset` or `open`")
            if any(raw.strip() for _, raw in sec["lines"]):
                raise CaseError(path, sec["lines"][0][0], 1,
                                "`end` holds no text")
            case["end"] = (args[0], line)
        elif name == "chaos-log":
            pats = []
            for lineno, raw in sec["lines"]:
                t, joined = parse_text(path, lineno, raw, True)
                if joined or not t:
                    raise CaseError(path, lineno, 1,
                                    "a chaos-log line is one whole line")
                pats.append((lineno, t))
            case["chaos"] = (line, pats)
    if case["snapshot"] is None:
        raise CaseError(path, 1, 1, "no `snapshot` section")
    if not any(s[0] == "send" for s in case["steps"]):
        raise CaseError(path, 1, 1, "no `send` section")
    if case["end"] is None:
        raise CaseError(path, len(data.split(b"\n")), 1,
                        "no `--- end close|reset|open` section")
    return case


def pattern_of(toks):
    return re.compile(b"".join(re.escape(t[1]) if t[0] == b"lit"
                               else MASKS[t[1]] for t in toks), re.S)


def literal_prefix(toks):
    out = b""
    for kind, v in toks:
        if kind != b"lit":
            break
        out += v
    return out


# --- rendering, for diffs --------------------------------------------------

def render_bytes(b):
    """Bytes in the case notation: one text line per CRLF-ended line, a
    trailing backslash on a last line without CRLF, escapes for the rest,
    long runs of one byte as %repeat[N x C]%."""
    out = []
    for i, part in enumerate(b.split(b"\r\n")):
        last = i == b.count(b"\r\n")
        if last and part == b"":
            break
        s = []
        j = 0
        while j < len(part):
            k = j
            while k < len(part) and part[k] == part[j]:
                k += 1
            ch = esc_byte(part[j])
            if k - j >= 16:
                s.append("%%repeat[%d x %s]%%" % (k - j, ch))
            else:
                s.append(ch * (k - j))
            j = k
        line = "".join(s)
        out.append(line + ("\\" if last else ""))
    return out


def esc_byte(c):
    if c == 0x5c:
        return "\\\\"
    if c == 0x25:
        return "\\%"
    if 0x20 <= c < 0x7f:
        return chr(c)
    return {0x0d: "\\r", 0x0a: "\\n", 0x09: "\\t"}.get(c, "\\x%02x" % c)


def render_tokens(toks):
    """The expected side: literal bytes rendered, masks kept as %name%."""
    b = bytearray()
    for kind, v in toks:
        if kind == b"lit":
            b += v
        else:
            b += b"\x01MASK" + v.encode() + b"\x01"
    lines = render_bytes(bytes(b))
    return [re.sub(r"\\x01MASK([a-z]+)\\x01", r"%\1%", x) for x in lines]


def diff(expected, got, label):
    d = list(difflib.unified_diff(expected, got, "expected " + label,
                                  "received", lineterm="", n=2))
    out = []
    for x in d[:80]:
        out.append(x if len(x) <= 240 else x[:240] + "...")
    if len(d) > 80:
        out.append("... (%d more diff lines)" % (len(d) - 80))
    return out


# --- running -----------------------------------------------------------------

class Conn:
    """One client connection and everything it has received."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.buf = b""
        self.eof = None          # None, "close" or "reset"

    def send(self, payload, trickle):
        chunks = [payload[i:i + 1] for i in range(len(payload))] \
            if trickle else [payload]
        for n, ch in enumerate(chunks):
            if n and trickle:
                time.sleep(TRICKLE_GAP)
            view = memoryview(ch)
            while view:
                try:
                    k = self.s.send(view)
                    view = view[k:]
                except BlockingIOError:
                    select.select([], [self.s], [], 1)
                except (BrokenPipeError, ConnectionResetError):
                    return "the responder closed the connection while" \
                        " the case was sending"
        return None

    def fill(self, deadline):
        """Reads what arrives before deadline; False at the deadline."""
        while self.eof is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return False
            try:
                d = self.s.recv(1 << 20)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                self.eof = "reset"
                return True
            if not d:
                self.eof = "close"
            self.buf += d
            return True
        return True

    def close(self):
        self.s.close()


def run_expect(conn, toks):
    """Reads until the expectation matches the start of what was
    received; consumes it.  Returns None or a failure text."""
    pat = pattern_of(toks)
    pre = literal_prefix(toks)
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        m = pat.match(conn.buf)
        if m:
            conn.buf = conn.buf[m.end():]
            return None
        k = min(len(pre), len(conn.buf))
        if conn.buf[:k] != pre[:k] or conn.eof is not None:
            # Settle: let the rest arrive, for a readable diff.
            q = time.monotonic() + 0.3
            while conn.eof is None and conn.fill(q):
                pass
            return "response differs (connection %s)" % (
                conn.eof or "still open")
        if not conn.fill(deadline):
            return "timed out after %.0f s waiting for the expected bytes" \
                % READ_TIMEOUT


def run_end(conn, how):
    if how == "open":
        conn.fill(time.monotonic() + OPEN_QUIET)
        if conn.buf:
            return "unexpected bytes after the expectations"
        if conn.eof is not None:
            return "connection %s, expected it to stay open" % (
                "closed" if conn.eof == "close" else "reset")
        return None
    deadline = time.monotonic() + READ_TIMEOUT
    while conn.eof is None:
        if not conn.fill(deadline):
            if conn.buf:
                return "unexpected bytes after the expectations"
            return "still open after %.0f s, expected a %s" % (
                READ_TIMEOUT, how)
    if conn.buf:
        return "unexpected bytes after the expectations (then %s)" \
            % conn.eof
    if conn.eof != how:
        return "connection %s, expected a %s" % (
            "closed" if conn.eof == "close" else "reset", how)
    return None


class Responder:
    """One `decoy respond` for a group of cases."""

    def __init__(self, decoy, work, n, case):
        self.dir = os.path.join(work, "g%d" % n)
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(work, "cases-g%d.log" % n)
        snap = self.write("snap.jsonl", case["snapshot"])
        port_file = os.path.join(self.dir, "port")
        for stale in (port_file, os.path.join(self.dir, "chaos.jsonl")):
            if os.path.exists(stale):
                os.unlink(stale)
        argv = [decoy, "respond", snap, "--listen", "127.0.0.1:0",
                "--port-file", port_file]
        self.chaos = None
        if case["rules"]:
            argv += ["--rules", self.write("rules.yaml", case["rules"])]
            self.chaos = os.path.join(self.dir, "chaos.jsonl")
            argv += ["--chaos-log", self.chaos]
        if case["transforms"]:
            argv += ["--transforms",
                     self.write("transforms.yaml", case["transforms"])]
        if "--workers" not in case["options"] and \
                "-w" not in case["options"]:
            argv += ["--workers", "1"]
        argv += case["options"]
        self.argv = argv
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(argv, stdout=lf, stderr=lf,
                                         stdin=subprocess.DEVNULL)
        self.port = None
        for _ in range(500):
            try:
                with open(port_file) as f:
                    t = f.read().strip()
                if t:
                    self.port = int(t)
                    break
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)

    def write(self, name, data):
        p = os.path.join(self.dir, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def chaos_size(self):
        try:
            return os.path.getsize(self.chaos) if self.chaos else 0
        except OSError:
            return 0

    def chaos_lines(self, since, want):
        """The complete chaos-log lines written after offset `since`,
        waiting briefly for `want` of them."""
        if not self.chaos:
            return []
        # Lines are written before the reply is sent; without any to
        # wait for, a short look catches a stray one.
        deadline = time.monotonic() + (2.0 if want else 0.05)
        while True:
            try:
                with open(self.chaos, "rb") as f:
                    f.seek(since)
                    lines = f.read().split(b"\n")[:-1]
            except OSError:
                lines = []
            if (want and len(lines) >= want) or \
                    time.monotonic() >= deadline:
                return lines
            time.sleep(0.02)

    def alive(self):
        """None if the responder still runs and answers a new connection,
        else why not."""
        if self.proc.poll() is not None:
            return "the responder exited (status %d)" % self.proc.returncode
        try:
            c = Conn(self.port)
        except OSError as e:
            return "the responder refused a new connection: %s" % e
        c.send(b"GET /__decoy_probe__ HTTP/1.1\r\nHost: decoy-probe\r\n"
               b"Connection: close\r\n\r\n", False)
        deadline = time.monotonic() + READ_TIMEOUT
        while not c.buf.startswith(b"HTTP/1.1 ") and c.eof is None and \
                c.fill(deadline):
            pass
        c.close()
        if not c.buf.startswith(b"HTTP/1.1 "):
            return "the responder no longer answers a new connection"
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_case(r, case):
    """Runs one case on responder r; returns a list of failure lines."""
    fails = []
    since = r.chaos_size()
    try:
        conn = Conn(r.port)
    except OSError as e:
        return ["connect: %s" % e]
    first = True
    for kind, payload, arg, line in case["steps"]:
        if kind == "send":
            if not first:
                time.sleep(SEND_GAP)
            first = False
            # A refused write is judged by the expectations that follow.
            conn.send(payload, arg)
            continue
        err = run_expect(conn, payload)
        if err:
            fails.append("%s:%d: %s" % (case["path"], line, err))
            fails += diff(render_tokens(payload), render_bytes(conn.buf),
                          "(line %d)" % line)
            conn.close()
            return fails
    how, line = case["end"]
    err = run_end(conn, how)
    if err:
        fails.append("%s:%d: %s" % (case["path"], line, err))
        if conn.buf:
            fails += ["extra bytes:"] + render_bytes(conn.buf)[:40]
    conn.close()
    want = case["chaos"][1] if case["chaos"] else []
    lines = r.chaos_lines(since, len(want)) if r.chaos else []
    if case["chaos"] is not None and r.chaos is None:
        fails.append("%s:%d: a chaos-log section needs a rules section"
                     % (case["path"], case["chaos"][0]))
    elif r.chaos is not None:
        for x in lines:
            try:
                json.loads(x)
            except ValueError as e:
                fails.append("%s: chaos-log line is not JSON (%s): %s"
                             % (case["path"], e, x[:200]))
        ok = len(lines) == len(want) and all(
            pattern_of(t).fullmatch(got) for (_, t), got in zip(want, lines))
        if not ok:
            where = case["chaos"][0] if case["chaos"] else case["end"][1]
            fails.append("%s:%d: chaos log differs (%d line(s) expected,"
                         " %d written)" % (case["path"], where, len(want),
                                           len(lines)))
            fails += diff([render_tokens(t)[0].rstrip("\\") if t else ""
                           for _, t in want],
                          [x.decode("utf-8", "replace") for x in lines],
                          "chaos log")
    err = r.alive()
    if err:
        fails.append("%s: after the case: %s" % (case["path"], err))
    return fails


def collect(args):
    files = []
    for a in args:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                files += [os.path.join(root, x) for x in names
                          if x.endswith(".case")]
        else:
            files.append(a)
    return sorted(files)


def main(argv):
    decoy = work = None
    listing = False
    rest = []
    i = 1
    while i < len(argv):
        if argv[i] == "--decoy":
            decoy = argv[i + 1]
            i += 2
        elif argv[i] == "--work":
            work = argv[i + 1]
            i += 2
        elif argv[i] == "--list":
            listing = True
            i += 1
        else:
            rest.append(argv[i])
            i += 1
    if not rest or (not listing and (not decoy or not work)):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    files = collect(rest)
    if not files:
        sys.stderr.write("cases.py: no .case files in %s\n" % " ".join(rest))
        return 2
    cases, bad = [], 0
    for f in files:
        try:
            cases.append(parse_case(f))
        except CaseError as e:
            print("not ok - %s: malformed: %s" % (os.path.basename(f), e))
            bad += 1
    if listing:
        for c in cases:
            print(c["path"])
        return 2 if bad else 0
    groups = {}
    order = []
    for c in cases:
        key = (c["snapshot"], c["rules"], c["transforms"],
               tuple(c["options"]), c["path"] if c["fresh"] else None)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(c)
    n = failed = 0
    for gi, key in enumerate(order):
        first = groups[key][0]
        r = Responder(decoy, work, gi, first)
        try:
            if r.port is None:
                for c in groups[key]:
                    n += 1
                    failed += 1
                    print("not ok %d - %s: the responder did not start"
                          " (%s; log %s)" % (n, c["name"],
                                             " ".join(r.argv), r.log))
                bad += 1
                continue
            for c in groups[key]:
                n += 1
                fails = run_case(r, c)
                died = any(": after the case: " in x for x in fails)
                if c["xfail"] is not None and not died:
                    if fails:
                        print("ok %d - %s # TODO known bug: %s"
                              % (n, c["name"], c["xfail"]))
                        for x in fails:
                            print("#   " + x)
                    else:
                        failed += 1
                        print("not ok %d - %s passes: remove its `xfail`"
                              " section (%s)" % (n, c["name"], c["xfail"]))
                elif fails:
                    failed += 1
                    print("not ok %d - %s" % (n, c["name"]))
                    for x in fails:
                        print("#   " + x)
                else:
                    print("ok %d - %s" % (n, c["name"]))
        finally:
            r.stop()
    print("# %d cases in %d responders, %d failed, %d malformed"
          % (n, len(order), failed, bad))
    sys.stdout.flush()
    if bad:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
