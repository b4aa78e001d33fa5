#!/usr/bin/python3
# grpc-chaos.py -- a grpcio server and client (raw bytes, no generated
# code) for t-respond-grpc.sh: the calls a recording holds, then each call
# again with an x-fault header naming the rule that should fire, the
# status code, details and message arrival times the client saw.
#
#   grpc-chaos.py server PORTFILE   serves test.Chaos on 127.0.0.1:0
#   grpc-chaos.py record PORT       the calls to record (one of each)
#   grpc-chaos.py call PORT KIND FAULT   one call with x-fault: FAULT;
#                                   KIND unary or stream; prints
#                                   "CODE DETAILS|messages as hex|gaps ms"
#   grpc-chaos.py race PORT         a slow and a fast call at once on one
#                                   channel: prints "fast-first" or not
#
# Responses are valid protobuf (field 1 varint, field 2 string); the
# client parses them with google.protobuf (Empty keeps unknown fields), so
# a truncated protobuf is a deserialisation error.
import os
import sys
import time
from concurrent import futures

import grpc

SVC = 'test.Chaos'
UNARY_RES = b'\x08\x2a\x12\x02ok'


def stream_res(i):
    return b'\x08' + bytes([i]) + b'\x12\x03msg'


def unary(req, ctx):
    return UNARY_RES


def stream(req, ctx):
    for i in range(4):
        yield stream_res(i)


def serve(portfile):
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SVC, {
        'Unary': grpc.unary_unary_rpc_method_handler(unary),
        'Stream': grpc.unary_stream_rpc_method_handler(stream)}),))
    port = srv.add_insecure_port('127.0.0.1:0')
    srv.start()
    tmp = portfile + '.tmp'
    print(port, file=open(tmp, 'w'), flush=True)
    os.replace(tmp, portfile)
    srv.wait_for_termination()


def parse(b):
    # A protobuf parser that keeps what it does not know: a truncated
    # message raises, and grpcio reports INTERNAL.
    from google.protobuf import empty_pb2
    m = empty_pb2.Empty()
    m.ParseFromString(b)
    return b


def channel(port):
    ch = grpc.insecure_channel('127.0.0.1:' + port)
    grpc.channel_ready_future(ch).result(timeout=10)
    return ch


def call(port, kind, fault):
    ch = channel(port)
    md = (('x-fault', fault),)
    got, times = [], []
    t0 = time.monotonic()
    code, details = 'OK', ''
    try:
        if kind == 'unary':
            got.append(ch.unary_unary('/%s/Unary' % SVC,
                       response_deserializer=parse)(b'\x08\x01', timeout=10,
                                                   metadata=md))
            times.append(time.monotonic())
        else:
            for m in ch.unary_stream('/%s/Stream' % SVC,
                                     response_deserializer=parse)(
                    b'\x08\x02', timeout=10, metadata=md):
                got.append(m)
                times.append(time.monotonic())
    except grpc.RpcError as e:
        code, details = e.code().name, e.details() or ''
    gaps = []
    prev = t0
    for t in times:
        gaps.append('%d' % ((t - prev) * 1000))
        prev = t
    print('%s %s|%s|%s' % (code, details, ','.join(
        'none' if x is None else x.hex() for x in got),
                           ','.join(gaps)))


def record(port):
    ch = channel(port)
    print(ch.unary_unary('/%s/Unary' % SVC)(b'\x08\x01', timeout=10).hex())
    print(','.join(m.hex() for m in ch.unary_stream('/%s/Stream' % SVC)(
        b'\x08\x02', timeout=10)))


def race(port):
    ch = channel(port)
    u = ch.unary_unary('/%s/Unary' % SVC)
    done = []
    slow = u.future(b'\x08\x01', timeout=10, metadata=(('x-fault', 'slow'),))
    slow.add_done_callback(lambda f: done.append('slow'))
    time.sleep(0.1)
    fast = u.future(b'\x08\x01', timeout=10, metadata=(('x-fault', 'none'),))
    fast.add_done_callback(lambda f: done.append('fast'))
    fast.result()
    slow.result()
    time.sleep(0.05)
    print('fast-first' if done[:1] == ['fast'] else 'order ' + ','.join(done))


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        serve(sys.argv[2])
    elif sys.argv[1] == 'record':
        record(sys.argv[2])
    elif sys.argv[1] == 'race':
        race(sys.argv[2])
    else:
        call(sys.argv[2], sys.argv[3], sys.argv[4])
