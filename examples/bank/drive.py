#!/usr/bin/python3
"""drive.py -- the fixed traffic of the bank example's recording.

usage: drive.py HOST PORT        (BANK_ADMIN_TOKEN: an admin JWT, from
                                  `bank mint-admin-token`)

Plays a real client of bank: four user sessions (alice twice, on two
devices, bob and carol), each on ONE kept-alive connection so that the
recorder's client address names the session, interleaved step by step;
plus a few one-request connections (wrong passwords, no token, a bad body)
and an operator's audit with a self-minted admin token.  Every status is
checked, and so are the values a client relies on (the Location of a new
transfer, a transfer read back by the id bank issued, the audit count), so
a change in the services' behaviour fails the recording instead of hiding
in it.  Uses the standard library only (http.client).
"""

import datetime
import http.client
import json
import os
import sys
import time

# A person's pause between two clicks, so that the recording's timestamps
# spread over a few seconds as a real recording's do (this is pacing, not
# synchronisation: every answer is awaited before the next request).
THINK_SECONDS = 0.04


class DriveError(Exception):
    pass


def client_time(skew_seconds=0):
    """Now as a browser's Date.toISOString() writes it, optionally off."""
    t = datetime.datetime.now(datetime.timezone.utc)
    t += datetime.timedelta(seconds=skew_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class Session:
    """One client connection, kept alive for all its requests."""

    def __init__(self, name, host, port):
        self.name = name
        self.conn = http.client.HTTPConnection(host, port, timeout=10)
        self.local = None
        self.token = None
        self.transfers = []     # (id, to, amount) as bank issued them
        self.count = 0

    def request(self, want, method, path, body=None, token=None,
                skew=0, raw=None):
        headers = {"Accept": "application/json",
                   "User-Agent": "bank-client/1.0 (" + self.name + ")"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
            headers["X-Client-Time"] = client_time(skew)
        data = None
        if raw is not None:
            data = raw.encode()
        elif body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        payload = res.read()
        self.count += 1
        # One connection per session: the recorder's client address is
        # what tells sessions apart, so it must never change.
        if self.conn.sock is None:
            raise DriveError("%s: %s %s: the server closed the connection"
                             % (self.name, method, path))
        local = self.conn.sock.getsockname()
        if self.local is None:
            self.local = local
        elif local != self.local:
            raise DriveError("%s: connection changed (%s -> %s)" %
                             (self.name, self.local, local))
        if res.status != want:
            raise DriveError("%s: %s %s: got %d, want %d: %s" %
                             (self.name, method, path, res.status, want,
                              payload[:200]))
        try:
            doc = json.loads(payload) if payload else None
        except ValueError:
            raise DriveError("%s: %s %s: not JSON: %s" %
                             (self.name, method, path, payload[:200]))
        return res, doc

    def login(self, user, password):
        _, doc = self.request(200, "POST", "/login",
                              {"user": user, "password": password})
        if not doc.get("token") or not doc.get("expires_at"):
            raise DriveError("%s: login answered %s" % (self.name, doc))
        self.token = doc["token"]

    def balance(self, account, want=200, skew=0):
        _, doc = self.request(want, "GET", "/accounts/%s/balance" % account,
                              token=self.token, skew=skew)
        if want == 200 and (doc.get("account") != account or
                            not isinstance(doc.get("balance"), int)):
            raise DriveError("%s: balance answered %s" % (self.name, doc))
        return doc

    def transfer(self, to, amount, want=201):
        res, doc = self.request(want, "POST", "/transfers",
                                {"to": to, "amount": amount},
                                token=self.token)
        if want != 201:
            return None
        tid = doc.get("id", "")
        if (not tid.startswith("tr_") or doc.get("to") != to or
                doc.get("amount") != amount or
                res.getheader("Location") != "/transfers/" + tid):
            raise DriveError("%s: transfer answered %s (Location %s)" %
                             (self.name, doc, res.getheader("Location")))
        self.transfers.append((tid, to, amount))
        return tid

    def read(self, tid, want=200):
        _, doc = self.request(want, "GET", "/transfers/" + tid,
                              token=self.token)
        if want == 200:
            mine = [t for t in self.transfers if t[0] == tid]
            if not mine or doc.get("id") != tid or \
                    doc.get("amount") != mine[0][2]:
                raise DriveError("%s: read %s answered %s" %
                                 (self.name, tid, doc))

    def close(self):
        self.conn.close()


# Shared between sessions: carol probes an id that alice was given.
issued = {}


def alice_laptop(s):
    s.login("alice", "wonderland")
    yield
    s.balance("acct-alice")
    yield
    for to, amount in (("acct-bob", 1500), ("acct-carol", 2500),
                       ("acct-bob", 990)):
        issued.setdefault("alice", s.transfer(to, amount))
        yield
    for tid, _, _ in list(s.transfers):
        s.read(tid)
        yield
    s.balance("acct-alice")
    yield


def bob(s):
    s.login("bob", "builder")
    yield
    s.balance("acct-bob")
    yield
    for to, amount in (("acct-alice", 700), ("acct-carol", 1200),
                       ("acct-carol", 250)):
        s.transfer(to, amount)
        yield
    for tid, _, _ in list(s.transfers):
        s.read(tid)
        yield
    # An id that was never issued.
    s.read("tr_00000000000000000000000000000000", want=404)
    yield
    # A client whose clock is a quarter of an hour behind.
    s.balance("acct-bob", want=400, skew=-900)
    yield
    # Someone else's balance, and a transfer to oneself.
    s.balance("acct-alice", want=403)
    yield
    s.transfer("acct-bob", 100, want=422)
    yield
    s.balance("acct-bob")
    yield


def carol(s):
    s.request(401, "POST", "/login", {"user": "carol", "password": "singin"})
    yield
    s.login("carol", "singing")
    yield
    s.balance("acct-carol")
    yield
    s.transfer("acct-alice", 300)
    yield
    s.transfer("acct-bob", 50000, want=409)     # more than she has
    yield
    for tid, _, _ in list(s.transfers):
        s.read(tid)
        yield
    # alice's transfer: not carol's to see (404, not 403).
    s.read(issued["alice"], want=404)
    yield
    # A user's token is no admin token.
    s.request(401, "GET", "/admin/audit", token=s.token)
    yield
    s.balance("acct-carol")
    yield


def alice_phone(s):
    s.login("alice", "wonderland")
    yield
    for to, amount in (("acct-carol", 400), ("acct-bob", 800)):
        s.transfer(to, amount)
        yield
    for tid, _, _ in list(s.transfers):
        s.read(tid)
        yield
    s.read(s.transfers[0][0])                   # pulled to refresh
    yield
    s.balance("acct-alice")
    yield


def interleave(steps):
    """Advances each session by one request in turn until all are done."""
    live = list(steps)
    while live:
        for g in list(live):
            try:
                next(g)
            except StopIteration:
                live.remove(g)
            time.sleep(THINK_SECONDS)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: drive.py HOST PORT\n")
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    admin_token = os.environ.get("BANK_ADMIN_TOKEN", "")
    if not admin_token:
        sys.stderr.write("drive.py: BANK_ADMIN_TOKEN is not set\n")
        return 2
    sessions = []

    def session(name):
        s = Session(name, host, port)
        sessions.append(s)
        return s

    try:
        # Strangers first: a wrong password, an unknown user.
        s = session("stranger")
        s.request(401, "POST", "/login",
                  {"user": "alice", "password": "password1"})
        s.request(401, "POST", "/login",
                  {"user": "mallory", "password": "wonderland"})
        s.close()

        users = [session("alice-laptop"), session("bob"), session("carol"),
                 session("alice-phone")]
        interleave([alice_laptop(users[0]), bob(users[1]),
                    carol(users[2]), alice_phone(users[3])])
        for u in users:
            u.close()

        # A script without a token, and a broken client.
        s = session("script")
        s.request(401, "GET", "/accounts/acct-bob/balance")
        s.request(400, "POST", "/login", raw='{"user":"bob",')
        s.close()

        # The operator's audit, with a token minted by the operator.
        s = session("operator")
        _, doc = s.request(200, "GET", "/admin/audit", token=admin_token)
        posted = sum(len(u.transfers) for u in users)
        if doc != {"transfers": posted}:
            raise DriveError("audit answered %s, want %d transfers" %
                             (doc, posted))
        s.close()
    except (DriveError, OSError, http.client.HTTPException) as e:
        sys.stderr.write("drive.py: %s\n" % e)
        return 1
    total = sum(s.count for s in sessions)
    print("drive.py: %d requests in %d connections (%s)" %
          (total, len(sessions),
           ", ".join("%s %d" % (s.name, s.count) for s in sessions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
