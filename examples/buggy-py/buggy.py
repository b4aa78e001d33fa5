#!/usr/bin/python3
"""buggy.py -- a second service with planted bugs for `decoy fuzz`, in
Python (the standard library's http.server and json: another HTTP parser
and another JSON parser than examples/buggy's).  Its normal traffic is
corpora/buggy-py/; mutating it triggers the bugs:

  POST /orders  {"sku":"a-1","qty":2,"price":150,"meta":{"tag":"x"}}
    BUG 500 KeyError: a missing sku, qty or price is not handled
    BUG 500 TypeError: a qty or price that is not a number
    BUG 500 OverflowError: qty * price above 2^31-1 (the ledger's int32)
    BUG 500 IndexError: meta nested 17 to 64 levels deep (the indexer's
        path stack holds 16; deeper than 64 gets a 400)
    BUG crash: a qty below -100 reaches an assertion that aborts the
        process (SIGABRT)
  GET /orders?limit=10
    BUG 500 ValueError: a limit that is not an integer
  GET /health   no bug

Every 500 carries a Python traceback (its last line names the exception,
with the values in it).  http.server answers garbage as it always does --
501 for a method it has no handler for, a bare HTTP/0.9 reply to a
request line without a version or a bad version, 400 otherwise -- which
decoy fuzz must not report.  --fixed turns every bug into a 400.

usage: buggy.py [--fixed] --port N
"""
import http.server
import json
import os
import sys
import traceback
import urllib.parse

FIXED = "--fixed" in sys.argv


def depth(v):
    """Iterative: no RecursionError (an unplanned bug) however deep the
    nesting json.loads let through."""
    best, todo = 0, [(v, 0)]
    while todo:
        x, d = todo.pop()
        if isinstance(x, (dict, list)):
            d += 1
            best = max(best, d)
            todo.extend((y, d) for y in
                        (x.values() if isinstance(x, dict) else x))
    return best


def index_paths(v, stack):
    """The planted moderate-depth bug: a 16-level path stack."""
    if isinstance(v, (dict, list)):
        if len(stack) >= 16:
            raise IndexError("path stack overflow at depth %d" % len(stack))
        items = v.items() if isinstance(v, dict) else enumerate(v)
        for k, x in items:
            stack.append(k)
            index_paths(x, stack)
            stack.pop()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None, text=None):
        body = text.encode() if text is not None else \
            json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text is not None
                         else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def guarded(self, fn):
        try:
            fn()
        except Exception:
            if FIXED:
                self.reply(400, {"error": "bad_request"})
            else:
                self.reply(500, text=traceback.format_exc())

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/health":
            return self.reply(200, {"status": "ok"})
        if u.path != "/orders":
            return self.reply(404, {"error": "not_found"})

        def list_orders():
            q = urllib.parse.parse_qs(u.query)
            limit = int(q.get("limit", ["10"])[0])
            self.reply(200, {"orders": [], "limit": limit})
        self.guarded(list_orders)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if urllib.parse.urlsplit(self.path).path != "/orders":
            return self.reply(404, {"error": "not_found"})
        try:
            o = json.loads(raw)
        except (ValueError, RecursionError):
            return self.reply(400, {"error": "invalid_json"})
        if not isinstance(o, dict):
            return self.reply(400, {"error": "invalid_order"})

        def create():
            sku, qty, price = o["sku"], o["qty"], o["price"]
            # Each operand is used as a number before they meet (the
            # planted TypeError): "2" * 4294967296 would first build a
            # 4 GiB string, an unplanned hang of the whole service.
            total = (qty + 0) * (price + 0)
            if isinstance(qty, (int, float)) and qty < -100:
                if not FIXED:
                    os.abort()
                raise ValueError("negative quantity")
            if total > 2**31 - 1:
                raise OverflowError("integer overflow: %d > 2147483647"
                                    % total)
            d = depth(o.get("meta"))
            if d > 64:
                return self.reply(400, {"error": "too_deep"})
            index_paths(o.get("meta"), [])
            self.reply(201, {"id": "o-1", "sku": sku, "total": total})
        self.guarded(create)


def main():
    port = int(sys.argv[sys.argv.index("--port") + 1])
    sys.setrecursionlimit(10000)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


main()
