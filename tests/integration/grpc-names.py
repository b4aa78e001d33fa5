#!/usr/bin/python3
# grpc-names.py -- a grpcio server and client of shop.Users
# (tests/proto/shop.proto), with message classes made at run time from
# the descriptor set tests/proto/set.pb (no generated code), for
# t-grpc-names.sh.
#
#   grpc-names.py SET server PORTFILE   serves shop.Users on 127.0.0.1:0
#   grpc-names.py SET client PORT [ID]  calls Get and Watch with user ID
#                                       (default 7); prints each answer's
#                                       bytes as hex, and its status
import sys
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def classes(path):
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(path, 'rb').read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    get = getattr(message_factory, 'GetMessageClass', None)
    if get is None:
        fac = message_factory.MessageFactory(pool)
        get = fac.GetPrototype
    return {n: get(pool.FindMessageTypeByName('shop.' + n))
            for n in ('GetUser', 'User', 'Session')}


def serve(c, portfile):
    def get(raw, ctx):
        req = c['GetUser'].FromString(raw)
        u = c['User'](id=req.id, name='Zoë', kind=1, ids=[1, 2, 300],
                      email='z@example.com', delta=-2, big_delta=-5,
                      ratio=0.25, weight=1.5, blob=b'\x00\xff', ok=True,
                      session_id=19, tags=['a', 'b'])
        u.scores['x'] = 3
        u.session.token = req.session.token or 'none'
        u.session.expires = 1700000000000
        u.history.add(token='h1')
        return u.SerializeToString()

    def watch(raw, ctx):
        req = c['GetUser'].FromString(raw)
        for i in range(3):
            yield c['Session'](token='t%d-%d' % (req.id, i),
                               expires=i).SerializeToString()

    h = grpc.method_handlers_generic_handler('shop.Users', {
        'Get': grpc.unary_unary_rpc_method_handler(get),
        'Watch': grpc.unary_stream_rpc_method_handler(watch),
    })
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    srv.add_generic_rpc_handlers((h,))
    port = srv.add_insecure_port('127.0.0.1:0')
    srv.start()
    import os
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % port)
    os.rename(portfile + '.tmp', portfile)
    srv.wait_for_termination()


def client(c, port, uid):
    ch = grpc.insecure_channel('127.0.0.1:' + port)
    grpc.channel_ready_future(ch).result(timeout=10)
    req = c['GetUser'](id=uid)
    req.session.token = 'abc'
    raw = req.SerializeToString()
    try:
        r = ch.unary_unary('/shop.Users/Get')(raw, timeout=10)
        print('get OK', r.hex(), c['User'].FromString(r).name)
    except grpc.RpcError as e:
        print('get', e.code())
    try:
        rs = list(ch.unary_stream('/shop.Users/Watch')(raw, timeout=10))
        print('watch OK', ' '.join(m.hex() for m in rs))
    except grpc.RpcError as e:
        print('watch', e.code())


if __name__ == '__main__':
    c = classes(sys.argv[1])
    if sys.argv[2] == 'server':
        serve(c, sys.argv[3])
    else:
        client(c, sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 7)
