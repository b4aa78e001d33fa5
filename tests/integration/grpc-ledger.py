#!/usr/bin/python3
# grpc-ledger.py -- a grpcio server and client for t-grpc-transforms.sh
# and bench/grpc-transforms.sh, with messages from protoc-generated code
# (ledger_pb2, made from ledger.proto by the caller into the directory
# named by $LEDGER_PB): every call carries a fresh
# request id (UUID) and the send time (epoch ms) in a nested Meta
# message, so no two runs send the same bytes.
#
#   grpc-ledger.py server PORTFILE   serves bank.Ledger on 127.0.0.1:0:
#                                    Hello answers "hello NAME"; Open
#                                    issues a new account id (random);
#                                    Post takes only an account Open
#                                    issued in this server's life
#   grpc-ledger.py hello PORT NAME   one Hello call; prints "OK GREETING"
#                                    or "CODE DETAILS"
#   grpc-ledger.py session PORT OWNER   Open, then Post 100 to the new
#                                    account; prints each call's outcome
import os
import secrets
import sys
import time
import uuid
from concurrent import futures

import grpc

sys.path.insert(0, os.environ['LEDGER_PB'])
import ledger_pb2 as pb  # noqa: E402

SVC = 'bank.Ledger'
accounts = {}


def hello(req, ctx):
    return pb.HelloRes(greeting='hello ' + req.name)


def open_(req, ctx):
    acct = 'acct-' + secrets.token_hex(8)
    accounts[acct] = 0
    return pb.OpenRes(account=acct, owner=req.owner)


def post(req, ctx):
    if req.account not in accounts:
        ctx.abort(grpc.StatusCode.NOT_FOUND, 'no account ' + req.account)
    accounts[req.account] += req.amount
    return pb.PostRes(account=req.account, balance=accounts[req.account])


def serve(portfile):
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    h = {
        'Hello': grpc.unary_unary_rpc_method_handler(
            hello, request_deserializer=pb.HelloReq.FromString,
            response_serializer=pb.HelloRes.SerializeToString),
        'Open': grpc.unary_unary_rpc_method_handler(
            open_, request_deserializer=pb.OpenReq.FromString,
            response_serializer=pb.OpenRes.SerializeToString),
        'Post': grpc.unary_unary_rpc_method_handler(
            post, request_deserializer=pb.PostReq.FromString,
            response_serializer=pb.PostRes.SerializeToString),
    }
    srv.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SVC, h),))
    port = srv.add_insecure_port('127.0.0.1:0')
    srv.start()
    tmp = portfile + '.tmp'
    print(port, file=open(tmp, 'w'), flush=True)
    os.replace(tmp, portfile)
    srv.wait_for_termination()


def meta():
    return pb.Meta(request_id=str(uuid.uuid4()),
                   sent_ms=int(time.time() * 1000))


def stub(ch, name, req, res):
    return ch.unary_unary('/%s/%s' % (SVC, name),
                          request_serializer=req.SerializeToString,
                          response_deserializer=res.FromString)


def outcome(f):
    try:
        return 'OK ' + f()
    except grpc.RpcError as e:
        return '%s %s' % (e.code().name, e.details() or '')


def channel(port):
    ch = grpc.insecure_channel('127.0.0.1:' + port)
    grpc.channel_ready_future(ch).result(timeout=10)
    return ch


def hello_call(port, name):
    ch = channel(port)
    call = stub(ch, 'Hello', pb.HelloReq, pb.HelloRes)
    print(outcome(lambda: call(pb.HelloReq(meta=meta(), name=name),
                               timeout=10).greeting))


def session(port, owner):
    ch = channel(port)
    op = stub(ch, 'Open', pb.OpenReq, pb.OpenRes)
    po = stub(ch, 'Post', pb.PostReq, pb.PostRes)
    got = {}

    def do_open():
        got['acct'] = op(pb.OpenReq(meta=meta(), owner=owner),
                         timeout=10).account
        return 'account issued'
    print('open', outcome(do_open))

    def do_post():
        r = po(pb.PostReq(meta=meta(), account=got.get('acct', ''),
                          amount=100), timeout=10)
        return 'balance %d' % r.balance
    print('post', outcome(do_post))


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        serve(sys.argv[2])
    elif sys.argv[1] == 'hello':
        hello_call(sys.argv[2], sys.argv[3])
    else:
        session(sys.argv[2], sys.argv[3])
