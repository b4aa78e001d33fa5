#!/usr/bin/python3
# grpc-peer.py -- a grpcio server and client with raw-bytes handlers (no
# generated code), for t-record-grpc.sh.
#
#   grpc-peer.py server PORTFILE      serves test.Echo on 127.0.0.1:0
#   grpc-peer.py client PORT MODE     calls every method, prints a transcript
#   grpc-peer.py hang PORT            calls test.Echo/Hang (5 s) with a token
#   grpc-peer.py call PORT HEX        calls test.Echo/Unary with those bytes
#
# MODE "live": the bidi call is ping-pong (each message sent only after
# the answer to the previous one came: it can only finish if the server's
# first message gets through before the client's last); "eager": every
# message sent at once (a replay answers a whole call).
import hashlib
import queue
import sys
import threading
from concurrent import futures

import grpc

SVC = 'test.Echo'


def unary(req, ctx):
    if req == b'fail':
        ctx.set_trailing_metadata((('x-why', 'asked'),))
        ctx.abort(grpc.StatusCode.NOT_FOUND, 'no such thing')
    ctx.set_trailing_metadata((('x-trail', 'u1'),))
    return req + b'!'


def hang(req, ctx):
    import time
    time.sleep(5)
    return req


def server_stream(req, ctx):
    for i in range(3):
        yield req + b'#' + bytes([0x30 + i]) + b'\x00\xff'


def client_stream(reqs, ctx):
    return b'|'.join(reqs)


def bidi(reqs, ctx):
    for r in reqs:
        yield b're:' + r


def serve(portfile):
    h = grpc.method_handlers_generic_handler(SVC, {
        'Unary': grpc.unary_unary_rpc_method_handler(unary),
        'Hang': grpc.unary_unary_rpc_method_handler(hang),
        'ServerStream': grpc.unary_stream_rpc_method_handler(server_stream),
        'ClientStream': grpc.stream_unary_rpc_method_handler(client_stream),
        'Bidi': grpc.stream_stream_rpc_method_handler(bidi),
    })
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    srv.add_generic_rpc_handlers((h,))
    port = srv.add_insecure_port('127.0.0.1:0')
    srv.start()
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % port)
    import os
    os.rename(portfile + '.tmp', portfile)
    srv.wait_for_termination()


def show(name, fn):
    try:
        out = repr(fn())
        if len(out) > 100:
            out = out[:60] + '... sha256=' + \
                hashlib.sha256(out.encode()).hexdigest()[:16]
        print(name, 'OK', out)
    except grpc.RpcError as e:
        print(name, e.code(), repr(e.details()))


def pingpong(stub, msgs):
    q = queue.Queue()

    def gen():
        while True:
            m = q.get()
            if m is None:
                return
            yield m
    q.put(msgs[0])
    call = stub(gen(), timeout=10)
    got = []
    for i, r in enumerate(call):
        got.append(r)
        q.put(msgs[i + 1] if i + 1 < len(msgs) else None)
    return got


def client(port, mode):
    ch = grpc.insecure_channel('127.0.0.1:' + port)
    grpc.channel_ready_future(ch).result(timeout=10)
    u = ch.unary_unary('/%s/Unary' % SVC)
    ss = ch.unary_stream('/%s/ServerStream' % SVC)
    cs = ch.stream_unary('/%s/ClientStream' % SVC)
    bd = ch.stream_stream('/%s/Bidi' % SVC)
    msgs = [b'one', b'two\x00', b'three' * 1000]

    def unary_with_trailers():
        r, call = u.with_call(b'\x08\x96\x01', timeout=10)
        return r, [tuple(m) for m in call.trailing_metadata()]
    show('unary', unary_with_trailers)
    show('unary-fail', lambda: u(b'fail', timeout=10))
    show('server-stream', lambda: list(ss(b'abc', timeout=10)))
    show('client-stream', lambda: cs(iter(msgs), timeout=10))
    if mode == 'live':
        show('bidi', lambda: pingpong(bd, msgs))
    else:
        show('bidi', lambda: list(bd(iter(msgs), timeout=10)))


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        serve(sys.argv[2])
    elif sys.argv[1] == 'call':
        ch = grpc.insecure_channel('127.0.0.1:' + sys.argv[2])
        show('call', lambda: ch.unary_unary('/%s/Unary' % SVC)(
            bytes.fromhex(sys.argv[3]), timeout=10))
    elif sys.argv[1] == 'hang':
        ch = grpc.insecure_channel('127.0.0.1:' + sys.argv[2])
        show('hang', lambda: ch.unary_unary('/%s/Hang' % SVC)(
            b'x', timeout=10, metadata=(('authorization', 'Bearer s3cret'),)))
    else:
        client(sys.argv[2], sys.argv[3])
